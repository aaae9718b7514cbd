/**
 * The storage's free space: read (statfs of the storage folder) at start, on a timer and soon after
 * a storage fault, and turned into the `storage_low` alarm by the domain's rule
 * (domain/storage-space.ts). A reading that fails is reported as such (the alarm, with why), never
 * thrown: the door's process must not end because a file system would not say how full it is.
 */

import { statfsSync } from 'node:fs';
import {
  alarmSeverity,
  alarmsAwaitingClear,
  formatMiB,
  type SpaceLimits,
  type SpaceReading,
  spaceLimits,
  stepStorageSpace,
} from '../domain/index.js';
import type { Logger } from '../log.js';
import type { Derived } from './derived.js';
import type { Guard, Part } from './part.js';
import type { Writer } from './writer.js';

/** The latest reading, for the status, the Live page and /metrics. */
export interface StorageSpaceStatus {
  /** The storage folder whose file system is read. */
  path: string;
  /** Bytes available to the service's user, or null when the latest reading failed (or none yet). */
  freeBytes: number | null;
  totalBytes: number | null;
  floorBytes: number;
  /** The free space at which a raised `storage_low` alarm's condition clears. */
  clearBytes: number;
  /** Whether the `storage_low` condition holds. */
  low: boolean;
  /** Why the latest reading failed, or null. */
  error: string | null;
  /** When the latest reading was taken (UTC ms), or null before the first. */
  checkedAt: number | null;
}

export interface StorageSpaceDeps {
  dir: string;
  floorMiB: number;
  everyMs: number;
  writer: Writer;
  derived: Derived;
  log: Logger;
  now: () => number;
  guard: Guard;
}

/** Reads the free space of `dir`'s file system; never throws. */
export function readSpace(dir: string): SpaceReading {
  try {
    const s = statfsSync(dir);
    return { ok: true, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: e.code ? `${e.code} (${e.message})` : String(err) };
  }
}

export class StorageSpace implements Part {
  private readonly limits: SpaceLimits;
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Immediate | null = null;
  private started = false;
  private stopped = false;
  private low = false;
  private last: SpaceReading | null = null;
  private checkedAt: number | null = null;

  constructor(private readonly d: StorageSpaceDeps) {
    this.limits = spaceLimits(d.floorMiB);
  }

  start(): void {
    // Where the previous run left it: an alarm whose condition still holds is this run's to clear.
    this.low = this.awaitingClear();
    this.started = true;
    this.check();
    if (this.last?.ok && this.last.totalBytes < this.limits.floorBytes)
      this.d.log.warn('storage.lowSpaceMiB is larger than the whole file system: storage_low stays raised', {
        floor: formatMiB(this.limits.floorBytes),
        size: formatMiB(this.last.totalBytes),
      });
    this.timer = setInterval(() => this.d.guard(() => this.check()), this.d.everyMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearImmediate(this.soon);
  }

  /** A write failed: a full disk is the likeliest cause, so look now (after the current step). */
  afterFault(): void {
    if (!this.started || this.stopped || this.soon) return;
    this.soon = setImmediate(() => {
      this.soon = null;
      this.d.guard(() => this.check());
    });
  }

  /** Reads the free space and raises or clears `storage_low` by the domain's rule. */
  check(): void {
    if (!this.started || this.stopped) return;
    const reading = readSpace(this.d.dir);
    const at = this.d.now();
    if (!reading.ok && (this.last === null || this.last.ok))
      this.d.log.error('the free space of the storage cannot be read', {
        dir: this.d.dir,
        error: reading.error,
      });
    this.last = reading;
    this.checkedAt = at;
    const step = stepStorageSpace(this.low, reading, this.limits, this.d.dir);
    this.low = step.low;
    if (step.alarm?.action === 'raise')
      this.d.writer.raiseAlarm('storage_low', alarmSeverity('storage_low'), null, step.alarm.detail, at);
    else if (step.alarm?.action === 'clear') this.d.writer.clearAlarmCondition('storage_low', null, at);
  }

  status(): StorageSpaceStatus {
    const r = this.last;
    return {
      path: this.d.dir,
      freeBytes: r?.ok ? r.freeBytes : null,
      totalBytes: r?.ok ? r.totalBytes : null,
      floorBytes: this.limits.floorBytes,
      clearBytes: this.limits.clearBytes,
      low: this.low,
      error: r && !r.ok ? r.error : null,
      checkedAt: this.checkedAt,
    };
  }

  private awaitingClear(): boolean {
    return alarmsAwaitingClear(this.d.derived.current.alarms, 'storage_low', null).length > 0;
  }
}
