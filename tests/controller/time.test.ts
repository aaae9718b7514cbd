import { describe, expect, it } from 'vitest';
import { formatLocal, parseLocal, parseLocalUntil } from '../../controller/time.js';

describe('local time', () => {
  it('parses a Tokyo wall-clock date as UTC+9', () => {
    expect(parseLocal('2026-11-26', 'Asia/Tokyo')).toBe(Date.UTC(2026, 10, 25, 15, 0, 0));
    expect(parseLocal('2026-11-26 09:30', 'Asia/Tokyo')).toBe(Date.UTC(2026, 10, 26, 0, 30, 0));
  });
  it('handles DST zones and explicit offsets', () => {
    expect(parseLocal('2026-07-01 12:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 10, 0, 0));
    expect(parseLocal('2026-01-01 12:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 0, 1, 11, 0, 0));
    expect(parseLocal('2026-01-01T00:00:00Z', 'Asia/Tokyo')).toBe(Date.UTC(2026, 0, 1));
  });
  it('refuses nonsense with a clear message', () => {
    expect(() => parseLocal('yesterday', 'Asia/Tokyo')).toThrow(/expected YYYY-MM-DD/);
    expect(() => parseLocal('2026-02-30', 'Asia/Tokyo')).toThrow(/no such date/);
  });
  it('refuses a date or time that does not exist rather than rolling it over', () => {
    for (const t of [
      '2026-13-01',
      '2026-00-10',
      '2026-12-00',
      '2026-12-32',
      '2026-02-29',
      '2026-04-31',
      '2026-12-07 24:00',
      '2026-12-07 10:60',
      '2026-12-07T10:00:60',
      '2026-02-30T00:00Z',
      '2026-12-07T24:00+09:00',
    ])
      expect(() => parseLocal(t, 'Asia/Tokyo'), t).toThrow(/no such date or time|not a time/);
    expect(parseLocal('2028-02-29', 'UTC')).toBe(Date.UTC(2028, 1, 29));
    expect(parseLocal('2026-12-31 23:59:59', 'UTC')).toBe(Date.UTC(2026, 11, 31, 23, 59, 59));
  });
  it('parseLocalUntil: a bare date is the end of that day; a time is itself', () => {
    expect(parseLocalUntil('2026-12-07', 'Asia/Tokyo')).toBe(parseLocal('2026-12-08', 'Asia/Tokyo'));
    expect(parseLocalUntil('2026-12-31', 'UTC')).toBe(Date.UTC(2027, 0, 1));
    expect(parseLocalUntil('2026-12-07 10:00', 'UTC')).toBe(Date.UTC(2026, 11, 7, 10));
    expect(() => parseLocalUntil('2026-02-30', 'UTC')).toThrow(/no such date/);
  });
  it('formats in the zone', () => {
    expect(formatLocal(Date.UTC(2026, 10, 25, 15, 0, 5), 'Asia/Tokyo')).toBe('2026-11-26 00:00:05');
  });
});
