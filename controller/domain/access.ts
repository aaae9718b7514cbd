/**
 * The access decision: one badge presented at one reader of one door, at one moment.
 *
 * Rules, first match wins:
 *
 *  0. the door requires commissioning and has no valid `door_commissioned` record for its current
 *     wiring (`commissioned: false`) → `door_not_commissioned`, in both directions: a door not yet
 *     tested opens for no badge (its exit button still frees it, see below).
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
 * While the clock is not known to be synchronised (`clock`, see clock.ts) a restrictive
 * `clock.whenUnsynchronised` policy refuses, with `clock_unsynchronised`, every entry grant that
 * leans on the clock: at rule 6 an override of someone with validity dates; at rule 7 a visitor
 * with validity dates (and every visitor under `staff_always_only`); after rule 8 a person or badge
 * with validity dates, a person who is not staff (`staff_always_only`), and a permission whose
 * schedule is not an every-time one. `deny_entry` refuses every entry grant. Rules 1–5 and 8 are
 * decided first: a reason that holds whatever the time is the more useful one to record.
 *
 * Exit (`out`, the door's exit reader): a known, active, valid badge of an active, valid person
 * leaves regardless of permission, schedule and lockdown — life safety, and the exit button frees
 * the door anyway. The exit read is still decided (and logged) so that exits are recorded with the
 * person and lost/revoked/expired badges show up as denied reads; a denied exit read never traps
 * anyone, because the exit button always opens. No clock policy ever refuses an exit.
 */
import { type ClockTrust, clockRestriction } from './clock.js';
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
  /** The clock's sync state and the policy for an unsynchronised one; omitted: the clock is trusted. */
  clock?: ClockTrust;
  /** false: the door requires commissioning and has none valid (rule 0); omitted or true: no bar. */
  commissioned?: boolean;
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
  if (input.commissioned === false) return deny('door_not_commissioned');
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

  const restriction = clockRestriction(input.clock);
  // Whether the grant leans on the clock through the person: validity dates, or (for the strictest
  // policies) who they are.
  const clockBound =
    restriction !== null &&
    (restriction === 'deny_entry' ||
      (restriction === 'staff_always_only' && person.category !== 'staff') ||
      badge.validFrom !== null ||
      badge.validUntil !== null ||
      person.validFrom !== null ||
      person.validUntil !== null);
  if (input.mode === 'lockdown') {
    if (!person.lockdownOverride) return deny('lockdown');
    return clockBound ? deny('clock_unsynchronised') : { granted: true, reason: 'override_granted' };
  }
  if (person.category === 'visitor') return deny(clockBound ? 'clock_unsynchronised' : 'escort_required');
  const forDoor = input.permissions.filter((p) => p.doorId === input.doorId && p.personId === person.id);
  if (forDoor.length === 0) return deny('door_not_permitted');
  if (restriction !== null) {
    if (clockBound || !forDoor.some((p) => isEveryTime(p.scheduleId, input)))
      return deny('clock_unsynchronised');
    return { granted: true, reason: 'granted' };
  }
  if (!forDoor.some((p) => scheduleAllows(p.scheduleId, input))) return deny('outside_schedule');
  return { granted: true, reason: 'granted' };
}

/** A schedule that allows every moment: the built-in `always`, or a configured one with `always`. */
function isEveryTime(id: string, input: DecisionInput): boolean {
  const schedule = input.schedules.find((s) => s.id === id);
  return schedule === undefined ? id === ALWAYS_SCHEDULE_ID : schedule.always;
}
