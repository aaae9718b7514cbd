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
    return t;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) throw new Error(`not a date or time: "${text}" (expected YYYY-MM-DD or YYYY-MM-DD HH:MM)`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  const wall = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (Number.isNaN(wall) || new Date(wall).getUTCDate() !== d) throw new Error(`no such date: "${text}"`);
  return fromWallClock(wall, tz);
}
