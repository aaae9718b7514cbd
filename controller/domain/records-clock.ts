/**
 * The record types of the clock (controller/runtime/clock.ts): a step of the wall clock, and a change
 * of its sync state after start (the state at start is `controller_started.clockSynced`).
 */
import { z } from 'zod';
import { UnsynchronisedPolicy } from './clock.js';

/** Who stepped the clock, as far as the controller can tell (docs/operations.md, Clock synchronisation). */
export const ClockStepSource = z.enum(['systemd-timesyncd', 'chrony', 'unknown']);
export type ClockStepSource = z.infer<typeof ClockStepSource>;

/**
 * The wall clock stepped. The row's `at` is the new time. `from` is the old clock carried forward
 * (what it would show now without the step), `to` the new time, `stepMs` = `to - from`
 * (negative: the clock went back, and rows before this one may carry later times than rows after).
 */
export const ClockAdjustedRecord = z.object({
  from: z.number(),
  to: z.number(),
  stepMs: z.number(),
  source: ClockStepSource,
  /** The sync state when the step was seen (true / false / null = cannot be told). */
  synchronised: z.boolean().nullable(),
});
export type ClockAdjustedRecord = z.infer<typeof ClockAdjustedRecord>;

/**
 * The clock's sync state changed while running. `restriction`: the `clock.whenUnsynchronised` policy
 * now in force at every door, or null when decisions are unrestricted.
 */
export const ClockSyncChangedRecord = z.object({
  synchronised: z.boolean().nullable(),
  previous: z.boolean().nullable(),
  restriction: UnsynchronisedPolicy.exclude(['normal']).nullable(),
});
export type ClockSyncChangedRecord = z.infer<typeof ClockSyncChangedRecord>;

export const ClockRecordSchemas = {
  clock_adjusted: ClockAdjustedRecord,
  clock_sync_changed: ClockSyncChangedRecord,
} as const;
