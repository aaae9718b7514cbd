/**
 * Tampering as an attacker with the database file would do it: the real sqlite3 shell, triggers
 * dropped first. verifyJournal must name the exact row each time.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  canonicalJson,
  chainHash,
  openDatabase,
  publicKeyId,
  recordBytes,
  SCHEMA_VERSION,
  type VerifyResult,
  verifyJournal,
} from '../../controller/journal/index.js';
import { DROP_TRIGGERS, fill, lit, openJournal, sqlite, T0, tempDir } from './helpers.js';

const ROWS = 20;

interface Fixture {
  file: string;
  rows: { seq: number; bytes: string; hash: string }[];
  publicKey: KeyObject;
  checkpoints: Checkpoint[];
}

/** A closed journal of ROWS rows; with checkpointAt, a signed checkpoint at that seq (rows go on after it). */
function fixture(checkpointAt?: number): Fixture {
  const file = join(tempDir(), 'journal.db');
  const { db, journal } = openJournal(file);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const checkpoints: Checkpoint[] = [];
  if (checkpointAt) {
    fill(journal, checkpointAt);
    checkpoints.push(journal.checkpoint(T0 + checkpointAt, privateKey, publicKeyId(publicKey)));
    fill(journal, ROWS - checkpointAt, checkpointAt);
  } else {
    fill(journal, ROWS);
  }
  const rows = [...journal.iterate()].map(({ seq, bytes, hash }) => ({ seq, bytes, hash }));
  expect(verifyJournal(db, { publicKey }).ok).toBe(true);
  db.close();
  return { file, rows, publicKey, checkpoints };
}

function verify(f: Fixture, trustedCheckpoints: Checkpoint[] = []): VerifyResult {
  const db = openDatabase(f.file, { readonly: true });
  try {
    return verifyJournal(db, { publicKey: f.publicKey, trustedCheckpoints });
  } finally {
    db.close();
  }
}

/** Renumbers rows with seq >= from by delta (through negative seqs to avoid key conflicts). */
function renumber(from: number, delta: number): string {
  return `
    UPDATE journal SET seq = -(seq + ${delta}) WHERE seq >= ${from};
    UPDATE journal SET seq = -seq WHERE seq < 0;
  `;
}

