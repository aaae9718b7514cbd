/**
 * The byte budget on plain values: the time is an argument, no timers, no ports.
 */
import { describe, expect, it } from 'vitest';
import { ByteBudget, DEFAULT_BYTE_BUDGET, lineBytesPerS } from '../../firmware-bridge/index.js';

const S = { factor: 2, windowMs: 1000, coolDownMs: 5000 };

describe('ByteBudget', () => {
  it('allows factor × baud / 10 bytes per window', () => {
    expect(lineBytesPerS(9600)).toBe(960);
    expect(new ByteBudget(9600, S).limit).toBe(1920);
    expect(new ByteBudget(9600, { ...S, windowMs: 500 }).limit).toBe(960);
    expect(new ByteBudget(115_200, DEFAULT_BYTE_BUDGET).limit).toBe(115_200);
    expect(DEFAULT_BYTE_BUDGET).toEqual({ factor: 10, windowMs: 1000, coolDownMs: 5000 });
  });

  it('decodes up to the limit; the byte over it starts the flood', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(1000, 0)).toBe('decode');
    expect(b.take(920, 10)).toBe('decode');
    expect(b.flooding).toBe(false);
    expect(b.take(1, 20)).toBe('flood');
    expect(b.flooding).toBe(true);
    expect(b.take(1, 30)).toBe('drop');
  });

  it('one chunk bigger than the whole budget is a flood at once', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(64 * 1024, 0)).toBe('flood');
  });

  it('the window slides: bytes older than the window no longer count', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(1900, 0)).toBe('decode');
    expect(b.windowBytes(500)).toBe(1900);
    expect(b.windowBytes(1000)).toBe(0);
    expect(b.take(1900, 1000)).toBe('decode');
    // Half a window later the first 1900 are gone but these are not: 1900 + 100 is over.
    expect(b.take(100, 1500)).toBe('flood');
  });

  it('a real UART at its full line rate never floods, even at the lowest factor', () => {
    const b = new ByteBudget(9600, { ...S, factor: 1.2 });
    // 9.6 bytes every 10 ms, delivered in the lumps a driver makes (up to 32 bytes at a time).
    let owed = 0;
    for (let t = 0; t < 120_000; t += 10) {
      owed += 9.6;
      const n = Math.floor(owed / 32) * 32;
      if (n === 0) continue;
      owed -= n;
      expect(b.take(n, t)).toBe('decode');
    }
  });

  it('stays flooding until no over-budget moment for coolDownMs, then resumes once', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(10_000, 0)).toBe('flood');
    // Under the budget but still cooling down: dropped.
    expect(b.take(10, 2000)).toBe('drop');
    expect(b.poll(4999)).toBe(false);
    expect(b.msUntilResume(4999)).toBe(1);
    expect(b.poll(5000)).toBe(true);
    expect(b.flooding).toBe(false);
    expect(b.poll(5001)).toBe(false);
    expect(b.take(10, 5002)).toBe('decode');
  });

  it('being over the budget again during the cool-down starts it again', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(10_000, 0)).toBe('flood');
    expect(b.take(10_000, 3000)).toBe('drop');
    expect(b.poll(5000)).toBe(false);
    expect(b.msUntilResume(5000)).toBe(3000);
    expect(b.poll(7999)).toBe(false);
    expect(b.poll(8000)).toBe(true);
  });

  it('bytes after the cool-down resume decoding themselves (no poll needed)', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(10_000, 0)).toBe('flood');
    expect(b.take(14, 5000)).toBe('resume');
    expect(b.flooding).toBe(false);
    expect(b.take(14, 5050)).toBe('decode');
  });

  it('a steady stream just over the budget keeps it flooding', () => {
    const b = new ByteBudget(9600, S);
    const verdicts = new Set<string>();
    // 2100 bytes/s in 10 ms chunks for a minute.
    for (let t = 0; t < 60_000; t += 10) verdicts.add(b.take(21, t));
    expect(verdicts).toEqual(new Set(['decode', 'flood', 'drop']));
    expect(b.flooding).toBe(true);
  });

  it('a clock stepped backwards stands still: the cool-down is not prolonged or skipped', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(10_000, 100_000)).toBe('flood');
    // The wall clock is set back an hour; 4999 ms pass after that.
    expect(b.poll(100_000 - 3_600_000)).toBe(false);
    expect(b.poll(100_000 - 3_600_000 + 4999)).toBe(false);
    expect(b.poll(100_000 - 3_600_000 + 5000)).toBe(true);
  });

  it('clear() forgets the window and the flood', () => {
    const b = new ByteBudget(9600, S);
    expect(b.take(10_000, 0)).toBe('flood');
    b.clear();
    expect(b.flooding).toBe(false);
    expect(b.take(1000, 10)).toBe('decode');
  });

  it('rejects settings it cannot work with', () => {
    expect(() => new ByteBudget(0, S)).toThrow(RangeError);
    expect(() => new ByteBudget(9600, { ...S, factor: 0 })).toThrow(RangeError);
    expect(() => new ByteBudget(9600, { ...S, windowMs: 0 })).toThrow(RangeError);
    expect(() => new ByteBudget(9600, { ...S, coolDownMs: -1 })).toThrow(RangeError);
  });
});
