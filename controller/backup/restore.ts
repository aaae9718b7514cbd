/**
 * `sekisho restore`: verifies a bundle's chain and signatures before it replaces anything, and
 * keeps what it replaced.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { LoadedConfig } from '../config/index.js';
import type { LostRangeBasis } from '../domain/index.js';
import { holdInstanceLock, InstanceBusyError, type InstanceLock } from '../instance-lock.js';
import {
  type Checkpoint,
  HMAC_KEY_FILE,
  PUBLIC_KEY_FILE,
  publicKeyId,
  publishedCheckpoint,
  SIGNING_KEY_FILE,
  type SqliteDatabase,
  verifyJournal,
} from '../journal/index.js';
import { fsyncDir } from '../secret-files.js';
import { journalFile, openStorage } from '../storage.js';
import { BACKUP_FILES, BackupError, type BackupManifest, JOURNAL_DB, unpackAndCheck } from './bundle.js';

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
  /** The highest seq known to have existed (`--lost-through`), when there is no replaced journal. */
  lostThrough?: number;
  /**
   * The checkpoint published on MQTT before the card failed (`--checkpoint FILE`: the retained
   * payload, parsed). Its signature is checked with the backup's device key (or `trustedPublicKey`).
   */
  publishedCheckpoint?: unknown;
  /**
   * Restore although nothing says which rows were lost (`--lost-unknown`): the `journal_restored`
   * row declares the range unknown, and the next start must read the head published on MQTT before
   * its first row (it refuses to start otherwise). Without it such a restore is refused.
   */
  lostUnknown?: boolean;
}

/** The range the restore declares lost, and how it is known. */
export interface LostRange {
  from: number;
  /** null: unknown. `from - 1`: nothing was lost. */
  through: number | null;
  basis: LostRangeBasis;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the replaced files were moved (absent when there was nothing to replace). */
  setAside?: string;
  /** What --force overrode, if anything. */
  overridden: string[];
  /** The head after restoring (the backup's head, the `journal_restored` and `backup_restored` rows). */
  head: { seq: number; hash: string };
  /** What the `journal_restored` row declares lost, and its seq. */
  lost: LostRange;
  restoredSeq: number;
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
  /** The highest seq a checkpoint of the live journal names (it may be above its head). */
  checkpointSeq?: number;
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
    state.checkpointSeq =
      db.prepare<[], { m: number | null }>('SELECT MAX(seq) AS m FROM checkpoints').get()?.m ?? undefined;
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
  // Not while a controller (or a commissioning) runs on this storage: it would keep writing to the
  // journal being replaced. Held until the restored journal has its rows.
  let instance: InstanceLock;
  try {
    instance = holdInstanceLock(storage, 'restore');
  } catch (err) {
    if (err instanceof InstanceBusyError)
      throw new BackupError(`restore refused, nothing was changed: ${err.message}`);
    throw err;
  }
  try {
    return restoreLocked(loaded, from, options, now, storage);
  } finally {
    instance.release();
  }
}

