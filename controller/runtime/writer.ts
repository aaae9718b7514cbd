/**
 * The single writer of the controller's own journal rows: one transaction per event.
 *
 * An event (a badge, a contact change, a timer: whatever runs through the runtime's guard) runs in
 * `event()`. Every row it commits, from every part it reaches (the door machine, the visit rules, the
 * alarms), is appended to one open transaction and folded into the derived state at once, so that
 * the next rule of the same event reads it; the transaction is committed — one flush of the
 * write-ahead log — when the event is over, or earlier where something must not happen before its
 * rows are durable: a lock released (`consequences` / `durable`: a grant's row is on stable storage before the
 * lock moves). Outside an event each `commit()` is its own transaction. After each commit the rows are
 * counted by the MQTT publisher and announced to the row listeners once the current step is over
 * (after the lock has moved).
 *
 * On a storage fault the open transaction is rolled back, the derived state put back to where it was
 * committed, and its groups of rows queued in memory (in order, never dropped), retried every 2 s, one
 * transaction each; the doors stay secured until storage recovers, and the caller is told, so that
 * it does not act on an unrecorded fact. A group is never half committed.
 */

import type { DerivedState } from '../domain/index.js';
import { type AlarmSeverity, type AlarmType, alarmSeverity, alarmsAwaitingClear } from '../domain/index.js';
import type { Journal, JournalInput, JournalRow } from '../journal/index.js';
import type { Logger } from '../log.js';
import type { MqttPublisher } from '../mqtt/index.js';
import type { Derived } from './derived.js';
import type { Part } from './part.js';

/**
 * How a commit went: the group committed; not committed, the group queued whole (storage fault); the
 * same with an access row among them — the door must not open for its group.
 */
export type CommitOutcome = 'committed' | 'queued' | 'access_queued';

export interface WriterDeps {
  journal: Journal;
  derived: Derived;
  mqtt: MqttPublisher | null;
  log: Logger;
  now: () => number;
  /** Drives every lock output to "secured" (on a storage fault). */
  secureAll: () => void;
  /** Runs before each commit: the clock's step check, so a step's row precedes rows in the new time. */
  beforeCommit?: () => void;
  /** Told of each failed write (the free space is read soon after: a full disk is the likeliest cause). */
  storageFault?: () => void;
  /** The checkpoint cadence: a checkpoint signed inside the commit that makes it due (derived.ts). */
  cadence?: CheckpointCadence;
}

/** What the writer asks of the checkpoint cadence (Checkpoints in derived.ts). */
export interface CheckpointCadence {
  /**
   * Whether the transaction about to append `rows` rows carries a checkpoint of its last one
   * (`force`: at start and stop).
   */
  due(force?: boolean, rows?: number): boolean;
  /** Signs the head inside the current transaction. */
  signInside(): void;
  /** The transaction that carried a checkpoint committed. */
  signed(): void;
}

/** The rows appended to the open transaction, not yet committed. */
interface OpenTransaction {
  /** The groups to queue if it fails (without their `consequences`). */
  groups: JournalInput[][];
  rows: JournalRow[];
  /** Per row: with an outbox row. */
  queued: boolean[];
  /** How many of them have one (the publisher's backlog counts them only once committed). */
  queuedCount: number;
  /** The derived state before its first row: put back if it fails. */
  before: DerivedState;
  /** It must carry a checkpoint (at start and stop). */
  checkpoint: boolean;
}

export class Writer implements Part {
  /** Groups of records that could not be written (storage fault); retried in order, never dropped. */
  private readonly pending: JournalInput[][] = [];
  private ok = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly rowListeners: ((row: JournalRow) => void)[] = [];
  /** Committed rows not yet announced to the row listeners (see settle). */
  private readonly announce: JournalRow[] = [];
  /** A commit carried a checkpoint: tell the publisher with the announcements. */
  private checkpointSigned = false;
  /** How deep in event() the thread is (0: outside an event, each commit its own transaction). */
  private depth = 0;
  private open: OpenTransaction | null = null;
  /** Counts events; the event whose rows were queued last (-1: none, or outside an event). */
  private eventNo = 0;
  private queuedIn = -1;

