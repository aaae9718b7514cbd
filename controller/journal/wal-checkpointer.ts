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
 * If the worker cannot start, fails repeatedly or exits, the connection's automatic checkpoint is
 * turned back on, so the log never grows without bound.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { SqliteDatabase } from './db.js';

/** SQLite's default `wal_autocheckpoint`, restored when the worker is not running. */
const AUTO_PAGES = 1000;
/** Consecutive failed checkpoints after which the worker is given up. */
const MAX_FAILURES = 5;

export interface WalCheckpointerStats {
  /** The worker is running and the connection's automatic checkpoint is off. */
  running: boolean;
  /** PASSIVE checkpoints that copied at least one page. */
  checkpoints: number;
  /** Pages in the log after the latest checkpoint, and how many of them were copied. */
  walPages: number;
  copiedPages: number;
  lastError: string | null;
}

type FromWorker =
  | { kind: 'ready' }
  | { kind: 'done'; busy: number; log: number; checkpointed: number }
  | { kind: 'error'; message: string }
  | { kind: 'closed' };

// Plain CommonJS, evaluated in the worker: it needs only better-sqlite3, whose path is passed in.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
let last = -1;
const run = () => {
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    if (r.log !== last || r.checkpointed !== r.log) parentPort.postMessage({ kind: 'done', ...r });
    last = r.log;
  } catch (e) {
    parentPort.postMessage({ kind: 'error', message: String((e && e.message) || e) });
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
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
  private readonly s: WalCheckpointerStats = {
    running: false,
    checkpoints: 0,
    walPages: 0,
    copiedPages: 0,
    lastError: null,
  };

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly log: Logger,
  ) {}

  /** Starts the worker for the database `db` has open (a file, in WAL mode). */
  static start(db: SqliteDatabase, log: Logger, intervalMs = 250): WalCheckpointer {
    const c = new WalCheckpointer(db, log);
    try {
      const module = createRequire(import.meta.url).resolve('better-sqlite3');
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: db.name, module, intervalMs } });
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
        return;
      case 'error':
        this.s.lastError = m.message;
        if (++this.failures >= MAX_FAILURES) this.fallBack(`checkpoints keep failing: ${m.message}`);
        return;
      case 'closed':
        return;
    }
  }

  /** Back to SQLite's automatic checkpoint on the controller's connection. */
  private fallBack(why: string): void {
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
