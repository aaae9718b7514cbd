/**
 * `sekisho upgrade --rollback`: back to the release /opt/sekisho.previous names.
 *
 * Without a schema migration since the upgrade, the journal is kept as it is (the older version
 * reads it) and `software_rolled_back` is appended. With one, the older version cannot read the
 * journal any more, so the backup taken before the migration is put back, and nothing written
 * since is lost silently:
 *  - the whole migrated journal is moved to `<storage>/upgrades/rolled-back-<time>/journal.db`;
 *  - the rows after the backup's head are exported beside it as JSON Lines (`rows-after-backup.jsonl`,
 *    each row as stored: seq, time, type, door, person, actor, its bytes and hash);
 *  - the restored journal records `journal_restored` (schema 7 and later: a declared gap that skips
 *    those seqs, so none is used twice) and `software_rolled_back` naming both files and the seqs,
 *    with a signed checkpoint.
 * The rollback runs with the newer version's code (the one installed when it is run) but writes the
 * restored journal in the older schema, opened without migrating.
 */
import { createPublicKey } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { JOURNAL_DB, sha256File, unpackAndCheck } from '../backup/bundle.js';
import type { LoadedConfig } from '../config/index.js';
import { PUBLIC_KEY_FILE, publicKeyId } from '../journal/index.js';
import { fsyncDir } from '../secret-files.js';
import { UpgradeError } from './artefact.js';
import { journalFiles, stampOf } from './install.js';
import { compareVersions, type Installed, layout, readInstalled, switchLink } from './layout.js';
import type { ServiceControl } from './service.js';
import {
  holdStorage,
  journalSchema,
  openJournalAt,
  ownLikeStorage,
  readState,
  retireState,
  UPGRADES_DIR,
  type UpgradeState,
} from './storage.js';

/** The first schema with declared gaps (a row may skip the seqs it names). */
export const DECLARED_GAP_SCHEMA = 7;
export const EXPORT_FILE = 'rows-after-backup.jsonl';

export interface RollbackOptions {
  loaded: LoadedConfig;
  root?: string;
  service: ServiceControl;
  actor: string;
  now?: () => number;
  say?: (line: string) => void;
}

export interface RollbackResult {
  from: Installed;
  to: Installed;
  journalRestored: boolean;
  setAside: string | null;
  exported: string | null;
  rowsSetAside: { from: number; through: number } | null;
  rolledBackSeq: number | null;
}

