/**
 * Archiving: journal rows older than the retention period move into a signed archive file, and
 * the live chain continues from a signed archive base. See docs/journal.md, "Archiving".
 *
 * The archive file (mode 0600, UTF-8 text, one item per line):
 *
 *   SEKISHO-ARCHIVE 1\n
 *   <manifest: one line of JSON>\n
 *   <signature: base64 Ed25519 over the manifest line's UTF-8 bytes, without its \n>\n
 *   <one line per row, in seq order: "<hash> <bytes>\n", hash and bytes exactly as stored>
 *
 * The manifest names the controller, the previous archive base (seq 0 and the genesis hash for
 * the first archive), the chain head at the cut (the last row's seq and hash), the row count and
 * the SHA-256 and size of the row lines. Chain linkage inside the file is checked from the
 * previous base's hash to the head. The database keeps, per archive, a signed archive base whose
 * `archiveSha256` is the SHA-256 of the whole file, so each base names exactly one file.
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { SqliteDatabase } from './db.js';
import {
  type ArchiveBase,
  archiveBaseBytes,
  type Checkpoint,
  chainHash,
  GENESIS_HASH,
  type Journal,
  RECORD_VERSION,
  readArchiveBases,
} from './journal.js';
import { publicKeyId } from './secrets.js';
import { type VerifyResult, verifyJournal } from './verify.js';

export const ARCHIVE_MAGIC = 'SEKISHO-ARCHIVE 1\n';
const MAX_HEAD = 64 * 1024;
const CHUNK = 1024 * 1024;
const PAGE = 1000;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const Link = z.strictObject({ seq: z.int().nonnegative(), hash: Hex64 });
export const ArchiveManifest = z.strictObject({
  format: z.literal(1),
  controllerId: z.string().min(1),
  siteId: z.string(),
  createdAt: z.int().nonnegative(),
  sekishoVersion: z.string(),
  /** Rows whose `at` is before this (UTC ms) were eligible. */
  before: z.int().nonnegative(),
  retentionYears: z.int().positive(),
  /** The base the archived rows chain from: the previous archive's head, or seq 0 and genesis. */
  prevBase: Link,
  /** The chain head at the cut: the last archived row. */
  head: Link,
  rows: z.int().positive(),
  firstAt: z.int().nonnegative(),
  lastAt: z.int().nonnegative(),
  contentBytes: z.int().nonnegative(),
  contentSha256: Hex64,
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
});
export type ArchiveManifest = z.infer<typeof ArchiveManifest>;

/** A refusal, with a sentence for people; nothing was deleted. */
export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

/** now − `years` calendar years (UTC): rows before it are older than the retention period. */
export function retentionCutoff(now: number, years: number): number {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.getTime();
}

// ------------------------------------------------------------------------------------------------
// Verifying an archive file on its own

export interface ArchiveCheck {
  ok: boolean;
  /** Absent when the file is not a readable archive at all. */
  manifest?: ArchiveManifest;
  /** Everything wrong, one sentence each. */
  problems: string[];
  /** The first row that does not verify, if any. */
  firstBadSeq?: number;
  /** SHA-256 of the whole file (what an archive base names). */
  fileSha256: string;
  rowsChecked: number;
  signatureChecked: boolean;
}

export interface ArchiveCheckOptions {
  /** The device's public key; without it the signature is not checked (and `ok` is false). */
  publicKey?: KeyObject;
  /** Checkpoints to compare with the archived rows' hashes (those inside the file's range). */
  checkpoints?: readonly Checkpoint[];
}

/** Reads `file` line by line (lines without their \n), hashing the whole file and the row section. */
function* lines(file: string, whole: ReturnType<typeof createHash>): Generator<Buffer> {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let rest: Buffer = Buffer.alloc(0);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      whole.update(chunk);
      let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : Buffer.from(chunk);
      let nl = data.indexOf(0x0a);
      while (nl !== -1) {
        yield data.subarray(0, nl);
        data = data.subarray(nl + 1);
        nl = data.indexOf(0x0a);
      }
      rest = data;
    }
    if (rest.length > 0) yield Buffer.concat([rest, Buffer.from('\u0000NO-NEWLINE')]);
  } finally {
    closeSync(fd);
  }
}

/**
 * Verifies an archive file on its own: the header, the manifest, its signature (with `publicKey`),
 * the SHA-256 and size of the row lines, that the seqs run without gaps from the previous base to
 * the head, that each row's bytes are a record of its seq and that every hash chains from the one
 * before, starting at the previous base's hash and ending at the head's. Never throws for a bad file.
 */
