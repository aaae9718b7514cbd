/**
 * WAL checkpoints off the door's thread.
 *
 * SQLite's automatic checkpoint runs inside the commit that pushes the write-ahead log past 1,000
 * pages: that commit copies the pages into the database file and syncs it, which took the door path
 * from 0.2 ms to 2–5 ms about once in a hundred commits. Here the controller's connection turns the
 * automatic checkpoint off and a worker thread with its own connection runs a PASSIVE checkpoint every
 * `intervalMs`. A PASSIVE checkpoint never waits for, nor blocks, the writer; SQLite restarts the log
 * from its start at the next write once everything in it has been copied.
 *
 * A PASSIVE checkpoint never catches up with a writer that never pauses, and the log is only restarted
 * once all of it has been copied: a steady stream of commits (the dashboard's log index over five
 * years of rows, a bench's load of badges) grew it without bound — 2 GB in 20 s, and every read then
 * searches that much more WAL index. Two things keep it small. Past `ROOM_PAGES` pages, once the
 * worker has copied the log as it was, the controller's thread copies what was committed meanwhile
 * (a few pages; `catchUp`), and the next commit restarts the log. Bulk writers also await `room()`
 * between batches, which holds them while the worker copies. The connection's `journal_size_limit`
 * (db.ts) cuts the file back when the log restarts.
 *
 * If the worker cannot start, fails repeatedly or exits, the connection's automatic checkpoint is
 * turned back on, so the log never grows without bound.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { type SqliteDatabase, WAL_SIZE_LIMIT } from './db.js';

/** SQLite's default `wal_autocheckpoint`, restored when the worker is not running. */
const AUTO_PAGES = 1000;
/** Consecutive failed checkpoints after which the worker is given up. */
const MAX_FAILURES = 5;
/** Log pages past which `room()` makes a bulk writer wait for the whole log to be copied (16 MB). */
export const ROOM_PAGES = 4096;

export interface WalCheckpointerStats {
  /** The worker is running and the connection's automatic checkpoint is off. */
  running: boolean;
  /** PASSIVE checkpoints that copied at least one page. */
  checkpoints: number;
  /** Pages in the log after the latest checkpoint, and how many of them were copied. */
  walPages: number;
  copiedPages: number;
  /** Checkpoints of the log's last pages run on the controller's thread (catchUp). */
  catchUps: number;
  lastError: string | null;
}

type FromWorker =
  | { kind: 'ready' }
  | { kind: 'done'; id?: number; busy: number; log: number; checkpointed: number }
  | { kind: 'error'; id?: number; message: string }
  | { kind: 'closed' };

