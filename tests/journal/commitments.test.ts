/**
 * Journal format v2: secrets are hashed as commitments and kept beside their rows. Real database
 * files, the real sqlite3 shell for tampering, and a format v1 journal (written on a schema before
 * format v2, as the code before it did) upgraded in place.
 */
import { createHash, createHmac } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitSecrets, restoreSecrets } from '../../controller/journal/commitments.js';
import { FeedVerifier } from '../../controller/journal/feed-verify.js';
import {
  chainHash,
  checkSideSecrets,
  commitmentOf,
  Journal,
  loadOrCreateDeviceSecrets,
  MIGRATIONS,
  openDatabase,
  SCHEMA_VERSION,
  verifyJournal,
} from '../../controller/journal/index.js';
import { eventPayload } from '../../controller/mqtt/payloads.js';
import { Registry } from '../../controller/registry/index.js';
import { openJournal, sqlite, T0, tempDir } from './helpers.js';

const HMAC = Buffer.alloc(32, 9);
/** Every migration before the one that brings journal_secrets: a database there writes format v1. */
const BEFORE_V2 = MIGRATIONS.slice(
  0,
  MIGRATIONS.findIndex((m) => m.name.startsWith('journal format v2')),
);

function enrolled(file: string) {
  const { db, journal } = openJournal(file);
  const registry = new Registry(db, journal, { hmacKey: HMAC });
  const person = registry.addPerson(
    { displayId: 'S-1', name: '山田 太郎', category: 'staff' },
    'cli:root',
    T0,
  );
  const badge = registry.addBadge({ personId: person.id, credential: '0A1B2C3D4E' }, 'cli:root', T0 + 1);
  return { db, journal, registry, person, badge };
}

