import { describe, expect, it } from 'vitest';
import {
  isWithinSchedule,
  localDate,
  localTime,
  parseTimeOfDay,
  type Schedule,
  scheduleProblems,
} from '../../controller/domain/index.js';
import { wallClock, wallClockByIcu } from '../../controller/domain/schedule.js';

const TOKYO = 'Asia/Tokyo';
const UTC = 'UTC';

/** UTC ms of a wall-clock time in Tokyo (UTC+9, no DST). */
function tokyo(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  return Date.UTC(y, mo - 1, d, h - 9, mi, s, ms);
}

function schedule(windows: Schedule['windows'], extra: Partial<Schedule> = {}): Schedule {
  return { id: 'test', windows, includeHolidays: false, always: false, ...extra };
}

// 2026-11-26 is a Thursday.
const WEEKDAYS = schedule([{ days: [1, 2, 3, 4, 5], from: '09:00', to: '18:00' }]);

describe('localTime / localDate', () => {
  it('gives the wall-clock time and weekday in the zone', () => {
    const at = tokyo(2026, 11, 26, 0, 30);
    expect(localTime(at, TOKYO)).toEqual({
      year: 2026,
      month: 11,
      day: 26,
      weekday: 4,
      hour: 0,
      minute: 30,
      minuteOfDay: 30,
    });
    // The same instant in UTC is still Wednesday evening.
    expect(localTime(at, UTC)).toMatchObject({ day: 25, weekday: 3, hour: 15, minute: 30 });
  });

  it('formats local dates, Tokyo vs UTC around midnight', () => {
    const at = tokyo(2026, 11, 26, 0, 0);
    expect(localDate(at, TOKYO)).toBe('2026-11-26');
    expect(localDate(at, UTC)).toBe('2026-11-25');
    expect(localDate(at - 1, TOKYO)).toBe('2026-11-25');
    expect(localDate(Date.UTC(2027, 0, 1, 0, 0), UTC)).toBe('2027-01-01');
  });

  it('gives midnight as hour 0', () => {
    expect(localTime(Date.UTC(2026, 0, 1), UTC)).toMatchObject({
      hour: 0,
      minute: 0,
      minuteOfDay: 0,
      weekday: 4,
    });
  });

  it('follows daylight saving time', () => {
    // 09:00 in Berlin is 07:00Z in summer (CEST) and 08:00Z in winter (CET).
    expect(localTime(Date.UTC(2026, 6, 1, 7, 0), 'Europe/Berlin')).toMatchObject({ hour: 9, minute: 0 });
    expect(localTime(Date.UTC(2026, 0, 15, 8, 0), 'Europe/Berlin')).toMatchObject({ hour: 9, minute: 0 });
  });

  it('throws for an unknown zone', () => {
    expect(() => localTime(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('wallClock (offsets remembered per hour)', () => {
  // Zones with daylight saving, half and quarter hours, a 30-minute DST (Lord Howe) and a
  // southern-hemisphere DST: every answer must equal ICU's own.
  const ZONES = [
    'Asia/Tokyo',
    'UTC',
    'Europe/London',
    'America/New_York',
    'America/St_Johns',
    'Asia/Kathmandu',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'America/Santiago',
  ];

  it('equals ICU on every minute around each change of offset in 2026, and at random times', () => {
    let checked = 0;
    let changes = 0;
    for (const zone of ZONES) {
      const from = Date.UTC(2026, 0, 1);
      const to = Date.UTC(2027, 0, 1);
      let prev = wallClockByIcu(from, zone);
      for (let h = from; h < to; h += 3_600_000) {
        const w = wallClockByIcu(h, zone);
        const jumped = (w.hour - prev.hour + 24) % 24 !== 1 || w.minute !== prev.minute;
        prev = w;
        if (!jumped) continue;
        changes++;
        for (let t = h - 3 * 3_600_000; t < h + 3_600_000; t += 60_000 + 7) {
          expect(wallClock(t, zone), `${zone} at ${new Date(t).toISOString()}`).toEqual(
            wallClockByIcu(t, zone),
          );
          checked++;
        }
      }
      for (let i = 0; i < 5000; i++) {
        const t = Math.floor(Date.UTC(1990, 0, 1) + Math.random() * 80 * 365.25 * 86_400_000);
        expect(wallClock(t, zone), `${zone} at ${t}`).toEqual(wallClockByIcu(t, zone));
        checked++;
      }
    }
    // The DST zones above change twice a year each: the boundary walk must have found them.
    expect(changes).toBeGreaterThanOrEqual(12);
    expect(checked).toBeGreaterThan(45_000);
  });
});

describe('parseTimeOfDay', () => {
  it('parses 00:00 to 24:00', () => {
    expect(parseTimeOfDay('00:00')).toBe(0);
    expect(parseTimeOfDay('09:30')).toBe(570);
    expect(parseTimeOfDay('23:59')).toBe(1439);
    expect(parseTimeOfDay('24:00')).toBe(1440);
  });

  it('rejects what is not a time of day', () => {
    for (const bad of ['24:01', '24:30', '25:00', '12:60', '9:00', '0900', ''])
      expect(parseTimeOfDay(bad)).toBeNull();
  });
});

describe('isWithinSchedule', () => {
  it('treats `from` as inclusive and `to` as exclusive', () => {
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 26, 8, 59, 59, 999), TOKYO, [])).toBe(false);
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 26, 9, 0), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 26, 12, 0), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 26, 17, 59, 59, 999), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 26, 18, 0), TOKYO, [])).toBe(false);
  });

  it('allows 24:00 as the end of the day, and it does not reach into the next day', () => {
    const evening = schedule([{ days: [4], from: '20:00', to: '24:00' }]);
    expect(isWithinSchedule(evening, tokyo(2026, 11, 26, 23, 59, 59, 999), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(evening, tokyo(2026, 11, 27, 0, 0), TOKYO, [])).toBe(false);
    const allDay = schedule([{ days: [4], from: '00:00', to: '24:00' }]);
    expect(isWithinSchedule(allDay, tokyo(2026, 11, 26, 0, 0), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(allDay, tokyo(2026, 11, 26, 23, 59), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(allDay, tokyo(2026, 11, 25, 23, 59), TOKYO, [])).toBe(false);
  });

  it('knows Saturday (6) and Sunday (0)', () => {
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 28, 12), TOKYO, [])).toBe(false); // Saturday
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 29, 12), TOKYO, [])).toBe(false); // Sunday
    expect(isWithinSchedule(WEEKDAYS, tokyo(2026, 11, 30, 12), TOKYO, [])).toBe(true); // Monday
    const weekend = schedule([{ days: [0, 6], from: '10:00', to: '16:00' }]);
    expect(isWithinSchedule(weekend, tokyo(2026, 11, 28, 10), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(weekend, tokyo(2026, 11, 29, 15, 59), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(weekend, tokyo(2026, 11, 30, 12), TOKYO, [])).toBe(false);
    expect(isWithinSchedule(weekend, tokyo(2026, 11, 27, 12), TOKYO, [])).toBe(false);
  });

  it('matches any of several windows', () => {
    const split = schedule([
      { days: [4], from: '08:00', to: '12:00' },
      { days: [4], from: '13:00', to: '17:00' },
    ]);
    expect(isWithinSchedule(split, tokyo(2026, 11, 26, 11, 59), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(split, tokyo(2026, 11, 26, 12, 30), TOKYO, [])).toBe(false);
    expect(isWithinSchedule(split, tokyo(2026, 11, 26, 13, 0), TOKYO, [])).toBe(true);
  });

  it('excludes holidays unless includeHolidays', () => {
    const at = tokyo(2026, 11, 23, 10); // Monday, 勤労感謝の日
    const holidays = ['2026-11-03', '2026-11-23'];
    expect(isWithinSchedule(WEEKDAYS, at, TOKYO, holidays)).toBe(false);
    expect(isWithinSchedule(WEEKDAYS, at, TOKYO, [])).toBe(true);
    expect(isWithinSchedule({ ...WEEKDAYS, includeHolidays: true }, at, TOKYO, holidays)).toBe(true);
  });

  it('reads holidays as local dates in the site zone', () => {
    // Thursday 00:30 in Tokyo is Wednesday 15:30 UTC.
    const at = tokyo(2026, 11, 26, 0, 30);
    const night = schedule([{ days: [3, 4], from: '00:00', to: '24:00' }]);
    expect(isWithinSchedule(night, at, TOKYO, ['2026-11-26'])).toBe(false);
    expect(isWithinSchedule(night, at, UTC, ['2026-11-26'])).toBe(true);
    expect(isWithinSchedule(night, at, UTC, ['2026-11-25'])).toBe(false);
  });

  it('evaluates windows in the given zone (Tokyo vs UTC around midnight)', () => {
    const thursdayEarly = schedule([{ days: [4], from: '00:00', to: '01:00' }]);
    const at = tokyo(2026, 11, 26, 0, 30); // Thu 00:30 Tokyo = Wed 15:30 UTC
    expect(isWithinSchedule(thursdayEarly, at, TOKYO, [])).toBe(true);
    expect(isWithinSchedule(thursdayEarly, at, UTC, [])).toBe(false);
    expect(isWithinSchedule(thursdayEarly, Date.UTC(2026, 10, 26, 0, 30), UTC, [])).toBe(true);
  });

  it('`always` allows every moment, holidays included', () => {
    const always = schedule([], { always: true });
    expect(isWithinSchedule(always, tokyo(2026, 11, 29, 3), TOKYO, ['2026-11-29'])).toBe(true);
    expect(isWithinSchedule(always, 0, UTC, [])).toBe(true);
  });

  it('no windows allow nothing', () => {
    expect(isWithinSchedule(schedule([]), tokyo(2026, 11, 26, 12), TOKYO, [])).toBe(false);
  });

  it('a window crossing midnight is a problem and never matches (fails closed)', () => {
    const night = schedule([{ days: [0, 1, 2, 3, 4, 5, 6], from: '22:00', to: '06:00' }]);
    expect(isWithinSchedule(night, tokyo(2026, 11, 26, 23), TOKYO, [])).toBe(false);
    expect(isWithinSchedule(night, tokyo(2026, 11, 26, 3), TOKYO, [])).toBe(false);
    expect(scheduleProblems(night)).toEqual([expect.stringMatching(/^windows\[0\]: .*cross midnight/)]);
  });

  it('a night shift is two windows', () => {
    const night = schedule([
      { days: [4], from: '22:00', to: '24:00' },
      { days: [5], from: '00:00', to: '06:00' },
    ]);
    expect(scheduleProblems(night)).toEqual([]);
    expect(isWithinSchedule(night, tokyo(2026, 11, 26, 23), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(night, tokyo(2026, 11, 27, 0), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(night, tokyo(2026, 11, 27, 5, 59), TOKYO, [])).toBe(true);
    expect(isWithinSchedule(night, tokyo(2026, 11, 27, 6), TOKYO, [])).toBe(false);
  });
});

describe('scheduleProblems', () => {
  it('accepts valid windows', () => {
    expect(scheduleProblems(WEEKDAYS)).toEqual([]);
    expect(scheduleProblems(schedule([{ days: [1], from: '00:00', to: '24:00' }]))).toEqual([]);
  });

  it('names each bad window', () => {
    const bad = schedule([
      { days: [1], from: '09:00', to: '09:00' },
      { days: [1], from: '24:30', to: '24:00' },
      { days: [1], from: '24:00', to: '24:00' },
    ]);
    const problems = scheduleProblems(bad);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^windows\[0\]: "from" 09:00 must be before "to" 09:00/);
    expect(problems[1]).toMatch(/^windows\[1\]\.from: "24:30"/);
    expect(problems[2]).toMatch(/^windows\[2\]: /);
  });
});
