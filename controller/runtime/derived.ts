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
  everyMs: number;
  /** Records waiting in the writer's storage-fault queue. */
  pendingWrites: () => number;
}

/** Signed checkpoints of the journal's head, on a timer and at stop, with derived-state snapshots. */
export class Checkpoints implements Part {
  private timer: NodeJS.Timeout | null = null;
  private lastSeq = 0;

  constructor(private readonly d: CheckpointDeps) {}

  start(): void {
    this.timer = setInterval(() => this.d.guard(() => this.checkpoint()), this.d.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  checkpoint(): void {
    const { journal, secrets, db, now, derived } = this.d;
    const head = journal.head();
    if (head.seq === 0 || head.seq === this.lastSeq) return;
    const cp = journal.checkpoint(now(), secrets.signingKey, secrets.keyId);
    this.lastSeq = head.seq;
    this.d.mqtt?.checkpointed();
    // A snapshot of the derived state for the same head, only if the state is exactly at it.
    if (derived.current.lastSeq !== cp.seq || this.d.pendingWrites() > 0) return;
    try {
      const state = JSON.stringify(snapshotDerivedState(derived.current));
      const { signingKey, keyId } = secrets;
      saveSnapshot(db, { seq: cp.seq, hash: cp.hash, at: now(), state }, signingKey, keyId);
    } catch (err) {
      this.d.log.warn('could not save a derived-state snapshot', { seq: cp.seq, error: String(err) });
    }
  }
}