describe('tampering with the sqlite3 shell is detected and located', () => {
  it('edited bytes: names the row', () => {
    const f = fixture();
    const target = f.rows[6]!; // seq 7, an access decision
    expect(target.bytes).toContain('"granted":true');
    sqlite(
      f.file,
      `${DROP_TRIGGERS} UPDATE journal SET bytes = replace(bytes, '"granted":true', '"granted":false') WHERE seq = 7;`,
    );
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 7, kind: 'bytes_altered' });
    expect(result.problem).toMatch(/row 7/);
    expect(result.rows).toBe(6);
  });

  it('edited bytes of the last row: names the row', () => {
    const f = fixture();
    sqlite(
      f.file,
      `${DROP_TRIGGERS} UPDATE journal SET bytes = replace(bytes, 'server-cage', 'server-cagf') WHERE seq = ${ROWS};`,
    );
    expect(verify(f)).toMatchObject({ ok: false, firstBadSeq: ROWS, kind: 'hash_mismatch' });
  });

  it('edited indexed column (the person a row is filed under): names the row and the column', () => {
    const f = fixture();
    sqlite(f.file, `${DROP_TRIGGERS} UPDATE journal SET person = 'p_somebody_else' WHERE seq = 9;`);
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 9, kind: 'column_altered' });
    expect(result.problem).toMatch(/column person/);
  });

  it('the at column moved back (hiding a row from the month report): names the row', () => {
    const f = fixture();
    sqlite(f.file, `${DROP_TRIGGERS} UPDATE journal SET at = at - 40 * 86400000 WHERE seq = 4;`);
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 4, kind: 'column_altered' });
    expect(result.problem).toMatch(/column at/);
  });

  it('the person column turned into a blob (no longer matching its filter): names the row', () => {
    const f = fixture();
    sqlite(f.file, `${DROP_TRIGGERS} UPDATE journal SET person = CAST(person AS BLOB) WHERE seq = 3;`);
    // Five rows are filed under this person; the blob hides one from an equality filter.
    expect(sqlite(f.file, "SELECT COUNT(*) FROM journal WHERE person = 'p_000000000002';").trim()).toBe('4');
    expect(verify(f)).toMatchObject({ ok: false, firstBadSeq: 3, kind: 'column_altered' });
  });

  it('edited hash column: names the row', () => {
    const f = fixture();
    sqlite(f.file, `${DROP_TRIGGERS} UPDATE journal SET hash = '${'ab'.repeat(32)}' WHERE seq = 5;`);
    expect(verify(f)).toMatchObject({ ok: false, firstBadSeq: 5, kind: 'hash_altered' });
  });

  it('deleted row: names the missing seq', () => {
    const f = fixture();
    sqlite(f.file, `${DROP_TRIGGERS} DELETE FROM journal WHERE seq = 12;`);
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 12, kind: 'missing' });
    expect(result.problem).toMatch(/row 12 is missing/);
  });

  it('deleted rows by date (a retention sweep): names the first missing seq', () => {
    const f = fixture();
    sqlite(f.file, `${DROP_TRIGGERS} DELETE FROM journal WHERE at < ${T0 + 3 * 60_000};`);
    expect(verify(f)).toMatchObject({ ok: false, firstBadSeq: 1, kind: 'missing' });
  });

  it('deleted row with the later rows renumbered to hide the gap: names the row', () => {
    const f = fixture();
    sqlite(f.file, `${DROP_TRIGGERS} DELETE FROM journal WHERE seq = 8; ${renumber(9, -1)}`);
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 8, kind: 'reordered' });
    expect(result.problem).toMatch(/removed/);
  });

  it('two rows swapped (seq exchanged): names the first of them', () => {
    const f = fixture();
    sqlite(
      f.file,
      `${DROP_TRIGGERS}
       UPDATE journal SET seq = -1 WHERE seq = 6;
       UPDATE journal SET seq = 6 WHERE seq = 7;
       UPDATE journal SET seq = 7 WHERE seq = -1;`,
    );
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 6, kind: 'reordered' });
    expect(result.problem).toMatch(/swapped/);
  });

  it('forged row inserted mid-chain with a correct hash, later rows renumbered: names the intruder', () => {
    const f = fixture();
    const prev = f.rows[9]!; // seq 10
    const bytes = recordBytes(
      11,
      {
        at: T0 + 10 * 60_000 + 1,
        type: 'access_decision',
        door: 'machine-room',
        person: 'p_alibi',
        actor: null,
      },
      canonicalJson({ badge: 'b_alibi', direction: 'out', granted: true, reason: 'granted', reader: 'r1' }),
    );
    const hash = chainHash(prev.hash, bytes);
    sqlite(
      f.file,
      `${DROP_TRIGGERS} ${renumber(11, 1)}
       INSERT INTO journal (seq, at, type, door, person, actor, bytes, hash)
       VALUES (11, ${T0 + 10 * 60_000 + 1}, 'access_decision', 'machine-room', 'p_alibi', NULL, ${lit(bytes)}, '${hash}');`,
    );
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 11, kind: 'inserted' });
    expect(result.problem).toMatch(/row 11 was inserted/);
  });

  it('forged row inserted with a made-up hash: names the intruder', () => {
    const f = fixture();
    sqlite(
      f.file,
      `${DROP_TRIGGERS} ${renumber(4, 1)}
       INSERT INTO journal (seq, at, type, door, person, actor, bytes, hash)
       VALUES (4, ${T0}, 'door_state', 'machine-room', NULL, NULL,
               '{"v":1,"seq":4,"at":${T0},"type":"door_state","door":"machine-room","person":null,"actor":null,"data":{}}',
               '${'0'.repeat(64)}');`,
    );
    expect(verify(f)).toMatchObject({ ok: false, firstBadSeq: 4, kind: 'inserted' });
  });

  it('a missing protective trigger is reported as a warning', () => {
    const f = fixture();
    sqlite(f.file, 'DROP TRIGGER journal_no_delete;');
    const result = verify(f);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([expect.stringMatching(/journal_no_delete is missing/)]);
  });

  it('an intact schema has intact protections', () => {
    const result = verify(fixture());
    expect(result.protections).toEqual({
      intact: true,
      schemaVersion: SCHEMA_VERSION,
      recordedVersion: SCHEMA_VERSION,
      problems: [],
      warnings: [],
    });
  });

  it('a trigger re-created with a weaker WHEN is reported as altered, layout changes are not', () => {
    const f = fixture();
    // Same SQL laid out differently: not a change.
    sqlite(
      f.file,
      `DROP TRIGGER journal_no_update;
       CREATE TRIGGER journal_no_update   BEFORE UPDATE ON journal
         BEGIN    SELECT RAISE(ABORT, 'journal rows are append-only: UPDATE refused');   END;`,
    );
    expect(verify(f).protections.intact).toBe(true);
    // Still RAISEs, but lets every update of a row after seq 10 through.
    sqlite(
      f.file,
      `DROP TRIGGER journal_no_update;
       CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal WHEN OLD.seq < 10
       BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: UPDATE refused'); END;`,
    );
    const result = verify(f);
    expect(result.ok).toBe(true);
    expect(result.protections.problems).toEqual([
      { name: 'journal_no_update', table: 'journal', problem: 'altered' },
    ]);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^protective trigger journal_no_update is altered: .*WHEN OLD\.seq < 10/),
    ]);
  });

  it('a trigger added to a guarded table, and a lowered schema version, are reported', () => {
    const f = fixture();
    sqlite(
      f.file,
      `CREATE TRIGGER journal_tidy AFTER INSERT ON journal BEGIN DELETE FROM checkpoints; END;
       PRAGMA user_version = 3; DROP TRIGGER archive_bases_valid;`,
    );
    const result = verify(f);
    expect(result.protections.intact).toBe(false);
    expect(result.protections.schemaVersion).toBe(SCHEMA_VERSION);
    expect(result.protections.problems).toEqual([
      { name: 'archive_bases_valid', table: 'archive_bases', problem: 'missing' },
      { name: 'journal_tidy', table: 'journal', problem: 'unexpected' },
    ]);
    expect(result.warnings[0]).toMatch(/schema version was lowered to 3/);
  });
});

