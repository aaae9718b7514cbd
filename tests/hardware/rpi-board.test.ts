import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findGpioChip, RpiBoard } from '../../hardware/index.js';
import { fakeGpios } from './fake-gpio.js';
import { type FakeSysfs, fakeSysfs, PI4_CHIPS, PI5_CHIPS } from './fake-sysfs.js';

let sysfs: FakeSysfs;
beforeEach(() => {
  vi.useFakeTimers({ now: 2_000_000 });
  sysfs = fakeSysfs(PI5_CHIPS);
});
afterEach(() => {
  vi.useRealTimers();
  sysfs.remove();
});

function pi5(onError = vi.fn()) {
  const gpios = fakeGpios();
  const board = new RpiBoard({ sysfsRoot: sysfs.root, gpioFactory: gpios.factory, onError });
  const edges: [string, boolean, number][] = [];
  board.onInput((name, active, at) => edges.push([name, active, at]));
  return { board, gpios, edges, onError };
}

describe('RpiBoard numbering', () => {
  it('adds the rp1 chip base (571) to BCM pins on a Pi 5', () => {
    const { board, gpios } = pi5();
    expect(board.chip.name).toBe('gpiochip571');
    board.addInput('door', { pin: 17, activeLow: false, debounceMs: 50 });
    board.addOutput('lock', { pin: 22, activeLow: true }, false);
    expect([...gpios.lines.keys()]).toEqual([588, 593]);
  });

  it('adds 512 on a Pi 4', () => {
    const pi4 = fakeSysfs(PI4_CHIPS);
    try {
      const gpios = fakeGpios();
      const board = new RpiBoard({ sysfsRoot: pi4.root, gpioFactory: gpios.factory });
      board.addInput('door', { pin: 17, activeLow: false, debounceMs: 50 });
      expect([...gpios.lines.keys()]).toEqual([529]);
    } finally {
      pi4.remove();
    }
  });

  it('refuses a pin the chip does not have, before touching GPIO', () => {
    const gpios = fakeGpios();
    const chip = { ...findGpioChip(undefined, sysfs.root), ngpio: 28 };
    const board = new RpiBoard({ chip, gpioFactory: gpios.factory });
    expect(() => board.addOutput('lock', { pin: 40, activeLow: false }, false)).toThrow(
      'BCM pin 40 does not exist on gpiochip571 (pinctrl-rp1 has 28 lines, 0–27)',
    );
    expect(gpios.log).toEqual([]);
  });
});

describe('RpiBoard inputs', () => {
  it('claims inputs with edge both, the debounce time and the polarity', () => {
    const { board, gpios } = pi5();
    board.addInput('door', { pin: 17, activeLow: false, debounceMs: 50 });
    board.addInput('exit', { pin: 27, activeLow: true, debounceMs: 30 });
    const door = gpios.lines.get(588)!;
    const exit = gpios.lines.get(598)!;
    expect([door.direction, door.edge, door.options]).toEqual([
      'in',
      'both',
      { debounceTimeout: 50, activeLow: false },
    ]);
    expect([exit.direction, exit.edge, exit.options]).toEqual([
      'in',
      'both',
      { debounceTimeout: 30, activeLow: true },
    ]);
  });

  it('reports the start level debounceMs after claiming, in logical terms', () => {
    const { board, gpios, edges } = pi5();
    gpios.startVolts.set(598, true); // exit button released: pulled up
    gpios.startVolts.set(588, true); // door open: reed switch open, pulled up
    board.addInput('exit', { pin: 27, activeLow: true, debounceMs: 30 });
    board.addInput('door', { pin: 17, activeLow: false, debounceMs: 50 });
    expect(board.readInput('door')).toBeUndefined();
    vi.advanceTimersByTime(30);
    expect(edges).toEqual([['exit', false, 2_000_030]]);
    vi.advanceTimersByTime(20);
    expect(edges).toEqual([
      ['exit', false, 2_000_030],
      ['door', true, 2_000_050],
    ]);
    expect(board.readInput('door')).toBe(true);
  });

  it('reports changes from the watch callback once, and skips repeats', () => {
    const { board, gpios, edges } = pi5();
    gpios.startVolts.set(598, true);
    board.addInput('exit', { pin: 27, activeLow: true, debounceMs: 30 });
    vi.advanceTimersByTime(30);
    edges.length = 0;
    const line = gpios.lines.get(598)!;
    line.setVolts(false); // pressed
    line.setVolts(false); // onoff calls back on every edge; same level again
    vi.advanceTimersByTime(10);
    line.setVolts(true);
    expect(edges).toEqual([
      ['exit', true, 2_000_030],
      ['exit', false, 2_000_040],
    ]);
  });

  it('an edge before the start timer wins, and the timer then reports nothing more', () => {
    const { board, gpios, edges } = pi5();
    gpios.startVolts.set(588, false);
    board.addInput('door', { pin: 17, activeLow: false, debounceMs: 50 });
    gpios.lines.get(588)!.setVolts(true);
    vi.advanceTimersByTime(100);
    expect(edges).toEqual([['door', true, 2_000_000]]);
  });

  it('sends watch errors and listener exceptions to onError, and keeps going', () => {
    const { board, gpios, edges, onError } = pi5();
    board.onInput(() => {
      throw new Error('listener broke');
    });
    board.addInput('door', { pin: 17, activeLow: false, debounceMs: 0 });
    const line = gpios.lines.get(588)!;
    line.fail(new Error('EIO'));
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0].message).toBe('input "door" (GPIO 588): EIO');
    line.setVolts(false);
    expect(edges).toEqual([['door', false, 2_000_000]]);
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls[1]![0].message).toMatch(/input listener failed on "door": listener broke/);
  });
});

