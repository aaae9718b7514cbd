/**
 * The derived state (presence, alarms, modes, visits) folded from the journal: rebuilt at start from
 * the latest good signed snapshot, kept up to date by the writer's fold of each committed row, and
 * caught up once a second with rows other processes wrote. Also the signed checkpoints, each with a
 * snapshot of the derived state when the state is exactly at the checkpoint's head.
 */

import type Database from 'better-sqlite3';
import {
  type DerivedState,
  foldRow,
  foldRows,
  initialDerivedState,
  restoreDerivedState,
  snapshotDerivedState,
} from '../domain/index.js';
import type { DeviceSecrets, Journal, JournalRow } from '../journal/index.js';
import { loadLatestSnapshot, saveSnapshot } from '../journal/index.js';
import type { Logger } from '../log.js';
import type { MqttPublisher } from '../mqtt/index.js';
import type { Guard, Part } from './part.js';

export interface DerivedDeps {
  db: Database.Database;
  journal: Journal;
  secrets: DeviceSecrets;
  log: Logger;
  guard: Guard;
  /** Called after rows written by other processes were folded (the visit deadlines may have moved). */
  caughtUp: () => void;
}

export class Derived implements Part {
  /** The state folded up to `current.lastSeq`. */
  current: DerivedState;
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: DerivedDeps) {
    this.current = this.rebuild();
  }

  /** Folds a row just committed: with every row other writers appended before it, in order. */
  fold(row: JournalRow): void {
    // Rows appended by other writers (the CLI, the registry, the dashboard) since the last fold
    // matter to the derived state too: fold every row up to this one, in order.
    if (row.seq > this.current.lastSeq + 1)
      this.current = foldRows(this.current, this.d.journal.iterate(this.current.lastSeq + 1));
    else this.current = foldRow(this.current, row);
  }

  start(): void {
    // Rows written by other processes (the CLI issuing a visitor badge, say) are folded within a second.
    const maxSeq = this.d.db.prepare<[], { m: number | null }>('SELECT MAX(seq) AS m FROM journal');
    this.syncTimer = setInterval(
      () =>
        this.d.guard(() => {
          const m = maxSeq.get()?.m ?? 0;
          if (m > this.current.lastSeq) {
            this.current = foldRows(this.current, this.d.journal.iterate(this.current.lastSeq + 1));
            this.d.caughtUp();
          }
        }),
      1000,
    );
    this.syncTimer.unref();
  }

  stop(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
  }

  /** The derived state at start: the latest good signed snapshot plus the rows after it, else a full fold. */
  private rebuild(): DerivedState {
    const { db, journal, secrets, log } = this.d;
    const { snapshot, rejected } = loadLatestSnapshot(db, secrets.publicKey);
    for (const r of rejected) log.warn('derived-state snapshot rejected', { seq: r.seq, reason: r.reason });
    if (snapshot) {
      try {
        const restored = restoreDerivedState(JSON.parse(snapshot.state));
        if (restored.lastSeq !== snapshot.seq) throw new Error(`state is at seq ${restored.lastSeq}`);
        const derived = foldRows(restored, journal.iterate(snapshot.seq + 1));
        log.info(
          `derived state from snapshot at seq ${snapshot.seq} (+${derived.lastSeq - snapshot.seq} rows)`,
        );
        return derived;
      } catch (err) {
        log.warn('derived-state snapshot unusable; folding the whole journal', {
          seq: snapshot.seq,
          error: String(err),
        });
      }
    }
    const derived = foldRows(initialDerivedState(), journal.iterate(1));
    log.info(`derived state from a full fold (${derived.lastSeq} rows)`);
    return derived;
  }
}

export interface CheckpointDeps {
  db: Database.Database;
  journal: Journal;
  secrets: DeviceSecrets;
  log: Logger;
  now: () => number;
  guard: Guard;
  derived: Derived;
  mqtt: MqttPublisher | null;
  /** Sign when the latest checkpoint is this old (and rows are unsigned). */
  everyMs: number;
  /** Sign inside the commit of the row that makes this many rows since the latest checkpoint. */
  everyRows: number;
  /** A signed snapshot of the derived state this often (when the state moved). */
  snapshotEveryMs: number;
  /** Records waiting in the writer's storage-fault queue. */
  pendingWrites: () => number;
}

/**
 * The checkpoint cadence: a signed checkpoint of the journal's head inside the commit of the row that
 * makes it due (`everyRows` rows since the latest, or `everyMs` since it: `due()` then `signInside()`
 * in the writer's transaction, so it costs no flush of its own), at start and at stop (forced), and
 * from a timer for rows a quiet spell left unsigned. Rows a crash can leave unsigned: fewer than
 * `everyRows`, none older than `everyMs`. Snapshots of the derived state are on their own timer.
 */
export class Checkpoints implements Part {
  private timer: NodeJS.Timeout | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  /** The latest checkpoint's seq and signing time. */
  private lastSeq: number;
  private lastAt: number;
  private lastSnapshotSeq = 0;
  private failing = false;
  /** When the first row after the latest checkpoint was committed (null: none yet, or unknown). */
  private firstUnsignedAt: number | null = null;
  /** How often the timer looks for rows left unsigned, ms. */
  private readonly tickMs: number;

