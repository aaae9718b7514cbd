/** Signed derived-state snapshots: save, load, and every reason one is refused. */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadLatestSnapshot,
  SNAPSHOTS_KEPT,
  type SqliteDatabase,
  saveSnapshot,
} from '../../controller/journal/index.js';
import { fill, openJournal, T0, tempDir } from './helpers.js';

const keys = generateKeyPairSync('ed25519');
const KEY_ID = 'test-key';

function setup(rows = 10) {
  const { db, journal } = openJournal(join(tempDir(), 'j.db'));
  fill(journal, rows);
  return { db, journal };
}

function save(db: SqliteDatabase, seq: number, hash: string, state = `{"lastSeq":${seq}}`) {
  return saveSnapshot(db, { seq, hash, at: T0 + seq, state }, keys.privateKey, KEY_ID);
}

describe('snapshots', () => {
  it('round-trips the newest snapshot', () => {
    const { db, journal } = setup();
    save(db, 4, journal.get(4)!.hash);
    const saved = save(db, 7, journal.get(7)!.hash, '{"x":"é"}');
    const { snapshot, rejected } = loadLatestSnapshot(db, keys.publicKey);
    expect(rejected).toEqual([]);
    expect(snapshot).toEqual(saved);
    expect(snapshot).toMatchObject({ seq: 7, hash: journal.get(7)!.hash, state: '{"x":"é"}', keyId: KEY_ID });
  });

  it('returns undefined when there is none', () => {
    const { db } = setup();
    expect(loadLatestSnapshot(db, keys.publicKey)).toEqual({ snapshot: undefined, rejected: [] });
  });

  it(`keeps only the newest ${SNAPSHOTS_KEPT}`, () => {
    const { db, journal } = setup();
    for (let seq = 1; seq <= 6; seq++) save(db, seq, journal.get(seq)!.hash);
    const seqs = db.prepare<[], { seq: number }>('SELECT seq FROM snapshots ORDER BY seq').all();
    expect(seqs.map((r) => r.seq)).toEqual([4, 5, 6]);
  });

  it('rejects a snapshot signed by another key and falls back to an older good one', () => {
    const { db, journal } = setup();
    save(db, 3, journal.get(3)!.hash);
    const other = generateKeyPairSync('ed25519').privateKey;
    saveSnapshot(db, { seq: 8, hash: journal.get(8)!.hash, at: T0, state: '{}' }, other, 'other');
    const { snapshot, rejected } = loadLatestSnapshot(db, keys.publicKey);
    expect(snapshot?.seq).toBe(3);
    expect(rejected).toEqual([{ seq: 8, reason: expect.stringMatching(/signature does not verify/) }]);
  });

  it('rejects a snapshot whose state was altered after signing', () => {
    const { db, journal } = setup();
    save(db, 5, journal.get(5)!.hash, '{"a":1}');
    db.prepare('UPDATE snapshots SET state = \'{"a":2}\' WHERE seq = 5').run();
    const { snapshot, rejected } = loadLatestSnapshot(db, keys.publicKey);
    expect(snapshot).toBeUndefined();
    expect(rejected[0]?.reason).toMatch(/signature does not verify/);
  });

  it('rejects a snapshot whose seq was moved (signature covers seq)', () => {
    const { db, journal } = setup();
    save(db, 5, journal.get(5)!.hash);
    db.prepare('UPDATE snapshots SET seq = 6 WHERE seq = 5').run();
    expect(loadLatestSnapshot(db, keys.publicKey).rejected[0]?.reason).toMatch(/signature does not verify/);
  });

  it('rejects a correctly signed snapshot whose hash is not the chain row at its seq', () => {
    const { db, journal } = setup();
    save(db, 2, journal.get(2)!.hash);
    save(db, 6, journal.get(5)!.hash); // signed, but names another row's hash
    const { snapshot, rejected } = loadLatestSnapshot(db, keys.publicKey);
    expect(snapshot?.seq).toBe(2);
    expect(rejected).toEqual([{ seq: 6, reason: 'hash does not match the journal row at seq 6' }]);
  });

  it('rejects a snapshot past the journal head', () => {
    const { db, journal } = setup(5);
    save(db, 9, journal.get(5)!.hash);
    const { snapshot, rejected } = loadLatestSnapshot(db, keys.publicKey);
    expect(snapshot).toBeUndefined();
    expect(rejected).toEqual([{ seq: 9, reason: 'no journal row at seq 9' }]);
  });

  it('refuses to save malformed fields', () => {
    const { db, journal } = setup();
    const hash = journal.get(1)!.hash;
    expect(() => save(db, 0, hash)).toThrow(RangeError);
    expect(() => save(db, 1, 'nothex')).toThrow(RangeError);
  });
});
