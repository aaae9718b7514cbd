/**
 * `sekisho backup` and `sekisho restore`: an online, consistent copy of the journal database and
 * the device secrets in one file, verified after writing; and a restore that verifies the backup's
 * chain and signatures before it replaces anything, and keeps what it replaced.
 *
 * The backup file ("bundle") is one file, mode 0600, no tar:
 *
 *   SEKISHO-BACKUP 1\n
 *   <manifest, one line of JSON>\n
 *   <the files, concatenated in manifest order>
 *
 * The manifest names the controller, the schema version, the journal head and checkpoint count,
 * the device key id and, per file, its size and SHA-256. Only four names are allowed (journal.db,
 * device-hmac.key, device-signing.pem, device-public.pem), each with a fixed mode on restore (0600,
 * the public key 0644), so a bundle can neither write elsewhere nor loosen a permission.
 *
 * The journal copy is made with SQLite's backup API in one step (one read transaction: consistent
 * while the controller keeps writing), switched to rollback-journal mode (a single self-contained
 * file), and checked with `PRAGMA integrity_check` and verifyJournal() before and after the bundle
 * is written.
 *
 * Security: the bundle holds the HMAC key (with it and the database, badge numbers can be found by
 * trying every number) and the signing key (with it, checkpoints can be forged). It is as secret as
 * the controller itself (policy §5(1) class 1). Its SHA-256 digests detect damage, not a deliberate
 * change by someone who holds the bundle; the journal's chain and signed checkpoints detect changes
 * to rows, and only a public key kept off the device (`restore --public-key`) or checkpoints
 * published off the device prove that the bundle's own key was not used to re-sign a rewritten chain.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { LoadedConfig } from './config/index.js';
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
} from './journal/index.js';
import { createSecretFile, fsyncDir } from './secret-files.js';
import { journalFile, openStorage, openStorageFiles } from './storage.js';
import { sekishoVersion } from './system.js';

export const BACKUP_MAGIC = 'SEKISHO-BACKUP 1\n';
const JOURNAL_DB = 'journal.db';
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
function readChunks(path: string, fn: (chunk: Buffer) => void): void {
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

function sha256File(path: string): string {
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

// ------------------------------------------------------------------------------------------------
// Backup

export interface BackupOptions {
  now?: () => number;
  /** Write the bundle even when the journal does not verify (to preserve it as evidence). */
  force?: boolean;
}

export interface BackupResult {
  file: string;
  bytes: number;
  /** SHA-256 of the whole bundle file. */
  sha256: string;
  manifest: BackupManifest;
  /** The chain walk of the written bundle, read back from disk. */
  verify: VerifyResult;
}

/**
 * Writes a verified bundle of the controller's storage to `target` (which must not exist). Safe
 * while the controller runs: the database is copied in one read transaction.
 */
