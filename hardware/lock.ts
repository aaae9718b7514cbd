/**
 * Door intent → lock output level. The lock output is spoken of logically (true = relay energised,
 * lock powered); the board turns that into volts through `activeLow`.
 *
 *   failMode     | door wanted | lock output (energised?) | pin, active-high relay | pin, active-low relay
 *   -------------+-------------+--------------------------+------------------------+----------------------
 *   fail-secure  | locked      | false                    | 0 V                    | 3.3 V
 *   fail-secure  | unlocked    | true                     | 3.3 V                  | 0 V
 *   fail-safe    | locked      | true                     | 3.3 V                  | 0 V
 *   fail-safe    | unlocked    | false                    | 0 V                    | 3.3 V
 *
 * fail-secure (electric strike): locked without power, energise to release.
 * fail-safe (maglock): holds only while powered, energise to lock.
 * Wire the lock through the relay's normally-open contact in both cases, so a de-energised relay
 * (Pi off, pin released) leaves the lock in the state its fail mode names.
 */
import type { DoorConfig, LockConfig } from '../controller/config/schema.js';
import { doorPinNames } from './pins.js';

export function lockOutputLevel(lock: Pick<LockConfig, 'failMode'>, wantLocked: boolean): boolean {
  return lock.failMode === 'fail-safe' ? wantLocked : !wantLocked;
}

/** Whether a lock output level means the door is locked (the inverse of lockOutputLevel). */
export function isLockedAt(lock: Pick<LockConfig, 'failMode'>, energised: boolean): boolean {
  return lock.failMode === 'fail-safe' ? energised : !energised;
}

/**
 * The output levels of a secured site, by board pin name: every lock locked, every buzzer off.
 * Used to claim the outputs at start, for `Board.close()` at stop, and when anything fails.
 */
export function secureLevels(
  doors: readonly Pick<DoorConfig, 'id' | 'lock' | 'buzzer'>[],
): Record<string, boolean> {
  const levels: Record<string, boolean> = {};
  for (const door of doors) {
    const names = doorPinNames(door.id);
    levels[names.lock] = lockOutputLevel(door.lock, true);
    if (door.buzzer) levels[names.buzzer] = false;
  }
  return levels;
}
