/**
 * Archiving: journal rows older than the retention period move into a signed archive file
 * (archive-file.ts), and the live chain continues from a signed archive base. See docs/journal.md,
 * "Archiving". Verifying the chain across archives is archive-chain.ts.
 */
import { createHash, type KeyObject, sign } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  ARCHIVE_MAGIC,
  ArchiveError,
  type ArchiveManifest,
  CHUNK,
  verifyArchiveFile,
} from './archive-file.js';
import type { SqliteDatabase } from './db.js';
import { declaredJump } from './gap.js';
import {
  type ArchiveBase,
  archiveBaseBytes,
  chainHash,
  GENESIS_HASH,
  type Journal,
  readArchiveBases,
} from './journal.js';
import { type VerifyResult, verifyJournal } from './verify.js';

const PAGE = 1000;

/** now − `years` calendar years (UTC): rows before it are older than the retention period. */
export function retentionCutoff(now: number, years: number): number {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.getTime();
}

// ------------------------------------------------------------------------------------------------
// Archiving

export interface ArchiveOptions {
  /** The archive file to write (must not exist; its folder must). */
  target: string;
  /** Archive rows before this time (UTC ms); default and latest allowed: now − retentionYears. */
  before?: number;
  retentionYears: number;
  signingKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  siteId: string;
  sekishoVersion: string;
  /** Who ran it, for the `journal_archived` row. */
  actor: string;
  /** Announce the `journal_archived` row in the outbox (when MQTT is configured). */
  outbox?: boolean;
  now?: () => number;
}

export type ArchiveResult =
  | { archived: false; reason: string; before: number }
  | {
      archived: true;
      file: string;
      fileSha256: string;
      bytes: number;
      manifest: ArchiveManifest;
      base: ArchiveBase;
      /** The live journal verified after the archived rows were deleted. */
      verify: VerifyResult;
    };

type PageRow = { seq: number; at: number; bytes: string; hash: string };

/**
 * Moves the journal rows older than the retention period (the longest run from the start of the
 * live chain whose `at` are all before `before`, never the head row) into a signed archive file,
 * verifies the file as written, then in one transaction records a signed archive base, deletes the
 * archived rows (and their outbox entries) and journals `journal_archived`. Throws ArchiveError,
 * deleting nothing, when the request or the journal is not in order.
 */