  constructor(private readonly d: CheckpointDeps) {
    this.tickMs = Math.max(100, Math.floor(d.everyMs / 5));
    const latest = d.journal.latestCheckpoint();
    this.lastSeq = latest?.seq ?? 0;
    this.lastAt = latest?.at ?? Number.NEGATIVE_INFINITY;
  }

  start(): void {
    // The timer signs only rows a quiet spell left unsigned, when the oldest of them is about to be
    // everyMs old: a row that comes sooner carries the checkpoint in its own commit, at no flush.
    this.timer = setInterval(() => this.d.guard(() => this.signIfStale()), this.tickMs);
    this.timer.unref();
    this.snapshotTimer = setInterval(() => this.d.guard(() => this.snapshot()), this.d.snapshotEveryMs);
    this.snapshotTimer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
  }

  /**
   * Whether the transaction about to append `rows` rows (0: already appended, not yet committed)
   * should carry a checkpoint of its last.
   */
  due(force = false, rows = 1): boolean {
    if (force) return true;
    const next = this.d.journal.head().seq + rows;
    const now = this.d.now();
    if (next - this.lastSeq >= this.d.everyRows || now - this.lastAt >= this.d.everyMs) return true;
    // Half-way to the timer's turn: sign in this commit (no flush of its own) rather than leave it to
    // the timer's transaction (a flush) — at a few events a minute the timer never has to run.
    if (this.firstUnsignedAt !== null && now - this.firstUnsignedAt >= this.d.everyMs / 2) return true;
    // Not signed: the first row after the latest checkpoint starts the clock of the timer.
    this.firstUnsignedAt ??= now;
    return false;
  }

  /**
   * Signs the head inside the caller's transaction (the writer's commit). A checkpoint that cannot be
   * stored is logged and skipped: it never costs the event its row.
   */
  signInside(): void {
    const { journal, secrets, now } = this.d;
    try {
      const cp = journal.checkpoint(now(), secrets.signingKey, secrets.keyId);
      this.lastSeq = cp.seq;
      this.lastAt = cp.at;
      this.firstUnsignedAt = null;
      this.failing = false;
    } catch (err) {
      // Not retried on every row: the next is due after the interval again.
      this.lastAt = now();
      if (!this.failing) this.d.log.error('could not sign a checkpoint', { error: String(err) });
      this.failing = true;
    }
  }

  /** After the commit that carried a checkpoint: publish it (off the door's path). */
  signed(): void {
    this.d.mqtt?.checkpointed();
  }

  /** The latest checkpoint's seq (0: none). */
  get latestSeq(): number {
    return this.lastSeq;
  }

  /**
   * From the timer: signs the rows left unsigned once the oldest is within a tick of everyMs old (or
   * of unknown age: written by another process). Rows a crash can leave unsigned stay none older
   * than everyMs.
   */
  private signIfStale(): void {
    const head = this.d.journal.head();
    if (head.seq === 0 || head.seq <= this.lastSeq) {
      this.firstUnsignedAt = null;
      return;
    }
    const since = this.firstUnsignedAt;
    if (since !== null && this.d.now() - since < this.d.everyMs - this.tickMs) return;
    this.signIfUnsigned();
  }

  private signIfUnsigned(): void {
    const head = this.d.journal.head();
    if (head.seq === 0 || head.seq <= this.lastSeq) return;
    this.d.journal.transaction(() => this.signInside());
    this.signed();
  }

  /** Signs the head now if it moved (in a transaction of its own), then snapshots the derived state. */
  checkpoint(): void {
    this.signIfUnsigned();
    this.snapshot();
  }

  /** A snapshot of the derived state for the head, only if the state is exactly at it. */
  snapshot(): void {
    const { journal, secrets, db, now, derived } = this.d;
    const head = journal.head();
    if (head.seq === 0 || head.seq === this.lastSnapshotSeq) return;
    if (derived.current.lastSeq !== head.seq || this.d.pendingWrites() > 0) return;
    try {
      const state = JSON.stringify(snapshotDerivedState(derived.current));
      const { signingKey, keyId } = secrets;
      // A cache, not evidence: committed without a flush of its own (the next durable commit or the
      // WAL checkpoint carries it to the card); a snapshot lost to a power cut only lengthens a start.
      withoutFlush(db, () =>
        saveSnapshot(db, { seq: head.seq, hash: head.hash, at: now(), state }, signingKey, keyId),
      );
      this.lastSnapshotSeq = head.seq;
    } catch (err) {
      this.d.log.warn('could not save a derived-state snapshot', { seq: head.seq, error: String(err) });
    }
  }
}

/**
 * Runs fn (a transaction of bookkeeping or cache) with synchronous=NORMAL: in WAL mode its commit
 * writes the log without flushing it; the database stays consistent, and a power cut can only lose
 * it. Inside an open transaction fn just joins it.
 */
export function withoutFlush<T>(db: Database.Database, fn: () => T): T {
  if (db.inTransaction) return fn();
  const level = db.pragma('synchronous', { simple: true });
  db.pragma('synchronous = NORMAL');
  try {
    return fn();
  } finally {
    db.pragma(`synchronous = ${Number(level)}`);
  }
}
