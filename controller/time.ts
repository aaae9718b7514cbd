/**
 * Converting between UTC milliseconds and wall-clock time in the site's time zone (for the CLI and
 * UI). The zone arithmetic is the domain's (wallClock, fromWallClock); this adds the text forms.
 */
import { fromWallClock } from './domain/local-day.js';
import { formatDateTime, wallClock } from './domain/schedule.js';

/** "2026-11-26 12:34:56" in the zone. */
export function formatLocal(at: number, tz: string): string {
  return formatDateTime(wallClock(at, tz));
}

/**
 * Parse "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DDTHH:MM[:SS]" as wall-clock time in `tz`,
 * or a full ISO time with Z/offset as given. Throws a clear error for anything else.
 */
export function parseLocal(text: string, tz: string): number {
  if (/[zZ]$|[+-]\d{2}:?\d{2}$/.test(text) && text.includes('T')) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new Error(`not a time: "${text}"`);
    // Date.parse rolls 2026-02-30 over into March and takes 24:00: the fields must be as written.
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text);
    if (!m || !realWallClock(m.slice(1).map(Number) as Fields))
      throw new Error(`no such date or time: "${text}"`);
    return t;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) throw new Error(`not a date or time: "${text}" (expected YYYY-MM-DD or YYYY-MM-DD HH:MM)`);
  const f = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as Fields;
  // Date.UTC would roll month 13, 2026-02-30, 24:00 or 10:60 over into another date or hour.
  if (!realWallClock(f)) throw new Error(`no such date or time: "${text}"`);
  const [y, mo, d, h = 0, mi = 0, s = 0] = f;
  return fromWallClock(Date.UTC(y, mo - 1, d, h, mi, s), tz);
}

/**
 * As parseLocal, but a bare date `YYYY-MM-DD` means the end of that day (the start of the next):
 * for the end of a range that includes its last day (`sekisho log --to`, as on the dashboard).
 */
export function parseLocalUntil(text: string, tz: string): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!day) return parseLocal(text, tz);
  parseLocal(text, tz); // the date itself must exist
  const next = new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]) + 1));
  return parseLocal(next.toISOString().slice(0, 10), tz);
}

type Fields = [number, number, number, number?, number?, number?];

/** Year, month, day and (optionally) hour, minute, second that name a real wall-clock time. */
function realWallClock([y, mo, d, h = 0, mi = 0, s = 0]: Fields): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}
