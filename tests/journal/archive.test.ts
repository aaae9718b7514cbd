/**
 * Archiving rows older than the retention period into signed archive files: the live chain starts
 * from a signed archive base, the archive verifies on its own and with its neighbours, and
 * deletion stays impossible for every row that was not archived.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uncataloguedType } from '../../controller/domain/index.js';
import {
  ARCHIVE_MAGIC,
  type ArchiveOptions,
  archiveJournal,
  type Journal,
  openDatabase,
  publicKeyId,
  readArchiveBases,
  retentionCutoff,
  type SqliteDatabase,
  verifyArchiveChain,
  verifyArchiveFile,
  verifyJournal,
} from '../../controller/journal/index.js';
import { openJournal, sqlite, tempDir } from './helpers.js';

const NOW = Date.UTC(2032, 0, 10, 9, 0, 0);
const OLD = Date.UTC(2025, 5, 1); // more than 5 years before NOW
const YOUNG = Date.UTC(2031, 5, 1);

interface Setup {
  dir: string;
  file: string;
  db: SqliteDatabase;
  journal: Journal;
  keys: { signingKey: KeyObject; publicKey: KeyObject; keyId: string };
  original: Map<number, { bytes: string; hash: string }>;
}

/** An access-like row of a type outside the catalogue (the archive stores rows as they are). */
function access(at: number, i: number, reader = 'mr-in') {
  return {
    type: uncataloguedType('access_decision'),
    at,
    door: 'machine-room',
    person: `p_${i % 3}`,
    data: { granted: i % 5 !== 0, reader, reason: 'granted' },
  };
}

/** `old` rows from 2025, then `young` rows from 2031, with signed checkpoints at `checkpointsAt`. */
function setup(old = 30, young = 10, checkpointsAt: number[] = [], reader = 'mr-in'): Setup {
  const dir = tempDir();
  const file = join(dir, 'journal.db');
  const { db, journal } = openJournal(file);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keys = { signingKey: privateKey, publicKey, keyId: publicKeyId(publicKey) };
  const inputs = [
    ...Array.from({ length: old }, (_, i) => access(OLD + i * 3_600_000, i, reader)),
    ...Array.from({ length: young }, (_, i) => access(YOUNG + i * 3_600_000, old + i, reader)),
  ];
  inputs.forEach((input, i) => {
    journal.append(input);
    if (checkpointsAt.includes(i + 1)) journal.checkpoint(input.at, keys.signingKey, keys.keyId);
  });
  const original = new Map([...journal.iterate()].map((r) => [r.seq, { bytes: r.bytes, hash: r.hash }]));
  return { dir, file, db, journal, keys, original };
}

function options(s: Setup, target: string, extra: Partial<ArchiveOptions> = {}): ArchiveOptions {
  return {
    target,
    retentionYears: 5,
    ...s.keys,
    siteId: 'site-1',
    sekishoVersion: 'test',
    actor: 'admin:test',
    now: () => NOW,
    ...extra,
  };
}

function count(db: SqliteDatabase): number {
  return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM journal').get()!.n;
}