export function archiveJournal(db: SqliteDatabase, journal: Journal, options: ArchiveOptions): ArchiveResult {
  const now = options.now ?? Date.now;
  const cutoff = retentionCutoff(now(), options.retentionYears);
  const before = options.before ?? cutoff;
  if (!Number.isSafeInteger(before) || before < 0) throw new ArchiveError('--before is not a valid time');
  if (before > cutoff)
    throw new ArchiveError(
      `refused: ${iso(before)} is within the retention period (storage.retentionYears = ${options.retentionYears}); ` +
        `only records from before ${iso(cutoff)} may be archived`,
    );
  const file = resolve(options.target);
  if (existsSync(file)) throw new ArchiveError(`${file} already exists; choose a new name`);
  if (!existsSync(dirname(file))) throw new ArchiveError(`folder ${dirname(file)} does not exist`);

  const v = verifyJournal(db, { publicKey: options.publicKey });
  if (!v.ok)
    throw new ArchiveError(
      `the journal does not verify (row seq ${v.firstBadSeq}: ${v.problem}); nothing was archived. ` +
        'Keep it as evidence (sekisho backup --force) and investigate first',
    );
  const prevBase = readArchiveBases(db).at(-1) ?? { seq: 0, hash: GENESIS_HASH };
  const headSeq = journal.head().seq;
  const firstYoung = db
    .prepare<[number, number], { seq: number | null }>(
      'SELECT MIN(seq) AS seq FROM journal WHERE seq > ? AND at >= ?',
    )
    .get(prevBase.seq, before)?.seq;
  // The last row that exists at or below the cut-off (a declared gap may leave seqs without rows).
  const cut =
    db
      .prepare<[number], { seq: number | null }>('SELECT MAX(seq) AS seq FROM journal WHERE seq <= ?')
      .get(Math.min((firstYoung ?? headSeq + 1) - 1, headSeq - 1))?.seq ?? 0;
  if (cut <= prevBase.seq)
    return {
      archived: false,
      before,
      reason:
        headSeq <= prevBase.seq + 1
          ? 'nothing to archive: the live journal holds only its head row'
          : `nothing to archive: the first live row (seq ${prevBase.seq + 1}) is not older than ${iso(before)}`,
    };

  // Pass 1: what the archive will hold, and that it chains from the previous base.
  const page = db.prepare<[number, number, number], PageRow>(
    'SELECT seq, at, bytes, hash FROM journal WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
  );
  const eachRow = (fn: (row: PageRow) => void) => {
    let after = prevBase.seq;
    for (;;) {
      const rows = page.all(after, cut, PAGE);
      for (const row of rows) fn(row);
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.seq;
    }
  };
  const line = (row: PageRow) => `${row.hash} ${row.bytes}\n`;
  const content = createHash('sha256');
  let contentBytes = 0;
  let rows = 0;
  let firstAt = -1;
  let lastAt = -1;
  let prev = prevBase.hash;
  let expected = prevBase.seq + 1;
  let headHash = '';
  eachRow((row) => {
    if (row.seq !== expected && declaredJump(row.bytes, expected) !== row.seq)
      throw new ArchiveError(`row ${row.seq} does not chain as it should; nothing was archived`);
    if (chainHash(prev, row.bytes) !== row.hash || row.bytes.includes('\n'))
      throw new ArchiveError(`row ${row.seq} does not chain as it should; nothing was archived`);
    const text = line(row);
    content.update(text, 'utf8');
    contentBytes += Buffer.byteLength(text, 'utf8');
    if (firstAt === -1) firstAt = row.at;
    lastAt = row.at;
    prev = row.hash;
    headHash = row.hash;
    expected = row.seq + 1;
    rows++;
  });
  // A declared gap skips seqs: count the rows, not the seqs.
  const present = db
    .prepare<[number, number], { n: number }>('SELECT COUNT(*) AS n FROM journal WHERE seq > ? AND seq <= ?')
    .get(prevBase.seq, cut)!.n;
  if (rows !== present || expected !== cut + 1)
    throw new ArchiveError(`expected ${present} rows up to seq ${cut}, read ${rows}`);

  const manifest: ArchiveManifest = {
    format: 1,
    controllerId: journal.controllerId,
    siteId: options.siteId,
    createdAt: now(),
    sekishoVersion: options.sekishoVersion,
    before,
    retentionYears: options.retentionYears,
    prevBase: { seq: prevBase.seq, hash: prevBase.hash },
    head: { seq: cut, hash: headHash },
    rows,
    firstAt,
    lastAt,
    contentBytes,
    contentSha256: content.digest('hex'),
    keyId: options.keyId,
  };
  const manifestLine = JSON.stringify(manifest);
  const signature = sign(null, Buffer.from(manifestLine, 'utf8'), options.signingKey).toString('base64');

  // Pass 2: write to a temporary name (0600), fsync, link into place (never replacing a file).
  const tmp = `${file}.${process.pid}.tmp`;
  const out = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(out, `${ARCHIVE_MAGIC}${manifestLine}\n${signature}\n`);
    const again = createHash('sha256');
    let buf = '';
    eachRow((row) => {
      const text = line(row);
      again.update(text, 'utf8');
      buf += text;
      if (buf.length > CHUNK) {
        writeSync(out, buf);
        buf = '';
      }
    });
    if (buf) writeSync(out, buf);
    if (again.digest('hex') !== manifest.contentSha256)
      throw new ArchiveError('the rows changed while they were being written; nothing was archived');
    fsyncSync(out);
    closeSync(out);
    linkSync(tmp, file);
  } catch (err) {
    try {
      closeSync(out);
    } catch {
      // already closed
    }
    unlinkSync(tmp);
    throw err;
  }
  unlinkSync(tmp);
  fsyncPath(dirname(file));

  // Read the file back and verify it before anything is deleted.
  const check = verifyArchiveFile(file, { publicKey: options.publicKey, checkpoints: journal.checkpoints() });
  if (
    !check.ok ||
    check.manifest?.head.seq !== cut ||
    check.manifest.head.hash !== headHash ||
    check.manifest.prevBase.seq !== prevBase.seq
  )
    throw new ArchiveError(
      `the archive ${file} does not verify as written (${check.problems.join('; ') || 'its head differs'}); ` +
        'nothing was deleted from the journal',
    );

  // One transaction: the signed base, the deletion, the journal row.
  const at = now();
  const unsigned = {
    seq: cut,
    hash: headHash,
    at,
    controller: journal.controllerId,
    archiveSha256: check.fileSha256,
  };
  const base: ArchiveBase = {
    ...unsigned,
    signature: sign(null, Buffer.from(archiveBaseBytes(unsigned), 'utf8'), options.signingKey).toString(
      'base64',
    ),
    keyId: options.keyId,
  };
  journal.transaction(() => {
    const latest = readArchiveBases(db).at(-1);
    if ((latest?.seq ?? 0) !== prevBase.seq)
      throw new ArchiveError('another archive was made meanwhile; nothing was deleted, run it again');
    db.prepare(
      `INSERT INTO archive_bases (seq, hash, at, controller, archive_sha256, signature, key_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(base.seq, base.hash, base.at, base.controller, base.archiveSha256, base.signature, base.keyId);
    db.prepare('DELETE FROM outbox WHERE seq <= ?').run(cut);
    // The archive file holds the rows' bytes only: a format v2 row's secrets go with its live row
    // (the file carries no secret; docs/journal.md, "Format v2: commitments").
    db.prepare('DELETE FROM journal_secrets WHERE seq <= ?').run(cut);
    const deleted = db.prepare('DELETE FROM journal WHERE seq <= ?').run(cut).changes;
    if (deleted !== rows)
      throw new ArchiveError(
        `expected to remove ${rows} archived rows, would remove ${deleted}; rolled back`,
      );
    journal.append(
      {
        type: 'journal_archived',
        at,
        actor: options.actor,
        data: {
          file,
          sha256: check.fileSha256,
          fromSeq: prevBase.seq + 1,
          toSeq: cut,
          rows,
          firstAt,
          lastAt,
          before,
          retentionYears: options.retentionYears,
        },
      },
      { outbox: options.outbox ?? false },
    );
  });
  journal.checkpoint(now(), options.signingKey, options.keyId);
  return {
    archived: true,
    file,
    fileSha256: check.fileSha256,
    bytes: statSync(file).size,
    manifest,
    base,
    verify: verifyJournal(db, { publicKey: options.publicKey }),
  };
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toISOString();
}
