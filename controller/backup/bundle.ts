/**
 * The backup file ("bundle"): its format, reading and checking one, and describing its manifest.
 * One file, mode 0600, no tar:
 *
 *   SEKISHO-BACKUP 1\n
 *   <manifest, one line of JSON>\n
 *   <the files, concatenated in manifest order>
 *
 * The manifest names the controller, the schema version, the journal head and checkpoint count,
 * the device key id and, per file, its size and SHA-256. Only four names are allowed (journal.db,
 * device-hmac.key, device-signing.pem, device-public.pem), each with a fixed mode on restore (0600,
 * the public key 0644), so a bundle can neither write elsewhere nor loosen a permission.
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import {
  HMAC_KEY_FILE,
  loadOrCreateDeviceSecrets,
  PUBLIC_KEY_FILE,
  publicKeyId,
  SCHEMA_VERSION,
  SIGNING_KEY_FILE,
  type SqliteDatabase,
  schemaVersion,
  type VerifyResult,
  verifyJournal,
} from '../journal/index.js';
import { createSecretFile } from '../secret-files.js';

export const BACKUP_MAGIC = 'SEKISHO-BACKUP 1\n';
export const JOURNAL_DB = 'journal.db';
/** The files a bundle carries, in order, with the mode each gets on disk. */
export const BACKUP_FILES: readonly { name: string; mode: number }[] = [
  { name: JOURNAL_DB, mode: 0o600 },
  { name: HMAC_KEY_FILE, mode: 0o600 },
  { name: SIGNING_KEY_FILE, mode: 0o600 },
  { name: PUBLIC_KEY_FILE, mode: 0o644 },
];
const MAX_MANIFEST = 64 * 1024;
const CHUNK = 1024 * 1024;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const BackupManifest = z.strictObject({
  format: z.literal(1),
  createdAt: z.int().nonnegative(),
  sekishoVersion: z.string(),
  controllerId: z.string(),
  siteId: z.string(),
  schemaVersion: z.int().positive(),
  head: z.strictObject({ seq: z.int().nonnegative(), hash: Hex64 }),
  checkpoints: z.int().nonnegative(),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  files: z
    .array(z.strictObject({ name: z.string(), size: z.int().nonnegative(), sha256: Hex64 }))
    .refine(
      (files) =>
        files.length === BACKUP_FILES.length && files.every((f, i) => f.name === BACKUP_FILES[i]!.name),
      { message: `must list exactly ${BACKUP_FILES.map((f) => f.name).join(', ')}, in that order` },
    ),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/** A refusal with the reasons, one sentence each; the CLI prints them and exits 1. */
export class BackupError extends Error {
  override name = 'BackupError';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length > 0 ? `${message}:\n  - ${problems.join('\n  - ')}` : message);
  }
}

// ------------------------------------------------------------------------------------------------
// Small file helpers

/** Calls `fn` with each chunk of the file in order (the buffer is reused: use it before returning). */
export function readChunks(path: string, fn: (chunk: Buffer) => void): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      fn(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

export function sha256File(path: string): string {
  const hash = createHash('sha256');
  readChunks(path, (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

/** Copies `length` bytes from `fd` at `position` into a new file (mode), returning their SHA-256. */
function copyOut(fd: number, position: number, length: number, target: string, mode: number): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  createSecretFile(
    target,
    (out) => {
      let left = length;
      let at = position;
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, left), at);
        if (n === 0) throw new BackupError(`the backup file ends early (truncated?)`);
        writeSync(out, buf, 0, n);
        hash.update(buf.subarray(0, n));
        left -= n;
        at += n;
      }
    },
    mode,
  );
  return hash.digest('hex');
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

// ------------------------------------------------------------------------------------------------
// Reading and checking a bundle

export interface BundleLayout {
  manifest: BackupManifest;
  /** Byte offset of each file in the bundle, in manifest order. */
  offsets: number[];
}

/** Reads and validates a bundle's header and manifest (not the file contents). */
export function readBundle(file: string): BundleLayout {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new BackupError(`cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, BACKUP_MAGIC.length + MAX_MANIFEST + 1));
    readSync(fd, head, 0, head.length, 0);
    if (head.subarray(0, BACKUP_MAGIC.length).toString('latin1') !== BACKUP_MAGIC)
      throw new BackupError(`${file} is not a Sekisho backup (it does not start with "SEKISHO-BACKUP 1")`);
    const end = head.indexOf(0x0a, BACKUP_MAGIC.length);
    if (end === -1) throw new BackupError(`${file}: the manifest line is missing or too long`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(head.subarray(BACKUP_MAGIC.length, end).toString('utf8'));
    } catch (err) {
      throw new BackupError(`${file}: the manifest is not JSON (${(err as Error).message})`);
    }
    const result = BackupManifest.safeParse(parsed);
    if (!result.success) {
      throw new BackupError(
        `${file}: the manifest is not valid`,
        result.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`),
      );
    }
    const manifest = result.data;
    const offsets: number[] = [];
    let at = end + 1;
    for (const f of manifest.files) {
      offsets.push(at);
      at += f.size;
    }
    if (at !== size)
      throw new BackupError(
        `${file} is ${size} bytes but its manifest accounts for ${at}: truncated or appended to`,
      );
    return { manifest, offsets };
  } finally {
    closeSync(fd);
  }
}

