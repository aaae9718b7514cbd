/**
 * The `config_loaded` row every start writes (issue #14 path 8): the config file's hash, its
 * access-relevant part, and what changed in that part since the previous start's row — so that the
 * journal alone shows which rules were in force when, and a change nobody asked for is seen.
 */
import { hash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { accessView, type ConfigChange, diffAccess, type Json, type LoadedConfig } from '../config/index.js';
import { ConfigLoadedRecord } from '../domain/index.js';
import { canonicalJson, type Journal, type JournalInput } from '../journal/index.js';
import type { Logger } from '../log.js';

/**
 * The previous start's `config_loaded` row, parsed; undefined when there is none (or it does not
 * parse). The latest by seq, not by time: a clock set back must not pick an older start.
 */
function previousLoad(
  db: Database.Database,
  journal: Journal,
  log: Logger,
): { seq: number; access: Json } | undefined {
  const seq = db
    .prepare<[], number | null>("SELECT MAX(seq) FROM journal WHERE type = 'config_loaded'")
    .pluck()
    .get();
  const row = seq ? journal.get(seq) : undefined;
  if (!row) return undefined;
  const parsed = ConfigLoadedRecord.safeParse(row.data);
  if (!parsed.success) {
    log.warn('the previous config_loaded row does not parse: this start is journaled as a new baseline', {
      seq: row.seq,
    });
    return undefined;
  }
  return { seq: row.seq, access: parsed.data.access as Json };
}

/** The row for a start with `loaded`, by `actor` (who started it, or null), at `at`. */
export function configLoadedRow(
  storage: { db: Database.Database; journal: Journal },
  loaded: LoadedConfig,
  opts: { at: number; actor: string | null; log: Logger },
): JournalInput<'config_loaded'> {
  const access = accessView(loaded.config);
  const previous = previousLoad(storage.db, storage.journal, opts.log);
  // The baseline lists every access-relevant key as new.
  const changes: ConfigChange[] = diffAccess(previous?.access ?? {}, access);
  return {
    type: 'config_loaded',
    at: opts.at,
    actor: opts.actor,
    data: {
      file: loaded.file,
      sha256: loaded.sha256 ?? null,
      modifiedAt: loaded.modifiedAt ?? null,
      access,
      accessSha256: hash('sha256', canonicalJson(access), 'hex'),
      previousSeq: previous?.seq ?? null,
      changes,
    },
  };
}
