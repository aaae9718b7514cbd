/**
 * The access decision: one badge presented at one reader of one door, at one moment.
 *
 * Rules, first match wins:
 *
 *  1. no badge record → `unknown_badge`
 *  2. badge lost → `badge_lost`; revoked → `badge_revoked`
 *  3. no person, the person is inactive, or the person is not the badge's holder → `person_inactive`
 *  4. badge or person not valid yet (`validFrom > at`) → `not_yet_valid`
 *  5. badge or person no longer valid (`validUntil <= at`) → `expired`
 *
 * Entry (`in`, the door's entry reader):
 *
 *  6. door in lockdown → `override_granted` if the person holds `lockdownOverride`, else `lockdown`.
 *     The override is a person-level emergency capability: it opens in lockdown without regard to
 *     door permissions or schedules.
 *  7. a visitor (category `visitor`) → `escort_required`: a visitor never enters on their own badge.
 *     They need no door permission of their own: the escort's badge, decided by these same rules,
 *     opens the door, and `stepVisits()` (visits.ts) pairs the two and grants the visitor.
 *  8. no permission for this door → `door_not_permitted`
 *  9. none of the person's permissions for this door has a schedule that allows `at` (an unknown
 *     schedule id allows nothing) → `outside_schedule`
 * 10. → `granted`
 *
 * Exit (`out`, the door's exit reader): a known, active, valid badge of an active, valid person
 * leaves regardless of permission, schedule and lockdown — life safety, and the exit button frees
 * the door anyway. The exit read is still decided (and logged) so that exits are recorded with the
 * person and lost/revoked/expired badges show up as denied reads; a denied exit read never traps
 * anyone, because the exit button always opens.
 */
import { ALWAYS_SCHEDULE_ID, isWithinSchedule, type Schedule } from './schedule.js';
import type { Badge, DecisionReason, Direction, DoorMode, DoorPermission, Person } from './types.js';

export interface DecisionInput {
  /** UTC ms of the presentation. */
  at: number;
  /** The site's IANA time zone, for schedules. */
  timeZone: string;
  doorId: string;
  direction: Direction;
  /** The badge record found for the credential, if any. */
  badge: Badge | undefined;
  /** The badge's holder, if any. */
  person: Person | undefined;
  /** The permissions of this person (other people's and other doors' are ignored). */
  permissions: readonly DoorPermission[];
  /** The configured schedules. The built-in `always` schedule need not be included. */
  schedules: readonly Schedule[];
  /** Holidays as local dates, YYYY-MM-DD. */
  holidays: readonly string[];
  /** The door's current mode. */
  mode: DoorMode;
}

export interface Decision {
  granted: boolean;
  reason: DecisionReason;
}

function deny(reason: DecisionReason): Decision {
  return { granted: false, reason };
}

function scheduleAllows(id: string, input: DecisionInput): boolean {
  const schedule = input.schedules.find((s) => s.id === id);
  if (schedule === undefined) return id === ALWAYS_SCHEDULE_ID;
  return isWithinSchedule(schedule, input.at, input.timeZone, input.holidays);
}

/** Decide one presentation. Pure: same input, same decision. */
export function decide(input: DecisionInput): Decision {
  const { badge, person, at } = input;
  if (badge === undefined) return deny('unknown_badge');
  if (badge.status === 'lost') return deny('badge_lost');
  if (badge.status === 'revoked') return deny('badge_revoked');
  if (person === undefined || !person.active || person.id !== badge.personId) return deny('person_inactive');
  if (
    (badge.validFrom !== null && badge.validFrom > at) ||
    (person.validFrom !== null && person.validFrom > at)
  ) {
    return deny('not_yet_valid');
  }
  if (
    (badge.validUntil !== null && badge.validUntil <= at) ||
    (person.validUntil !== null && person.validUntil <= at)
  ) {
    return deny('expired');
  }

  if (input.direction === 'out') return { granted: true, reason: 'granted' };

  if (input.mode === 'lockdown') {
    return person.lockdownOverride ? { granted: true, reason: 'override_granted' } : deny('lockdown');
  }
  if (person.category === 'visitor') return deny('escort_required');
  const forDoor = input.permissions.filter((p) => p.doorId === input.doorId && p.personId === person.id);
  if (forDoor.length === 0) return deny('door_not_permitted');
  if (!forDoor.some((p) => scheduleAllows(p.scheduleId, input))) return deny('outside_schedule');
  return { granted: true, reason: 'granted' };
}
