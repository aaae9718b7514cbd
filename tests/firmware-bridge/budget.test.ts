/**
 * The byte budget on plain values: the time is an argument, no timers, no ports.
 */
import { describe, expect, it } from 'vitest';
import {
  ByteBudget,
  DEFAULT_BYTE_BUDGET,
  floodCoolDownMs,
  lineBytesPerS,
  withBackOffDefaults,
} from '../../firmware-bridge/index.js';

const S = { factor: 2, windowMs: 1000, coolDownMs: 5000 };

describe('ByteBudget', () => {
  it('allows factor × baud / 10 bytes per window', () => {
    expect(lineBytesPerS(9600)).toBe(960);
    expect(new ByteBudget(9600, S).limit).toBe(1920);
    expect(new ByteBudget(9600, { ...S, windowMs: 500 }).limit).toBe(960);
    expect(new ByteBudget(115_200, DEFAULT_BYTE_BUDGET).limit).toBe(115_200);
    expect(DEFAULT_BYTE_BUDGET).toEqual({
      factor: 10,
      windowMs: 1000,
      coolDownMs: 5000,
      maxCoolDownMs: 300_000,
      quietMs: 300_000,
    });
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
    expect(() => new ByteBudget(9600, { ...S, maxCoolDownMs: 4999 })).toThrow(RangeError);
    expect(() => new ByteBudget(9600, { ...S, quietMs: -1 })).toThrow(RangeError);
  });
});

/** A flood of the whole budget many times over at `at`. */
const FLOOD = 64 * 1024;

