/**
 * Indexes for the entry/exit log and the alarm history, so that every filter of the log pages and
 * the reports is an index range, never a scan of the journal (a Raspberry Pi keeps years of it).
 *
 * The index is a cache of the journal, kept in the dashboard's own tables: `sync()` reads the
 * journal rows after the last one it saw (a primary-key range) in small batches that yield to the
 * event loop, so the door is never kept waiting, and the index can always be rebuilt from the
 * journal. Queries return journal seqs; the rows themselves are read from the journal.
 */
import { z } from 'zod';
import { type Direction, dataFields } from '../controller/domain/index.js';
import type { Journal, JournalRow, SqliteDatabase } from '../controller/journal/index.js';
import type { AccessResult } from './vocabulary.js';

export interface AccessFilter {
  /** Inclusive, UTC ms. */
  from?: number;
  /** Exclusive, UTC ms. */
  to?: number;
  /** Any of these person ids. */
  persons?: readonly string[];
  /** Any of these badge ids. */
  badges?: readonly string[];
  door?: string;
  direction?: Direction;
  result?: AccessResult;
  reason?: string;
  visitorsOnly?: boolean;
  /** Rows older than this (at, seq) position. */
  before?: { at: number; seq: number };
  limit: number;
}

/** An alarm of the history (also the API's answer schema). */
export const AlarmEntry = z.object({
  id: z.number(),
  at: z.number(),
  type: z.string(),
  severity: z.string(),
  door: z.string().nullable(),
  detail: z.string(),
  ackedBy: z.string().nullable(),
  ackedAt: z.number().nullable(),
  ackComment: z.string().nullable(),
  clearedAt: z.number().nullable(),
});
export type AlarmEntry = z.infer<typeof AlarmEntry>;

interface AlarmRow {
  id: number;
  at: number;
  type: string;
  severity: string;
  door: string | null;
  detail: string;
  acked_by: string | null;
  acked_at: number | null;
  ack_comment: string | null;
  cleared_at: number | null;
}

const BATCH = 2000;
/**
 * A batch also ends after this long (ms), so that a badge never waits behind more than one short
 * batch: whole 2,000-row batches held the door's event loop for up to 60 ms while a first start
 * indexed a large journal (measured by the bench).
 */
const BATCH_BUDGET_MS = 5;

export class LogIndex {
  readonly #db: SqliteDatabase;
  readonly #journal: Journal;
  readonly #s;
  #running: Promise<void> | null = null;
  readonly #cache = new Map<string, ReturnType<SqliteDatabase['prepare']>>();

  readonly #room: () => Promise<void>;

