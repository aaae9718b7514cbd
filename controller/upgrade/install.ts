/**
 * `sekisho upgrade FILE`: a signed release artefact installed beside the running one and switched
 * to, with the service stopped (doors secured) for as short a time as the switch takes.
 *
 * Order, and why:
 *  1. verify everything (signature, every checksum, platform, version, schema): a refusal changes
 *     nothing;
 *  2. unpack into a new release folder, each file's checksum checked again as it is written;
 *  3. stop the service and hold the storage folder (nothing writes the journal meanwhile);
 *  4. when the new version's schema is newer than the journal's: a verified backup, kept in
 *     `<storage>/upgrades/` (apart from the rotated nightly backups), so that a rollback can go back;
 *  5. `software_upgraded` journaled in the journal's present schema, with a signed checkpoint;
 *  6. the links switched (/opt/sekisho.previous → the old release, /opt/sekisho → the new one),
 *     the state for the rollback written, releases older than those two removed;
 *  7. the service started: the new version migrates the journal at its start.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createBackup } from '../backup/index.js';
import type { LoadedConfig } from '../config/index.js';
import { publicKeyId } from '../journal/index.js';
import { type Platform, thisPlatform, UpgradeError, unpackRelease, verifyRelease } from './artefact.js';
import {
  adoptFolder,
  compareVersions,
  type Installed,
  layout,
  pruneReleases,
  readInstalled,
  switchLink,
  writeReleaseInfo,
} from './layout.js';
import type { ServiceControl } from './service.js';
import {
  holdStorage,
  journalSchema,
  openJournalAt,
  ownLikeStorage,
  UPGRADES_DIR,
  writeState,
} from './storage.js';

export interface UpgradeOptions {
  artefact: string;
  /** The pinned release public key (`upgrade.releaseKey`). */
  releaseKey: KeyObject;
  loaded: LoadedConfig;
  /** `/` on the device; a folder in the tests (`--root`). */
  root?: string;
  service: ServiceControl;
  /** Who upgrades (journaled). */
  actor: string;
  now?: () => number;
  platform?: Platform;
  /** Progress, one line each. */
  say?: (line: string) => void;
}

export interface UpgradeResult {
  from: Installed;
  to: { version: string; schemaVersion: number; dir: string };
  artefactSha256: string;
  journalSchema: number | null;
  backup: string | null;
  upgradedSeq: number | null;
  pruned: string[];
}