describe('archiving old journal rows', () => {
  it('moves the rows older than the retention period into a verified, signed file; the chain still verifies', () => {
    const s = setup(30, 10, [20, 35]);
    const target = join(s.dir, 'a1.sekisho-archive');
    const r = archiveJournal(s.db, s.journal, options(s, target));
    expect(r.archived).toBe(true);
    if (!r.archived) return;
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(r.manifest).toMatchObject({
      controllerId: 'ctl-1',
      prevBase: { seq: 0, hash: '0'.repeat(64) },
      head: { seq: 30, hash: s.original.get(30)!.hash },
      rows: 30,
      firstAt: OLD,
      keyId: s.keys.keyId,
      before: retentionCutoff(NOW, 5),
    });
    expect(r.base).toMatchObject({ seq: 30, hash: s.original.get(30)!.hash, archiveSha256: r.fileSha256 });

    // The live journal: rows 31.. only, chained from the signed base; the archiving is journaled.
    expect(count(s.db)).toBe(10 + 1);
    expect(s.db.prepare('SELECT MIN(seq) AS m FROM journal').get()).toEqual({ m: 31 });
    expect(s.journal.get(31)!.prevHash).toBe(s.original.get(30)!.hash);
    const last = s.journal.get(s.journal.head().seq)!;
    expect(last).toMatchObject({ type: 'journal_archived', actor: 'admin:test' });
    expect(last.data).toMatchObject({ fromSeq: 1, toSeq: 30, rows: 30, sha256: r.fileSha256 });
    const v = verifyJournal(s.db, { publicKey: s.keys.publicKey });
    expect(v).toMatchObject({ ok: true, rows: 11, headSeq: 41, archiveBase: { seq: 30 } });
    expect(v.warnings).toEqual([]);
    expect(r.verify.ok).toBe(true);

    // The file holds every archived row byte for byte, and verifies on its own.
    const text = readFileSync(target, 'utf8');
    expect(text.startsWith(ARCHIVE_MAGIC)).toBe(true);
    const rowLines = text.split('\n').slice(3, -1);
    expect(rowLines).toEqual(
      Array.from({ length: 30 }, (_, i) => {
        const o = s.original.get(i + 1)!;
        return `${o.hash} ${o.bytes}`;
      }),
    );
    const alone = verifyArchiveFile(target, {
      publicKey: s.keys.publicKey,
      checkpoints: s.journal.checkpoints(),
    });
    expect(alone).toMatchObject({
      ok: true,
      rowsChecked: 30,
      signatureChecked: true,
      fileSha256: r.fileSha256,
    });
    expect(alone.problems).toEqual([]);
  });

  it('never archives a younger row, nor the head row', () => {
    // An old row after a young one (the clock was wrong for a while): archiving stops before the young row.
    const s = setup(5, 0);
    s.journal.append(access(YOUNG, 99));
    s.journal.append(access(OLD, 100));
    s.journal.append(access(OLD, 101));
    const r = archiveJournal(s.db, s.journal, options(s, join(s.dir, 'a.sekisho-archive')));
    expect(r.archived && r.manifest.head.seq).toBe(5);
    const left = s.db
      .prepare<[], { seq: number; at: number }>('SELECT seq, at FROM journal ORDER BY seq')
      .all();
    expect(left.slice(0, 3).map((x) => x.at)).toEqual([YOUNG, OLD, OLD]);

    // Every row old: all but the head row go, so the live chain always has a row to continue from.
    const t = setup(8, 0);
    const r2 = archiveJournal(t.db, t.journal, options(t, join(t.dir, 'b.sekisho-archive')));
    expect(r2.archived && r2.manifest.head.seq).toBe(7);
    expect(verifyJournal(t.db, { publicKey: t.keys.publicKey })).toMatchObject({ ok: true, rows: 2 });
  });

  it('refuses to archive records younger than the retention period', () => {
    const s = setup(30, 10);
    const target = join(s.dir, 'young.sekisho-archive');
    const cutoff = retentionCutoff(NOW, 5);
    expect(cutoff).toBe(Date.UTC(2027, 0, 10, 9, 0, 0));
    expect(() => archiveJournal(s.db, s.journal, options(s, target, { before: cutoff + 1 }))).toThrow(
      /within the retention period \(storage.retentionYears = 5\); only records from before 2027-01-10T09:00:00.000Z/,
    );
    expect(() =>
      archiveJournal(s.db, s.journal, options(s, target, { before: YOUNG + 1, retentionYears: 7 })),
    ).toThrow(/within the retention period/);
    expect(existsSync(target)).toBe(false);
    expect(count(s.db)).toBe(40);
    // An earlier --before archives less.
    const r = archiveJournal(s.db, s.journal, options(s, target, { before: OLD + 10 * 3_600_000 }));
    expect(r.archived && r.manifest.head.seq).toBe(10);
    // Nothing old enough left: nothing written.
    const again = archiveJournal(s.db, s.journal, options(s, join(s.dir, 'b'), { before: OLD }));
    expect(again).toMatchObject({ archived: false });
    expect(existsSync(join(s.dir, 'b'))).toBe(false);
  });

  it('refuses to archive a journal that does not verify, deleting nothing', () => {
    const s = setup(30, 10);
    s.db.close();
    sqlite(
      s.file,
      `DROP TRIGGER journal_no_update; UPDATE journal SET bytes = replace(bytes, '"granted":true', '"granted":false') WHERE seq = 4;`,
    );
    const { db, journal } = openJournal(s.file);
    const target = join(s.dir, 'x.sekisho-archive');
    expect(() => archiveJournal(db, journal, options(s, target))).toThrow(/does not verify \(row seq 4/);
    expect(existsSync(target)).toBe(false);
    expect(count(db)).toBe(40);
  });
});

describe('archive files are tamper-evident on their own', () => {
  function archived() {
    const s = setup(30, 10);
    const target = join(s.dir, 'a.sekisho-archive');
    const r = archiveJournal(s.db, s.journal, options(s, target));
    if (!r.archived) throw new Error('not archived');
    return { s, target, text: readFileSync(target, 'utf8') };
  }

  it('an edited row is refused and named', () => {
    const { s, target, text } = archived();
    const lines = text.split('\n');
    const i = lines.findIndex((l, n) => n >= 3 && l.includes('"seq":7,') && l.includes('"granted":true'));
    expect(i).toBe(3 + 6);
    lines[i] = lines[i]!.replace('"granted":true', '"granted":false');
    const bad = join(s.dir, 'bad.sekisho-archive');
    writeFileSync(bad, lines.join('\n'));
    const c = verifyArchiveFile(bad, { publicKey: s.keys.publicKey });
    expect(c.ok).toBe(false);
    expect(c.firstBadSeq).toBe(7);
    expect(c.problems).toContain(
      'row 7: the hash is not SHA-256(previous hash ‖ bytes): the row was altered',
    );
    expect(c.problems.join()).toMatch(/do not match the SHA-256 and size in the manifest/);
    expect(verifyArchiveFile(target, { publicKey: s.keys.publicKey }).ok).toBe(true);
  });

  it('a removed row, an edited manifest, a foreign key and a truncated file are refused', () => {
    const { s, text } = archived();
    const lines = text.split('\n');
    const write = (name: string, content: string) => {
      const f = join(s.dir, name);
      writeFileSync(f, content);
      return verifyArchiveFile(f, { publicKey: s.keys.publicKey });
    };
    const removed = write('removed', [...lines.slice(0, 12), ...lines.slice(13)].join('\n'));
    expect(removed).toMatchObject({ ok: false, firstBadSeq: 10 });
    expect(removed.problems[0]).toBe('row 10 is missing: the next row in the archive is seq 11');

    const manifest = JSON.parse(lines[1]!) as { rows: number };
    const edited = write(
      'edited',
      [lines[0], JSON.stringify({ ...manifest, rows: 29 }), ...lines.slice(2)].join('\n'),
    );
    expect(edited.ok).toBe(false);
    expect(edited.problems[0]).toMatch(/signature does not verify.*altered or forged/);

    const other = generateKeyPairSync('ed25519').publicKey;
    const foreign = verifyArchiveFile(join(s.dir, 'a.sekisho-archive'), { publicKey: other });
    expect(foreign.ok).toBe(false);
    expect(foreign.problems[0]).toMatch(/the manifest names key [0-9a-f]{16}, expected/);

    const truncated = write('truncated', text.slice(0, text.length - 200));
    expect(truncated.ok).toBe(false);
    expect(truncated.problems.join()).toMatch(/damaged or changed/);

    expect(write('not-archive', 'hello\n').problems[0]).toMatch(/is not a Sekisho archive/);
    expect(verifyArchiveFile(join(s.dir, 'a.sekisho-archive')).ok).toBe(false); // no key, no trust
  });
});

describe('deletion stays impossible above the archive base', () => {
  it('the DELETE trigger refuses every row above the latest base, and only allows those at or below it', () => {
    const s = setup(30, 10);
    expect(() => s.db.prepare('DELETE FROM journal WHERE seq = 1').run()).toThrow(/append-only: DELETE/);
    const r = archiveJournal(s.db, s.journal, options(s, join(s.dir, 'a')));
    expect(r.archived).toBe(true);
    expect(() => s.db.prepare('DELETE FROM journal WHERE seq = 31').run()).toThrow(/append-only: DELETE/);
    expect(() => s.db.prepare('DELETE FROM journal').run()).toThrow(/append-only: DELETE/);
    expect(() => s.db.prepare('DELETE FROM journal WHERE at < ?').run(NOW)).toThrow(/append-only: DELETE/);
    expect(count(s.db)).toBe(11);
    // The bases themselves are append-only, and a base must name a real row below the head.
    expect(() => s.db.prepare('DELETE FROM archive_bases').run()).toThrow(/append-only/);
    expect(() => s.db.prepare('UPDATE archive_bases SET seq = 40').run()).toThrow(/append-only/);
    const insert = s.db.prepare(
      "INSERT INTO archive_bases (seq, hash, at, controller, archive_sha256, signature, key_id) VALUES (?, ?, 0, 'c', 'x', 'x', 'x')",
    );
    expect(() => insert.run(35, 'f'.repeat(64))).toThrow(/must name a journal row/);
    expect(() => insert.run(41, s.journal.get(41)!.hash)).toThrow(/must name a journal row/);
    // With the sqlite3 shell, as an attacker would try it first.
    s.db.close();
    expect(() => sqlite(s.file, 'DELETE FROM journal WHERE seq < 36;')).toThrow(/append-only: DELETE/);
  });

  it('rows deleted above the base (triggers dropped with the sqlite3 shell) are detected and named', () => {
    const s = setup(30, 10);
    archiveJournal(s.db, s.journal, options(s, join(s.dir, 'a')));
    s.db.close();
    sqlite(s.file, 'DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq IN (31, 32);');
    const db = openDatabase(s.file, { readonly: true });
    const v = verifyJournal(db, { publicKey: s.keys.publicKey });
    db.close();
    expect(v).toMatchObject({ ok: false, kind: 'missing', firstBadSeq: 31 });
    expect(v.problem).toMatch(/rows 31 to 32 are missing/);
    expect(v.warnings).toEqual([expect.stringMatching(/^protective trigger journal_no_delete is missing: /)]);
    expect(v.protections).toMatchObject({
      intact: false,
      problems: [{ name: 'journal_no_delete', problem: 'missing' }],
    });
  });

  it('a forged base, a removed base and a live journal emptied after its base are reported', () => {
    // Forged: rows deleted and a base inserted without the device key.
    const s = setup(30, 10);
    const h5 = s.original.get(5)!.hash;
    s.db.close();
    sqlite(
      s.file,
      `DROP TRIGGER journal_no_delete; DROP TRIGGER archive_bases_valid; DELETE FROM journal WHERE seq <= 5;
       INSERT INTO archive_bases VALUES (5, '${h5}', 0, 'ctl-1', '${'a'.repeat(64)}', 'AAAA', '${s.keys.keyId}');`,
    );
    let db = openDatabase(s.file, { readonly: true });
    expect(verifyJournal(db, { publicKey: s.keys.publicKey })).toMatchObject({
      ok: false,
      kind: 'archive_base_signature',
      firstBadSeq: 5,
    });
    db.close();

    // Removed: a genuine archive, then the base row deleted to hide that rows are gone.
    const t = setup(30, 10);
    archiveJournal(t.db, t.journal, options(t, join(t.dir, 'a')));
    t.db.close();
    sqlite(t.file, 'DROP TRIGGER archive_bases_no_delete; DELETE FROM archive_bases;');
    db = openDatabase(t.file, { readonly: true });
    expect(verifyJournal(db, { publicKey: t.keys.publicKey })).toMatchObject({
      ok: false,
      kind: 'missing',
      firstBadSeq: 1,
    });
    db.close();

    // Emptied: every live row deleted after the base.
    const u = setup(30, 10);
    archiveJournal(u.db, u.journal, options(u, join(u.dir, 'a')));
    u.db.close();
    sqlite(u.file, 'DROP TRIGGER journal_no_delete; DELETE FROM outbox; DELETE FROM journal;');
    db = openDatabase(u.file, { readonly: true });
    const v = verifyJournal(db, { publicKey: u.keys.publicKey });
    db.close();
    expect(v).toMatchObject({ ok: false, kind: 'missing', firstBadSeq: 31 });
  });
});

describe('continuity: archive → archive → live journal', () => {
  it('verifies across two archives, and names a missing or substituted archive', () => {
    const s = setup(30, 10, [10]);
    const dir = join(s.dir, 'archives');
    mkdirSync(dir);
    const a1 = join(dir, '1.sekisho-archive');
    const a2 = join(dir, '2.sekisho-archive');
    archiveJournal(s.db, s.journal, options(s, a1, { before: OLD + 12 * 3_600_000 }));
    archiveJournal(s.db, s.journal, options(s, a2));
    const bases = readArchiveBases(s.db);
    expect(bases.map((b) => b.seq)).toEqual([12, 30]);
    const two = JSON.parse(readFileSync(a2, 'utf8').split('\n')[1]!) as { prevBase: { seq: number } };
    expect(two.prevBase.seq).toBe(12);

    const ok = verifyArchiveChain(s.db, dir, s.keys.publicKey);
    expect(ok.problems).toEqual([]);
    expect(ok).toMatchObject({ ok: true, journal: { ok: true, archiveBase: { seq: 30 } } });
    expect(ok.archives.map((a) => a.manifest.head.seq)).toEqual([12, 30]);

    // A missing archive.
    const aside = join(s.dir, '1.aside');
    copyFileSync(a1, aside);
    rmSync(a1);
    const missing = verifyArchiveChain(s.db, dir, s.keys.publicKey);
    expect(missing.ok).toBe(false);
    expect(missing.problems).toContain(
      `no archive file in ${dir} for the archive base at seq 12 (signed 2032-01-10T09:00:00.000Z)`,
    );
    expect(missing.problems.join()).toMatch(/rows 1 to 12 are in no archive/);

    // An archive of another history, validly signed with the same key, in its place: a checkpoint
    // inside it (seq 10) catches it; past the last checkpoint, the base's SHA-256 does.
    const sign = (t: Setup, name: string) =>
      archiveJournal(
        t.db,
        t.journal,
        options({ ...t, keys: s.keys }, join(t.dir, name), { before: OLD + 12 * 3_600_000 }),
      );
    const other = setup(12, 3, [], 'mr-out');
    sign(other, 'fake');
    copyFileSync(join(other.dir, 'fake'), a1);
    const rewritten = verifyArchiveChain(s.db, dir, s.keys.publicKey);
    expect(rewritten.ok).toBe(false);
    expect(rewritten.problems.join()).toMatch(
      /1\.sekisho-archive: row 10's hash differs from the checkpoint signed for that seq/,
    );

    const late = setup(10, 0);
    late.journal.appendMany([access(OLD + 10 * 3_600_000, 10, 'x'), access(OLD + 11 * 3_600_000, 11, 'x')]);
    late.journal.append(access(YOUNG, 12));
    sign(late, 'fake2');
    copyFileSync(join(late.dir, 'fake2'), a1);
    const swapped = verifyArchiveChain(s.db, dir, s.keys.publicKey);
    expect(swapped.ok).toBe(false);
    expect(swapped.problems.join()).toMatch(
      /1\.sekisho-archive is not the archive the base at seq 12 names \(its SHA-256 differs\)/,
    );
    copyFileSync(aside, a1);
    expect(verifyArchiveChain(s.db, dir, s.keys.publicKey).ok).toBe(true);
  });
});
