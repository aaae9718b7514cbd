/**
 * Declared gaps: a `journal_truncated` / `journal_restored` row may skip exactly the seqs it names,
 * never reusing one; the trigger and verifyJournal accept that and nothing else. Tampering is done
 * with the sqlite3 shell, triggers dropped first, as an attacker would.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  archiveJournal,
  canonicalJson,
  chainHash,
  findTruncation,
  type JournalInput,
  publicKeyId,
  recordBytes,
  verifyArchiveFile,
  verifyJournal,
} from '../../controller/journal/index.js';
import { DROP_TRIGGERS, fill, lit, openJournal, sqlite, T0, tempDir } from './helpers.js';

const keys = (() => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signingKey: privateKey, publicKey, keyId: publicKeyId(publicKey) };
})();

function truncatedInput(lostThrough: number, at = T0 + 99_000_000): JournalInput<'journal_truncated'> {
  return {
    type: 'journal_truncated',
    at,
    data: {
      lostFrom: 0 + 1, // set by appendGap
      lostThrough,
      foundHeadSeq: 0,
      foundHeadHash: '0'.repeat(64),
      evidence: 'checkpoint',
      evidenceSeq: lostThrough,
      evidenceHash: 'f'.repeat(64),
      evidenceAt: at,
    },
  };
}

/** A journal of 20 rows, a checkpoint at 20, then rows 16-20 deleted by an attacker. */
function truncated() {
  const file = join(tempDir(), 'journal.db');
  const { db, journal } = openJournal(file);
  fill(journal, 20);
  journal.checkpoint(T0 + 20, keys.signingKey, keys.keyId);
  db.close();
  sqlite(file, `${DROP_TRIGGERS} DELETE FROM journal WHERE seq > 15;`);
  return { file, ...openJournal(file) };
}