export function verifyArchiveFile(file: string, options: ArchiveCheckOptions = {}): ArchiveCheck {
  const whole = createHash('sha256');
  const content = createHash('sha256');
  const check: ArchiveCheck = {
    ok: false,
    problems: [],
    fileSha256: '',
    rowsChecked: 0,
    signatureChecked: false,
  };
  const problems = check.problems;
  const bad = (seq: number, problem: string) => {
    check.firstBadSeq ??= seq;
    problems.push(problem);
  };
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
  } catch (err) {
    problems.push(`cannot read ${file}: ${(err as Error).message}`);
    return check;
  }
  const cps = new Map((options.checkpoints ?? []).map((c) => [c.seq, c]));
  let index = 0;
  let manifest: ArchiveManifest | undefined;
  let expected = 0;
  let prev = GENESIS_HASH;
  let contentBytes = 0;
  let broken = false;
  for (const line of lines(file, whole)) {
    index++;
    if (index === 1) {
      if (`${line.toString('latin1')}\n` !== ARCHIVE_MAGIC) {
        problems.push(`${file} is not a Sekisho archive (it does not start with "SEKISHO-ARCHIVE 1")`);
        break;
      }
      continue;
    }
    if (index === 2) {
      if (line.length > MAX_HEAD) {
        problems.push('the manifest line is too long');
        break;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(line.toString('utf8'));
      } catch (err) {
        problems.push(`the manifest is not JSON (${(err as Error).message})`);
        break;
      }
      const result = ArchiveManifest.safeParse(parsed);
      if (!result.success) {
        problems.push(
          ...result.error.issues.map((i) => `manifest ${i.path.join('.') || ''}: ${i.message}`.trim()),
        );
        break;
      }
      manifest = result.data;
      check.manifest = manifest;
      expected = manifest.prevBase.seq + 1;
      prev = manifest.prevBase.hash;
      continue;
    }
    if (index === 3) {
      if (!manifest) break;
      if (options.publicKey) {
        check.signatureChecked = true;
        const signed = verifySignature(manifestLineOf(file), line.toString('latin1'), options.publicKey);
        if (!signed) {
          const keyId = publicKeyId(options.publicKey);
          const key =
            keyId === manifest.keyId ? '' : ` (the manifest names key ${manifest.keyId}, expected ${keyId})`;
          problems.push(`the manifest's signature does not verify${key}: the archive was altered or forged`);
        }
      } else problems.push('no public key to check the archive signature with');
      continue;
    }
    if (!manifest) break;
    // A row line: "<hash> <bytes>".
    content.update(line);
    content.update('\n');
    contentBytes += line.length + 1;
    if (broken) continue;
    const text = line.toString('utf8');
    const hash = text.slice(0, 64);
    const bytes = text.slice(65);
    const seq = expected;
    if (!/^[0-9a-f]{64} /.test(text.slice(0, 65))) {
      bad(seq, `line ${index}: not "<hash> <bytes>" (expected row ${seq})`);
      broken = true;
      continue;
    }
    if (!bytes.startsWith(`{"v":${RECORD_VERSION},"seq":${seq},`)) {
      const named = /^\{"v":\d+,"seq":(\d+),/.exec(bytes)?.[1];
      bad(
        seq,
        named === undefined
          ? `row ${seq}: the bytes are not a journal record`
          : `row ${seq} is missing: the next row in the archive is seq ${named}`,
      );
      broken = true;
      continue;
    }
    if (chainHash(prev, bytes) !== hash) {
      bad(seq, `row ${seq}: the hash is not SHA-256(previous hash ‖ bytes): the row was altered`);
      broken = true;
      continue;
    }
    const cp = cps.get(seq);
    if (cp && cp.hash !== hash) {
      bad(
        seq,
        `row ${seq}'s hash differs from the checkpoint signed for that seq: the archive was rewritten`,
      );
      broken = true;
      continue;
    }
    prev = hash;
    expected = seq + 1;
    check.rowsChecked++;
  }
  check.fileSha256 = whole.digest('hex');
  if (index === 0) problems.push(`${file} is empty`);
  if (!manifest) {
    if (problems.length === 0) problems.push(`${file} ends before its manifest and signature`);
    return check;
  }
  if (index < 3) problems.push('the signature line is missing');
  const digest = content.digest('hex');
  if (digest !== manifest.contentSha256 || contentBytes !== manifest.contentBytes)
    problems.push(
      'the row lines do not match the SHA-256 and size in the manifest: the archive was damaged or changed',
    );
  if (!broken) {
    if (expected - 1 !== manifest.head.seq || prev !== manifest.head.hash)
      bad(
        expected,
        expected - 1 < manifest.head.seq
          ? `the archive ends at seq ${expected - 1} but its manifest says seq ${manifest.head.seq}: rows ${expected} to ${manifest.head.seq} are missing`
          : `the chain does not end at the manifest's head (seq ${manifest.head.seq})`,
      );
    if (check.rowsChecked !== manifest.rows)
      problems.push(`the archive holds ${check.rowsChecked} rows, its manifest says ${manifest.rows}`);
  }
  check.ok = problems.length === 0;
  return check;
}

/** The manifest line (line 2) as stored, for signature checking. */
function manifestLineOf(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(fstatSync(fd).size, ARCHIVE_MAGIC.length + MAX_HEAD + 1));
    readSync(fd, head, 0, head.length, 0);
    const end = head.indexOf(0x0a, ARCHIVE_MAGIC.length);
    return head.subarray(ARCHIVE_MAGIC.length, end === -1 ? head.length : end);
  } finally {
    closeSync(fd);
  }
}

