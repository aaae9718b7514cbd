/**
 * Weekly schedules in the site's local time.
 *
 * Local time comes from `Intl.DateTimeFormat` for an IANA zone (one cached formatter per zone), so
 * daylight-saving zones work on wall-clock time. Times are UTC ms passed in by the caller.
 *
 * A window `{ days, from, to }` matches local times on those weekdays (0 = Sunday … 6 = Saturday)
 * with `from <= time < to`, at minute resolution: `from` is inclusive, `to` exclusive, and `24:00`
 * is allowed as `to` (end of day). A window may not cross midnight: `from` must be before `to`. A
 * night shift is two windows (`22:00–24:00` on one day, `00:00–06:00` on the next). Such invalid
 * windows are reported by `scheduleProblems()` (for the config loader) and never match — a broken
 * window fails closed.
 *
 * Holidays are local dates (YYYY-MM-DD); on a holiday no window matches unless the schedule has
 * `includeHolidays`. A schedule with `always` allows every moment, holidays included.
 */
/** A weekly window: on `days` (0 = Sunday … 6 = Saturday), local times `from` ≤ t < `to`, HH:MM. */
export interface ScheduleWindow {
  days: readonly number[];
  from: string;
  to: string;
}

/** A weekly schedule, as the config's `schedules` entries give it. */
export interface Schedule {
  id: string;
  name?: string;
  windows: readonly ScheduleWindow[];
  /** Whether the windows apply on holidays too (false: no window matches on a holiday). */
  includeHolidays: boolean;
  /** Every moment is allowed (the windows are ignored). */
  always: boolean;
}

/** The id of the built-in schedule: every day, all day. decide() knows it; a config may not redefine it. */
export const ALWAYS_SCHEDULE_ID = 'always';

/** The fields a clock in the zone shows. */
export interface WallClock {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0–23 */
  hour: number;
  minute: number;
  second: number;
}

export interface LocalTime {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
  hour: number;
  minute: number;
  /** Minutes since local midnight, 0–1439. */
  minuteOfDay: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone; the config schema validates the zone before we get here.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const HOUR = 3_600_000;
/** Per zone: UTC hour index → the zone's offset (ms) throughout that hour. Bounded; see wallClock. */
const hourOffsets = new Map<string, Map<number, number>>();
const HOUR_OFFSETS_KEPT = 4096;

/**
 * The wall-clock time in `timeZone` at UTC ms `at`, to the second. Throws RangeError for an unknown zone.
 *
 * Asking ICU (formatToParts) costs several microseconds and the door path asks a few times per
 * badge, so the zone's offset is remembered per UTC hour — only for an hour whose first and last
 * second have the same offset, i.e. with no change of offset inside it — and the fields are then
 * plain arithmetic. The result is the same: `tests/domain/schedule.test.ts` compares both ways.
 */
export function wallClock(at: number, timeZone: string): WallClock {
  const hour = Math.floor(at / HOUR);
  let zone = hourOffsets.get(timeZone);
  let offset = zone?.get(hour);
  if (offset === undefined) {
    const first = offsetOf(hour * HOUR, timeZone);
    if (first === offsetOf(hour * HOUR + HOUR - 1000, timeZone)) {
      if (zone === undefined) {
        zone = new Map();
        hourOffsets.set(timeZone, zone);
      } else if (zone.size >= HOUR_OFFSETS_KEPT) zone.clear();
      zone.set(hour, first);
      offset = first;
    } else return wallClockByIcu(at, timeZone); // the offset changes within this hour
  }
  const d = new Date(Math.floor(at / 1000) * 1000 + offset);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** The zone's offset at `at` (a whole second), ms: local wall clock minus UTC. */
function offsetOf(at: number, timeZone: string): number {
  const t = wallClockByIcu(at, timeZone);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - at;
}

/** wallClock() asking ICU every time. */
export function wallClockByIcu(at: number, timeZone: string): WallClock {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatterFor(timeZone).formatToParts(at)) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        // Some ICU versions print midnight as 24 even with h23.
        hour = Number(part.value) % 24;
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
    }
  }
  return { year, month, day, hour, minute, second };
}

/** The wall-clock time in `timeZone` at UTC ms `at`, to the minute, with the weekday. */
export function localTime(at: number, timeZone: string): LocalTime {
  const { year, month, day, hour, minute } = wallClock(at, timeZone);
  // 1970-01-01 was a Thursday (4). Date.UTC is pure arithmetic, no clock read.
  const days = Math.floor(Date.UTC(year, month - 1, day) / 86_400_000);
  const weekday = (((days + 4) % 7) + 7) % 7;
  return { year, month, day, weekday, hour, minute, minuteOfDay: hour * 60 + minute };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** 'YYYY-MM-DD' of a local time. */
export function formatDate(t: { year: number; month: number; day: number }): string {
  return `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}`;
}

/** 'YYYY-MM-DD HH:MM:SS' of a wall-clock time. */
export function formatDateTime(t: WallClock): string {
  return `${formatDate(t)} ${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}`;
}

/** The local date in `timeZone` at UTC ms `at`, as 'YYYY-MM-DD'. */
export function localDate(at: number, timeZone: string): string {
  return formatDate(localTime(at, timeZone));
}

/** 'HH:MM' (00:00–24:00) → minutes since midnight, or null if it is not a valid time of day. */
export function parseTimeOfDay(hhmm: string): number | null {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (m === null) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) return null;
  return h * 60 + min;
}

/**
 * Problems with a schedule's windows that the config schema's regex cannot see, as
 * `windows[i].field: message` lines. Empty when the schedule is usable.
 */
export function scheduleProblems(schedule: Schedule): string[] {
  const problems: string[] = [];
  schedule.windows.forEach((w, i) => {
    const from = parseTimeOfDay(w.from);
    const to = parseTimeOfDay(w.to);
    if (from === null) problems.push(`windows[${i}].from: "${w.from}" is not a time between 00:00 and 24:00`);
    if (to === null) problems.push(`windows[${i}].to: "${w.to}" is not a time between 00:00 and 24:00`);
    if (from !== null && to !== null && from >= to) {
      problems.push(
        `windows[${i}]: "from" ${w.from} must be before "to" ${w.to}; a window may not cross midnight — ` +
          'split it into two windows (…–24:00 and 00:00–…)',
      );
    }
  });
  return problems;
}

/** Whether `schedule` allows the moment `at` in `timeZone`, given the site's holidays (local dates). */
export function isWithinSchedule(
  schedule: Schedule,
  at: number,
  timeZone: string,
  holidays: readonly string[],
): boolean {
  if (schedule.always) return true;
  if (schedule.windows.length === 0) return false;
  const t = localTime(at, timeZone);
  if (!schedule.includeHolidays && holidays.length > 0) {
    if (holidays.includes(formatDate(t))) return false;
  }
  for (const w of schedule.windows) {
    if (!w.days.includes(t.weekday)) continue;
    const from = parseTimeOfDay(w.from);
    const to = parseTimeOfDay(w.to);
    if (from === null || to === null || from >= to) continue; // invalid window: fail closed
    if (t.minuteOfDay >= from && t.minuteOfDay < to) return true;
  }
  return false;
}
