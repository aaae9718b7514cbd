/**
 * The journal's queries on the full journal, through Journal.query/iterate (what `sekisho log`, the
 * dashboard's `GET /api/journal` and its Live page call; the entry/exit log pages go through the
 * dashboard's index, measured through the HTTP API in dashboard.ts), each beside the same SQL run
 * bare (only the stored bytes, no row objects).
 */

import type Database from 'better-sqlite3';
import { dataFields } from '../controller/domain/index.js';
import {
  type Journal,
  type JournalFilter,
  type JournalRow,
  journalFilterWhere,
} from '../controller/journal/index.js';
import type { DatasetMeta } from './lib/dataset.js';
import { now, rng } from './lib/stats.js';

export interface QueryFigure {
  name: string;
  samples: number[];
  bare: number[];
  rows: number;
}

/** The bare form of a filter: the same WHERE, ORDER BY and LIMIT, selecting only the bytes. */
function bareSql(f: JournalFilter): { sql: string; params: (string | number)[] } {
  const { where, params } = journalFilterWhere(f);
  const sql = `SELECT seq, bytes FROM journal${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, seq DESC LIMIT ?`;
  params.push(f.limit);
  return { sql, params };
}

function timeBoth(
  journal: Journal,
  db: Database.Database,
  name: string,
  filters: JournalFilter[],
): QueryFigure {
  const fig: QueryFigure = { name, samples: [], bare: [], rows: 0 };
  for (const f of filters) {
    const t = now();
    const rows = journal.query(f);
    fig.samples.push(now() - t);
    fig.rows += rows.length;
    const { sql, params } = bareSql(f);
    const stmt = db.prepare(sql).raw();
    const t2 = now();
    stmt.all(...params);
    fig.bare.push(now() - t2);
  }
  fig.rows = Math.round(fig.rows / filters.length);
  return fig;
}

export interface QueryResults {
  figures: QueryFigure[];
  /** One person's whole five years, paged 1000 at a time with the cursor. */
  personAll: { rows: number; pages: number; ms: number; pageMs: number[] };
  /** CSV export of one year (query pages of 10,000, formatted), and of everything (iterate). */
  csvYear: { rows: number; rowsPerS: number; bareRowsPerS: number };
  csvAll: { rows: number; rowsPerS: number; bareRowsPerS: number };
}

function csvLine(r: JournalRow): string {
  const d = dataFields(r);
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [
    r.seq,
    new Date(r.at).toISOString(),
    r.type,
    r.door,
    r.person,
    d.personName,
    d.direction,
    d.result,
    d.reason,
    d.masked,
    r.actor,
    r.hash,
  ]
    .map(cell)
    .join(',');
}

export function runQueries(
  journal: Journal,
  db: Database.Database,
  meta: DatasetMeta,
  opts: { repeats: number; csvAll: boolean },
): QueryResults {
  const r = rng(99);
  const span = meta.to - meta.from;
  const rep = opts.repeats;
  const figures: QueryFigure[] = [];
  // Warm the statement caches once, as a running dashboard has them.
  journal.query({ limit: 100 });

  figures.push(
    timeBoth(
      journal,
      db,
      'newest page (100 rows)',
      Array.from({ length: rep }, () => ({ limit: 100 })),
    ),
  );
  figures.push(
    timeBoth(
      journal,
      db,
      'newest 100 entries/exits (type access)',
      Array.from({ length: rep }, () => ({ types: ['access'], limit: 100 })),
    ),
  );
  figures.push(
    timeBoth(
      journal,
      db,
      "one person's five years, first page (1000)",
      Array.from({ length: rep }, () => ({
        person: meta.busiestPerson,
        from: meta.from,
        to: meta.to,
        limit: 1000,
      })),
    ),
  );
  figures.push(
    timeBoth(
      journal,
      db,
      'a date range: a random month, first page (100)',
      Array.from({ length: rep }, () => {
        const from = meta.from + Math.floor(r() * (span - 31 * 86_400_000));
        return { from, to: from + 30 * 86_400_000, limit: 100 };
      }),
    ),
  );
  figures.push(
    timeBoth(
      journal,
      db,
      "a date range: a random day's entries/exits (≤1000)",
      Array.from({ length: rep }, () => {
        const from = meta.from + Math.floor(r() * (span - 2 * 86_400_000));
        return { from, to: from + 86_400_000, types: ['access'], door: 'machine-room', limit: 1000 };
      }),
    ),
  );
  figures.push(
    timeBoth(
      journal,
      db,
      'a date range: a random month of alarms',
      Array.from({ length: rep }, () => {
        const from = meta.from + Math.floor(r() * (span - 31 * 86_400_000));
        return {
          from,
          to: from + 30 * 86_400_000,
          types: ['alarm_raised', 'alarm_acknowledged'],
          limit: 100,
        };
      }),
    ),
  );

  // One person's five years, every page.
  const pageMs: number[] = [];
  let rows = 0;
  let before: number | undefined;
  const t0 = now();
  for (;;) {
    const t = now();
    const page = journal.query({
      person: meta.busiestPerson,
      from: meta.from,
      to: meta.to,
      limit: 1000,
      beforeSeq: before,
    });
    pageMs.push(now() - t);
    rows += page.length;
    if (page.length < 1000) break;
    before = page[page.length - 1]!.seq;
  }
  const personAll = { rows, pages: pageMs.length, ms: now() - t0, pageMs };

  // CSV export of the last year, in pages of 10,000.
  const yearFrom = meta.to - 365 * 86_400_000;
  let csvRows = 0;
  let cursor: number | undefined;
  let bytes = 0;
  const t1 = now();
  for (;;) {
    const page = journal.query({ from: yearFrom, to: meta.to, limit: 10_000, beforeSeq: cursor });
    for (const row of page) bytes += csvLine(row).length + 1;
    csvRows += page.length;
    if (page.length < 10_000) break;
    cursor = page[page.length - 1]!.seq;
  }
  const yearS = (now() - t1) / 1000;
  const bareYear = db
    .prepare('SELECT seq, bytes FROM journal WHERE at >= ? AND at < ? ORDER BY at DESC, seq DESC')
    .raw();
  const t2 = now();
  let bareRows = 0;
  for (const _ of bareYear.iterate(yearFrom, meta.to)) bareRows++;
  const bareYearS = (now() - t2) / 1000;
  const csvYear = { rows: csvRows, rowsPerS: csvRows / yearS, bareRowsPerS: bareRows / bareYearS, bytes };

  // Everything, in seq order, through iterate().
  let csvAll = { rows: 0, rowsPerS: Number.NaN, bareRowsPerS: Number.NaN };
  if (opts.csvAll) {
    let n = 0;
    const t3 = now();
    for (const row of journal.iterate(1)) {
      csvLine(row);
      n++;
    }
    const allS = (now() - t3) / 1000;
    const bareAll = db.prepare('SELECT seq, bytes FROM journal ORDER BY seq').raw();
    const t4 = now();
    let m = 0;
    for (const _ of bareAll.iterate()) m++;
    csvAll = { rows: n, rowsPerS: n / allS, bareRowsPerS: m / ((now() - t4) / 1000) };
  }
  return { figures, personAll, csvYear, csvAll };
}