  /**
   * `room` is awaited between two batches of a long sync (Controller.walRoom: the write-ahead log
   * must not outgrow its checkpoints while five years of rows are indexed).
   */
  constructor(db: SqliteDatabase, journal: Journal, room: () => Promise<void>) {
    this.#db = db;
    this.#journal = journal;
    this.#room = room;
    this.#s = {
      last: db.prepare<[], { last_seq: number }>(
        "SELECT last_seq FROM dashboard_index_state WHERE name = 'journal'",
      ),
      setLast: db.prepare<[number]>(
        "INSERT INTO dashboard_index_state (name, last_seq) VALUES ('journal', ?) ON CONFLICT(name) DO UPDATE SET last_seq = excluded.last_seq",
      ),
      access: db.prepare(
        `INSERT OR REPLACE INTO dashboard_access_index (seq, at, door, person, badge, direction, result, reason, visitor, escort)
         VALUES (@seq, @at, @door, @person, @badge, @direction, @result, @reason, @visitor, @escort)`,
      ),
      alarm: db.prepare(
        `INSERT OR IGNORE INTO dashboard_alarm_index (id, at, type, severity, door, detail)
         VALUES (@id, @at, @type, @severity, @door, @detail)`,
      ),
      ack: db.prepare<[string | null, number, string, number]>(
        'UPDATE dashboard_alarm_index SET acked_by = ?, acked_at = ?, ack_comment = ? WHERE id = ? AND acked_at IS NULL',
      ),
      cleared: db.prepare<[number, number]>(
        'UPDATE dashboard_alarm_index SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL',
      ),
      alarmById: db.prepare<[number], AlarmRow>('SELECT * FROM dashboard_alarm_index WHERE id = ?'),
    };
  }

  /** The last journal seq the index has seen. */
  lastSeq(): number {
    return this.#s.last.get()?.last_seq ?? 0;
  }

  /** Brings the index up to the journal's head. Concurrent callers share one run. */
  sync(): Promise<void> {
    if (this.#running) return this.#running;
    // The first batch runs at once; its failure (a read-only or full disk) is the promise's, not
    // an exception thrown at a timer's caller.
    try {
      if (this.#syncBatch()) return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = (async () => {
      // Each further batch after a turn of the event loop and room in the write-ahead log.
      do {
        await new Promise((r) => setImmediate(r));
        await this.#room();
      } while (!this.#syncBatch());
    })();
    this.#running = run.finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /**
   * Indexes at most BATCH journal rows, stopping early once BATCH_BUDGET_MS have passed; returns true
   * when the index has reached the head.
   */
  #syncBatch(): boolean {
    const t0 = performance.now();
    const head = this.#journal.head().seq;
    const from = this.lastSeq();
    if (from >= head) return true;
    let last: number;
    // A cache of the journal, rebuilt from it: each batch is committed without a flush of its own
    // (synchronous=NORMAL; the next durable commit or WAL checkpoint carries it to the card). A batch
    // lost to a power cut takes its last_seq with it and is indexed again.
    const level = this.#db.inTransaction ? null : this.#db.pragma('synchronous', { simple: true });
    if (level !== null) this.#db.pragma('synchronous = NORMAL');
    try {
      last = this.#batch(from, t0);
    } finally {
      if (level !== null) this.#db.pragma(`synchronous = ${Number(level)}`);
    }
    return last >= head;
  }

  /** One batch in one transaction; returns the last seq indexed. */
  #batch(from: number, t0: number): number {
    let last = from;
    this.#db.transaction(() => {
      let n = 0;
      for (const row of this.#journal.iterate(from + 1)) {
        this.#indexRow(row);
        last = row.seq;
        if (++n >= BATCH || ((n & 63) === 0 && performance.now() - t0 > BATCH_BUDGET_MS)) break;
      }
      this.#s.setLast.run(last);
    })();
    return last;
  }

  #indexRow(row: JournalRow): void {
    const d = dataFields(row);
    switch (row.type) {
      case 'access': {
        const escort =
          typeof d.escort === 'string' ? d.escort : typeof d.escortId === 'string' ? d.escortId : null;
        this.#s.access.run({
          seq: row.seq,
          at: row.at,
          door: row.door,
          person: row.person,
          badge: typeof d.badge === 'string' ? d.badge : null,
          direction: d.direction === 'out' ? 'out' : 'in',
          result: d.result === 'granted' ? 'granted' : 'denied',
          reason: typeof d.reason === 'string' ? d.reason : 'unknown',
          visitor: d.category === 'visitor' ? 1 : 0,
          escort,
        });
        return;
      }
      case 'manual_entry_recorded':
        // A key-and-paper entry takes its place in the ledger at the time written on paper.
        this.#s.access.run({
          seq: row.seq,
          at: typeof d.paperAt === 'number' ? d.paperAt : row.at,
          door: row.door,
          person: row.person,
          badge: null,
          direction: d.direction === 'out' ? 'out' : 'in',
          result: 'manual',
          reason: 'manual_entry',
          visitor: d.category === 'visitor' ? 1 : 0,
          escort: typeof d.escort === 'string' ? d.escort : null,
        });
        return;
      case 'alarm_raised':
        this.#s.alarm.run({
          id: row.seq,
          at: row.at,
          type: String(d.alarm),
          severity: String(d.severity),
          door: row.door,
          detail: typeof d.detail === 'string' ? d.detail : '',
        });
        return;
      case 'alarm_acknowledged':
        if (typeof d.alarmId === 'number')
          this.#s.ack.run(row.actor, row.at, typeof d.comment === 'string' ? d.comment : '', d.alarmId);
        return;
      case 'alarm_condition_cleared':
        if (typeof d.alarmId === 'number') this.#s.cleared.run(row.at, d.alarmId);
        return;
      default:
        return;
    }
  }

  /** Journal seqs of access rows (and transcribed paper entries) matching the filter, newest first. */
  accessSeqs(f: AccessFilter): { seq: number; at: number }[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (sql: string, ...values: (string | number)[]) => {
      where.push(sql);
      params.push(...values);
    };
    if (f.from !== undefined) add('at >= ?', f.from);
    if (f.to !== undefined) add('at < ?', f.to);
    if (f.persons !== undefined) {
      if (f.persons.length === 0) return [];
      add(`person IN (${f.persons.map(() => '?').join(', ')})`, ...f.persons);
    }
    if (f.badges !== undefined) {
      if (f.badges.length === 0) return [];
      add(`badge IN (${f.badges.map(() => '?').join(', ')})`, ...f.badges);
    }
    if (f.door !== undefined) add('door = ?', f.door);
    if (f.direction !== undefined) add('direction = ?', f.direction);
    if (f.result !== undefined) add('result = ?', f.result);
    if (f.reason !== undefined) add('reason = ?', f.reason);
    if (f.visitorsOnly) where.push('visitor = 1');
    if (f.before) add('(at, seq) < (?, ?)', f.before.at, f.before.seq);
    const sql = `SELECT seq, at FROM dashboard_access_index${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, seq DESC LIMIT ?`;
    return this.#prepare(sql).all([...params, f.limit]) as { seq: number; at: number }[];
  }

  #prepare(sql: string) {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      if (this.#cache.size > 128) this.#cache.clear();
      stmt = this.#db.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }

  /** Counts per reason of denied reads in [from, to). */
  denialsByReason(from: number, to: number): { reason: string; n: number }[] {
    return this.#db
      .prepare(
        `SELECT reason, COUNT(*) AS n FROM dashboard_access_index INDEXED BY dai_result
         WHERE result = 'denied' AND at >= ? AND at < ? GROUP BY reason ORDER BY n DESC, reason`,
      )
      .all(from, to) as { reason: string; n: number }[];
  }

  /** Granted entries in [from, to), oldest first, at most `limit`. */
  grantedEntries(
    from: number,
    to: number,
    limit: number,
  ): { seq: number; at: number; person: string | null }[] {
    return this.#db
      .prepare(
        `SELECT seq, at, person FROM dashboard_access_index INDEXED BY dai_result
         WHERE result = 'granted' AND direction = 'in' AND at >= ? AND at < ? ORDER BY at, seq LIMIT ?`,
      )
      .all(from, to, limit) as { seq: number; at: number; person: string | null }[];
  }

  alarms(f: {
    from?: number;
    to?: number;
    types?: readonly string[];
    before?: { at: number; id: number };
    limit: number;
  }): AlarmEntry[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (f.from !== undefined) {
      where.push('at >= ?');
      params.push(f.from);
    }
    if (f.to !== undefined) {
      where.push('at < ?');
      params.push(f.to);
    }
    if (f.types) {
      if (f.types.length === 0) return [];
      where.push(`type IN (${f.types.map(() => '?').join(', ')})`);
      params.push(...f.types);
    }
    if (f.before) {
      where.push('(at, id) < (?, ?)');
      params.push(f.before.at, f.before.id);
    }
    const sql = `SELECT * FROM dashboard_alarm_index${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, id DESC LIMIT ?`;
    return (this.#prepare(sql).all([...params, f.limit]) as AlarmRow[]).map(toAlarm);
  }

  alarm(id: number): AlarmEntry | undefined {
    const r = this.#s.alarmById.get(id);
    return r ? toAlarm(r) : undefined;
  }

  /** Alarms raised in [from, to) that were never acknowledged, and the count of all. */
  alarmCounts(from: number, to: number): { total: number; unacknowledged: number } {
    return this.#db
      .prepare(
        `SELECT COUNT(*) AS total, COALESCE(SUM(acked_at IS NULL), 0) AS unacknowledged
         FROM dashboard_alarm_index WHERE at >= ? AND at < ?`,
      )
      .get(from, to) as { total: number; unacknowledged: number };
  }
}

function toAlarm(r: AlarmRow): AlarmEntry {
  return {
    id: r.id,
    at: r.at,
    type: r.type,
    severity: r.severity,
    door: r.door,
    detail: r.detail,
    ackedBy: r.acked_by,
    ackedAt: r.acked_at,
    ackComment: r.ack_comment,
    clearedAt: r.cleared_at,
  };
}