// Plain CommonJS, evaluated in the worker: it needs only better-sqlite3, whose path is passed in.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('journal_size_limit = ' + workerData.sizeLimit);
let last = '';
const run = (id) => {
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    const key = r.log + '/' + r.checkpointed;
    if (id !== undefined || key !== last || r.checkpointed !== r.log)
      parentPort.postMessage({ kind: 'done', id, ...r });
    last = key;
  } catch (e) {
    parentPort.postMessage({ kind: 'error', id, message: String((e && e.message) || e) });
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m && m.kind === 'now') return run(m.id);
  if (m !== 'stop') return;
  clearInterval(timer);
  run();
  db.close();
  parentPort.postMessage({ kind: 'closed' });
  parentPort.close();
});
parentPort.postMessage({ kind: 'ready' });
`;

export class WalCheckpointer {
  private worker: Worker | null = null;
  private failures = 0;
  private closing: Promise<void> | null = null;
  /** room(): the pending checkpoint asked for, by id. */
  private readonly asked = new Map<number, (copiedAll: boolean) => void>();
  private nextId = 1;
  private readonly s: WalCheckpointerStats = {
    running: false,
    checkpoints: 0,
    walPages: 0,
    copiedPages: 0,
    catchUps: 0,
    lastError: null,
  };

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly log: Logger,
    private readonly roomPages: number,
  ) {}

  /** Starts the worker for the database `db` has open (a file, in WAL mode). */
  static start(db: SqliteDatabase, log: Logger, intervalMs = 250, roomPages = ROOM_PAGES): WalCheckpointer {
    const c = new WalCheckpointer(db, log, roomPages);
    try {
      const module = createRequire(import.meta.url).resolve('better-sqlite3');
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { file: db.name, module, intervalMs, sizeLimit: WAL_SIZE_LIMIT },
      });
      c.worker = w;
      w.unref();
      w.on('message', (m: FromWorker) => c.onMessage(m));
      w.on('error', (err) => c.fallBack(`worker error: ${err.message}`));
      w.on('exit', (code) => {
        if (c.worker === w) c.fallBack(`worker exited (code ${code})`);
      });
    } catch (err) {
      c.fallBack(`worker did not start: ${String(err)}`);
    }
    return c;
  }

  stats(): WalCheckpointerStats {
    return { ...this.s };
  }

  private onMessage(m: FromWorker): void {
    switch (m.kind) {
      case 'ready':
        if (this.worker === null) return;
        this.db.pragma('wal_autocheckpoint = 0');
        this.s.running = true;
        return;
      case 'done':
        this.failures = 0;
        this.s.walPages = m.log;
        this.s.copiedPages = m.checkpointed;
        if (m.checkpointed > 0) this.s.checkpoints++;
        if (m.log >= this.roomPages && m.checkpointed === m.log) this.catchUp();
        if (m.id !== undefined) this.answer(m.id, m.checkpointed === m.log);
        return;
      case 'error':
        if (m.id !== undefined) this.answer(m.id, false);
        this.s.lastError = m.message;
        if (++this.failures >= MAX_FAILURES) this.fallBack(`checkpoints keep failing: ${m.message}`);
        return;
      case 'closed':
        return;
    }
  }

  /**
   * For a writer of many batches, between two of them. While the log is under `maxPages` pages (as of
   * the worker's latest report) it resolves at once. Past that, the writer is paused here: the worker
   * checkpoints at once and, once it has copied the whole log, the writer's next transaction restarts
   * it. A reader holding old pages can keep the copy from finishing: then it resolves anyway, after
   * `timeoutMs` at most, and the next call tries again.
   */
  async room(maxPages = this.roomPages, timeoutMs = 2000): Promise<void> {
    const w = this.worker;
    if (w === null || !this.s.running || this.s.walPages < maxPages) return;
    const id = this.nextId++;
    const copiedAll = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => this.answer(id, false), timeoutMs);
      this.asked.set(id, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      w.postMessage({ kind: 'now', id });
    });
    // The next write restarts the log: until the worker says otherwise, it is empty.
    if (copiedAll) this.s.walPages = this.s.copiedPages = 0;
  }

  /**
   * The worker copied the log as it was when its checkpoint began, but commits made meanwhile keep
   * the log from restarting; under a steady stream of commits (a bench's load, a bulk writer) it
   * would grow without end. Past `roomPages`, the controller's thread copies that remainder itself —
   * a few pages, while no commit can run — so that the next commit restarts the log.
   */
  private catchUp(): void {
    try {
      if (!this.db.open || this.db.inTransaction) return;
      const r = this.db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
      this.s.catchUps++;
      this.s.walPages = r[0]!.log;
      this.s.copiedPages = r[0]!.checkpointed;
    } catch (err) {
      this.s.lastError = `catch-up checkpoint: ${String(err)}`;
    }
  }

  private answer(id: number, copiedAll: boolean): void {
    const f = this.asked.get(id);
    this.asked.delete(id);
    f?.(copiedAll);
  }

  private answerAll(): void {
    for (const id of [...this.asked.keys()]) this.answer(id, false);
  }

  /** Back to SQLite's automatic checkpoint on the controller's connection. */
  private fallBack(why: string): void {
    this.answerAll();
    const w = this.worker;
    this.worker = null;
    this.s.running = false;
    this.s.lastError = why;
    try {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`);
    } catch {
      // the connection is closing; nothing to restore
    }
    if (w !== null) {
      this.log.warn('WAL checkpoints run on the controller thread again', { reason: why });
      void w.terminate();
    }
  }

  /** Stops the worker after one last checkpoint; the connection's automatic checkpoint is back on. */
  stop(): Promise<void> {
    if (this.closing) return this.closing;
    const w = this.worker;
    this.worker = null;
    this.s.running = false;
    this.answerAll();
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`);
    if (w === null) {
      this.closing = Promise.resolve();
      return this.closing;
    }
    this.closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => void w.terminate().then(() => resolve()), 5000);
      w.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      w.postMessage('stop');
    });
    return this.closing;
  }
}
