/**
 * WAL checkpoints on the controller's thread, between events, never inside a commit, and not while a
 * badge's frame is arriving.
 *
 * SQLite's automatic checkpoint runs inside the commit that pushes the write-ahead log past 1,000
 * pages: that commit copies the pages into the database file and syncs it, which took the door path
 * from 0.2 ms to 2–5 ms about once in a hundred commits. The controller's connection turns it off, and
 * this class runs `PRAGMA wal_checkpoint(PASSIVE)` on the same connection every `intervalMs` from a
 * timer, that is between two events of the controller and never in the middle of a presentation's
 * frame → commit → lock sequence, which runs without a turn of the event loop.
 *
 * A reader's frame takes time to arrive (an RDM6300 frame 14.6 ms at 9600 baud). When the timer
 * fires while one is arriving (`busy`), the checkpoint waits until it has arrived and its decision is
 * committed and acted on, polling every millisecond, at most `maxDeferMs`. A checkpoint that starts
 * between two frames is over before the next frame, begun meanwhile, has arrived, as long as it is
 * shorter than a frame (docs/benchmarks.md measures both). A line that keeps sending partial frames
 * (noise) delays each checkpoint by at most `maxDeferMs`. Events that are not frames (an HTTP request,
 * a door contact) wait for a checkpoint that is running.
 *
 * Why not a worker thread with its own connection, as before: its checkpoints ran beside the door's
 * commits, its fsync of the database file competed with the fsync of the door's commit (a third of
 * the door's p99 under the bench's load), and its V8 isolate and Node environment held about 6 MB of
 * the controller's resident memory.
 *
 * Nearly every write comes from this connection (the CLI's registry changes are the exception), and
 * none of them can commit while a checkpoint runs on its thread, so a checkpoint copies the whole log
 * (unless another process, `sekisho verify` or a backup, holds an old snapshot); the next commit then
 * restarts the log from its start. The log therefore holds about `intervalMs` of
 * commits. A bulk writer (the dashboard's first log index) calls `room()` between its batches, which
 * checkpoints at once once `bulkIntervalMs` have passed, so that each checkpoint stays small. The
 * connection's `journal_size_limit` (db.ts) cuts the file back when the log restarts.
 */
import type { Logger } from '../log.js';
import type { SqliteDatabase } from './db.js';

/** SQLite's default `wal_autocheckpoint`, restored when the checkpointer stops. */
const AUTO_PAGES = 1000;

export interface WalCheckpointerOptions {
  /** Time between two checkpoints, ms. */
  intervalMs?: number;
  /** room(): how old the latest checkpoint may be before a bulk writer's batch, ms. */
  bulkIntervalMs?: number;
  /**
   * Whether a badge is arriving (a reader has the first bytes of a frame): the timer's checkpoint
   * waits, polling every millisecond, until it is not or `maxDeferMs` have passed.
   */
  busy?: () => boolean;
  maxDeferMs?: number;
}

export interface WalCheckpointerStats {
  /** The timer runs and the connection's automatic checkpoint is off. */
  running: boolean;
  /** Checkpoints that copied at least one page. */
  checkpoints: number;
  /** Pages in the log at the latest checkpoint, and how many of them were copied. */
  walPages: number;
  copiedPages: number;
  /** The longest checkpoint that copied pages, ms. */
  maxMs: number;
  /** Checkpoints put off because a statement of the connection was still reading (an iterator). */
  deferred: number;
  /** Timer checkpoints that waited for a frame to finish arriving (`busy`), and those that gave up. */
  waitedForFrames: number;
  waitsGivenUp: number;
  /** Checkpoints that failed (the disk full, an I/O error); the next tick tries again. */
  failures: number;
  lastError: string | null;
}

export class WalCheckpointer {
  private timer: NodeJS.Timeout | null = null;
  private lastRun = 0;
  private failing = false;
  private readonly s: WalCheckpointerStats = {
    running: false,
    checkpoints: 0,
    walPages: 0,
    copiedPages: 0,
    maxMs: 0,
    deferred: 0,
    waitedForFrames: 0,
    waitsGivenUp: 0,
    failures: 0,
    lastError: null,
  };

