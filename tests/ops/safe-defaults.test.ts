/**
 * Safe defaults of the config: no board is no default (a forgotten `board:` must not turn a real
 * door controller into a simulation with demo accounts), and a broker password is not sent in clear
 * text to another host unless the config says so in as many words.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, isLoopbackHost, loadConfig, parseConfig } from '../../controller/config/index.js';
import { runChecks } from '../../controller/doctor.js';
import { brokerSettings, MqttSetupError } from '../../controller/mqtt/index.js';
import { fakeSysfs } from '../hardware/fake-sysfs.js';
import { minimalConfig } from '../helpers/config.js';
import { cli, doorConfig, simReaders } from '../helpers/controller.js';
import { tempDir } from '../helpers/util.js';

const base = (): Record<string, unknown> => minimalConfig({ board: { kind: 'rpi' } });

function problems(cfg: unknown): string[] {
  try {
    parseConfig(stringify(cfg));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

const BOARD_HELP =
  'write "board: { kind: rpi }" for the Raspberry Pi\'s GPIO pins, or "board: { kind: sim }" to simulate the doors (docs/simulation.md)';

describe('config: board', () => {
  it('a config without board is refused, naming the key and how to choose simulation', () => {
    const { board: _, ...noBoard } = base();
    expect(problems(noBoard)).toEqual([`board: required: there is no default board; ${BOARD_HELP}`]);
    expect(problems({ ...base(), board: null })).toEqual([
      `board: required: there is no default board; ${BOARD_HELP}`,
    ]);
    expect(problems({ ...base(), board: {} })).toEqual([`board.kind: required: ${BOARD_HELP}`]);
    expect(problems({ ...base(), board: { kind: 'pi' } })).toEqual(['board.kind: expected "rpi" or "sim"']);
    expect(parseConfig(stringify(base())).board.kind).toBe('rpi');
  });

  it('the shipped configs name their board', () => {
    expect(loadConfig('config/sim.yaml').config.board.kind).toBe('sim');
    expect(loadConfig('config/raspberry-pi.yaml').config.board.kind).toBe('rpi');
  });

  it('sekisho start refuses it before anything is created, and so does doctor', () => {
    const dir = tempDir('sekisho-noboard-');
    const { board: _, ...cfg } = doorConfig(dir, simReaders());
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify(cfg));
    for (const command of ['start', 'doctor']) {
      const r = cli([command, '--config', file]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`board: required: there is no default board; ${BOARD_HELP}`);
    }
    expect(existsSync(join(dir, 'data'))).toBe(false); // no journal, no demo accounts, no simulation
  }, 120_000);
});

describe('doctor: a simulation on a Raspberry Pi', () => {
  it('warns when board.kind is sim on a device with the Pi header chip', async () => {
    const dir = tempDir('sekisho-simpi-');
    const loaded = {
      config: parseConfig(stringify(doorConfig(dir, simReaders()))),
      file: join(dir, 'config.yaml'),
      storageDir: join(dir, 'data'),
    };
    const pi = fakeSysfs([{ label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }]);
    const onPi = await runChecks(loaded, { gpioRoot: pi.root });
    expect(onPi.find((c) => c.what === 'board')).toEqual({
      verdict: 'WARN',
      what: 'board',
      detail:
        "board.kind is sim on a device with the Raspberry Pi's GPIO (pinctrl-bcm2711): no door is driven, and demo " +
        'accounts and the simulation routes exist — set board.kind: rpi unless this is a test bench',
    });
    const desk = await runChecks(loaded, { gpioRoot: fakeSysfs([]).root });
    expect(desk.find((c) => c.what === 'board')).toBeUndefined();
    expect(desk.find((c) => c.what === 'gpio')).toEqual({
      verdict: 'OK',
      what: 'gpio',
      detail: 'simulated board (no GPIO used)',
    });
  });
});

describe('config: a broker password in clear text', () => {
  const mqtt = (m: Record<string, unknown>) => ({
    ...base(),
    mqtt: { username: 'sekisho', passwordFile: '/etc/sekisho/mqtt-password', ...m },
  });

  it('is refused over mqtt:// to another host, with the way out named', () => {
    for (const url of [
      'mqtt://broker.city.lan:1883',
      'mqtt://192.168.10.5',
      'mqtt://[fd00::5]',
      'mqtt://127.0.0.1.example.com',
    ]) {
      expect(problems(mqtt({ url }))).toEqual([
        `mqtt.url: mqtt:// would send the broker password in clear text to ${new URL(url).hostname.replace(/^\[|\]$/g, '')}, which is not this device: ` +
          'use mqtts:// (with mqtt.ca), or set mqtt.allowPlainPassword: true to accept that anyone on the network path can read it',
      ]);
    }
  });

  it('is accepted over mqtts://, to this device, with allowPlainPassword, or without a password', () => {
    const accepted = [
      mqtt({ url: 'mqtts://broker.city.lan:8883' }),
      mqtt({ url: 'mqtt://127.0.0.1:1883' }),
      mqtt({ url: 'mqtt://127.8.9.10' }),
      mqtt({ url: 'mqtt://localhost' }),
      mqtt({ url: 'mqtt://[::1]:1883' }),
      mqtt({ url: 'mqtt://broker.city.lan', allowPlainPassword: true }),
      { ...base(), mqtt: { url: 'mqtt://broker.city.lan', username: 'sekisho' } },
    ];
    for (const cfg of accepted) expect(() => parseConfig(stringify(cfg))).not.toThrow();
    expect(parseConfig(stringify(mqtt({ url: 'mqtt://localhost' }))).mqtt!.allowPlainPassword).toBe(false);
  });

  it('loopback is only this device', () => {
    for (const h of [
      'localhost',
      'LOCALHOST',
      'a.localhost',
      '127.0.0.1',
      '127.255.0.9',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of [
      '0.0.0.0',
      '10.0.0.1',
      '128.0.0.1',
      '127.0.0.1.nip.io',
      'localhost.example.com',
      '::2',
      'fe80::1',
    ])
      expect(isLoopbackHost(h)).toBe(false);
  });

  it('brokerSettings refuses it too when given a config that bypassed the schema', () => {
    const dir = tempDir('sekisho-pw-');
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'the-password\n', { mode: 0o600 });
    const m = parseConfig(stringify(mqtt({ url: 'mqtt://broker.city.lan', allowPlainPassword: true }))).mqtt!;
    expect(brokerSettings({ ...m, passwordFile: pw }, 'c').options.password).toBe('the-password');
    let err: unknown;
    try {
      brokerSettings({ ...m, passwordFile: pw, allowPlainPassword: false }, 'c');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MqttSetupError);
    expect((err as Error).message).toMatch(
      /refusing to send the broker password in clear text to broker\.city\.lan/,
    );
    expect((err as Error).message).not.toContain('the-password');
  });
});