describe('ByteBudget: back-off of repeated floods', () => {
  /** 5 s doubling up to 40 s; forgiven after 60 s within the budget. */
  const B = { ...S, maxCoolDownMs: 40_000, quietMs: 60_000 };

  /**
   * Flood at `at`, then wait (polling, as the reader's timer does) for the cool-down to end.
   * Returns [episode, cool-down, when the flood ended].
   */
  function floodOnce(b: ByteBudget, at: number): [number, number, number] {
    expect(b.take(FLOOD, at)).toBe('flood');
    const episode = b.episode;
    const coolDown = b.coolDownMs;
    const end = at + b.msUntilResume(at);
    expect(b.poll(end - 1)).toBe(false);
    expect(b.poll(end)).toBe(true);
    return [episode, coolDown, end];
  }

  it('the cool-down of episode n is coolDownMs × 2^(n−1), at most maxCoolDownMs', () => {
    const s = { coolDownMs: 5000, maxCoolDownMs: 300_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => floodCoolDownMs(n, s))).toEqual([
      5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
    // maxCoolDownMs = coolDownMs: no back-off.
    expect(floodCoolDownMs(9, { coolDownMs: 5000, maxCoolDownMs: 5000 })).toBe(5000);
    expect(floodCoolDownMs(0, s)).toBe(5000);
  });

  it('defaults: 5 min ceiling and quiet time; a base cool-down above the ceiling raises the ceiling', () => {
    expect(withBackOffDefaults(S)).toEqual({ ...S, maxCoolDownMs: 300_000, quietMs: 300_000 });
    expect(withBackOffDefaults({ ...S, coolDownMs: 600_000 }).maxCoolDownMs).toBe(600_000);
    expect(withBackOffDefaults({ ...S, maxCoolDownMs: 9000, quietMs: 0 })).toEqual({
      ...S,
      maxCoolDownMs: 9000,
      quietMs: 0,
    });
    expect(new ByteBudget(9600, S).settings).toEqual(withBackOffDefaults(S));
  });

  it('a flood right after each cool-down doubles it, up to the ceiling', () => {
    const b = new ByteBudget(9600, B);
    expect(b.episode).toBe(0);
    expect(b.inIncident).toBe(false);
    const seen: [number, number][] = [];
    let at = 0;
    for (let i = 0; i < 6; i++) {
      const [episode, coolDown, end] = floodOnce(b, at);
      seen.push([episode, coolDown]);
      // Decoding again, still the same incident, until it has been quiet for quietMs.
      expect(b.flooding).toBe(false);
      expect(b.inIncident).toBe(true);
      at = end + 1000;
      expect(b.take(14, at)).toBe('decode');
    }
    expect(seen).toEqual([
      [1, 5000],
      [2, 10_000],
      [3, 20_000],
      [4, 40_000],
      [5, 40_000],
      [6, 40_000],
    ]);
  });

  it('the cool-down runs from the last over-budget moment of the episode', () => {
    const b = new ByteBudget(9600, B);
    floodOnce(b, 0);
    expect(b.take(FLOOD, 10_000)).toBe('flood');
    expect(b.coolDownMs).toBe(10_000);
    // Still flooding 3 s later: the 10 s start again from there.
    expect(b.take(FLOOD, 13_000)).toBe('drop');
    expect(b.poll(22_999)).toBe(false);
    expect(b.msUntilResume(22_999)).toBe(1);
    expect(b.poll(23_000)).toBe(true);
    // Dropped bytes during the cool-down do not make a new episode.
    expect(b.episode).toBe(2);
  });

  it('quiet for quietMs after a cool-down: the incident settles and the next flood starts at the base', () => {
    const b = new ByteBudget(9600, B);
    floodOnce(b, 0);
    const [, , end] = floodOnce(b, 6000);
    expect(b.coolDownMs).toBe(10_000);
    // Within the budget meanwhile (a reader in normal use): it still counts as quiet.
    expect(b.take(14, end + 30_000)).toBe('decode');
    expect(b.msUntilSettled(end + 30_000)).toBe(30_000);
    expect(b.settle(end + 59_999)).toBe(false);
    expect(b.inIncident).toBe(true);
    expect(b.settle(end + 60_000)).toBe(true);
    expect(b.settle(end + 60_001)).toBe(false);
    expect(b.inIncident).toBe(false);
    expect(b.episode).toBe(0);
    expect(b.coolDownMs).toBe(5000);
    expect(floodOnce(b, end + 70_000).slice(0, 2)).toEqual([1, 5000]);
  });

  it('a flood just inside quietMs is a repeat; just outside it a new incident, even without settle()', () => {
    const b = new ByteBudget(9600, B);
    const [, , end] = floodOnce(b, 0);
    expect(floodOnce(b, end + 59_999).slice(0, 2)).toEqual([2, 10_000]);
    const c = new ByteBudget(9600, B);
    const [, , end2] = floodOnce(c, 0);
    // No settle() call in between (a late timer): the quiet time alone decides.
    expect(floodOnce(c, end2 + 60_000).slice(0, 2)).toEqual([1, 5000]);
  });

  it('settle() does nothing while flooding or outside an incident', () => {
    const b = new ByteBudget(9600, B);
    expect(b.settle(0)).toBe(false);
    expect(b.msUntilSettled(0)).toBe(0);
    expect(b.take(FLOOD, 0)).toBe('flood');
    expect(b.settle(1_000_000)).toBe(false);
    expect(b.msUntilSettled(1_000_000)).toBe(0);
    expect(b.flooding).toBe(true);
  });

  it('the quiet time counts from when the cool-down ended, not from when it was noticed', () => {
    const b = new ByteBudget(9600, B);
    expect(b.take(FLOOD, 0)).toBe('flood');
    // No poll: the next bytes, 20 s later, find the cool-down over since 5 s.
    expect(b.take(14, 20_000)).toBe('resume');
    expect(b.msUntilSettled(20_000)).toBe(45_000);
    expect(b.settle(65_000)).toBe(true);
  });

  it('quietMs 0: every flood is an incident of its own, at the base cool-down', () => {
    const b = new ByteBudget(9600, { ...B, quietMs: 0 });
    let at = 0;
    for (let i = 0; i < 4; i++) {
      const [episode, coolDown, end] = floodOnce(b, at);
      expect([episode, coolDown]).toEqual([1, 5000]);
      at = end;
    }
    expect(b.settle(at)).toBe(true);
  });

  it('maxCoolDownMs = coolDownMs: repeats are counted but the cool-down stays', () => {
    const b = new ByteBudget(9600, { ...B, maxCoolDownMs: 5000 });
    floodOnce(b, 0);
    const [, , end] = floodOnce(b, 5000);
    expect(floodOnce(b, end).slice(0, 2)).toEqual([3, 5000]);
  });

  it('a clock stepped backwards does not shorten the quiet time', () => {
    const b = new ByteBudget(9600, B);
    const [, , end] = floodOnce(b, 1_000_000);
    // The wall clock is set back an hour right after the cool-down ended.
    expect(b.settle(end - 3_600_000)).toBe(false);
    expect(b.settle(end - 3_600_000 + 59_999)).toBe(false);
    expect(b.settle(end - 3_600_000 + 60_000)).toBe(true);
  });

  it('a steady flood for an hour is one episode; bytes within the cool-down never decode', () => {
    const b = new ByteBudget(9600, B);
    const verdicts = new Map<string, number>();
    for (let t = 0; t < 3_600_000; t += 10) {
      const v = b.take(100, t);
      verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
    }
    expect(verdicts.get('flood')).toBe(1);
    expect(verdicts.get('resume')).toBeUndefined();
    expect(b.episode).toBe(1);
  });

  it("a cool-down shorter than the window: the flood's bytes do not trip the budget again after it", () => {
    const b = new ByteBudget(9600, { ...B, windowMs: 1000, coolDownMs: 200, maxCoolDownMs: 200 });
    expect(b.take(FLOOD, 0)).toBe('flood');
    expect(b.poll(200)).toBe(true);
    // 200 ms later the flood's bytes would still be in a 1 s window.
    expect(b.take(14, 300)).toBe('decode');
    expect(b.windowBytes(300)).toBe(14);
    const c = new ByteBudget(9600, { ...B, windowMs: 1000, coolDownMs: 200, maxCoolDownMs: 200 });
    expect(c.take(FLOOD, 0)).toBe('flood');
    expect(c.take(14, 250)).toBe('resume');
    expect(c.windowBytes(250)).toBe(14);
    expect(c.take(1900, 260)).toBe('decode');
    expect(c.take(10, 270)).toBe('flood');
    // More than a whole window's budget at once when the cool-down ends: the flood goes on.
    const d = new ByteBudget(9600, { ...B, windowMs: 1000, coolDownMs: 200, maxCoolDownMs: 200 });
    expect(d.take(FLOOD, 0)).toBe('flood');
    expect(d.take(FLOOD, 250)).toBe('drop');
    expect(d.episode).toBe(1);
    expect(d.msUntilResume(250)).toBe(200);
  });

  it('clear() forgets the back-off too', () => {
    const b = new ByteBudget(9600, B);
    const [, , end] = floodOnce(b, 0);
    floodOnce(b, end);
    b.clear();
    expect(b.episode).toBe(0);
    expect(b.coolDownMs).toBe(5000);
    expect(floodOnce(b, end + 20_000).slice(0, 2)).toEqual([1, 5000]);
  });
});
