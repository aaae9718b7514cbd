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

  constructor(private readonly d: CheckpointDeps) {
    const latest = d.journal.latestCheckpoint();
    this.lastSeq = latest?.seq ?? 0;
    this.lastAt = latest?.at ?? Number.NEGATIVE_INFINITY;
  }

  start(): void {
    // The timer only signs what is left unsigned; at most everyMs after a row, it is signed.
    this.timer = setInterval(() => this.d.guard(() => this.signIfUnsigned()), this.d.everyMs);
    this.timer.unref();
    this.snapshotTimer = setInterval(() => this.d.guard(() => this.snapshot()), this.d.snapshotEveryMs);
    this.snapshotTimer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
  }

  /** Whether the transaction about to append `rows` rows should carry a checkpoint of the last. */
  due(force = false, rows = 1): boolean {
    if (force) return true;
    const next = this.d.journal.head().seq + rows;
    return next - this.lastSeq >= this.d.everyRows || this.d.now() - this.lastAt >= this.d.everyMs;
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
      saveSnapshot(db, { seq: head.seq, hash: head.hash, at: now(), state }, signingKey, keyId);
      this.lastSnapshotSeq = head.seq;
    } catch (err) {
      this.d.log.warn('could not save a derived-state snapshot', { seq: head.seq, error: String(err) });
    }
  }
}
