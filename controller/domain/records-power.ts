/**
 * The record types of the power-fail input (controller/runtime/power.ts, policy §7(3)③): the UPS
 * went on battery, came back, or the controller shut down for it; and the link to NUT's upsd.
 */
import { z } from 'zod';

/** Where the power state is read: a UPS contact on GPIO, or NUT's upsd. */
export const PowerSource = z.enum(['gpio', 'nut']);
export type PowerSource = z.infer<typeof PowerSource>;

/** Why the controller shut down. */
export const PowerFailingReason = z.enum(['grace_elapsed', 'low_battery', 'forced_shutdown']);
export type PowerFailingReason = z.infer<typeof PowerFailingReason>;

/**
 * The UPS runs on battery (mains failed). `status` is NUT's ups.status (e.g. "OB DISCHRG"), or for
 * the GPIO source the same flags made from the contacts ("OB", "OB LB"); "LOST" when a lost link to
 * upsd is taken as a power failure (`power.nut.onLost: failing`).
 */
export const PowerOnBatteryRecord = z.object({
  source: PowerSource,
  status: z.string(),
  /** The configured grace time: the controller shuts down this long after, unless power returns. */
  graceS: z.number(),
});
export type PowerOnBatteryRecord = z.infer<typeof PowerOnBatteryRecord>;

/** Mains power is back. `secondsOnBattery` is null when the start of the outage is not known (a restart). */
export const PowerRestoredRecord = z.object({
  source: PowerSource,
  status: z.string(),
  secondsOnBattery: z.number().nullable(),
});
export type PowerRestoredRecord = z.infer<typeof PowerRestoredRecord>;

/** The doors are secured and the controller shuts down cleanly: its `controller_stopped` row follows. */
export const PowerFailingRecord = z.object({
  source: PowerSource,
  status: z.string(),
  reason: PowerFailingReason,
  secondsOnBattery: z.number(),
  /** The system command run after the stop (`power.shutdownCommand`), or null. */
  shutdownCommand: z.string().nullable(),
});
export type PowerFailingRecord = z.infer<typeof PowerFailingRecord>;

/** The controller cannot read the UPS's status from upsd (no answer, refused, protocol error, stale data). */
export const PowerMonitorLostRecord = z.object({
  /** host:port of upsd, and the UPS name. */
  server: z.string(),
  ups: z.string(),
  reason: z.string(),
});
export type PowerMonitorLostRecord = z.infer<typeof PowerMonitorLostRecord>;

/** upsd answers again. */
export const PowerMonitorRestoredRecord = z.object({
  server: z.string(),
  ups: z.string(),
  status: z.string(),
  secondsLost: z.number(),
});
export type PowerMonitorRestoredRecord = z.infer<typeof PowerMonitorRestoredRecord>;

export const PowerRecordSchemas = {
  power_on_battery: PowerOnBatteryRecord,
  power_restored: PowerRestoredRecord,
  power_failing: PowerFailingRecord,
  power_monitor_lost: PowerMonitorLostRecord,
  power_monitor_restored: PowerMonitorRestoredRecord,
} as const;
