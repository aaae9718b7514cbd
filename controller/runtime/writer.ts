/**
 * The single writer of the controller's own journal rows. `commit()` takes the rows of one event, in
 * order; after each commit the row is folded into the derived state, counted by the MQTT publisher,
 * and announced to the row listeners once the current step is over (after the lock has moved).
 *
 * On a storage fault a row is queued in memory (in order, never dropped) and retried every 2 s; the
 * doors stay secured until storage recovers, and the caller is told, so that it does not act on an
 * unrecorded fact.
 */

import { type AlarmSeverity, type AlarmType, alarmSeverity, alarmsAwaitingClear } from '../domain/index.js';
import type { Journal, JournalInput, JournalRow } from '../journal/index.js';
import type { Logger } from '../log.js';
import type { MqttPublisher } from '../mqtt/index.js';
import type { Derived } from './derived.js';
import type { Part } from './part.js';

/**
 * How a commit went: every row committed; some rows queued (storage fault); some queued and an
 * access row among them — the door must not open for its group.
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
  /** Whether the row about to be appended carries a checkpoint (`force`: at start and stop). */
  due(force?: boolean): boolean;
  /** Signs the head inside the current transaction. */
  signInside(): void;
  /** The transaction that carried a checkpoint committed. */
  signed(): void;
}

export class Writer implements Part {
  /** Records that could not be written (storage fault); retried in order, never dropped. */
  private readonly pending: JournalInput[] = [];
  private ok = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly rowListeners: ((row: JournalRow) => void)[] = [];
  /** Committed rows not yet announced to the row listeners (see afterCommit). */
  private readonly announce: JournalRow[] = [];
  /** A commit carried a checkpoint: tell the publisher with the announcements. */
  private checkpointSigned = false;

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

  get pendingWrites(): number {
    return this.pending.length;
  }

  onRow(listener: (row: JournalRow) => void): void {
    this.rowListeners.push(listener);
  }

  /**
   * Commits the rows of one event, in order, and pushes each committed row onto `committed`. A row
   * that cannot be committed is queued; a queued granted access row is rewritten as refused
   * (`storage_unavailable`): the door does not open for it, so that is what happened.
   */
  commit(
    inputs: readonly JournalInput[],
    committed?: JournalRow[],
    /** `checkpoint`: the last row's transaction carries a signed checkpoint whatever the cadence says. */
    options: { checkpoint?: boolean } = {},
  ): CommitOutcome {
    this.d.beforeCommit?.();
    let outcome: CommitOutcome = 'committed';
    for (const [i, input] of inputs.entries()) {
      const row = this.append(input, options.checkpoint === true && i === inputs.length - 1);
      if (row) {
        committed?.push(row);
        continue;
      }
      if (input.type !== 'access') {
        if (outcome === 'committed') outcome = 'queued';
        continue;
      }
      outcome = 'access_queued';
      if (input.data.result === 'granted') {
        input.data.decided = input.data.reason;
        input.data.result = 'denied';
        input.data.reason = 'storage_unavailable';
      }
    }
    return outcome;
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
    const data = source === undefined ? { alarm, severity, detail } : { alarm, severity, detail, source };
    this.commit([{ type: 'alarm_raised', at, door, data }]);
    this.d.log.warn(`alarm ${alarm}`, { door, severity, detail });
  }

  clearAlarmCondition(alarm: AlarmType, door: string | null, at: number, source?: string): void {
    const awaiting = alarmsAwaitingClear(this.d.derived.current.alarms, alarm, door, undefined, source);
    if (awaiting.length === 0) return;
    this.commit(
      awaiting.map((a) => ({ type: 'alarm_condition_cleared', at, door, data: { alarmId: a.id } })),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Inside: one row, one transaction

  /**
   * Appends one record durably and folds it into the derived state. On a storage fault the record is
   * queued (in order) and retried; null is returned so the caller does not act on an unrecorded fact.
   */
  private append(input: JournalInput, forceCheckpoint = false): JournalRow | null {
    if (this.pending.length > 0) {
      this.pending.push(input);
      this.flushPending();
      return null;
    }
    try {
      return this.write(input, forceCheckpoint);
    } catch (err) {
      this.pending.push(input);
      this.storageFault(err);
      return null;
    }
  }

  /**
   * One row in one transaction; when the cadence says a checkpoint is due, the checkpoint is signed
   * and stored in that same transaction (no flush of its own).
   */
  private write(input: JournalInput, forceCheckpoint = false): JournalRow {
    const { journal, cadence } = this.d;
    const queued = this.queuesForMqtt(input.type);
    let row: JournalRow;
    if (cadence?.due(forceCheckpoint)) {
      row = journal.transaction(() => {
        const r = journal.append(input, { outbox: queued });
        cadence.signInside();
        return r;
      });
      this.checkpointSigned = true;
    } else row = journal.append(input, { outbox: queued });
    this.afterCommit(row, queued);
    return row;
  }

  /**
   * Appends a declared gap (journal.appendGap): the row skips the seqs it names, so that none is ever
   * used twice. Throws when it cannot be written: nothing may be appended after a truncation before
   * its gap row.
   */
  declareGap(input: JournalInput<'journal_truncated'>): JournalRow {
    const queued = this.queuesForMqtt(input.type);
    const row = this.d.journal.appendGap(input, { outbox: queued });
    this.afterCommit(row, queued);
    return row;
  }

  /** Whether a row gets an outbox row: with MQTT configured, unless the backlog is full (docs/mqtt.md). */
  private queuesForMqtt(type: string): boolean {
    return this.d.mqtt?.accepts(type) ?? false;
  }

  private afterCommit(row: JournalRow, queued: boolean): void {
    this.d.derived.fold(row);
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
      this.retryTimer = setInterval(() => this.flushPending(), 2000);
      this.retryTimer.unref();
    }
  }

  private flushPending(): void {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      try {
        this.write(next);
        this.pending.shift();
      } catch (err) {
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
