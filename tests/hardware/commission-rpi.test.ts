/**
 * The commissioning walk on the Raspberry Pi board's own code (RpiBoard, sysfs numbers from the
 * gpiochip, polarity), with onoff's lines replaced by fakes whose volts the test sets: the lock's
 * pin at each moment, the inputs' edges, and the lock secured after an interruption and after an
 * error. The command around it (the lock file, signals, the simulation channel) is in
 * tests/integration/commission.test.ts.
 */

import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AnswerSource } from '../../controller/commission/answers.js';
import { messages } from '../../controller/commission/messages.js';
import { Commissioning } from '../../controller/commission/run.js';
import { parseConfig } from '../../controller/config/index.js';
import { isRecordOf } from '../../controller/domain/index.js';
import { openStorage } from '../../controller/storage.js';
import { claimDoorPins, RpiBoard } from '../../hardware/index.js';
import { doorConfig, tempDir } from '../helpers/controller.js';
import { fakeGpios } from './fake-gpio.js';
import { fakeSysfs } from './fake-sysfs.js';

const BASE = 512;

function setUp(timeoutMs = 5000) {
  const dir = tempDir('sekisho-commission-rpi-');
  const cfg = parseConfig(
    stringify(
      doorConfig(dir, [{ id: 'entry', path: join(dir, 'no-such-tty'), protocol: 'rdm6300' }], {
        board: { kind: 'rpi', chipLabels: ['pinctrl-bcm2711'] },
      }),
    ),
  );
  const sysfs = fakeSysfs([{ label: 'pinctrl-bcm2711', base: BASE, ngpio: 58 }]);
  const gpios = fakeGpios();
  const board = new RpiBoard({
    chipLabels: cfg.board.chipLabels,
    sysfsRoot: sysfs.root,
    gpioFactory: gpios.factory,
  });
  claimDoorPins(board, cfg.doors);
  const storage = openStorage({ config: cfg, file: join(dir, 'config.yaml'), storageDir: join(dir, 'data') });
  const stdin = new PassThrough();
  const waiting: string[] = [];
  const announced = new Set<(step: string) => void>();
  let out = '';
  const runner = (over: { confirmOutputs?: boolean; skip?: [string, string][] } = {}) =>
    new Commissioning({
      config: cfg,
      board,
      storage,
      actor: 'cli:tanaka/sekisho',
      say: messages('en'),
      answers: new AnswerSource(stdin, false),
      out: (t) => {
        out += t;
      },
      timeoutMs,
      confirmOutputs: over.confirmOutputs ?? false,
      skip: new Map(over.skip ?? []),
      announce: (line) => {
        if (!line.startsWith('waiting ')) return;
        const step = line.slice(8);
        waiting.push(step);
        for (const f of [...announced]) f(step);
      },
    });
  /** Resolves when a step starts waiting. */
  const when = (step: string) =>
    new Promise<void>((resolve) => {
      if (waiting.includes(step)) return resolve();
      const f = (s: string) => {
        if (s !== step) return;
        announced.delete(f);
        resolve();
      };
      announced.add(f);
    });
  const line = (pin: number) => gpios.lines.get(BASE + pin)!;
  return { cfg, board, storage, stdin, runner, when, line, gpios, sysfs, out: () => out };
}

type Setup = ReturnType<typeof setUp>;

