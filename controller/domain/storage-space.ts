/**
 * The free space of the storage folder's file system and the `storage_low` alarm, pure.
 *
 * The controller reads the free space (the blocks available to the service's user) on a timer and
 * after a storage fault, and steps this rule with each reading:
 *
 * - **Raised** when the free space falls below the floor (`storage.lowSpaceMiB`), or when it cannot
 *   be read at all (a file system that cannot say how full it is may be the one that fails next).
 * - **Cleared** (its condition) only once the free space is back at the floor plus a margin —
 *   10 % of the floor, at least 64 MiB — so that a card hovering around the floor (a backup written
 *   and removed, the write-ahead log growing and shrinking) does not raise an alarm every minute.
 *   Like every alarm it then leaves the active set once acknowledged (domain/alarms.ts).
 * - Between the floor and the clearing level nothing changes; a reading that fails while the alarm
 *   is up changes nothing either.
 *
 * Whether the alarm is up is the journal's fact (an active `storage_low` alarm whose condition
 * holds), so a restart continues where the previous run stopped; a lower floor in the config then
 * clears the condition at the first reading after the start.
 */

export const MIB = 1024 * 1024;
/** The smallest margin between the floor and the level at which the alarm's condition clears. */
export const MIN_CLEAR_MARGIN_MIB = 64;

/** The floor and the level at which a raised alarm's condition clears, in bytes. */
export interface SpaceLimits {
  floorBytes: number;
  clearBytes: number;
}

export function spaceLimits(floorMiB: number): SpaceLimits {
  const floorBytes = floorMiB * MIB;
  const margin = Math.max(Math.ceil(floorBytes / 10), MIN_CLEAR_MARGIN_MIB * MIB);
  return { floorBytes, clearBytes: floorBytes + margin };
}

/** One reading of the file system: its free and total bytes, or why it could not be read. */
export type SpaceReading = { ok: true; freeBytes: number; totalBytes: number } | { ok: false; error: string };

export interface SpaceStep {
  /** Whether the alarm's condition holds after this reading. */
  low: boolean;
  /** Raise `storage_low` with this detail, or clear the condition of the raised one; null: nothing. */
  alarm: { action: 'raise'; detail: string } | { action: 'clear' } | null;
}

/** A size in MiB (or GiB from 10 GiB up), for people. */
export function formatMiB(bytes: number): string {
  const mib = bytes / MIB;
  return mib >= 10_240 ? `${(mib / 1024).toFixed(1)} GiB` : `${Math.floor(mib)} MiB`;
}

/**
 * The next state of the `storage_low` condition. `low`: whether it holds now; `where`: the storage
 * folder, named in the alarm's detail.
 */
export function stepStorageSpace(
  low: boolean,
  reading: SpaceReading,
  limits: SpaceLimits,
  where: string,
): SpaceStep {
  if (!reading.ok) {
    if (low) return { low, alarm: null };
    return {
      low: true,
      alarm: { action: 'raise', detail: `the free space of ${where} cannot be read: ${reading.error}` },
    };
  }
  const { freeBytes, totalBytes } = reading;
  if (!low && freeBytes < limits.floorBytes)
    return {
      low: true,
      alarm: {
        action: 'raise',
        detail:
          `${formatMiB(freeBytes)} free of ${formatMiB(totalBytes)} on the file system of ${where}, ` +
          `below the floor of ${formatMiB(limits.floorBytes)} (storage.lowSpaceMiB)`,
      },
    };
  if (low && freeBytes >= limits.clearBytes) return { low: false, alarm: { action: 'clear' } };
  return { low, alarm: null };
}