export function stampOf(at: number): string {
  return new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function upgrade(o: UpgradeOptions): Promise<UpgradeResult> {
  const now = o.now ?? Date.now;
  const say = o.say ?? (() => undefined);
  const l = layout(o.root);
  const storage = o.loaded.storageDir;

  // 1. Everything checked before anything is written.
  const header = verifyRelease(o.artefact, o.releaseKey, o.platform ?? thisPlatform());
  const m = header.manifest;
  say(
    `verified ${basename(o.artefact)}: Sekisho ${m.version} (schema ${m.schemaVersion}, ${m.platform}-${m.arch}, Node.js ABI ${m.nodeAbi}), ${m.files.length} files, signed by release key ${header.keyId}, SHA-256 ${header.sha256}`,
  );
  const current = readInstalled(l.app);
  if (!current)
    throw new UpgradeError(
      'usage',
      `no Sekisho is installed at ${l.app}: install it with scripts/install.sh first`,
    );
  const order = compareVersions(m.version, current.version);
  if (order < 0)
    throw new UpgradeError(
      'version',
      `${basename(o.artefact)} is Sekisho ${m.version}, older than the installed ${current.version}: a downgrade is refused. ` +
        'To go back to the version before the last upgrade, run "sekisho upgrade --rollback"; nothing was changed',
    );
  if (order === 0)
    throw new UpgradeError(
      'version',
      `Sekisho ${m.version} is already installed (${current.dir}); nothing was changed`,
    );
  const schemaBefore = journalSchema(storage);
  if (schemaBefore !== null && schemaBefore > m.schemaVersion)
    throw new UpgradeError(
      'version',
      `the journal has schema version ${schemaBefore}, newer than Sekisho ${m.version} knows (${m.schemaVersion}): it could not read it; nothing was changed`,
    );
  const migrates = schemaBefore !== null && m.schemaVersion > schemaBefore;

  // 2. The new release folder.
  const at = now();
  const stamp = stampOf(at);
  mkdirSync(l.releases, { recursive: true, mode: 0o755 });
  const dir = join(l.releases, `${m.version}-${stamp}`);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  try {
    unpackRelease(o.artefact, header, partial);
    writeReleaseInfo(partial, {
      version: m.version,
      schemaVersion: m.schemaVersion,
      artefact: basename(o.artefact),
      artefactSha256: header.sha256,
      installedAt: new Date(at).toISOString(),
    });
    renameSync(partial, dir);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  say(`unpacked into ${dir}`);

  // 3. The service stops: every lock secured.
  say(`stopping the service (${o.service.name}); the doors stay locked`);
  try {
    await o.service.stop();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new UpgradeError(
      'failed',
      `could not stop the service: ${(err as Error).message}; nothing was switched ` +
        '(on a machine without systemd, stop the controller yourself and use --no-restart)',
    );
  }
  let lock: ReturnType<typeof holdStorage>;
  try {
    lock = holdStorage(storage, o.service.name);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    await o.service.start().catch(() => undefined);
    throw err;
  }
  const created: string[] = [];
  let backup: string | null = null;
  let backupSha256: string | null = null;
  let backupHeadSeq: number | null = null;
  let upgradedSeq: number | null = null;
  try {
    // 4. The backup the rollback goes back to.
    const upgrades = join(storage, UPGRADES_DIR);
    if (!existsSync(upgrades)) {
      mkdirSync(upgrades, { mode: 0o700 });
      created.push(upgrades);
    }
    if (migrates) {
      const file = join(upgrades, `before-${m.version}-${stamp}.sekisho-backup`);
      const b = await createBackup(o.loaded, file, { now });
      created.push(file);
      backup = file;
      backupSha256 = b.sha256;
      backupHeadSeq = b.manifest.head.seq;
      say(
        `backup before the schema migration (${schemaBefore} → ${m.schemaVersion}): ${file} (SHA-256 ${b.sha256})`,
      );
    }
    // 5. The record, in the schema the journal has.
    if (schemaBefore !== null) {
      const j = openJournalAt(o.loaded, schemaBefore);
      try {
        const row = j.journal.append({
          type: 'software_upgraded',
          at,
          actor: o.actor,
          data: {
            from: { version: current.version, schemaVersion: schemaBefore },
            to: { version: m.version, schemaVersion: m.schemaVersion },
            artefact: basename(o.artefact),
            artefactSha256: header.sha256,
            releaseKeyId: publicKeyId(o.releaseKey),
            arch: m.arch,
            nodeAbi: m.nodeAbi,
            installedIn: dir,
            backup: backup === null ? null : basename(backup),
            backupSha256,
          },
        });
        upgradedSeq = row.seq;
        j.journal.checkpoint(at, j.secrets.signingKey, j.secrets.keyId);
      } finally {
        j.db.close();
      }
    }
    // 6. The switch.
    const old = adoptFolder(l, stamp);
    switchLink(l.previous, old);
    switchLink(l.app, dir);
    writeState(storage, {
      at,
      from: { version: current.version, schemaVersion: schemaBefore, dir: old },
      to: { version: m.version, schemaVersion: m.schemaVersion, dir },
      artefactSha256: header.sha256,
      backup,
      backupSha256,
      backupHeadSeq,
    });
    say(`switched: ${l.app} → ${dir}, ${l.previous} → ${old}`);
  } catch (err) {
    // The record of the upgrade is already in the journal: say that it did not happen.
    if (upgradedSeq !== null && schemaBefore !== null) {
      try {
        const j = openJournalAt(o.loaded, schemaBefore);
        try {
          j.journal.append({
            type: 'software_upgrade_failed',
            at: now(),
            actor: o.actor,
            data: {
              from: { version: current.version, schemaVersion: schemaBefore },
              to: { version: m.version, schemaVersion: m.schemaVersion },
              artefactSha256: header.sha256,
              step: 'switch',
              reason: (err as Error).message,
            },
          });
          j.journal.checkpoint(now(), j.secrets.signingKey, j.secrets.keyId);
        } finally {
          j.db.close();
        }
      } catch {
        // the journal itself failed: the error below says what did
      }
    }
    lock.release();
    ownLikeStorage(storage, [...created, ...journalFiles(storage)]);
    // Not switched: the old version is started again as it was.
    if (!(existsSync(l.app) && readInstalled(l.app)?.dir === dir))
      rmSync(dir, { recursive: true, force: true });
    await o.service.start().catch(() => undefined);
    throw err instanceof UpgradeError
      ? err
      : new UpgradeError('failed', `${(err as Error).message}; the previous version was started again`);
  }
  lock.release();
  ownLikeStorage(storage, [...created, ...journalFiles(storage), join(storage, UPGRADES_DIR)]);
  const pruned = pruneReleases(l);

  // 7. The new version starts (and migrates the journal).
  say(`starting the service (${o.service.name})`);
  try {
    await o.service.start();
  } catch (err) {
    throw new UpgradeError(
      'failed',
      `Sekisho ${m.version} is installed but did not start: ${(err as Error).message}. The doors stay locked. ` +
        'Read "journalctl -u sekisho", then run "sudo sekisho upgrade --rollback" to go back to ' +
        `${current.version}`,
    );
  }
  return {
    from: current,
    to: { version: m.version, schemaVersion: m.schemaVersion, dir },
    artefactSha256: header.sha256,
    journalSchema: schemaBefore,
    backup,
    upgradedSeq,
    pruned,
  };
}

export function journalFiles(storage: string): string[] {
  return ['journal.db', 'journal.db-wal', 'journal.db-shm', 'instance.lock'].map((n) => join(storage, n));
}
