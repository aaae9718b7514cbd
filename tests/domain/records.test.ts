/**
 * The catalogue of record types (controller/domain/records.ts) covers every row Sekisho writes: each
 * journal row of the golden transcript (a whole scripted session, tests/golden) is of a catalogued
 * type and its data parses with that type's schema without losing a field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isKnownRecordType,
  RecordCatalogue,
  RecordSchemas,
  VisitRecordSchemas,
} from '../../controller/domain/index.js';
import { canonicalJson } from '../../controller/journal/index.js';
import { REGISTRY_RECORD_TYPES } from '../../controller/registry/index.js';

const FIXTURE = join(import.meta.dirname, '..', 'golden', 'transcript.golden.txt');

/** The golden transcript's journal rows: `<hash of n> {canonical bytes}`, times normalised to `<ms>`. */
function goldenRows(): { type: string; data: Record<string, unknown> }[] {
  const text = readFileSync(FIXTURE, 'utf8');
  const section = text.split('\n## ')[1]!;
  expect(section).toMatch(/^journal: \d+ rows/);
  return section
    .split('\n')
    .slice(1)
    .filter((line) => line.startsWith('<hash of '))
    .map((line) => {
      // The normalised times are bare placeholders: any number stands for them.
      const json = line.slice(line.indexOf(' {') + 1).replace(/"(\w+)":<ms>/g, '"$1":0');
      // Format v2 hashes a commitment ({"c": …}) where a secret was: the row's data holds the secret
      // (a string for every secret written today), which stands here as a placeholder.
      const uncommitted = (v: unknown): unknown =>
        Array.isArray(v)
          ? v.map(uncommitted)
          : v && typeof v === 'object'
            ? Object.keys(v).length === 1 && typeof (v as { c?: unknown }).c === 'string'
              ? '<secret>'
              : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, uncommitted(x)]))
            : v;
      return uncommitted(JSON.parse(json)) as { type: string; data: Record<string, unknown> };
    });
}

describe('the catalogue of record types', () => {
  it('knows every row of a whole session, and each row data parses with no field dropped', () => {
    const rows = goldenRows();
    expect(rows.length).toBeGreaterThan(50);
    const types = new Set<string>();
    for (const row of rows) {
      types.add(row.type);
      expect(isKnownRecordType(row.type), `${row.type} is catalogued`).toBe(true);
      if (!isKnownRecordType(row.type)) continue;
      const parsed = RecordCatalogue[row.type].safeParse(row.data);
      expect(parsed.success, `${row.type}: ${parsed.error?.message}`).toBe(true);
      // z.object drops unknown keys: equal canonical JSON means the schema names every field written.
      expect(canonicalJson(parsed.data), row.type).toBe(canonicalJson(row.data));
    }
    // The session writes rows of the door, visits, registry, accounts, approvals and MQTT.
    for (const t of [
      'access',
      'door_opened',
      'room_secured',
      'badge_added',
      'user_added',
      'request_approved',
    ])
      expect(types).toContain(t);
    expect(types).toContain('mqtt_connected');
  });

  it('holds the domain’s and the registry’s record types, each once', () => {
    for (const t of [
      ...Object.keys(RecordSchemas),
      ...Object.keys(VisitRecordSchemas),
      ...REGISTRY_RECORD_TYPES,
    ])
      expect(isKnownRecordType(t), t).toBe(true);
    expect(isKnownRecordType('no_such_record')).toBe(false);
    expect(isKnownRecordType('toString')).toBe(false);
  });
});