describe('declared gaps', () => {
  it('the start check finds the head behind its own signed checkpoint', () => {
    const { db, journal } = truncated();
    expect(journal.head().seq).toBe(15);
    const t = findTruncation(db, journal.head(), keys.publicKey);
    expect(t?.evidence).toMatchObject({ source: 'checkpoint', seq: 20 });
    // Without the local checkpoint (root deleted it too), nothing on the device shows it.
    sqlite(db.name, 'DROP TRIGGER IF EXISTS checkpoints_no_delete; DELETE FROM checkpoints;');
    expect(findTruncation(db, journal.head(), keys.publicKey)).toBeNull();
  });

  it('a gap row skips every seq that existed, chains to the last row there is, and verifies', () => {
    const { db, journal } = truncated();
    const gap = journal.appendGap(truncatedInput(20));
    expect(gap.seq).toBe(21);
    expect(gap.data).toMatchObject({ lostFrom: 16, lostThrough: 20 });
    expect(gap.prevHash).toBe(journal.get(15)!.hash);
    expect(journal.get(21)!.prevHash).toBe(journal.get(15)!.hash);
    fill(journal, 3, 40);
    expect(journal.head().seq).toBe(24);
    journal.checkpoint(T0 + 30, keys.signingKey, keys.keyId);
    const v = verifyJournal(db, { publicKey: keys.publicKey });
    expect(v).toMatchObject({ ok: true, headSeq: 24, rows: 19 });
    expect(v.gaps).toEqual([
      { seq: 21, type: 'journal_truncated', at: gap.at, actor: null, lostFrom: 16, lostThrough: 20 },
    ]);
  });

  it('the trigger refuses a jump that is not a declared gap, or one that names another range', () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    fill(journal, 5);
    const head = journal.head();
    db.close();
    const forge = (seq: number, type: string, data: Record<string, unknown>) => {
      const bytes = recordBytes(
        seq,
        { at: T0, type, door: null, person: null, actor: null },
        canonicalJson(data),
      );
      return `INSERT INTO journal (seq, at, type, bytes, hash) VALUES (${seq}, ${T0}, ${lit(type)}, ${lit(bytes)}, ${lit(chainHash(head.hash, bytes))});`;
    };
    expect(() => sqlite(file, forge(9, 'access', {}))).toThrow(/seq must continue/);
    expect(() => sqlite(file, forge(9, 'journal_truncated', { lostFrom: 6, lostThrough: 7 }))).toThrow(
      /seq must continue/,
    );
    expect(() => sqlite(file, forge(9, 'journal_truncated', { lostFrom: 5, lostThrough: 8 }))).toThrow(
      /seq must continue/,
    );
    // Exactly the range it skips: accepted.
    sqlite(file, forge(9, 'journal_truncated', { lostFrom: 6, lostThrough: 8 }));
    expect(sqlite(file, 'SELECT MAX(seq) FROM journal;').trim()).toBe('9');
  });

  it('an undeclared gap still fails verify', () => {
    const file = join(tempDir(), 'journal.db');
    const { db, journal } = openJournal(file);
    fill(journal, 20);
    db.close();
    sqlite(file, `${DROP_TRIGGERS} DELETE FROM journal WHERE seq BETWEEN 8 AND 10;`);
    const { db: again } = openJournal(file);
    const v = verifyJournal(again, { publicKey: keys.publicKey });
    expect(v).toMatchObject({ ok: false, kind: 'missing', firstBadSeq: 8 });
    expect(v.gaps).toEqual([]);
  });

  it('a forged gap row fails: a wrong range, or a hash that does not chain', () => {
    for (const variant of ['range', 'chain'] as const) {
      const file = join(tempDir(), 'journal.db');
      const { db, journal } = openJournal(file);
      fill(journal, 20);
      const h7 = journal.get(7)!.hash;
      db.close();
      // Rows 8-20 deleted; a gap row "declares" them, with a wrong range or chained from row 6.
      const data = {
        lostFrom: 8,
        lostThrough: variant === 'range' ? 18 : 20,
        foundHeadSeq: 7,
        foundHeadHash: h7,
        evidence: 'checkpoint',
        evidenceSeq: 20,
        evidenceHash: 'f'.repeat(64),
        evidenceAt: T0,
      };
      const bytes = recordBytes(
        21,
        { at: T0 + 1, type: 'journal_truncated', door: null, person: null, actor: null },
        canonicalJson(data),
      );
      const prev = variant === 'chain' ? '0'.repeat(64) : h7;
      sqlite(
        file,
        `${DROP_TRIGGERS} DELETE FROM journal WHERE seq > 7;
         INSERT INTO journal (seq, at, type, bytes, hash) VALUES (21, ${T0 + 1}, 'journal_truncated', ${lit(bytes)}, ${lit(chainHash(prev, bytes))});`,
      );
      const { db: again } = openJournal(file);
      const v = verifyJournal(again, { publicKey: keys.publicKey });
      expect(v.ok, variant).toBe(false);
      if (variant === 'range') expect(v).toMatchObject({ kind: 'missing', firstBadSeq: 8 });
      else expect(v.firstBadSeq).toBe(21);
    }
  });

  it('a restore with an unknown range takes the next seq and says so', () => {
    const { db, journal } = openJournal(join(tempDir(), 'journal.db'));
    fill(journal, 4);
    const row = journal.appendGap({
      type: 'journal_restored',
      at: T0,
      actor: 'cli:tanaka/root',
      data: {
        lostFrom: 5,
        lostThrough: null,
        basis: 'unknown',
        backup: 'b.sekisho-backup',
        backupCreatedAt: T0,
        backupHeadSeq: 4,
        backupHeadHash: journal.head().hash,
        checkpoint: null,
      },
    });
    expect(row.seq).toBe(5);
    const v = verifyJournal(db, { publicKey: keys.publicKey });
    expect(v.ok).toBe(true);
    expect(v.gaps).toMatchObject([{ seq: 5, type: 'journal_restored', lostFrom: 5, lostThrough: null }]);
  });

  it('archives and their verification work across a declared gap', () => {
    const OLD = Date.UTC(2020, 0, 1);
    const dir = tempDir();
    const file = join(dir, 'journal.db');
    const { db, journal } = openJournal(file);
    for (let i = 0; i < 10; i++)
      journal.append({ type: 'controller_stopped', at: OLD + i, data: { reason: `r${i}` } });
    db.close();
    sqlite(file, `${DROP_TRIGGERS} DELETE FROM journal WHERE seq > 6;`);
    const { db: db2, journal: j2 } = openJournal(file);
    j2.appendGap(truncatedInput(10, OLD + 100));
    for (let i = 0; i < 3; i++)
      j2.append({ type: 'controller_stopped', at: OLD + 200 + i, data: { reason: 'x' } });
    const target = join(dir, 'a.sekisho-archive');
    const r = archiveJournal(db2, j2, {
      target,
      retentionYears: 5,
      ...keys,
      siteId: 's',
      sekishoVersion: 'test',
      actor: 'admin:test',
      now: () => Date.UTC(2032, 0, 1),
    });
    expect(r.archived && r.manifest.head.seq).toBe(13);
    expect(verifyArchiveFile(target, { publicKey: keys.publicKey }).ok).toBe(true);
    expect(verifyJournal(db2, { publicKey: keys.publicKey }).ok).toBe(true);
  });
});
