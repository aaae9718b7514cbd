/**
 * The dashboard on the full journal, through its HTTP API as a browser or a script uses it: the first
 * start's log index (built in the background while the door serves), then the log's pages, one
 * person's five years and a CSV export, each beside the HTTP floor of the same process (/healthz).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type Staff, TZ_OFFSET_MS } from './lib/dataset.js';
import { now, rng, sleep } from './lib/stats.js';
import { SimBadges, type Started } from './process.js';

export interface IndexBuildFigure {
  /** Journal rows the index had to cover. */
  rows: number;
  /** From the door secured and serving to the index at the journal's head, s. */
  seconds: number;
  /** The largest write-ahead log file seen while it ran, bytes. */
  walMaxBytes: number;
  /** HTTP sim badge round trips during the build (the door's event loop is shared with it), ms. */
  badgeMs: number[];
}

function indexState(dbFile: string): { indexed: number; head: number } {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const indexed =
      (
        db.prepare("SELECT last_seq FROM dashboard_index_state WHERE name = 'journal'").get() as
          | { last_seq: number }
          | undefined
      )?.last_seq ?? 0;
    const head = (db.prepare('SELECT max(seq) AS m FROM journal').get() as { m: number }).m;
    return { indexed, head };
  } catch {
    return { indexed: 0, head: Number.POSITIVE_INFINITY }; // the dashboard's tables are not there yet
  } finally {
    db.close();
  }
}

/**
 * Waits, on a controller just started on a journal its dashboard has not indexed, until the index has
 * reached the journal's head; meanwhile a badge every 100 ms through the HTTP sim route (granted
 * badges are presented again at the exit reader), and the WAL file's size sampled.
 */
export async function waitForIndex(
  s: Started,
  storageDir: string,
  staff: readonly Staff[],
  timeoutMs = 1_200_000,
): Promise<IndexBuildFigure> {
  const dbFile = join(storageDir, 'journal.db');
  const t0 = now();
  const fig: IndexBuildFigure = { rows: 0, seconds: 0, walMaxBytes: 0, badgeMs: [] };
  // The journal as the controller found it (the badges below add rows, indexed on the next sync).
  let target = Number.POSITIVE_INFINITY;
  const badges = new SimBadges(s);
  let i = 0;
  let lastPoll = 0;
  for (;;) {
    if (now() - t0 > timeoutMs) throw new Error('the log index did not reach the head in time');
    try {
      fig.walMaxBytes = Math.max(fig.walMaxBytes, statSync(`${dbFile}-wal`).size);
    } catch {
      // no log file at this instant
    }
    if (now() - lastPoll > 500) {
      lastPoll = now();
      const st = indexState(dbFile);
      if (target === Number.POSITIVE_INFINITY && Number.isFinite(st.head)) target = st.head;
      if (st.indexed >= target) {
        fig.rows = target;
        fig.seconds = (now() - t0) / 1000;
        return fig;
      }
    }
    fig.badgeMs.push((await badges.present(staff[i++ % staff.length]!)).ms);
    await sleep(100);
  }
}

export interface ApiQueryFigure {
  name: string;
  samples: number[];
  rows: number;
}

export interface ApiResults {
  /** GET /healthz, the HTTP floor of the same process. */
  floor: number[];
  figures: ApiQueryFigure[];
  /** The busiest person's whole five years through GET /api/log, 500 a page with the cursor. */
  personAll: { rows: number; pages: number; ms: number };
  /** GET /api/log.csv for one year. */
  csvYear: { rows: number; ms: number; bytes: number };
}

interface LogPage {
  rows: unknown[];
  next: string | null;
}

const day = (ms: number) => new Date(ms + TZ_OFFSET_MS).toISOString().slice(0, 10); // Asia/Tokyo dates

/** The log's API on the running controller: pages, filters, one person's years, a CSV export. */
export async function apiQueries(
  s: Started,
  meta: { from: number; to: number; staff: readonly Staff[]; busiestPerson: string },
  manager: { username: string; password: string },
  n: number,
): Promise<ApiResults> {
  // Logged in as the manager (no API token scope may export), as the dashboard's pages are.
  const login = await fetch(`${s.base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(manager),
  });
  if (login.status !== 200) throw new Error(`login as ${manager.username}: ${login.status}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const headers = { cookie };
  const get = async (path: string): Promise<{ ms: number; body: string }> => {
    const t = now();
    const res = await fetch(`${s.base}${path}`, { headers });
    const body = await res.text();
    const ms = now() - t;
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body.slice(0, 200)}`);
    return { ms, body };
  };
  const rand = rng(20_261_126);
  const timed = async (name: string, path: () => string): Promise<ApiQueryFigure> => {
    const fig: ApiQueryFigure = { name, samples: [], rows: 0 };
    for (let i = 0; i < n; i++) {
      const r = await get(path());
      fig.samples.push(r.ms);
      fig.rows += (JSON.parse(r.body) as LogPage).rows.length;
    }
    fig.rows = Math.round(fig.rows / n);
    return fig;
  };
  for (let i = 0; i < 20; i++) await get('/healthz'); // warm-up
  const floor: number[] = [];
  for (let i = 0; i < n; i++) floor.push((await get('/healthz')).ms);
  const span = meta.to - meta.from;
  const figures = [
    await timed('newest page (50)', () => '/api/log?limit=50'),
    await timed("one person's newest page (50)", () => {
      const p = meta.staff[Math.floor(rand() * meta.staff.length)]!;
      return `/api/log?person=${encodeURIComponent(p.personId)}&limit=50`;
    }),
    await timed('one month, first page (50)', () => {
      const from = meta.from + Math.floor(rand() * (span - 31 * 86_400_000));
      return `/api/log?from=${day(from)}&to=${day(from + 30 * 86_400_000)}&limit=50`;
    }),
    await timed('denied in one month, first page (50)', () => {
      const from = meta.from + Math.floor(rand() * (span - 31 * 86_400_000));
      return `/api/log?from=${day(from)}&to=${day(from + 30 * 86_400_000)}&result=denied&limit=50`;
    }),
  ];
  let t = now();
  let cursor: string | null = null;
  const personAll = { rows: 0, pages: 0, ms: 0 };
  do {
    const q: string = `/api/log?person=${encodeURIComponent(meta.busiestPerson)}&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const page = JSON.parse((await get(q)).body) as LogPage;
    personAll.rows += page.rows.length;
    personAll.pages++;
    cursor = page.next;
  } while (cursor);
  personAll.ms = now() - t;
  const yearFrom = meta.to - 365 * 86_400_000;
  t = now();
  const csv = await get(`/api/log.csv?from=${day(yearFrom)}&to=${day(meta.to)}`);
  const csvYear = {
    rows: csv.body.split('\r\n').filter((l) => l.length > 0).length - 1,
    ms: now() - t,
    bytes: Buffer.byteLength(csv.body),
  };
  return { floor, figures, personAll, csvYear };
}