export interface BackupCheck {
  /** No problem found. */
  ok: boolean;
  manifest: BackupManifest;
  /** Everything wrong, one sentence each; a chain problem names its row. */
  problems: string[];
  /** The part of `problems` about the journal's content (chain, signatures, protective triggers). */
  journalProblems: string[];
  /** The chain walk of the backup's journal (absent when the database could not be opened). */
  verify?: VerifyResult;
  /** The public key the bundle carries (derived from its signing key). */
  publicKey?: KeyObject;
  keyId?: string;
}

export interface CheckOptions {
  /** A public key kept off the device: the backup's checkpoints must verify with it too. */
  trustedPublicKey?: KeyObject;
}

/**
 * Unpacks a bundle into `dir` (which must exist and be private) and checks everything: the
 * digests, the secrets, the database's integrity, the journal chain and its signed checkpoints, and
 * that the manifest tells the truth about them. Never throws for a bad bundle; throws BackupError
 * only when the file is not a readable bundle at all.
 */
export function unpackAndCheck(file: string, dir: string, options: CheckOptions = {}): BackupCheck {
  const { manifest, offsets } = readBundle(file);
  const problems: string[] = [];
  const fd = openSync(file, 'r');
  try {
    manifest.files.forEach((f, i) => {
      const digest = copyOut(fd, offsets[i]!, f.size, join(dir, f.name), BACKUP_FILES[i]!.mode);
      if (digest !== f.sha256)
        problems.push(
          `${f.name} does not match its SHA-256 in the manifest: the backup was damaged or changed`,
        );
    });
  } finally {
    closeSync(fd);
  }
  const check: BackupCheck = { ok: false, manifest, problems, journalProblems: [] };

  try {
    // Read before loading: loading the secrets rewrites a public key file that does not match.
    const stored = readFileSync(join(dir, PUBLIC_KEY_FILE), 'utf8');
    const secrets = loadOrCreateDeviceSecrets(dir);
    check.publicKey = secrets.publicKey;
    check.keyId = secrets.keyId;
    if (secrets.keyId !== manifest.keyId)
      problems.push(
        `the manifest names key ${manifest.keyId} but the backup's signing key is ${secrets.keyId}`,
      );
    if (stored !== secrets.publicKeyPem)
      problems.push(`${PUBLIC_KEY_FILE} is not the public half of ${SIGNING_KEY_FILE}`);
  } catch (err) {
    problems.push(`device secrets: ${(err as Error).message}`);
  }
  if (options.trustedPublicKey) {
    const trustedId = publicKeyId(options.trustedPublicKey);
    if (check.keyId !== undefined && check.keyId !== trustedId)
      problems.push(`the backup's device key is ${check.keyId}, not the trusted key ${trustedId}`);
  }

  if (manifest.schemaVersion > SCHEMA_VERSION)
    problems.push(
      `the backup has schema version ${manifest.schemaVersion}, newer than this Sekisho knows (${SCHEMA_VERSION}): restore it with a newer version`,
    );

  let db: SqliteDatabase | undefined;
  try {
    db = new Database(join(dir, JOURNAL_DB), { fileMustExist: true });
    const integrity = db.pragma('integrity_check') as { integrity_check: string }[];
    const bad = integrity.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (bad.length > 0)
      problems.push(`journal.db fails PRAGMA integrity_check: ${bad.slice(0, 3).join('; ')}`);
    if (schemaVersion(db) !== manifest.schemaVersion)
      problems.push(
        `journal.db has schema version ${schemaVersion(db)}, the manifest says ${manifest.schemaVersion}`,
      );
    const key = options.trustedPublicKey ?? check.publicKey;
    const v = verifyJournal(db, key ? { publicKey: key } : {});
    check.verify = v;
    if (!v.ok) check.journalProblems.push(`journal row seq ${v.firstBadSeq}: ${v.problem}`);
    else {
      if (v.headSeq !== manifest.head.seq || v.headHash !== manifest.head.hash)
        problems.push(
          `the journal's head is seq ${v.headSeq}, the manifest says seq ${manifest.head.seq}: rows were added or removed`,
        );
      if (v.checkpoints !== manifest.checkpoints)
        problems.push(
          `the journal has ${v.checkpoints} checkpoints, the manifest says ${manifest.checkpoints}`,
        );
      if (!key) problems.push('no public key to check the signed checkpoints with');
    }
    check.journalProblems.push(...v.warnings);
    problems.push(...check.journalProblems);
  } catch (err) {
    problems.push(`journal.db cannot be read: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
  check.ok = problems.length === 0;
  return check;
}

/** `sekisho restore --check`: unpack into a temporary folder, check, clean up. */
export function checkBackup(file: string, options: CheckOptions = {}): BackupCheck {
  const dir = mkdtempSync(join(dirname(resolve(file)), '.sekisho-check-'));
  try {
    return unpackAndCheck(file, dir, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Human summary lines of a manifest. */
export function describeManifest(m: BackupManifest): string[] {
  const size = m.files.reduce((n, f) => n + f.size, 0);
  return [
    `controller ${m.controllerId} (site ${m.siteId}), made ${new Date(m.createdAt).toISOString()} by Sekisho ${m.sekishoVersion}`,
    `journal: head seq ${m.head.seq} ${m.head.hash.slice(0, 16)}…, ${m.checkpoints} signed checkpoints, schema ${m.schemaVersion}, ${mb(size)}`,
    `device key ${m.keyId}`,
  ];
}