export async function rollback(o: RollbackOptions): Promise<RollbackResult> {
  const now = o.now ?? Date.now;
  const say = o.say ?? (() => undefined);
  const l = layout(o.root);
  const storage = o.loaded.storageDir;
  const current = readInstalled(l.app);
  const previous = readInstalled(l.previous);
  if (!current || !previous)
    throw new UpgradeError(
      'usage',
      `there is no previous version to go back to (${l.previous} does not exist); nothing was changed`,
    );
  if (compareVersions(previous.version, current.version) > 0)
    throw new UpgradeError(
      'version',
      `${l.previous} is Sekisho ${previous.version}, newer than the running ${current.version}: it is the version already rolled back from. ` +
        'To install it again, run "sekisho upgrade FILE" with its artefact; nothing was changed',
    );
  const state = readState(storage);
  const matches = state !== undefined && state.to.dir === current.dir && state.from.dir === previous.dir;
  const schemaNow = journalSchema(storage);
  // The schema the previous version writes: as recorded at the upgrade (the journal's then).
  const target = matches ? state.from.schemaVersion : previous.schemaVersion;
  if (schemaNow !== null && target === null)
    throw new UpgradeError(
      'failed',
      `the journal schema that Sekisho ${previous.version} knows is not recorded (no ${UPGRADES_DIR}/ state for this upgrade): ` +
        'roll back by hand as docs/operations.md "Upgrades" describes; nothing was changed',
    );
  const restore = schemaNow !== null && target !== null && schemaNow > target;
  if (restore && !(matches && state.backup))
    throw new UpgradeError(
      'failed',
      `the journal was migrated to schema ${schemaNow}, which Sekisho ${previous.version} cannot read (${target}), and no backup from before the upgrade is recorded: nothing was changed`,
    );

  // The backup is checked before the service stops: a missing or altered one changes nothing.
  if (restore) {
    const backup = state!.backup!;
    if (!existsSync(backup))
      throw new UpgradeError(
        'failed',
        `the backup taken before the upgrade, ${backup}, is missing: nothing was changed`,
      );
    if (state!.backupSha256 !== null && sha256File(backup) !== state!.backupSha256)
      throw new UpgradeError(
        'failed',
        `${backup} is not the file written before the upgrade (its SHA-256 differs): nothing was changed`,
      );
  }

  say(`stopping the service (${o.service.name}); the doors stay locked`);
  await o.service.stop();
  let lock: ReturnType<typeof holdStorage>;
  try {
    lock = holdStorage(storage, o.service.name);
  } catch (err) {
    await o.service.start().catch(() => undefined);
    throw err;
  }
  const at = now();
  const stamp = stampOf(at);
  let result: Omit<RollbackResult, 'from' | 'to'>;
  const touched: string[] = [];
  try {
    result = restore
      ? restoreBeforeUpgrade(o, state!, target!, at, stamp, current, previous, touched)
      : recordOnly(o, schemaNow, at, current, previous);
    switchLink(l.app, previous.dir);
    switchLink(l.previous, current.dir);
    if (matches) retireState(storage, `upgrade-${stamp}-rolled-back.json`);
    say(`switched: ${l.app} → ${previous.dir}, ${l.previous} → ${current.dir}`);
  } catch (err) {
    lock.release();
    ownLikeStorage(storage, [...touched, ...journalFiles(storage), join(storage, UPGRADES_DIR)]);
    // Not switched: the version that ran is started again.
    if (readInstalled(l.app)?.dir === current.dir) await o.service.start().catch(() => undefined);
    throw err;
  }
  lock.release();
  ownLikeStorage(storage, [...touched, ...journalFiles(storage), join(storage, UPGRADES_DIR)]);
  say(`starting the service (${o.service.name})`);
  await o.service.start();
  return { from: current, to: previous, ...result };
}

function versions(current: Installed, previous: Installed, schemaNow: number | null, target: number | null) {
  return {
    from: { version: current.version, schemaVersion: schemaNow },
    to: { version: previous.version, schemaVersion: target },
  };
}

function recordOnly(
  o: RollbackOptions,
  schemaNow: number | null,
  at: number,
  current: Installed,
  previous: Installed,
): Omit<RollbackResult, 'from' | 'to'> {
  let seq: number | null = null;
  if (schemaNow !== null) {
    const j = openJournalAt(o.loaded, schemaNow);
    try {
      seq = j.journal.append({
        type: 'software_rolled_back',
        at,
        actor: o.actor,
        data: {
          ...versions(current, previous, schemaNow, schemaNow),
          journalRestored: false,
          backup: null,
          rowsSetAside: null,
          setAside: null,
          exported: null,
          exportedSha256: null,
          seqsReused: false,
        },
      }).seq;
      j.journal.checkpoint(at, j.secrets.signingKey, j.secrets.keyId);
    } finally {
      j.db.close();
    }
  }
  return { journalRestored: false, setAside: null, exported: null, rowsSetAside: null, rolledBackSeq: seq };
}

