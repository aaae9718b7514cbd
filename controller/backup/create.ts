import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { LoadedConfig } from '../config/index.js';
import {
  HMAC_KEY_FILE,
  PUBLIC_KEY_FILE,
  SIGNING_KEY_FILE,
  schemaVersion,
  type VerifyResult,
  verifyJournal,
} from '../journal/index.js';
import { createSecretFile } from '../secret-files.js';
import { journalFile, openStorageFiles } from '../storage.js';
import { sekishoVersion } from '../system.js';
import {
  BACKUP_FILES,
  BACKUP_MAGIC,
  BackupError,
  type BackupManifest,
  JOURNAL_DB,
  readChunks,
  sha256File,
  unpackAndCheck,
} from './bundle.js';

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