  constructor(private readonly d: WriterDeps) {}

  /** Nothing to start: the writer writes when called. */
  start(): void {}

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
  }

  get storageOk(): boolean {
    return this.ok;
  }

  /** Rows waiting in the storage-fault queue. */
  get pendingWrites(): number {
    let n = 0;
    for (const g of this.pending) n += g.length;
    return n;
  }

  onRow(listener: (row: JournalRow) => void): void {
    this.rowListeners.push(listener);
  }

  /**
   * Runs one event's handling: the rows it commits share one transaction, committed when it returns
   * (or throws: the rows are facts either way). Nested calls join the outer event.
   */
  event<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.depth++;
    this.eventNo++;
    try {
      return fn();
    } finally {
      if (this.open) {
        try {
          this.settle();
        } catch (err) {
          this.fail(err, null);
        }
      }
      this.depth--;
    }
  }

  /**
   * Commits the rows of one event's step, in order, and pushes each row onto `committed`. Inside
   * event() they join the event's transaction (and count as committed: if that transaction fails
   * they are queued, never dropped); outside, they are one transaction of their own. When the
   * transaction fails its groups are queued whole (never half committed); a queued granted access
   * row is rewritten as refused (`storage_unavailable`): the door does not open for it, so that is
   * what happened.
   */
  commit(
    inputs: readonly JournalInput[],
    committed?: JournalRow[],
    options: {
      /** The transaction carries a signed checkpoint whatever the cadence says; committed now. */
      checkpoint?: boolean;
      /**
       * Rows of what the caller does only once the group is durable (a lock released): appended after
       * `inputs` and committed now, with every row of the event before them. When that fails they are
       * not queued, since the caller then does not do it.
       */
      consequences?: readonly JournalInput[];
      /**
       * Commit now, with every row of the event so far, before returning: something follows that
       * must not come before they are durable (the registry's own transaction, a lock released).
       */
      durable?: boolean;
    } = {},
  ): CommitOutcome {
    this.d.beforeCommit?.();
    const after = options.consequences ?? [];
    const now = options.durable === true || options.checkpoint === true || after.length > 0;
    if (inputs.length === 0 && after.length === 0) {
      if (!now || !this.open) return 'committed';
    }
    // Groups queued by an earlier fault go first: the journal keeps the order events happened in.
    if (this.pending.length > 0) this.flushPending();
    if (this.pending.length === 0) {
      let staged = false;
      try {
        const all = after.length > 0 ? [...inputs, ...after] : inputs;
        const rows = all.length > 0 ? this.stage(all, inputs, options.checkpoint === true) : [];
        staged = true;
        // A lock waits for this commit: the outbox's bookkeeping rides on another one.
        if (now || this.depth === 0) this.settle(options.durable === true || after.length > 0);
        committed?.push(...rows);
        return 'committed';
      } catch (err) {
        this.fail(err, staged ? null : inputs);
      }
    } else if (inputs.length > 0) this.queue(inputs);
    return inputs.some((i) => i.type === 'access') ? 'access_queued' : 'queued';
  }

  /** Writes the queued records now, if storage allows (at stop, before the last rows). */
  retry(): void {
    this.flushPending();
  }

  /** Announces the committed rows to the row listeners now (at stop). */
  announceNow(): void {
    this.flushAnnouncements();
  }

  // ---------------------------------------------------------------------------------------------
  // The alarm rows every part writes

  raiseAlarm(
    alarm: AlarmType,
    severity: AlarmSeverity,
    door: string | null,
    detail: string,
    at: number,
    /** What on the door raised it (a reader id), so that only its return clears the condition. */
    source?: string,
  ): void {
    this.commit([this.raisedRow(alarm, severity, door, detail, at, source)]);
  }

  /** The `alarm_raised` row of an alarm, logged as raised (for a caller that commits it itself). */
  raisedRow(
    alarm: AlarmType,
    severity: AlarmSeverity,
    door: string | null,
    detail: string,
    at: number,
    source?: string,
  ): JournalInput {
    this.d.log.warn(`alarm ${alarm}`, { door, severity, detail });
    const data = source === undefined ? { alarm, severity, detail } : { alarm, severity, detail, source };
    return { type: 'alarm_raised', at, door, data };
  }

  clearAlarmCondition(alarm: AlarmType, door: string | null, at: number, source?: string): void {
    const rows = this.clearRows(alarm, door, at, source);
    if (rows.length > 0) this.commit(rows);
  }

  /** The `alarm_condition_cleared` rows for the committed alarms of this kind awaiting their clear. */
  clearRows(alarm: AlarmType, door: string | null, at: number, source?: string): JournalInput[] {
    const awaiting = alarmsAwaitingClear(this.d.derived.current.alarms, alarm, door, undefined, source);
    return awaiting.map((a) => ({ type: 'alarm_condition_cleared', at, door, data: { alarmId: a.id } }));
  }

  // ---------------------------------------------------------------------------------------------
  // Inside: one event, one transaction

  /**
   * Queues a group that could not be written, whole. A granted access row in it is rewritten as
   * refused first: its door stays shut, and the row is written that way once storage recovers.
   */
  private queue(inputs: readonly JournalInput[]): void {
    for (const input of inputs) {
      if (input.type === 'access' && input.data.result === 'granted') {
        input.data.decided = input.data.reason;
        input.data.result = 'denied';
        input.data.reason = 'storage_unavailable';
      }
    }
    // The rows of one event stay one group in the queue too: written in one transaction on recovery.
    const last = this.pending.at(-1);
    if (last && this.depth > 0 && this.queuedIn === this.eventNo) last.push(...inputs);
    else this.pending.push([...inputs]);
    this.queuedIn = this.depth > 0 ? this.eventNo : -1;
  }

  /**
   * Appends `all` to the open transaction (opening one) and folds each row into the derived state.
   * `group` is what to queue if the transaction fails. Throws when an append fails; the open
   * transaction is then still open, for fail() to roll back.
   */
  private stage(
    all: readonly JournalInput[],
    group: readonly JournalInput[],
    checkpoint: boolean,
  ): JournalRow[] {
    const { journal, derived } = this.d;
    if (!this.open) {
      journal.begin();
      this.open = {
        groups: [],
        rows: [],
        queued: [],
        queuedCount: 0,
        before: derived.current,
        checkpoint: false,
      };
    }
    const open = this.open;
    // The publisher's backlog counts rows once committed: it is told of the transaction's rows that
    // already have an outbox row, so that the cap holds within one transaction too.
    const queued = all.map((i) => {
      const q = this.queuesForMqtt(i.type, open.queuedCount);
      if (q) open.queuedCount++;
      return q;
    });
    const rows = all.map((input, i) => journal.append(input, { outbox: queued[i] }));
    if (group.length > 0) open.groups.push([...group]);
    open.rows.push(...rows);
    open.queued.push(...queued);
    if (checkpoint) open.checkpoint = true;
    for (const row of rows) derived.fold(row);
    return rows;
  }

  /**
   * Commits the open transaction: one flush. When the cadence says a checkpoint is due the head is
   * signed and stored in it (#15: no flush of its own), and unless a lock waits for it (`releasing`:
   * nothing but the event's rows stands between the frame and the lock) the MQTT publisher's
   * delivered rows leave the outbox in it (its page is written anyway). Throws when the commit fails
   * (fail() then rolls back).
   */
  private settle(releasing = false): void {
    const open = this.open;
    if (!open) return;
    const { journal, cadence, mqtt } = this.d;
    const sign = cadence?.due(open.checkpoint, 0) ?? false;
    if (sign) cadence!.signInside();
    const acked = releasing ? null : (mqtt?.joinCommit() ?? null);
    journal.commitOpen();
    this.open = null;
    if (sign) this.checkpointSigned = true;
    for (const [i, row] of open.rows.entries()) this.afterCommit(row, open.queued[i]!);
    try {
      acked?.();
    } catch (err) {
      this.d.log.error('mqtt outbox bookkeeping failed', { error: String(err) });
    }
  }

  /**
   * A write failed: rolls the open transaction back, puts the derived state back to what is
   * committed, queues its groups (and `group`, which was not staged) in order, secures the doors.
   */
  private fail(err: unknown, group: readonly JournalInput[] | null): void {
    for (const g of this.rollback()) this.queue(g);
    if (group && group.length > 0) this.queue(group);
    this.storageFault(err);
  }

  /** Rolls the open transaction back (if any); returns its groups. */
  private rollback(): JournalInput[][] {
    const open = this.open;
    this.open = null;
    try {
      this.d.journal.rollbackOpen();
    } catch (err) {
      this.d.log.error('journal rollback failed', { error: String(err) });
    }
    if (!open) return [];
    this.d.derived.current = open.before;
    return open.groups;
  }

  /**
   * Appends a declared gap (journal.appendGap): the row skips the seqs it names, so that none is ever
   * used twice. Throws when it cannot be written: nothing may be appended after a truncation before
   * its gap row.
   */
  declareGap(input: JournalInput<'journal_truncated'>): JournalRow {
    if (this.open) this.settle();
    const queued = this.queuesForMqtt(input.type);
    const row = this.d.journal.appendGap(input, { outbox: queued });
    this.d.derived.fold(row);
    this.afterCommit(row, queued);
    return row;
  }

  /** Whether a row gets an outbox row: with MQTT configured, unless the backlog is full (docs/mqtt.md). */
  private queuesForMqtt(type: string, uncommitted = 0): boolean {
    return this.d.mqtt?.accepts(type, uncommitted) ?? false;
  }

  private afterCommit(row: JournalRow, queued: boolean): void {
    // The publisher only counts and schedules here (its own rows are written later, never inline):
    // its backlog must be exact for the next row's accepts().
    try {
      this.d.mqtt?.committed(row, queued);
    } catch (err) {
      this.d.log.error('mqtt notification failed', { error: String(err) });
    }
    // The row listeners (the live dashboard) hear of the row after the current step — after the lock
    // has moved — so nothing they do sits on the door's path.
    this.announce.push(row);
    if (this.announce.length === 1) queueMicrotask(() => this.flushAnnouncements());
  }

  private flushAnnouncements(): void {
    if (this.checkpointSigned) {
      this.checkpointSigned = false;
      try {
        this.d.cadence?.signed();
      } catch (err) {
        this.d.log.error('checkpoint notification failed', { error: String(err) });
      }
    }
    for (const row of this.announce.splice(0)) {
      for (const l of this.rowListeners) {
        try {
          l(row);
        } catch (err) {
          this.d.log.error('row listener failed', { error: String(err) });
        }
      }
    }
  }

  private storageFault(err: unknown): void {
    if (this.ok) {
      this.ok = false;
      this.d.log.error('journal write failed: doors stay secured until storage recovers', {
        error: String(err),
      });
    }
    this.d.secureAll();
    this.d.storageFault?.();
    if (!this.retryTimer && !this.stopped) {
      this.retryTimer = setInterval(() => this.event(() => this.flushPending()), 2000);
      this.retryTimer.unref();
    }
  }

  private flushPending(): void {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      try {
        this.stage(next, next, false);
        this.settle();
        this.pending.shift();
      } catch (err) {
        this.rollback(); // the group stays first in the queue
        this.storageFault(err);
        return;
      }
    }
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    if (!this.ok) {
      this.ok = true;
      this.d.log.info('journal writable again; queued records written');
      const at = this.d.now();
      this.raiseAlarm(
        'storage_fault',
        alarmSeverity('storage_fault'),
        null,
        'journal writes failed; records were queued and written on recovery',
        at,
      );
      this.clearAlarmCondition('storage_fault', null, at);
    }
  }
}
