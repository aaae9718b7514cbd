import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../controller/config/index.js';
import { claimDoorPins, createBoard, RpiBoard, SimBoard } from '../../hardware/index.js';
import { fakeGpios } from './fake-gpio.js';
import { type FakeSysfs, fakeSysfs, PI5_CHIPS } from './fake-sysfs.js';

const sample = loadConfig('config/raspberry-pi.yaml').config;

let sysfs: FakeSysfs;
beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  sysfs = fakeSysfs(PI5_CHIPS);
});
afterEach(() => {
  vi.useRealTimers();
  sysfs.remove();
});

describe('createBoard', () => {
  it('builds a simulated board for kind sim', () => {
    const board = createBoard({ board: { kind: 'sim', chipLabels: [] } });
    expect(board).toBeInstanceOf(SimBoard);
    expect(board.kind).toBe('sim');
  });

  it('builds a Raspberry Pi board that resolves its chip by the configured labels', () => {
    const board = createBoard(sample, { sysfsRoot: sysfs.root, gpioFactory: fakeGpios().factory });
    expect(board).toBeInstanceOf(RpiBoard);
    expect((board as RpiBoard).chip.label).toBe('pinctrl-rp1');
  });

  it('fails at once on a machine without the configured chip', () => {
    const config = { board: { kind: 'rpi' as const, chipLabels: ['pinctrl-bcm2711'] } };
    expect(() => createBoard(config, { sysfsRoot: sysfs.root })).toThrow(
      /no gpiochip with label pinctrl-bcm2711 under .* \(found: gpiochip512 "gpio-brcmstb@107d508500"/,
    );
  });
});

describe('claimDoorPins with config/raspberry-pi.yaml', () => {
  it('claims every pin on the Pi with the lock secured from the first write', () => {
    const gpios = fakeGpios();
    const board = createBoard(sample, { sysfsRoot: sysfs.root, gpioFactory: gpios.factory });
    claimDoorPins(board, sample.doors);
    // outputs first: lock (BCM 22) released = 3.3 V on an active-low relay, buzzer (23) off
    expect(gpios.log).toEqual(['new 593 high', 'new 594 low', 'new 588 in', 'new 598 in', 'new 595 in']);
    expect(board.readOutput('machine-room.lock')).toBe(false);
  });

  it('closes the board at the secure levels when a claim fails', () => {
    const board = new SimBoard();
    board.addInput('machine-room.tamper', { pin: 99, activeLow: false, debounceMs: 0 });
    expect(() => claimDoorPins(board, sample.doors)).toThrow(/"machine-room.tamper" is already claimed/);
    expect(board.history('machine-room.lock').map((r) => r.on)).toEqual([false, false]);
    expect(() => board.write('machine-room.lock', true)).toThrow(/closed/);
  });

  it('gives a simulated door its standard names and start levels', () => {
    const board = new SimBoard({ initialInputs: { 'machine-room.contact': true } });
    const seen: string[] = [];
    board.onInput((name, active) => seen.push(`${name}=${active}`));
    claimDoorPins(board, sample.doors);
    vi.advanceTimersByTime(100);
    expect(seen.sort()).toEqual([
      'machine-room.contact=true',
      'machine-room.exitButton=false',
      'machine-room.tamper=false',
    ]);
    expect(board.outputNames()).toEqual(['machine-room.lock', 'machine-room.buzzer']);
  });
});

describe('docs/wiring.md matches config/raspberry-pi.yaml', () => {
  // BCM → 40-pin header position.
  const HEADER: Record<number, number> = { 14: 8, 15: 10, 17: 11, 22: 15, 23: 16, 24: 18, 27: 13 };
  const rows = readFileSync('docs/wiring.md', 'utf8')
    .split('\n')
    .map((line) =>
      /^\|[^|]+\|\s*(\d+)\s*\|\s*(\d+)\s*\|[^|]+\|[^|]+\|[^|]+\|\s*`doors\[0\]\.(\w+)`\s*\|$/.exec(line),
    )
    .filter((m) => m !== null);

  it('lists every door pin with the BCM number of the config and the right header pin', () => {
    const door = sample.doors[0]!;
    const pins = Object.fromEntries(rows.map((m) => [m[3], Number(m[1])]));
    expect(pins).toEqual({
      contact: door.contact.pin,
      exitButton: door.exitButton?.pin,
      lock: door.lock.pin,
      buzzer: door.buzzer?.pin,
      tamper: door.tamper?.pin,
    });
    for (const m of rows) expect(Number(m[2]), `header pin of BCM ${m[1]}`).toBe(HEADER[Number(m[1])]);
  });
});
