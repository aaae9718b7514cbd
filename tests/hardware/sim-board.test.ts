import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InputPinConfig, OutputPinConfig } from '../../controller/config/schema.js';
import { SimBoard } from '../../hardware/index.js';

const contact = (debounceMs = 50): InputPinConfig => ({ pin: 17, activeLow: false, debounceMs });
const relay = (activeLow = false): OutputPinConfig => ({ pin: 22, activeLow });

type Edge = [string, boolean, number];

function board(initialInputs?: Record<string, boolean>) {
  const b = new SimBoard({ initialInputs });
  const edges: Edge[] = [];
  b.onInput((name, active, at) => edges.push([name, active, at]));
  return { b, edges };
}

describe('SimBoard inputs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the start level once it has been stable for debounceMs', () => {
    const { b, edges } = board({ door: true });
    b.addInput('door', contact(50));
    expect(b.readInput('door')).toBeUndefined();
    vi.advanceTimersByTime(49);
    expect(edges).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(edges).toEqual([['door', true, 1_000_050]]);
    expect(b.readInput('door')).toBe(true);
  });

  it('defaults the start level to inactive and reports it even with debounceMs 0', () => {
    const { b, edges } = board();
    b.addInput('door', contact(0));
    expect(edges).toEqual([]); // not inside addInput: a listener added right after still hears it
    vi.advanceTimersByTime(0);
    expect(edges).toEqual([['door', false, 1_000_000]]);
  });

  it('gives no edge for bounces shorter than debounceMs', () => {
    const { b, edges } = board();
    b.addInput('door', contact(50));
    vi.advanceTimersByTime(50);
    edges.length = 0;
    for (let i = 0; i < 5; i++) {
      b.simulate('door', true);
      vi.advanceTimersByTime(20);
      b.simulate('door', false);
      vi.advanceTimersByTime(20);
    }
    vi.advanceTimersByTime(1000);
    expect(edges).toEqual([]);
    expect(b.readInput('door')).toBe(false);
  });

  it('gives exactly one edge for a stable change, debounceMs after the last bounce', () => {
    const { b, edges } = board();
    b.addInput('door', contact(50));
    vi.advanceTimersByTime(50);
    edges.length = 0;
    const settleAfter = b.simulateBounce('door', true, 4, 5); // true,false,… ending true over 40 ms
    expect(settleAfter).toBe(40);
    vi.advanceTimersByTime(40 + 49);
    expect(edges).toEqual([]);
    expect(b.readInput('door')).toBe(false);
    vi.advanceTimersByTime(1);
    expect(edges).toEqual([['door', true, 1_000_050 + 40 + 50]]);
    vi.advanceTimersByTime(5000);
    expect(edges).toHaveLength(1);
  });

  it('fires synchronously inside simulate() with debounceMs 0, and only on changes', () => {
    const { b, edges } = board();
    b.addInput('btn', { pin: 27, activeLow: true, debounceMs: 0 });
    vi.advanceTimersByTime(0);
    edges.length = 0;
    b.simulate('btn', true);
    expect(edges).toEqual([['btn', true, 1_000_000]]);
    b.simulate('btn', true);
    b.simulate('btn', false);
    expect(edges.map((e) => e[1])).toEqual([true, false]);
  });

  it('keeps inputs independent', () => {
    const { b, edges } = board();
    b.addInput('door', contact(50));
    b.addInput('tamper', { pin: 24, activeLow: false, debounceMs: 10 });
    vi.advanceTimersByTime(50);
    edges.length = 0;
    b.simulate('door', true);
    b.simulate('tamper', true);
    vi.advanceTimersByTime(10);
    expect(edges).toEqual([['tamper', true, 1_000_060]]);
    vi.advanceTimersByTime(40);
    expect(edges.map((e) => e[0])).toEqual(['tamper', 'door']);
  });

  it('stops reporting after close', () => {
    const { b, edges } = board();
    b.addInput('door', contact(50));
    b.close();
    vi.advanceTimersByTime(1000);
    expect(edges).toEqual([]);
    expect(() => b.simulate('door', true)).toThrow(/closed/);
  });
});

describe('SimBoard outputs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 5000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('records every write with its time, the initial level first', () => {
    const b = new SimBoard();
    b.addOutput('lock', relay(), false);
    vi.advanceTimersByTime(100);
    b.write('lock', true);
    vi.advanceTimersByTime(5000);
    b.write('lock', false);
    expect(b.history('lock')).toEqual([
      { on: false, at: 5000 },
      { on: true, at: 5100 },
      { on: false, at: 10_100 },
    ]);
    expect(b.readOutput('lock')).toBe(false);
  });

  it('speaks logical levels whatever the polarity; the pin level is the inverse for active-low', () => {
    const b = new SimBoard();
    b.addOutput('low', { pin: 22, activeLow: true }, true);
    b.addOutput('high', { pin: 23, activeLow: false }, true);
    expect(b.readOutput('low')).toBe(true);
    expect(b.readOutput('high')).toBe(true);
    expect(b.history('low')).toEqual([{ on: true, at: 5000 }]);
    expect(b.outputPinLevel('low')).toBe(false);
    expect(b.outputPinLevel('high')).toBe(true);
  });

  it('waitForOutput resolves on the write and rejects after the timeout', async () => {
    const b = new SimBoard();
    b.addOutput('lock', relay(), false);
    const ok = b.waitForOutput('lock', true, 1000);
    vi.advanceTimersByTime(300);
    b.write('lock', true);
    await expect(ok).resolves.toBeUndefined();
    await expect(b.waitForOutput('lock', true, 10)).resolves.toBeUndefined(); // already on

    const late = b.waitForOutput('lock', false, 1000);
    const settled = expect(late).rejects.toThrow(/"lock" did not turn off within 1000 ms/);
    vi.advanceTimersByTime(1000);
    await settled;
  });

  it('close() drives the given safe levels and records them', () => {
    const b = new SimBoard();
    b.addOutput('lock', relay(), true);
    b.addOutput('buzzer', { pin: 23, activeLow: false }, true);
    b.close({ lock: false, buzzer: false, nothing: true });
    expect(b.readOutput('lock')).toBe(false);
    expect(b.history('buzzer').map((r) => r.on)).toEqual([true, false]);
    expect(() => b.write('lock', true)).toThrow(/closed/);
  });
});

describe('SimBoard names and pins', () => {
  it('throws a clear error for unknown names', async () => {
    const b = new SimBoard();
    b.addInput('door', contact());
    b.addOutput('lock', relay(), false);
    expect(() => b.simulate('dor', true)).toThrow('unknown input "dor" (claimed inputs: "door")');
    expect(() => b.write('door', true)).toThrow('unknown output "door" (claimed outputs: "lock")');
    expect(() => b.readInput('lock')).toThrow(/unknown input "lock"/);
    expect(() => b.history('x')).toThrow(/unknown output "x"/);
    await expect(b.waitForOutput('x', true)).rejects.toThrow(/unknown output "x"/);
  });

  it('refuses a name or a BCM pin claimed twice', () => {
    const b = new SimBoard();
    b.addInput('door', contact());
    expect(() => b.addInput('door', { ...contact(), pin: 5 })).toThrow(/"door" is already claimed/);
    expect(() => b.addOutput('lock', { pin: 17, activeLow: false }, false)).toThrow(
      'BCM 17 is already claimed by "door"',
    );
  });
});
