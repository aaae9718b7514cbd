/**
 * The journal as an upgrade sees it: its schema version read without migrating, a Journal opened in
 * the schema it has (an upgrade never migrates: the new version does at its start, after the
 * backup), the storage folder held against a running controller, and the upgrade's state file.
 */
import {
  chownSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { LoadedConfig } from '../config/index.js';
import { holdInstanceLock, InstanceBusyError, type InstanceLock } from '../instance-lock.js';
import {
  type DeviceSecrets,
  Journal,
  loadDeviceSecrets,
  MIGRATIONS,
  openDatabase,
  type SqliteDatabase,
} from '../journal/index.js';
import { journalFile } from '../storage.js';
import { UpgradeError } from './artefact.js';

/** The journal's schema version without opening it for writing; null when there is no journal. */
export function journalSchema(storageDir: string): number | null {
  const file = journalFile(storageDir);
  if (!existsSync(file)) return null;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return Number(db.pragma('user_version', { simple: true }));
  } finally {
    db.close();
  }
}

export interface OpenJournal {
  db: SqliteDatabase;
  journal: Journal;
  secrets: DeviceSecrets;
}

/** Opens the journal in the schema it has (`schema`), migrating nothing. */
export function openJournalAt(loaded: LoadedConfig, schema: number): OpenJournal {
  if (schema > MIGRATIONS.length)
    throw new UpgradeError(
      'failed',
      `the journal's schema ${schema} is newer than this code knows (${MIGRATIONS.length})`,
    );
  const secrets = loadDeviceSecrets(loaded.storageDir);
  const db = openDatabase(journalFile(loaded.storageDir), { migrations: MIGRATIONS.slice(0, schema) });
  const journal = new Journal(db, {
    controllerId: loaded.config.controller.id,
    outboxByDefault: loaded.config.mqtt !== undefined,
  });
  return { db, journal, secrets };
}

/** Holds the storage folder against a controller starting meanwhile; refuses while one runs. */
export function holdStorage(storageDir: string, stopped: string): InstanceLock {
  try {
    return holdInstanceLock(storageDir, 'commission');
  } catch (err) {
    if (err instanceof InstanceBusyError)
      throw new UpgradeError(
        'failed',
        `the controller is still running on ${storageDir} (${stopped}): stop it first (sudo systemctl stop sekisho), or run without --no-restart; nothing was changed`,
      );
    throw err;
  }
}

/**
 * Gives files that root created in the storage folder to the folder's owner (the service user),
 * so the service can open them; a no-op unless run as root.
 */
export function ownLikeStorage(storageDir: string, paths: string[]): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = statSync(storageDir);
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    chownSync(p, uid, gid);
    if (lstatSync(p).isDirectory()) for (const n of readdirSync(p)) visit(join(p, n));
  };
  for (const p of paths) visit(p);
}

export const UPGRADES_DIR = 'upgrades';
export const STATE_FILE = 'last-upgrade.json';

const Side = z.object({ version: z.string(), schemaVersion: z.int().nullable(), dir: z.string() });
/** What the last upgrade did, for its rollback: in `<storage>/upgrades/last-upgrade.json`. */
export const UpgradeState = z.object({
  at: z.number(),
  from: Side,
  to: Side,
  artefactSha256: z.string(),
  /** The backup taken before the migration (absolute path), its SHA-256 and head. */
  backup: z.string().nullable(),
  backupSha256: z.string().nullable(),
  backupHeadSeq: z.int().nullable(),
});
export type UpgradeState = z.infer<typeof UpgradeState>;

export function readState(storageDir: string): UpgradeState | undefined {
  const file = join(storageDir, UPGRADES_DIR, STATE_FILE);
  if (!existsSync(file)) return undefined;
  const r = UpgradeState.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success)
    throw new UpgradeError('failed', `${file} is not a valid upgrade state: remove it or restore it`);
  return r.data;
}

export function writeState(storageDir: string, state: UpgradeState): void {
  const file = join(storageDir, UPGRADES_DIR, STATE_FILE);
  writeFileSync(`${file}.new`, `${JSON.stringify(state, null, 1)}\n`, { mode: 0o600 });
  renameSync(`${file}.new`, file);
}

/** After a rollback the state is kept under another name: a second rollback has nothing to undo. */
export function retireState(storageDir: string, name: string): void {
  const file = join(storageDir, UPGRADES_DIR, STATE_FILE);
  if (existsSync(file)) renameSync(file, join(storageDir, UPGRADES_DIR, name));
}