  /** A timer checkpoint waiting for a frame to finish arriving. */
  private wait: NodeJS.Timeout | null = null;
  private readonly bulkIntervalMs: number;
  private readonly busy: () => boolean;
  private readonly maxDeferMs: number;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly log: Logger,
    opts: WalCheckpointerOptions,
  ) {
    this.bulkIntervalMs = opts.bulkIntervalMs ?? 100;
    this.busy = opts.busy ?? (() => false);
    this.maxDeferMs = opts.maxDeferMs ?? 100;
  }

  /** Turns the automatic checkpoint of `db` (a file, in WAL mode) off and starts the timer. */
  static start(db: SqliteDatabase, log: Logger, opts: WalCheckpointerOptions = {}): WalCheckpointer {
    const c = new WalCheckpointer(db, log, opts);
    db.pragma('wal_autocheckpoint = 0');
    c.lastRun = performance.now();
    c.timer = setInterval(() => c.tick(), opts.intervalMs ?? 500);
    c.timer.unref();
    c.s.running = true;
    return c;
  }

  /** The timer's checkpoint: at once, or once the frame a reader is receiving has arrived. */
  private tick(): void {
    if (this.wait !== null) return;
    if (!this.isBusy()) this.checkpoint();
    else {
      this.s.waitedForFrames++;
      this.waitForFrame(performance.now());
    }
  }

  /** Checks again in 1 ms: checkpoints once the frame has arrived, or `maxDeferMs` after `since`. */
  private waitForFrame(since: number): void {
    this.wait = setTimeout(() => {
      this.wait = null;
      if (this.timer === null) return;
      if (!this.isBusy()) this.checkpoint();
      else if (performance.now() - since >= this.maxDeferMs) {
        this.s.waitsGivenUp++;
        this.checkpoint();
      } else this.waitForFrame(since);
    }, 1);
    this.wait.unref();
  }

  private isBusy(): boolean {
    try {
      return this.busy();
    } catch {
      return false;
    }
  }

  stats(): WalCheckpointerStats {
    return { ...this.s };
  }

  /**
   * For a writer of many batches, between two of them: checkpoints at once if the latest checkpoint
   * is `bulkIntervalMs` old, so that the log a bulk writer fills between two checkpoints stays small
   * and each checkpoint short. Resolves at once either way.
   */
  room(): Promise<void> {
    if (this.timer !== null && performance.now() - this.lastRun >= this.bulkIntervalMs) this.checkpoint();
    return Promise.resolve();
  }

  /** One PASSIVE checkpoint of the log, now. Never throws. */
  checkpoint(): void {
    if (!this.db.open || this.db.inTransaction) return;
    const t0 = performance.now();
    this.lastRun = t0;
    let r: { log: number; checkpointed: number };
    try {
      r = (this.db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[])[0]!;
    } catch (err) {
      // better-sqlite3 refuses any statement while an iterator of the connection is open (a long
      // export between two of its chunks): not a failure, the next tick finds it closed.
      if (err instanceof TypeError && /busy executing a query/.test(err.message)) {
        this.s.deferred++;
        return;
      }
      this.s.failures++;
      this.s.lastError = (err as Error).message;
      if (!this.failing) this.log.error('WAL checkpoint failed; retrying', { error: this.s.lastError });
      this.failing = true;
      return;
    }
    if (this.failing) this.log.info('WAL checkpoints work again', { walPages: r.log });
    this.failing = false;
    this.s.walPages = r.log;
    this.s.copiedPages = r.checkpointed;
    if (r.checkpointed > 0) {
      this.s.checkpoints++;
      this.s.maxMs = Math.max(this.s.maxMs, performance.now() - t0);
    }
  }

  /** Stops the timer after one last checkpoint; the connection's automatic checkpoint is back on. */
  stop(): Promise<void> {
    if (this.timer === null) return Promise.resolve();
    clearInterval(this.timer);
    this.timer = null;
    if (this.wait !== null) clearTimeout(this.wait);
    this.wait = null;
    this.s.running = false;
    this.checkpoint();
    try {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`);
    } catch {
      // an iterator is still open on the connection, which is about to close anyway
    }
    return Promise.resolve();
  }
}
