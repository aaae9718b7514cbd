/**
 * WAL checkpoints on the controller's thread, between events, never inside a commit, not while a
 * badge's frame is arriving, and only once the log is worth copying.
 *
 * What a checkpoint costs. SQLite's automatic checkpoint runs inside the commit that pushes the log
 * past 1,000 pages; the controller's connection turns it off and this class runs
 * `PRAGMA wal_checkpoint(PASSIVE)` instead. A checkpoint flushes twice (the log, then the database
 * file after copying into it), blocks the thread for both, and writes every page the log holds a
 * newer copy of. On an SD card a flush takes milliseconds and stalls for hundreds of them while the
 * card collects garbage. A checkpoint every 500 ms after each event — as this class did before —
 * made it two flushes of the three an event cost at a realistic pace (docs/benchmarks.md).
 *
 * When. A timer looks at the log every `intervalMs`: how many frames it holds that are not yet in
 * the database file (the WAL-index header in the `-shm` file, sqlite.org/walformat.html: mxFrame
 * and nBackfill — a read of 100 bytes, no lock, no I/O to the card). It checkpoints when
 *   - the log holds `minPages` frames (default 1,000, SQLite's own threshold: 1 MB of 1 KiB pages)
 *     and the controller has been idle for a whole interval (the log did not grow since the last
 *     look): the door's hot pages, rewritten by every event, are copied once for a hundred events,
 *     and the checkpoint starts when no event is being handled; or
 *   - the log holds `forcePages` (twice that), idle or not, so that a burst cannot grow it for ever.
 * A checkpoint that comes due while a reader's frame is arriving (`busy`) waits until it has arrived
 * and its decision is committed and acted on, polling every millisecond, at most `maxDeferMs`.
 *
 * Why on this thread and not another connection (a worker, as before): with WAL a checkpoint in
 * another connection does not block this one's commits, but its flushes of the database file compete
 * with the door's flush of the log on the one card (a third of the door's p99 under the bench's
 * load), and a worker's V8 isolate held about 6 MB of resident memory. Rare and idle-only — about
 * once every hundred events (an event changes 7–12 pages of 1 KiB, db.ts) — a checkpoint on this
 * thread delays only an event that arrives during one, by at most its two flushes and the copy of
 * about 1 MB; during a stall of the card that event would have waited for its own flush anyway.
 *
 * A bulk writer (the dashboard's first log index) calls `room()` between its batches, which
 * checkpoints at once once `bulkIntervalMs` have passed, so that each checkpoint stays small. The
 * connection's `journal_size_limit` (db.ts) cuts the file back when the log restarts.
 *
 * Other connections' writes (the CLI's registry changes) land in the same log and count alike; a
 * process holding an old snapshot (`sekisho verify`, a backup) keeps a checkpoint from copying the
 * frames it still reads, and the next look finds them still waiting.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import type { Logger } from '../log.js';
import type { SqliteDatabase } from './db.js';

/** SQLite's default `wal_autocheckpoint`, restored when the checkpointer stops. */
const AUTO_PAGES = 1000;

/** Frames in the log not yet copied into the database file that make a checkpoint worth its flushes. */
export const WAL_CHECKPOINT_PAGES = 1000;

export interface WalCheckpointerOptions {
  /** Time between two looks at the log, ms. */
  intervalMs?: number;
  /**
   * Checkpoint once the log holds this many frames not yet copied and the controller is idle; 0: at
   * every look, whatever the log holds (a checkpoint with nothing to copy does not flush).
   */
  minPages?: number;
  /** Checkpoint once it holds this many, idle or not. Default twice minPages. */
  forcePages?: number;
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
  /** Frames in the log not yet copied at the latest look (-1: the WAL index could not be read). */
  waitingPages: number;
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
    waitingPages: 0,
  };
  private readonly minPages: number;
  private readonly forcePages: number;
  /** The log's last frame at the previous look: unchanged means no commit in between (idle). */
  private lastMxFrame = -1;
  private shmFd: number | null = null;

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
    this.minPages = Math.max(0, opts.minPages ?? WAL_CHECKPOINT_PAGES);
    this.forcePages = Math.max(this.minPages, opts.forcePages ?? 2 * this.minPages);
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

  /** The timer's look: a checkpoint when one is due, at once or once the frame a reader is receiving has arrived. */
  private tick(): void {
    if (this.wait !== null || !this.due()) return;
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

  /** Whether the log holds enough frames not yet copied (minPages and idle, or forcePages). */
  private due(): boolean {
    if (this.minPages === 0) return true;
    const wal = this.readWalIndex();
    if (wal === 'torn') return false;
    if (wal === null) {
      // The WAL index cannot be read: checkpoint at every tick, as SQLite would without us.
      this.s.waitingPages = -1;
      return true;
    }
    const waiting = Math.max(0, wal.mxFrame - wal.backfill);
    const idle = wal.mxFrame === this.lastMxFrame;
    this.lastMxFrame = wal.mxFrame;
    this.s.waitingPages = waiting;
    return waiting >= this.forcePages || (waiting >= this.minPages && idle);
  }

  /**
   * mxFrame and nBackfill of the WAL-index header (the -shm file: two copies of a 48-byte header, the
   * checkpoint information after them; native byte order). Null when it cannot be read; 'torn' when
   * the two copies differ (a writer is updating it: the next look reads it again).
   */
  private readWalIndex(): { mxFrame: number; backfill: number } | 'torn' | null {
    try {
      this.shmFd ??= openSync(`${this.db.name}-shm`, 'r');
      const b = Buffer.alloc(100);
      if (readSync(this.shmFd, b, 0, 100, 0) < 100) return null;
      if (!b.subarray(0, 48).equals(b.subarray(48, 96))) return 'torn';
      const le = endianness() === 'LE';
      const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
      return { mxFrame: u32(16), backfill: u32(96) };
    } catch {
      return null;
    }
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
    if (this.shmFd !== null) closeSync(this.shmFd);
    this.shmFd = null;
    try {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`);
    } catch {
      // an iterator is still open on the connection, which is about to close anyway
    }
    return Promise.resolve();
  }
}
