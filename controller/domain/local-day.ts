/**
 * Wall-clock moments of a local day in the site's time zone, as UTC ms: "19:00 today", "the end of
 * today", "the next 19:00". Pure: the moment `at` is passed in. Built on `wallClock()` (second
 * resolution), so it is exact for every zone whose offset is a whole number of seconds.
 */
import { parseTimeOfDay, wallClock } from './schedule.js';

const SECOND = 1000;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Local wall-clock minus UTC at `at`, in ms (e.g. +9 h in Tokyo). */
function offsetAt(at: number, timeZone: string): number {
  const t = wallClock(at, timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUtc - Math.floor(at / SECOND) * SECOND;
}

/**
 * The UTC ms at which the clocks in `timeZone` show `wall` (a wall-clock time written as if it were
 * UTC ms, e.g. Date.UTC(2026, 10, 26, 9, 30) for 09:30 on 26 November). Around a daylight-saving
 * change a wall-clock time that does not exist maps to the moment after the gap; one that exists
 * twice maps to the first.
 */
export function fromWallClock(wall: number, timeZone: string): number {
  // Two passes settle the offset even next to a change of offset.
  const utc = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(utc, timeZone);
}

/**
 * The UTC ms of `minuteOfDay` minutes after local midnight on the local date of `at` (1440 = the
 * following midnight). Around a daylight-saving change a wall-clock time that does not exist maps
 * to the moment after the gap; one that exists twice maps to the first.
 */
export function atLocalMinute(at: number, minuteOfDay: number, timeZone: string): number {
  const t = wallClock(at, timeZone);
  return fromWallClock(Date.UTC(t.year, t.month - 1, t.day) + minuteOfDay * MINUTE, timeZone);
}

/** The end of the local day of `at` (the next local midnight), UTC ms. */
export function endOfLocalDay(at: number, timeZone: string): number {
  return atLocalMinute(at, 24 * 60, timeZone);
}

/**
 * The first moment strictly after `at` whose local time is `hhmm` (HH:MM, 00:00–23:59). Throws for
 * an invalid time.
 */
export function nextLocalTime(at: number, hhmm: string, timeZone: string): number {
  const minute = minuteOf(hhmm);
  const today = atLocalMinute(at, minute, timeZone);
  if (today > at) return today;
  // Tomorrow: from local noon today plus a day (noon is never inside a DST gap).
  return atLocalMinute(atLocalMinute(at, 12 * 60, timeZone) + DAY, minute, timeZone);
}

/** `hhmm` on the local date of `at`, UTC ms. Throws for an invalid time. */
export function localTimeOn(at: number, hhmm: string, timeZone: string): number {
  return atLocalMinute(at, minuteOf(hhmm), timeZone);
}

function minuteOf(hhmm: string): number {
  const minute = parseTimeOfDay(hhmm);
  if (minute === null || minute >= 24 * 60)
    throw new RangeError(`not a time of day (00:00–23:59): "${hhmm}"`);
  return minute;
}
