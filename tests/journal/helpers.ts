/** Shared helpers for the journal tests: temp folders, real database files, the sqlite3 CLI. */
import { rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import { uncataloguedType } from '../../controller/domain/index.js';
import {
  Journal,
  openDatabase,
  type SqliteDatabase,
  type UncataloguedInput,
} from '../../controller/journal/index.js';
import { tempDir as newTempDir } from '../helpers/util.js';

export { SQLITE3, sqlite } from '../helpers/util.js';
export const T0 = Date.UTC(2026, 3, 1, 0, 0, 0); // 2026-04-01T00:00:00Z

const dirs: string[] = [];
const open: SqliteDatabase[] = [];

afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp folder, removed after the test. */
export function tempDir(): string {
  const dir = newTempDir('sekisho-journal-');
  dirs.push(dir);
  return dir;
}

/** Opens a real database file (closed after the test) and a journal over it. */
export function openJournal(file: string, controllerId = 'ctl-1'): { db: SqliteDatabase; journal: Journal } {
  const db = openDatabase(file);
  open.push(db);
  return { db, journal: new Journal(db, { controllerId }) };
}

/** What an attacker does first: remove the protective triggers. */
export const DROP_TRIGGERS = `
  DROP TRIGGER journal_no_update;
  DROP TRIGGER journal_no_delete;
  DROP TRIGGER journal_seq_contiguous;
  DROP TRIGGER checkpoints_no_update;
  DROP TRIGGER checkpoints_no_delete;
`;

/**
 * A typical access-decision record, varied by i. Its types are not in the catalogue: these tests are
 * about the journal's format, which stores any type.
 */
export function sampleInput(i: number): UncataloguedInput {
  return {
    type: uncataloguedType(i % 4 === 3 ? 'door_state' : 'access_decision'),
    at: T0 + i * 60_000,
    door: i % 2 === 0 ? 'machine-room' : 'server-cage',
    person: i % 4 === 3 ? null : `p_${String(i % 3).padStart(12, '0')}`,
    actor: null,
    data:
      i % 4 === 3
        ? { state: i % 8 === 3 ? 'open' : 'closed' }
        : {
            badge: `b_${i % 3}`,
            direction: i % 2 ? 'out' : 'in',
            granted: i % 5 !== 0,
            reason: 'granted',
            reader: 'r1',
          },
  };
}

export function fill(journal: Journal, count: number, start = 0): void {
  journal.appendMany(Array.from({ length: count }, (_, i) => sampleInput(start + i)));
}

/** SQL string literal. */
export function lit(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