function verifySignature(manifestLine: Buffer, signature: string, publicKey: KeyObject): boolean {
  try {
    return (
      /^[A-Za-z0-9+/]+=*$/.test(signature) &&
      verify(null, manifestLine, publicKey, Buffer.from(signature, 'base64'))
    );
  } catch {
    return false;
  }
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
  const cut = Math.min((firstYoung ?? headSeq + 1) - 1, headSeq - 1);
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
    if (row.seq !== expected || chainHash(prev, row.bytes) !== row.hash || row.bytes.includes('\n'))
      throw new ArchiveError(`row ${row.seq} does not chain as it should; nothing was archived`);
    const text = line(row);
    content.update(text, 'utf8');
    contentBytes += Buffer.byteLength(text, 'utf8');
    if (firstAt === -1) firstAt = row.at;
    lastAt = row.at;
    prev = row.hash;
    headHash = row.hash;
    expected++;
    rows++;
  });
  if (rows !== cut - prevBase.seq)
    throw new ArchiveError(`expected ${cut - prevBase.seq} rows, read ${rows}`);

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

// ------------------------------------------------------------------------------------------------
// Continuity: archive → archive → live journal

export interface ArchiveChainCheck {
  ok: boolean;
  /** The archives found, oldest first. */
  archives: { file: string; manifest: ArchiveManifest; fileSha256: string }[];
  /** Everything wrong, one sentence each. */
  problems: string[];
  /** Not proof of tampering: e.g. an archive no base names (left by an interrupted `sekisho archive`). */
  notes: string[];
  journal: VerifyResult;
}

/**
 * Verifies every archive file in `dir` on its own, then the chain across them: the first starts at
 * the genesis hash, each starts where the previous one ends, every archive base in the database
 * names one of them (by head and whole-file SHA-256), and the live journal verifies from the latest
 * base. A missing, extra, swapped or altered archive is named.
 */
export function verifyArchiveChain(db: SqliteDatabase, dir: string, publicKey: KeyObject): ArchiveChainCheck {
  const problems: string[] = [];
  const notes: string[] = [];
  const checkpoints = db
    .prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM checkpoints')
    .all() as Checkpoint[];
  const archives: ArchiveChainCheck['archives'] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!statSync(path).isFile() || !startsWithMagic(path)) continue;
    const c = verifyArchiveFile(path, { publicKey, checkpoints });
    if (!c.ok || !c.manifest) {
      problems.push(`${name}: ${c.problems.join('; ')}`);
      continue;
    }
    archives.push({ file: path, manifest: c.manifest, fileSha256: c.fileSha256 });
  }
  archives.sort((a, b) => a.manifest.prevBase.seq - b.manifest.prevBase.seq);

  const bases = readArchiveBases(db);
  const named = new Set<string>();
  for (const b of bases) {
    const a = archives.find((x) => x.manifest.head.seq === b.seq);
    if (!a) {
      problems.push(`no archive file in ${dir} for the archive base at seq ${b.seq} (signed ${iso(b.at)})`);
      continue;
    }
    named.add(a.file);
    if (a.manifest.head.hash !== b.hash || a.fileSha256 !== b.archiveSha256)
      problems.push(
        `${a.file} is not the archive the base at seq ${b.seq} names (its ${a.fileSha256 !== b.archiveSha256 ? 'SHA-256' : 'head hash'} differs)`,
      );
  }
  let expected = { seq: 0, hash: GENESIS_HASH };
  const last = bases.at(-1);
  for (const a of archives) {
    if (!named.has(a.file)) {
      notes.push(
        `${a.file} (rows ${a.manifest.prevBase.seq + 1} to ${a.manifest.head.seq}) is not named by any archive base`,
      );
      continue;
    }
    const p = a.manifest.prevBase;
    if (p.seq !== expected.seq || p.hash !== expected.hash)
      problems.push(
        p.seq > expected.seq
          ? `rows ${expected.seq + 1} to ${p.seq} are in no archive: an archive file is missing before ${a.file}`
          : `${a.file} starts after seq ${p.seq}, which does not continue the previous archive (seq ${expected.seq})`,
      );
    expected = a.manifest.head;
  }
  if (last && (expected.seq !== last.seq || expected.hash !== last.hash) && problems.length === 0)
    problems.push(`the archives end at seq ${expected.seq}, the live journal starts after seq ${last.seq}`);
  const journal = verifyJournal(db, { publicKey });
  if (!journal.ok) problems.push(`live journal: row seq ${journal.firstBadSeq}: ${journal.problem}`);
  if (journal.archiveBase === undefined && archives.length > 0 && bases.length === 0)
    notes.push('the journal has no archive base: nothing was archived from it');
  return { ok: problems.length === 0, archives, problems, notes, journal };
}

function startsWithMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(ARCHIVE_MAGIC.length);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return n === buf.length && buf.toString('latin1') === ARCHIVE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toISOString();
}