export async function createBackup(
  loaded: LoadedConfig,
  target: string,
  options: BackupOptions = {},
): Promise<BackupResult> {
  const file = resolve(target);
  const now = options.now ?? Date.now;
  if (existsSync(file))
    throw new BackupError(`${file} already exists; choose a new name (backups are never overwritten)`);
  if (!existsSync(dirname(file))) throw new BackupError(`folder ${dirname(file)} does not exist`);
  const storage = loaded.storageDir;
  const live = journalFile(storage);
  if (!existsSync(live))
    throw new BackupError(`no journal at ${live}: nothing to back up (has the controller run?)`);
  for (const name of [HMAC_KEY_FILE, SIGNING_KEY_FILE]) {
    if (!existsSync(join(storage, name)))
      throw new BackupError(`${join(storage, name)} is missing: the device secrets are incomplete`);
  }
  // Read-only: a backup changes nothing in the storage folder.
  const src = openStorageFiles(loaded, { readonly: true });
  const { secrets } = src;

  const staging = mkdtempSync(join(dirname(file), '.sekisho-backup-'));
  try {
    // 1. The consistent copy: all pages in one step of the backup API.
    try {
      await src.db.backup(join(staging, JOURNAL_DB), { progress: () => 0x7fffffff });
    } finally {
      src.db.close();
    }
    const copy = new Database(join(staging, JOURNAL_DB), { fileMustExist: true });
    let verify: VerifyResult;
    let version: number;
    try {
      copy.pragma('journal_mode = DELETE');
      const integrity = (copy.pragma('integrity_check') as { integrity_check: string }[]).map(
        (r) => r.integrity_check,
      );
      if (integrity.join() !== 'ok')
        throw new BackupError('the copy of the journal fails PRAGMA integrity_check', integrity.slice(0, 5));
      verify = verifyJournal(copy, { publicKey: secrets.publicKey });
      version = schemaVersion(copy);
    } finally {
      copy.close();
    }
    const journalProblems = [
      ...(verify.ok ? [] : [`journal row seq ${verify.firstBadSeq}: ${verify.problem}`]),
      ...verify.warnings,
    ];
    if (journalProblems.length > 0 && !options.force)
      throw new BackupError(
        'the journal does not verify, so no backup was written (use --force to keep a copy as evidence)',
        journalProblems,
      );

    // 2. The secrets, byte for byte as stored (the public key as derived from the signing key).
    for (const name of [HMAC_KEY_FILE, SIGNING_KEY_FILE])
      createSecretFile(join(staging, name), readFileSync(join(storage, name)));
    createSecretFile(join(staging, PUBLIC_KEY_FILE), secrets.publicKeyPem);

    // 3. The bundle: header, manifest, files; written to a temporary name, then linked into place
    // (which refuses to replace a file that appeared meanwhile).
    const manifest: BackupManifest = {
      format: 1,
      createdAt: now(),
      sekishoVersion: sekishoVersion(),
      controllerId: loaded.config.controller.id,
      siteId: loaded.config.site.id,
      schemaVersion: version,
      head: { seq: verify.headSeq, hash: verify.headHash },
      checkpoints: verify.checkpoints,
      keyId: secrets.keyId,
      files: BACKUP_FILES.map(({ name }) => ({
        name,
        size: statSync(join(staging, name)).size,
        sha256: sha256File(join(staging, name)),
      })),
    };
    createSecretFile(file, (out) => {
      writeSync(out, `${BACKUP_MAGIC}${JSON.stringify(manifest)}\n`);
      for (const { name } of BACKUP_FILES) readChunks(join(staging, name), (chunk) => writeSync(out, chunk));
    });

    // 4. Verified after writing: read the bundle back from disk and check all of it.
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { mode: 0o700 });
    const check = unpackAndCheck(file, staging);
    // With --force only the journal's own problems (the reason for forcing) are acceptable.
    const acceptable = check.problems.length === (options.force ? check.journalProblems.length : 0);
    if (!acceptable) {
      unlinkSync(file);
      throw new BackupError('the backup did not verify after writing and was removed', check.problems);
    }
    return { file, bytes: statSync(file).size, sha256: sha256File(file), manifest, verify: check.verify! };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------
// Restore

export interface RestoreOptions {
  /** Who restores (journaled). */
  actor: string;
  now?: () => number;
  /**
   * Restore even though the backup is of another controller or device key, or is older than the
   * current journal (whose newer rows are then only in the set-aside folder). Never overrides a
   * backup that fails verification.
   */
  force?: boolean;
  trustedPublicKey?: KeyObject;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the replaced files were moved (absent when there was nothing to replace). */
  setAside?: string;
  /** What --force overrode, if anything. */
  overridden: string[];
  /** The head after restoring (the backup's head plus the `backup_restored` row). */
  head: { seq: number; hash: string };
}

/** Opens the live journal exclusively: fails at once if any other process has it open. */
function lockLive(file: string): SqliteDatabase {
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY'))
      throw new BackupError(
        `${file} is in use by another process: stop the controller first (sudo systemctl stop sekisho) and wait for other sekisho commands to finish`,
      );
    throw err;
  }
}

interface LiveState {
  head?: { seq: number; hash: string };
  /** The hash of the live row at the backup's head seq. */
  hashAtBackupHead?: string;
  keyId?: string;
  unreadable?: string;
  /** The live journal, held under an exclusive lock until its files have been set aside. */
  lock?: SqliteDatabase;
}

function inspectLive(storage: string, backupHeadSeq: number): LiveState {
  const state: LiveState = {};
  const pub = join(storage, PUBLIC_KEY_FILE);
  if (existsSync(pub)) {
    try {
      state.keyId = publicKeyId(createPublicKey(readFileSync(pub, 'utf8')));
    } catch {
      // a damaged public key file is replaced anyway
    }
  }
  const file = journalFile(storage);
  if (!existsSync(file)) return state;
  let db: SqliteDatabase;
  try {
    db = lockLive(file);
  } catch (err) {
    if (err instanceof BackupError) throw err;
    state.unreadable = (err as Error).message; // not a database any more: it is set aside as it is
    return state;
  }
  let keep = false;
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const head = db
      .prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1')
      .get();
    state.head = head ?? { seq: 0, hash: '0'.repeat(64) };
    state.hashAtBackupHead = db
      .prepare<[number], { hash: string }>('SELECT hash FROM journal WHERE seq = ?')
      .get(backupHeadSeq)?.hash;
    // Keep the lock: no controller or command may open the journal before it is set aside.
    state.lock = db;
    keep = true;
  } catch (err) {
    if (err instanceof BackupError) throw err;
    state.unreadable = (err as Error).message;
  } finally {
    if (!keep) db.close();
  }
  return state;
}

function stamp(at: number): string {
  return new Date(at).toISOString().replace(/[-:]/g, '');
}

/**
 * Replaces the controller's journal and device secrets with those of a verified backup. Refuses
 * (BackupError, nothing changed) a backup that fails any check, and — unless `force` — a backup of
 * another controller or key, or one older than the current journal. The replaced files are moved
 * to `<storage>/replaced-<time>/`. The restored journal gets a `backup_restored` row and a signed
 * checkpoint.
 */
