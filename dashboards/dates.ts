/** Local dates and times of the site's zone, as the dashboard's forms and queries give them. */
import { formatLocal, parseLocal } from '../controller/time.js';
import { ApiError } from './http.js';

/** The day after a `YYYY-MM-DD` date. */
export function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/**
 * A local date (or date and time) in the site's zone as epoch ms. With `endOfDay`, a bare date
 * means the end of that day (the start of the next), so that a `to` date is inclusive. A text that
 * is no time of that zone is the caller's error (400).
 */
export function localTime(site: { tz: string }, text: string, endOfDay: boolean): number;
export function localTime(
  site: { tz: string },
  text: string | null | undefined,
  endOfDay: boolean,
): number | null;
export function localTime(
  site: { tz: string },
  text: string | null | undefined,
  endOfDay: boolean,
): number | null {
  if (text === null || text === undefined) return null;
  try {
    return parseLocal(endOfDay && text.length === 10 ? nextDay(text) : text, site.tz);
  } catch (err) {
    throw new ApiError(400, 'invalid_request', (err as Error).message);
  }
}

/** Today's date (`YYYY-MM-DD`) in the site's zone. */
export function localToday(site: { tz: string }, now: number): string {
  return formatLocal(now, site.tz).slice(0, 10);
}