describe('commitments', () => {
  it('replaces each secret, at any depth, by SHA-256(nonce ‖ canonical JSON), and restores it', () => {
    let n = 0;
    const nonce = () => (n++ % 16).toString(16).repeat(64);
    const data = {
      a: 1,
      credentialHash: 'ab'.repeat(32),
      payload: { x: [{ apiToken: 'tkn' }], credentialHash: 'cd' },
    };
    const out = commitSecrets(data, nonce)!;
    expect(out.secrets.map((s) => s.path)).toEqual([
      '["credentialHash"]',
      '["payload","x",0,"apiToken"]',
      '["payload","credentialHash"]',
    ]);
    const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
    expect(out.data.credentialHash).toEqual({ c: sha(`${'0'.repeat(64)}"${'ab'.repeat(32)}"`) });
    expect(out.data.credentialHash).toEqual({ c: commitmentOf('0'.repeat(64), `"${'ab'.repeat(32)}"`) });
    expect(JSON.stringify(out.data)).not.toContain('ab'.repeat(32));
    expect(JSON.stringify(out.data)).not.toContain('tkn');
    expect(data.credentialHash).toBe('ab'.repeat(32)); // the input is not changed
    const back = restoreSecrets(JSON.parse(JSON.stringify(out.data)), out.secrets);
    expect(back).toEqual(data);
    expect(checkSideSecrets(out.data, out.secrets)).toEqual([]);
    // Nothing secret: nothing copied, nothing kept.
    const plain = { a: { b: [1, 2] } };
    expect(commitSecrets(plain, nonce)).toBeNull();
  });

  it('names a side secret that does not open its commitment, one missing and one with no commitment', () => {
    const out = commitSecrets({ credentialHash: 'x', other: 1 }, () => 'a'.repeat(64))!;
    const [s] = out.secrets;
    expect(checkSideSecrets(out.data, [{ ...s!, value: '"y"' }])[0]).toMatch(/does not open the commitment/);
    expect(checkSideSecrets(out.data, [])[0]).toMatch(/missing beside the row/);
    expect(checkSideSecrets(out.data, [s!, { ...s!, path: '["other"]' }])[0]).toMatch(/hold no commitment/);
    expect(checkSideSecrets({ credentialHash: 'x' }, [])[0]).toMatch(/in clear/);
  });

  it('a badge row hashes a commitment; the row reads back with its secret; two enrolments are unlinkable', () => {
    const file = join(tempDir(), 'j.db');
    const { db, journal, badge, registry } = enrolled(file);
    const hmac = badge.credentialHash;
    const row = journal.get(journal.head().seq)!;
    expect(row.type).toBe('badge_added');
    expect(row.bytes.startsWith('{"v":2,')).toBe(true);
    expect(row.bytes).not.toContain(hmac);
    expect(row.bytes).toMatch(/"credentialHash":\{"c":"[0-9a-f]{64}"\}/);
    expect((row.data as { credentialHash: string }).credentialHash).toBe(hmac);
    expect(chainHash(row.prevHash, row.bytes)).toBe(row.hash);
    const side = db.prepare('SELECT seq, path, nonce, value FROM journal_secrets').all();
    expect(side).toEqual([
      { seq: row.seq, path: '["credentialHash"]', nonce: expect.any(String), value: `"${hmac}"` },
    ]);
    // The same card again (after revoking): another nonce, another commitment.
    registry.setBadgeStatus(badge.id, 'revoked', 'cli:root', T0 + 2);
    registry.addBadge({ personId: badge.personId, credential: '0A1B2C3D4E' }, 'cli:root', T0 + 3);
    const again = journal.get(journal.head().seq)!;
    const c = (b: string) => /"credentialHash":\{"c":"([0-9a-f]{64})"\}/.exec(b)![1];
    expect(c(again.bytes)).not.toBe(c(row.bytes));
    expect(verifyJournal(db).ok).toBe(true);
    // A fresh connection (a restart) reads the secret back from the side table.
    db.close();
    const db2 = openDatabase(file);
    const j2 = new Journal(db2, { controllerId: 'ctl-1' });
    expect((j2.get(row.seq)!.data as { credentialHash: string }).credentialHash).toBe(hmac);
    expect(
      [...j2.iterate()]
        .filter((r) => r.type === 'badge_added')
        .map((r) => (r.data as Record<string, unknown>).credentialHash),
    ).toEqual([hmac, hmac]);
    db2.close();
  });

  it('refuses to change or add a side secret while its triggers stand', () => {
    const { db, journal } = enrolled(join(tempDir(), 'j.db'));
    const seq = journal.head().seq;
    expect(() => db.prepare('UPDATE journal_secrets SET value = \'"x"\'').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM journal_secrets').run()).toThrow(/append-only/);
    expect(() =>
      db.prepare("INSERT INTO journal_secrets VALUES (?, '[\"x\"]', ?, '1')").run(seq - 1, 'a'.repeat(64)),
    ).toThrow(/written with its row/);
  });

  it('verify names a tampered, removed or added side secret (the sqlite3 shell, triggers dropped)', () => {
    const cases: [string, (seq: number) => string, RegExp][] = [
      [
        'altered',
        (seq) => `UPDATE journal_secrets SET value = '"${'0'.repeat(64)}"' WHERE seq = ${seq};`,
        /does not open the commitment/,
      ],
      ['removed', (seq) => `DELETE FROM journal_secrets WHERE seq = ${seq};`, /missing beside the row/],
      [
        'added',
        () => `INSERT INTO journal_secrets VALUES (1, '["credentialHash"]', '${'a'.repeat(64)}', '"x"');`,
        /hold no commitment/,
      ],
    ];
    for (const [name, sql, problem] of cases) {
      const file = join(tempDir(), `${name}.db`);
      const { db, journal } = enrolled(file);
      const seq = journal.head().seq;
      db.close();
      sqlite(
        file,
        `DROP TRIGGER journal_secrets_no_update; DROP TRIGGER journal_secrets_no_delete; DROP TRIGGER journal_secrets_with_row; ${sql(seq)}`,
      );
      const check = openDatabase(file, { readonly: true });
      const r = verifyJournal(check);
      check.close();
      expect(r.ok, name).toBe(false);
      expect(r.kind, name).toBe('secret_altered');
      expect(r.firstBadSeq, name).toBe(name === 'added' ? 1 : seq);
      expect(r.problem, name).toMatch(problem);
    }
  });

  it('verify names altered bytes of a v2 row (its commitment changed)', () => {
    const file = join(tempDir(), 'j.db');
    const { db, journal } = enrolled(file);
    const seq = journal.head().seq;
    journal.append({ type: 'controller_stopped', at: T0 + 9, data: { reason: 'test' } } as never);
    db.close();
    sqlite(
      file,
      `DROP TRIGGER journal_no_update; UPDATE journal SET bytes = replace(bytes, '{"c":"', '{"c":"0') WHERE seq = ${seq};`,
    );
    const check = openDatabase(file, { readonly: true });
    const r = verifyJournal(check);
    check.close();
    expect(r.ok).toBe(false);
    expect(r.firstBadSeq).toBe(seq);
    expect(r.kind).toBe('bytes_altered');
  });
});

describe('a format v1 journal upgraded in place', () => {
  /**
   * A format v1 journal as a device had it before format v2: six rows — two people, two badges (their
   * keyed credential hash in clear), a `badge_enrol` request holding one, a badge reported lost —
   * and two signed checkpoints (seq 5 and 6), with its device keys beside it.
   */
  function v1Journal() {
    const dir = tempDir();
    const secrets = loadOrCreateDeviceSecrets(dir);
    const file = join(dir, 'journal.db');
    const db = openDatabase(file, { migrations: BEFORE_V2 });
    const journal = new Journal(db, { controllerId: 'v1-ctl' });
    const registry = new Registry(db, journal, { hmacKey: secrets.hmacKey });
    const at = Date.UTC(2026, 3, 1);
    const p1 = registry.addPerson(
      { displayId: 'S-001', name: '山田 太郎', category: 'staff' },
      'cli:root',
      at,
    );
    const p2 = registry.addPerson(
      { displayId: 'C-002', name: 'Ann Lee', category: 'contractor' },
      'cli:root',
      at + 1000,
    );
    registry.addBadge({ personId: p1.id, credential: '0A1B2C3D4E' }, 'cli:root', at + 2000);
    const b2 = registry.addBadge({ personId: p2.id, credential: '99887766AA' }, 'cli:root', at + 3000);
    journal.append({
      type: 'request_created',
      at: at + 4000,
      actor: 'user:u_1',
      person: p2.id,
      data: {
        requestId: 1,
        kind: 'badge_enrol',
        payload: {
          personId: p2.id,
          ...registry.sealCredential('1234567890'),
          validFrom: null,
          validUntil: null,
        },
        reason: 'spare card',
      },
    });
    journal.checkpoint(at + 5000, secrets.signingKey, secrets.keyId);
    registry.setBadgeStatus(b2.id, 'lost', 'cli:root', at + 6000, 'left on the train');
    journal.checkpoint(at + 7000, secrets.signingKey, secrets.keyId);
    db.close();
    expect(sqlite(file, 'SELECT COUNT(*) FROM journal WHERE bytes LIKE \'{"v":1,%\';').trim()).toBe('6');
    return { secrets, file };
  }

  it('keeps its v1 rows and chain, verifies mixed with v2 rows, and its feed verifies off the device', () => {
    const { file, secrets } = v1Journal();
    const before = new Map(
      (sqlite(file, 'SELECT seq, hash FROM journal;').trim().split('\n') as string[]).map(
        (l) => l.split('|') as [string, string],
      ),
    );
    expect(sqlite(file, 'PRAGMA user_version;').trim()).toBe(String(BEFORE_V2.length));
    const db = openDatabase(file); // migrates to the latest schema
    expect(Number(db.pragma('user_version', { simple: true }))).toBe(SCHEMA_VERSION);
    const journal = new Journal(db, { controllerId: 'v1-ctl' });
    const registry = new Registry(db, journal, { hmacKey: secrets.hmacKey });
    for (const [seq, hash] of before) expect(journal.get(Number(seq))!.hash).toBe(hash);
    // v1 rows read as they are (the keyed hash in clear), and the registry still finds the cards.
    const v1Badge = journal.get(3)!;
    expect(v1Badge.bytes.startsWith('{"v":1,')).toBe(true);
    const hmac = createHmac('sha256', secrets.hmacKey).update('0A1B2C3D4E').digest('hex');
    expect((v1Badge.data as Record<string, unknown>).credentialHash).toBe(hmac);
    expect(registry.findBadgeByCredential('0A1B2C3D4E')?.credentialHash).toBe(hmac);

    const person = registry.addPerson(
      { displayId: 'S-9', name: '佐藤 花子', category: 'staff' },
      'cli:root',
      T0 + 9e6,
    );
    registry.addBadge({ personId: person.id, credential: '5566778899' }, 'cli:root', T0 + 9e6 + 1);
    journal.checkpoint(T0 + 9e6 + 2, secrets.signingKey, secrets.keyId);
    const v2Badge = journal.get(journal.head().seq)!;
    expect(v2Badge.bytes.startsWith('{"v":2,')).toBe(true);
    expect(v2Badge.prevHash).toBe(journal.get(journal.head().seq - 1)!.hash);

    const r = verifyJournal(db, { publicKey: secrets.publicKey });
    expect(r).toMatchObject({ ok: true, rows: journal.head().seq, checkpoints: 3, signaturesChecked: true });

    // The feed: v1 rows holding a secret are withheld, everything else carries its exact bytes.
    const rows = [...journal.iterate()];
    const payloads = rows.map((row) => eventPayload(row));
    const feed = JSON.stringify(payloads);
    for (const row of rows)
      if (typeof (row.data as Record<string, unknown>).credentialHash === 'string')
        expect(feed).not.toContain((row.data as Record<string, unknown>).credentialHash);
    expect(feed).not.toContain(
      sqlite(
        file,
        "SELECT json_extract(bytes, '$.data.payload.credentialHash') FROM journal WHERE seq = 5;",
      ).trim(),
    );
    expect(payloads.filter((p) => p.withheld === 'v1_secret').map((p) => p.seq)).toEqual([3, 4, 5]);
    const verifier = new FeedVerifier('v1-ctl', secrets.publicKey);
    // Out of order, and each twice: what a QoS 1 feed may deliver.
    for (const p of [...payloads].reverse()) expect(verifier.observeRow(p).findings).toEqual([]);
    for (const p of payloads) expect(verifier.observeRow(p)).toEqual({ record: false, findings: [] });
    for (const cp of journal.checkpoints()) expect(verifier.observeCheckpoint(cp).findings).toEqual([]);
    const report = verifier.report();
    expect(report.verified).toEqual(journal.head());
    expect(report.signed).toEqual(journal.head());
    expect(report.withheld).toEqual([3, 4, 5]);
    expect(report.gaps).toEqual([]);
    db.close();
  });

  it('a database not yet migrated gets format v1 rows (the format before), and v2 once migrated', () => {
    const file = join(tempDir(), 'old.db');
    const old = openDatabase(file, { migrations: BEFORE_V2 });
    const j1 = new Journal(old, { controllerId: 'ctl-1' });
    const r1 = new Registry(old, j1, { hmacKey: HMAC });
    const p = r1.addPerson({ displayId: 'S-1', name: 'A', category: 'staff' }, 'cli:root', T0);
    const b = r1.addBadge({ personId: p.id, credential: '0A1B2C3D4E' }, 'cli:root', T0 + 1);
    expect(j1.get(2)!.bytes).toContain(`"credentialHash":"${b.credentialHash}"`);
    expect(j1.get(2)!.bytes.startsWith('{"v":1,')).toBe(true);
    old.close();
    const { db, journal } = openJournal(file);
    const r2 = new Registry(db, journal, { hmacKey: HMAC });
    r2.addBadge({ personId: p.id, credential: '5566778899' }, 'cli:root', T0 + 2);
    expect(journal.get(3)!.bytes.startsWith('{"v":2,')).toBe(true);
    expect(journal.get(3)!.bytes).not.toContain(r2.findBadgeByCredential('5566778899')!.credentialHash);
    expect(verifyJournal(db)).toMatchObject({ ok: true, rows: 3 });
  });
});
