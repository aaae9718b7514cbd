import { describe, expect, it } from 'vitest';
import { ExitTimes, ExitTimesDraft, shardOf } from '../../controller/domain/exit-times.js';

describe('ExitTimes', () => {
  it('keeps the last time per person, and a result does not change with later edits', () => {
    const d = new ExitTimesDraft(ExitTimes.EMPTY);
    d.set('p1', 10);
    d.set('p2', 20);
    d.set('p1', 30);
    const first = d.result();
    d.set('p1', 40);
    d.set('p3', 50);
    const second = d.result();
    expect([first.get('p1'), first.get('p2'), first.get('p3'), first.size]).toEqual([30, 20, undefined, 2]);
    expect([second.get('p1'), second.get('p3'), second.size]).toEqual([40, 50, 3]);
    expect(ExitTimes.EMPTY.size).toBe(0);
    expect(ExitTimes.EMPTY.get('p1')).toBeUndefined();
  });

  it('a draft over a base leaves the base unchanged and shares the shards it did not touch', () => {
    const base = ExitTimes.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, i] as const));
    const d = new ExitTimesDraft(base);
    d.set('p7', 9999);
    d.set('new', 1);
    const next = d.result();
    expect(base.get('p7')).toBe(7);
    expect(base.get('new')).toBeUndefined();
    expect(next.get('p7')).toBe(9999);
    expect(next.size).toBe(1001);
    const touched = new Set([shardOf('p7'), shardOf('new')]);
    let shared = 0;
    base.shards.forEach((s, i) => {
      if (touched.has(i)) expect(next.shards[i]).not.toBe(s);
      else if (next.shards[i] === s) shared++;
    });
    expect(shared).toBe(base.shards.length - touched.size);
  });

  it('does not treat inherited names as entries', () => {
    const m = ExitTimes.fromEntries([['constructor', 5]]);
    expect(m.get('constructor')).toBe(5);
    expect(m.get('toString')).toBeUndefined();
    expect(m.get('__proto__')).toBeUndefined();
  });

  it('lists entries in person-id order, whatever the insertion order', () => {
    const a = ExitTimes.fromEntries([
      ['b', 2],
      ['a', 1],
      ['c', 3],
    ]);
    const b = ExitTimes.fromEntries([
      ['c', 3],
      ['b', 2],
      ['a', 1],
    ]);
    expect(a.entries()).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(b.entries()).toEqual(a.entries());
  });

  it('spreads realistic person ids over the shards', () => {
    const counts = new Array(256).fill(0);
    for (let i = 0; i < 100_000; i++) counts[shardOf(`person-${String(i).padStart(6, '0')}`)]++;
    // 100,000 ids over 256 shards: about 390 each; no shard should hold more than twice that.
    expect(Math.max(...counts)).toBeLessThan(2 * (100_000 / 256));
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });
});