function restoreBeforeUpgrade(
  o: RollbackOptions,
  state: UpgradeState,
  target: number,
  at: number,
  stamp: string,
  current: Installed,
  previous: Installed,
  touched: string[],
): Omit<RollbackResult, 'from' | 'to'> {
  const storage = o.loaded.storageDir;
  const backup = state.backup!;
  const staging = mkdtempSync(join(storage, '.rollback-'));
  try {
    const check = unpackAndCheck(backup, staging);
    if (!check.ok)
      throw new UpgradeError(
        'failed',
        `the backup ${backup} does not verify: ${check.problems.join('; ')}; nothing was changed`,
      );
    const m = check.manifest;
    const keyNow = publicKeyId(createPublicKey(readFileSync(join(storage, PUBLIC_KEY_FILE), 'utf8')));
    if (m.keyId !== keyNow)
      throw new UpgradeError(
        'failed',
        `the backup's device key ${m.keyId} is not this device's (${keyNow}): nothing was changed`,
      );
    if (m.schemaVersion !== target)
      throw new UpgradeError(
        'failed',
        `the backup has schema ${m.schemaVersion}, not ${target} as recorded: nothing was changed`,
      );

    // The rows written since the backup, read with this (newer) code, which knows their schema.
    const schemaNow = journalSchema(storage)!;
    const live = new Database(join(storage, JOURNAL_DB), { readonly: true, fileMustExist: true });
    const setAside = join(storage, UPGRADES_DIR, `rolled-back-${stamp}`);
    mkdirSync(setAside, { mode: 0o700 });
    touched.push(setAside);
    const exported = join(setAside, EXPORT_FILE);
    let through: number;
    try {
      const head = live.prepare<[], { m: number | null }>('SELECT MAX(seq) AS m FROM journal').get()?.m ?? 0;
      const signed =
        live.prepare<[], { m: number | null }>('SELECT MAX(seq) AS m FROM checkpoints').get()?.m ?? 0;
      through = Math.max(head, signed);
      const out = openSync(exported, 'wx', 0o600);
      try {
        const rows = live
          .prepare<[number], Record<string, unknown>>(
            'SELECT seq, at, type, door, person, actor, bytes, hash FROM journal WHERE seq > ? ORDER BY seq',
          )
          .iterate(m.head.seq);
        for (const row of rows) writeSync(out, `${JSON.stringify(row)}\n`);
      } finally {
        closeSync(out);
      }
    } finally {
      live.close();
    }
    const exportedSha256 = sha256File(exported);

    // The migrated journal aside, the backup's in its place (the device secrets are unchanged).
    const moved: string[] = [];
    try {
      for (const n of [JOURNAL_DB, `${JOURNAL_DB}-wal`, `${JOURNAL_DB}-shm`]) {
        if (!existsSync(join(storage, n))) continue;
        renameSync(join(storage, n), join(setAside, n));
        moved.push(n);
      }
      renameSync(join(staging, JOURNAL_DB), join(storage, JOURNAL_DB));
      fsyncDir(storage);
    } catch (err) {
      rmSync(join(storage, JOURNAL_DB), { force: true });
      for (const n of moved) renameSync(join(setAside, n), join(storage, n));
      throw new UpgradeError(
        'failed',
        `could not put the backup's journal in place (${(err as Error).message}); put back as it was`,
      );
    }
    o.say?.(
      `the journal of ${schemaNow} is kept in ${setAside}; the rows after seq ${m.head.seq} are exported to ${exported}`,
    );

    const j = openJournalAt(o.loaded, target);
    try {
      const gap = target >= DECLARED_GAP_SCHEMA && through > m.head.seq;
      if (gap)
        j.journal.appendGap({
          type: 'journal_restored',
          at,
          actor: o.actor,
          data: {
            lostFrom: m.head.seq + 1,
            lostThrough: through,
            basis: 'replaced_journal',
            backup: basename(backup),
            backupCreatedAt: m.createdAt,
            backupHeadSeq: m.head.seq,
            backupHeadHash: m.head.hash,
            checkpoint: null,
          },
        });
      const row = j.journal.append({
        type: 'software_rolled_back',
        at,
        actor: o.actor,
        data: {
          ...versions(current, previous, schemaNow, target),
          journalRestored: true,
          backup: basename(backup),
          rowsSetAside: through > m.head.seq ? { from: m.head.seq + 1, through } : null,
          setAside: join(setAside, JOURNAL_DB),
          exported,
          exportedSha256,
          seqsReused: !gap && through > m.head.seq,
        },
      });
      j.journal.checkpoint(at, j.secrets.signingKey, j.secrets.keyId);
      return {
        journalRestored: true,
        setAside: join(setAside, JOURNAL_DB),
        exported,
        rowsSetAside: through > m.head.seq ? { from: m.head.seq + 1, through } : null,
        rolledBackSeq: row.seq,
      };
    } finally {
      j.db.close();
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
