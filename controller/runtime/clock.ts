/**
 * The clock part: watches the wall clock against the monotonic clock and journals every step
 * (`clock_adjusted`), whatever set the clock; polls the sync state and journals each change
 * (`clock_sync_changed`); and gives decide() the clock's trust (domain/clock.ts).
 *
 * A step is looked for once a second and, synchronously, before every commit and every door event
 * (`check()`), so that the step's row comes before any row stamped in the new time, and the doors'
 * running deadlines are moved into the new time before a door event is stepped with it.
 */
import { performance } from 'node:perf_hooks';
import type { ClockConfig } from '../config/index.js';
import {
  type ClockReading,
  type ClockStepSource,
  type ClockTrust,
  clockRestriction,
  clockStep,
  type UnsynchronisedPolicy,
} from '../domain/index.js';
import type { Logger } from '../log.js';
import type { Guard, Part } from './part.js';
import type { Writer } from './writer.js';

export interface ClockDeps {
  config: ClockConfig;
  writer: Writer;
  log: Logger;
  guard: Guard;
  /** The wall clock (UTC ms). */
  now: () => number;
  /** The monotonic clock (ms). */
  mono?: () => number;
  /** The sync state at start (as `controller_started` recorded it). */
  synchronisedAtStart: boolean | null;
  /** Asks the system for the sync state (system.ts readClockSynchronised). */
  readSynchronised: () => Promise<boolean | null>;
  /** Who stepped the clock (system.ts clockStepSource). */
  stepSource: (to: number) => ClockStepSource;
  /** The doors' and visits' running deadlines move by a step (after its row is committed). */
  stepped: (stepMs: number) => void;
}

/** How often the wall clock is compared with the monotonic clock between events. */
const STEP_CHECK_MS = 1000;

export class Clock implements Part {
  private last: ClockReading;
  private synced: boolean | null;
  private stepTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private checking = false;
  private readonly mono: () => number;
  /** The latest step since start, and how many there were (for /metrics and the status). */
  private lastStepSeen: { at: number; stepMs: number; source: ClockStepSource } | null = null;
  private stepCount = 0;

  constructor(private readonly d: ClockDeps) {
    this.mono = d.mono ?? (() => performance.now());
    this.last = this.read();
    this.synced = d.synchronisedAtStart;
  }

  start(): void {
    this.stepTimer = setInterval(() => this.d.guard(() => this.check()), STEP_CHECK_MS);
    this.stepTimer.unref();
    this.syncTimer = setInterval(() => this.poll(), this.d.config.syncCheckS * 1000);
    this.syncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.stepTimer) clearInterval(this.stepTimer);
    if (this.syncTimer) clearInterval(this.syncTimer);
  }

  /** The sync state as last seen: true / false / null (cannot be told). */
  get synchronised(): boolean | null {
    return this.synced;
  }

  get policy(): UnsynchronisedPolicy {
    return this.d.config.whenUnsynchronised;
  }

  /** The latest step since start (null: none) and the number of steps since start. */
  get steps(): { count: number; last: { at: number; stepMs: number; source: ClockStepSource } | null } {
    return { count: this.stepCount, last: this.lastStepSeen };
  }

  /** What decide() takes. */
  trust(): ClockTrust {
    return { synchronised: this.synced, whenUnsynchronised: this.d.config.whenUnsynchronised };
  }

  /** The restriction in force at every door now, or null. */
  restriction(): Exclude<UnsynchronisedPolicy, 'normal'> | null {
    return clockRestriction(this.trust());
  }

  /**
   * Looks for a step since the last look; if there was one, moves the running deadlines and journals
   * it. Synchronous and cheap (two clock reads); re-entrant calls (from the step's own commit) return.
   */
  check(): void {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      const now = this.read();
      const step = clockStep(this.last, now, this.d.config.stepThresholdMs);
      this.last = now;
      if (step === null) return;
      const source = this.d.stepSource(step.to);
      this.stepCount++;
      this.lastStepSeen = { at: step.to, stepMs: step.stepMs, source };
      this.d.log.warn('the wall clock stepped', { ...step, source });
      this.d.writer.commit([
        { type: 'clock_adjusted', at: step.to, data: { ...step, source, synchronised: this.synced } },
      ]);
      this.d.stepped(step.stepMs);
    } finally {
      this.checking = false;
    }
  }

  /** Asks the sync state now (in the background) and journals a change. */
  poll(): Promise<void> {
    return this.d.readSynchronised().then(
      (value) => this.d.guard(() => this.seen(value)),
      (err: unknown) => this.d.log.error('could not read the clock sync state', { error: String(err) }),
    );
  }

  private seen(value: boolean | null): void {
    if (this.stopped || value === this.synced) return;
    // A step that came with the new state (NTP's first answer) is journaled before the state.
    this.check();
    const previous = this.synced;
    this.synced = value;
    const restriction = this.restriction();
    this.d.log.warn('the clock sync state changed', { synchronised: value, previous, restriction });
    // Its commit republishes the doors' state (with the restriction) on MQTT and the live page.
    this.d.writer.commit([
      { type: 'clock_sync_changed', at: this.d.now(), data: { synchronised: value, previous, restriction } },
    ]);
  }

  private read(): ClockReading {
    return { wall: this.d.now(), mono: this.mono() };
  }
}