function restoreLocked(
  loaded: LoadedConfig,
  from: string,
  options: RestoreOptions,
  now: () => number,
  storage: string,
): RestoreResult {
  const staging = mkdtempSync(join(storage, '.restore-'));
  try {
    const check = unpackAndCheck(resolve(from), staging, { trustedPublicKey: options.trustedPublicKey });
    if (!check.ok) throw new BackupError(`backup ${from} refused, nothing was changed`, check.problems);
    const m = check.manifest;
    const published = checkGivenCheckpoint(options, staging, loaded.config.controller.id);

    // What --force is for: restoring something that is not simply "this controller, earlier".
    const live = inspectLive(storage, m.head.seq);
    const objections: string[] = [];
    let setAside: string | undefined;
    try {
      // Which rows were lost must be known, or declared unknown on purpose: never a silent reuse.
      const lostBefore = lostRange(m.head.seq, live, options.lostThrough, published);
      if (lostBefore.through === null) unknownRangeAllowed(loaded, live, options);
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
      const lost = lostRange(m.head.seq, live, options.lostThrough, published);
      const outbox = loaded.config.mqtt !== undefined;
      // The declared gap first: it skips every seq that existed after the backup, so none is reused
      // and the restored controller does not take the lost rows for a truncation.
      const restored = journal.appendGap(
        {
          type: 'journal_restored',
          at,
          actor: options.actor,
          data: {
            lostFrom: lost.from,
            lostThrough: lost.through,
            basis: lost.basis,
            backup: basename(from),
            backupCreatedAt: m.createdAt,
            backupHeadSeq: m.head.seq,
            backupHeadHash: m.head.hash,
            checkpoint: published ? { seq: published.seq, hash: published.hash, at: published.at } : null,
          },
        },
        { outbox },
      );
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
        { outbox },
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
        lost,
        restoredSeq: restored.seq,
      };
    } finally {
      db.close();
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * A restore with no replaced journal to read, no `--lost-through` and no `--checkpoint`: the seqs of
 * the lost rows are unknown, so later rows could take them. Refused, unless `--lost-unknown` says so
 * on purpose and MQTT is configured (the next start must then read the broker's head first).
 */
function unknownRangeAllowed(loaded: LoadedConfig, live: LiveState, options: RestoreOptions): void {
  const why = live.unreadable
    ? `the replaced journal cannot be read (${live.unreadable})`
    : 'there is no journal to replace';
  if (!options.lostUnknown)
    throw new BackupError(
      `restore refused, nothing was changed: ${why}, so which rows were lost is unknown`,
      [
        '--lost-through SEQ: the highest seq known to have existed (from a printout, an export, a subscriber)',
        '--checkpoint FILE: the checkpoint retained on MQTT (…/journal/checkpoint) as a subscriber saved it',
        '--lost-unknown: restore anyway; the next start then must read the head published on MQTT before its first row, and refuses to start without it',
      ],
    );
  if (!loaded.config.mqtt)
    throw new BackupError(
      `restore refused, nothing was changed: --lost-unknown needs mqtt configured (the next start must read the head published on MQTT), and this config has none; give --lost-through SEQ or --checkpoint FILE`,
    );
}

/**
 * The checkpoint given with `--checkpoint`, checked with the backup's device key (or the trusted
 * key): a bad one refuses the restore before anything is replaced.
 */
function checkGivenCheckpoint(
  options: RestoreOptions,
  staging: string,
  controllerId: string,
): Checkpoint | undefined {
  if (options.publishedCheckpoint === undefined) return undefined;
  const key =
    options.trustedPublicKey ?? createPublicKey(readFileSync(join(staging, PUBLIC_KEY_FILE), 'utf8'));
  const r = publishedCheckpoint(options.publishedCheckpoint, controllerId, key);
  if ('problem' in r)
    throw new BackupError(
      `restore refused, nothing was changed: the checkpoint given with --checkpoint cannot be used: ${r.problem}`,
    );
  return r.checkpoint;
}

/**
 * The rows lost with the failed card: from the backup's head + 1 up to the highest seq known to have
 * existed — the replaced journal's head or its newest checkpoint, else `--lost-through` or the
 * published checkpoint (the highest of those given) — else unknown.
 */
export function lostRange(
  backupHeadSeq: number,
  live: { head?: { seq: number }; checkpointSeq?: number },
  lostThrough: number | undefined,
  published: Checkpoint | undefined,
): LostRange {
  const from = backupHeadSeq + 1;
  const known: [number, LostRangeBasis][] = [];
  if (live.head) known.push([Math.max(live.head.seq, live.checkpointSeq ?? 0), 'replaced_journal']);
  if (lostThrough !== undefined) known.push([lostThrough, 'lost_through']);
  if (published) known.push([published.seq, 'checkpoint']);
  if (known.length === 0) return { from, through: null, basis: 'unknown' };
  const [through, basis] = known.reduce((a, b) => (b[0] > a[0] ? b : a));
  return { from, through: Math.max(through, backupHeadSeq), basis };
}