describe('checkpoints catch what the chain alone cannot', () => {
  it('truncation (last rows deleted, chain still consistent) is detected by the local checkpoint', () => {
    const f = fixture(ROWS);
    sqlite(f.file, `${DROP_TRIGGERS} DELETE FROM journal WHERE seq > 15;`);
    const result = verify(f);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 16, kind: 'truncated', checkpointSeq: ROWS });
    expect(result.problem).toMatch(/rows 16 to 20 were removed/);
  });

  it('truncation with the local checkpoints deleted too is detected by a published checkpoint', () => {
    const f = fixture(ROWS);
    sqlite(f.file, `${DROP_TRIGGERS} DELETE FROM journal WHERE seq > 15; DELETE FROM checkpoints;`);
    expect(verify(f)).toMatchObject({ ok: true, headSeq: 15 }); // the chain alone cannot tell
    expect(verify(f, f.checkpoints)).toMatchObject({ ok: false, firstBadSeq: 16, kind: 'truncated' });
  });

  it('an edited row with the whole chain re-hashed after it is caught at the checkpoint', () => {
    const f = fixture(15);
    let prev = f.rows[3]!.hash; // seq 4
    const updates: string[] = [];
    for (const row of f.rows.slice(4)) {
      const bytes = row.seq === 5 ? row.bytes.replace('"in"', '"out"') : row.bytes;
      expect(row.seq !== 5 || bytes !== row.bytes).toBe(true);
      const hash = chainHash(prev, bytes);
      updates.push(`UPDATE journal SET bytes = ${lit(bytes)}, hash = '${hash}' WHERE seq = ${row.seq};`);
      prev = hash;
    }
    sqlite(f.file, `${DROP_TRIGGERS} ${updates.join('\n')}`);
    const result = verify(f);
    expect(result).toMatchObject({
      ok: false,
      firstBadSeq: 15,
      kind: 'checkpoint_mismatch',
      checkpointSeq: 15,
    });
    expect(result.problem).toMatch(/after seq 0 was rewritten/);
  });

  it('a checkpoint edited to match a rewritten chain fails its signature', () => {
    const f = fixture(10);
    sqlite(f.file, `${DROP_TRIGGERS} UPDATE checkpoints SET hash = '${'cd'.repeat(32)}' WHERE seq = 10;`);
    expect(verify(f)).toMatchObject({ ok: false, kind: 'checkpoint_signature', checkpointSeq: 10 });
  });

  it('a checkpoint signed by another key is refused', () => {
    const f = fixture(10);
    const other = generateKeyPairSync('ed25519').publicKey;
    const db = openDatabase(f.file, { readonly: true });
    try {
      const result = verifyJournal(db, { publicKey: other });
      expect(result).toMatchObject({ ok: false, kind: 'checkpoint_signature' });
      expect(result.problem).toMatch(/names key/);
    } finally {
      db.close();
    }
  });
});