describe('commissioning on the Raspberry Pi board', () => {
  let t: Setup | undefined;
  afterEach(() => {
    t?.storage.db.close();
    t?.sysfs.remove();
    t = undefined;
  });

  // The door: lock BCM 22 active-low fail-secure (locked = relay off = 3.3 V on the pin),
  // contact BCM 17, exit button 27, tamper 24, all active-low (pulled up: 3.3 V = inactive).
  const lockVolts = (s: Setup) => s.line(22).volts;
  const press = (s: Setup, pin: number, active: boolean) => s.line(pin).setVolts(!active);

  it('drives the real lock pin, reads the real input edges, and ends secured', async () => {
    t = setUp();
    const s = t;
    const run = s.runner({
      skip: [
        ['reader_card:entry', 'no card'],
        ['reader_unplugged:entry', 'UART'],
      ],
    });
    expect(lockVolts(s)).toBe(true); // claimed secured
    const walk = run.door(s.cfg.doors[0]!);

    await s.when('lock_release');
    expect(lockVolts(s)).toBe(false); // relay energised: strike released
    s.stdin.write('y\n');
    await s.when('lock_relock');
    expect(lockVolts(s)).toBe(true);
    s.stdin.write('y\nn it did not sound\n');
    await s.when('contact_open');
    press(s, 17, true);
    await s.when('contact_closed');
    press(s, 17, false);
    await s.when('exit_button');
    press(s, 27, true);
    press(s, 27, false);
    await s.when('tamper');
    press(s, 24, true);
    press(s, 24, false);

    const row = (await walk)!;
    run.close();
    expect(lockVolts(s)).toBe(true);
    expect(isRecordOf(row, 'door_commissioned')).toBe(true);
    if (!isRecordOf(row, 'door_commissioned')) return;
    expect(row.actor).toBe('cli:tanaka/sekisho');
    expect(row.data.board).toBe('rpi');
    expect(row.data.outcome).toBe('failed');
    expect(row.data.steps.map((x) => `${x.id}:${x.result}`)).toEqual([
      'lock_release:passed',
      'lock_relock:passed',
      'buzzer:failed',
      'contact_open:passed',
      'contact_closed:passed',
      'exit_button:passed',
      'tamper:passed',
      'reader_card:entry:skipped',
      'reader_unplugged:entry:skipped',
    ]);
    expect(row.data.steps[2]!.reason).toBe('it did not sound');
    // The lock was written released once and secured at every other moment.
    const lockWrites = s.gpios.log.filter((l) => l.startsWith(`write ${BASE + 22} `));
    expect(lockWrites.filter((l) => l.endsWith(' 1'))).toHaveLength(1);
    expect(lockWrites.at(-1)).toBe(`write ${BASE + 22} 0`);
  });

  it('abort() in the middle of the release secures the lock at once and records the interruption', async () => {
    t = setUp();
    const s = t;
    const run = s.runner();
    void run.door(s.cfg.doors[0]!);
    await s.when('lock_release');
    expect(lockVolts(s)).toBe(false);
    const row = run.abort('SIGINT');
    expect(lockVolts(s)).toBe(true);
    expect(row && isRecordOf(row, 'door_commissioned') && row.data.outcome).toBe('interrupted');
    run.close();
  });

  it('an input that breaks fails its step, and the walk goes on with the lock secured', async () => {
    t = setUp(1000);
    const s = t;
    const run = s.runner({
      confirmOutputs: true,
      skip: [
        ['reader_card:entry', 'x'],
        ['reader_unplugged:entry', 'x'],
      ],
    });
    const walk = run.door(s.cfg.doors[0]!);
    await s.when('contact_open');
    s.line(17).unexport(); // the line is gone: reads throw
    s.line(17).fail(new Error('EIO'));
    await s.when('contact_closed');
    expect(lockVolts(s)).toBe(true);
    await s.when('exit_button');
    press(s, 27, true);
    press(s, 27, false);
    await s.when('tamper');
    press(s, 24, true);
    press(s, 24, false);
    const row = (await walk)!;
    run.close();
    expect(lockVolts(s)).toBe(true);
    if (!isRecordOf(row, 'door_commissioned')) throw new Error('not a commissioning');
    expect(row.data.steps.find((x) => x.id === 'lock_release')).toMatchObject({
      result: 'passed',
      answeredBy: 'flag',
    });
    expect(row.data.steps.find((x) => x.id === 'contact_open')).toMatchObject({
      result: 'failed',
      reason: 'timeout: nothing seen within 1 s',
    });
  });
});
