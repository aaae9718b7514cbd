/**
 * The config's history (issue #14 path 8): whether the file on disk is the one the controller last
 * started with — and if not, which access-relevant keys the next start will journal as changed —
 * and how many starts' changes still wait for a different person's acknowledgement.
 */
import { ConfigChangeStore } from '../approvals/config-changes.js';
import { accessView, diffAccess, type Json, type LoadedConfig } from '../config/index.js';
import { ConfigLoadedRecord } from '../domain/index.js';
import type { Storage } from '../storage.js';
import { formatLocal } from '../time.js';
import type { Add } from './check.js';

export function configChecks(loaded: LoadedConfig, storage: Storage, add: Add): void {
  const tz = loaded.config.timeZone;
  const seq = storage.db
    .prepare<[], number | null>("SELECT MAX(seq) FROM journal WHERE type = 'config_loaded'")
    .pluck()
    .get();
  const row = seq ? storage.journal.get(seq) : undefined;
  const last = row ? ConfigLoadedRecord.safeParse(row.data) : undefined;
  if (!row || !last?.success) {
    add(
      'OK',
      'config in force',
      'no start has journaled a config yet (the first start records the baseline)',
    );
    return;
  }
  const since = `the start at ${formatLocal(row.at, tz)} (journal row ${row.seq})`;
  if (last.data.sha256 === loaded.sha256)
    add('OK', 'config in force', `${loaded.file} is the file ${since} loaded`);
  else {
    const pending = diffAccess(last.data.access as Json, accessView(loaded.config));
    if (pending.length === 0)
      add('OK', 'config in force', `${loaded.file} changed since ${since}, but no access-relevant key did`);
    else
      add(
        'WARN',
        'config in force',
        `${loaded.file} changed since ${since}; the next start journals these changes: ${pending.map((c) => c.path).join(', ')}. ` +
          'Whoever changed it: sudo sekisho config declare --reason "…"',
      );
  }
  const waiting = new ConfigChangeStore(storage.journal).list().filter((l) => l.needsReview);
  if (waiting.length === 0) add('OK', 'config review', 'every config change is acknowledged');
  else
    add(
      'WARN',
      'config review',
      `${waiting.length} start(s) with config changes wait for a different person's acknowledgement (rows ${waiting.map((l) => l.seq).join(', ')}): dashboard, Compliance → Config changes`,
    );
}