export function restoreBackup(loaded: LoadedConfig, from: string, options: RestoreOptions): RestoreResult {
  const now = options.now ?? Date.now;
  const storage = loaded.storageDir;
  mkdirSync(storage, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(storage, '.restore-'));
  try {
    const check = unpackAndCheck(resolve(from), staging, { trustedPublicKey: options.trustedPublicKey });
    if (!check.ok) throw new BackupError(`backup ${from} refused, nothing was changed`, check.problems);
    const m = check.manifest;

    // What --force is for: restoring something that is not simply "this controller, earlier".
    const live = inspectLive(storage, m.head.seq);
    const objections: string[] = [];
    let setAside: string | undefined;
    try {
      if (m.controllerId !== loaded.config.controller.id)
        objections.push(
          `the backup is of controller "${m.controllerId}", this config is "${loaded.config.controller.id}"`,
        );
      if (live.keyId !== undefined && live.keyId !== m.keyId)
        objections.push(`the backup's device key is ${m.keyId}, the current one is ${live.keyId}`);
      if (live.head && live.head.seq > m.head.seq)
        objections.push(
          `the current journal has ${live.head.seq - m.head.seq} row(s) newer than the backup (seq ${m.head.seq + 1} to ${live.head.seq}); ` +
            'they will only be in the set-aside folder, and published checkpoints will show the journal as truncated',
        );
      if (live.head && live.hashAtBackupHead !== undefined && live.hashAtBackupHead !== m.head.hash)
        objections.push(
          `the current journal's row ${m.head.seq} differs from the backup's: they are different histories`,
        );
      if (live.head && live.head.seq > 0 && live.head.seq <= m.head.seq) {
        // A shorter current journal must be a beginning of the backup's.
        const copy = new Database(join(staging, JOURNAL_DB), { readonly: true, fileMustExist: true });
        try {
          const hash = copy
            .prepare<[number], { hash: string }>('SELECT hash FROM journal WHERE seq = ?')
            .get(live.head.seq)?.hash;
          if (hash !== live.head.hash)
            objections.push(
              `the current journal's row ${live.head.seq} differs from the backup's: they are different histories`,
            );
        } finally {
          copy.close();
        }
      }
      if (objections.length > 0 && !options.force)
        throw new BackupError(
          'restore refused, nothing was changed (use --force if this is really intended)',
          objections,
        );

      // Set the current files aside, then move the backup's into place.
      const names = [
        JOURNAL_DB,
        `${JOURNAL_DB}-wal`,
        `${JOURNAL_DB}-shm`,
        HMAC_KEY_FILE,
        SIGNING_KEY_FILE,
        PUBLIC_KEY_FILE,
      ];
      const present = names.filter((n) => existsSync(join(storage, n)));
      const moved: string[] = [];
      const placed: string[] = [];
      try {
        if (present.length > 0) {
          setAside = join(storage, `replaced-${stamp(now())}`);
          mkdirSync(setAside, { mode: 0o700 });
          for (const n of present) {
            renameSync(join(storage, n), join(setAside, n));
            moved.push(n);
          }
        }
        for (const { name } of BACKUP_FILES) {
          renameSync(join(staging, name), join(storage, name));
          placed.push(name);
        }
        fsyncDir(storage);
      } catch (err) {
        // Put everything back as it was.
        for (const n of placed) rmSync(join(storage, n), { force: true });
        for (const n of moved) renameSync(join(setAside!, n), join(storage, n));
        throw new BackupError(`restore failed and was rolled back: ${(err as Error).message}`);
      }
    } finally {
      // Released only now that the old files are set aside and the backup's are in place.
      live.lock?.close();
    }
    const owner = statSync(storage);
    if (process.getuid?.() === 0) {
      for (const { name } of BACKUP_FILES) chownSync(join(storage, name), owner.uid, owner.gid);
      if (setAside) chownSync(setAside, owner.uid, owner.gid);
    }

    // Record the restore in the restored journal (migrating an older schema first), and sign it.
    const { db, journal, secrets } = openStorage(loaded);
    try {
      const at = now();
      journal.append(
        {
          type: 'backup_restored',
          at,
          actor: options.actor,
          data: {
            backup: basename(from),
            backupCreatedAt: m.createdAt,
            backupHeadSeq: m.head.seq,
            backupHeadHash: m.head.hash,
            setAside: setAside ?? null,
            replacedHeadSeq: live.head?.seq ?? null,
            forced: objections,
          },
        },
        { outbox: loaded.config.mqtt !== undefined },
      );
      journal.checkpoint(at, secrets.signingKey, secrets.keyId);
      const after = verifyJournal(db, { publicKey: secrets.publicKey });
      if (!after.ok)
        throw new BackupError(
          `the restored journal does not verify: row ${after.firstBadSeq}: ${after.problem}`,
        );
      return {
        manifest: m,
        setAside,
        overridden: objections,
        head: { seq: after.headSeq, hash: after.headHash },
      };
    } finally {
      db.close();
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
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
