/**
 * The archive file: its format and verifying one on its own (docs/journal.md, "Archiving").
 * Mode 0600, UTF-8 text, one item per line:
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
import { createHash, type KeyObject, verify } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { z } from 'zod';
import { declaredJump } from './gap.js';
import { type Checkpoint, chainHash, GENESIS_HASH, RECORD_VERSIONS } from './journal.js';
import { publicKeyId } from './secrets.js';

export const ARCHIVE_MAGIC = 'SEKISHO-ARCHIVE 1\n';
const MAX_HEAD = 64 * 1024;
export const CHUNK = 1024 * 1024;

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
    const seq = declaredJump(bytes, expected) ?? expected;
    if (!/^[0-9a-f]{64} /.test(text.slice(0, 65))) {
      bad(seq, `line ${index}: not "<hash> <bytes>" (expected row ${seq})`);
      broken = true;
      continue;
    }
    if (!RECORD_VERSIONS.some((v) => bytes.startsWith(`{"v":${v},"seq":${seq},`))) {
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