describe('RpiBoard outputs', () => {
  it('exports outputs straight at their electrical start level, never via "out"', () => {
    const { board, gpios } = pi5();
    board.addOutput('lock', { pin: 22, activeLow: true }, false); // relay released → 3.3 V
    board.addOutput('buzzer', { pin: 23, activeLow: false }, false); // off → 0 V
    board.addOutput('lamp', { pin: 5, activeLow: true }, true); // on, active-low → 0 V
    board.addOutput('fan', { pin: 6, activeLow: false }, true); // on → 3.3 V
    const line = (n: number) => gpios.lines.get(n)!;
    expect([line(593).direction, line(594).direction, line(576).direction, line(577).direction]).toEqual([
      'high',
      'low',
      'low',
      'high',
    ]);
    expect(line(593).options).toEqual({ activeLow: true });
    expect(line(593).edge).toBeUndefined();
    expect(gpios.log.filter((l) => l.startsWith('write'))).toEqual([]);
    expect(board.readOutput('lock')).toBe(false);
  });

  it('writes logical levels; the line applies the polarity', () => {
    const { board, gpios } = pi5();
    board.addOutput('lock', { pin: 22, activeLow: true }, false);
    const line = gpios.lines.get(593)!;
    expect(line.volts).toBe(true);
    board.write('lock', true);
    expect(gpios.log.at(-1)).toBe('write 593 1');
    expect(line.volts).toBe(false); // energised: active-low relay input pulled to 0 V
    expect(board.readOutput('lock')).toBe(true);
  });

  it('throws clear errors for unknown names', () => {
    const { board } = pi5();
    board.addOutput('lock', { pin: 22, activeLow: true }, false);
    expect(() => board.write('door', true)).toThrow('unknown output "door" (claimed outputs: "lock")');
    expect(() => board.readInput('lock')).toThrow('unknown input "lock" (claimed inputs: none)');
  });

  it('wraps a failed export with the pin, the name and a hint, and frees the claim', () => {
    const gpios = fakeGpios();
    let fail = true;
    const board = new RpiBoard({
      sysfsRoot: sysfs.root,
      gpioFactory: (n, d, e, o) => {
        if (fail) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return gpios.factory(n, d, e, o);
      },
    });
    expect(() => board.addOutput('lock', { pin: 22, activeLow: true }, false)).toThrow(
      'cannot claim GPIO 593 (BCM 22 on gpiochip571) for "lock": EACCES: permission denied ' +
        '(is the service user in the "gpio" group?)',
    );
    fail = false;
    board.addOutput('lock', { pin: 22, activeLow: true }, false);
    expect(gpios.lines.has(593)).toBe(true);
  });
});

describe('RpiBoard close', () => {
  it('writes every safe level before releasing any line', () => {
    const { board, gpios } = pi5();
    board.addOutput('lock', { pin: 22, activeLow: true }, false);
    board.addOutput('buzzer', { pin: 23, activeLow: false }, false);
    board.addInput('door', { pin: 17, activeLow: false, debounceMs: 50 });
    board.write('lock', true);
    board.write('buzzer', true);
    gpios.log.length = 0;
    board.close({ lock: false, buzzer: false });
    expect(gpios.log).toEqual([
      'write 593 0',
      'write 594 0',
      'unwatch 588',
      'unexport 588',
      'unexport 593',
      'unexport 594',
    ]);
    expect(gpios.lines.get(593)!.volts).toBe(true); // relay released
    expect(() => board.write('lock', true)).toThrow(/closed/);
  });

  it('keeps going when one line fails, then reports every failure', () => {
    const { board, gpios } = pi5();
    board.addOutput('lock', { pin: 22, activeLow: true }, true);
    board.addOutput('buzzer', { pin: 23, activeLow: false }, true);
    const lock = gpios.lines.get(593)!;
    lock.writeSync = () => {
      throw new Error('EIO');
    };
    let thrown: unknown;
    try {
      board.close({ lock: false, buzzer: false });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AggregateError);
    expect((thrown as AggregateError).message).toBe(
      'closing the GPIO board: writing the safe level of "lock": EIO',
    );
    expect(gpios.log.slice(-3)).toEqual(['write 594 0', 'unexport 593', 'unexport 594']);
  });

  it('cancels the pending start reads', () => {
    const { board, edges } = pi5();
    board.addInput('door', { pin: 17, activeLow: false, debounceMs: 50 });
    board.close();
    vi.advanceTimersByTime(100);
    expect(edges).toEqual([]);
  });
});
