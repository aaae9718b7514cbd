import { describe, expect, it } from 'vitest';
import { formatLocal, parseLocal } from '../../controller/time.js';

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
  it('formats in the zone', () => {
    expect(formatLocal(Date.UTC(2026, 10, 25, 15, 0, 5), 'Asia/Tokyo')).toBe('2026-11-26 00:00:05');
  });
});
