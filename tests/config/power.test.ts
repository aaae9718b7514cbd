import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../controller/config/index.js';
import { minimalConfig } from '../helpers/config.js';

const base = (power: unknown) => minimalConfig({ power });

function problems(power: unknown): string[] {
  try {
    parseConfig(stringify(base(power)));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

describe('power:', () => {
  it('fills the defaults of both sources', () => {
    expect(parseConfig(stringify(base({ gpio: { onBattery: { pin: 25 } } }))).power).toEqual({
      graceS: 60,
      shutdownTimeoutS: 60,
      gpio: { onBattery: { pin: 25, activeLow: true, debounceMs: 200 } },
    });
    expect(parseConfig(stringify(base({ nut: { ups: 'ups' } }))).power?.nut).toEqual({
      host: '127.0.0.1',
      port: 3493,
      ups: 'ups',
      allowPlainPassword: false,
      pollS: 2,
      timeoutS: 5,
      onLost: 'report',
    });
  });

  it('needs exactly one source', () => {
    expect(problems({ graceS: 10 })).toEqual([
      'power: needs a source: power.gpio (a UPS contact on a GPIO pin) or power.nut (upsd)',
    ]);
    expect(problems({ gpio: { onBattery: { pin: 25 } }, nut: { ups: 'u' } })).toEqual([
      'power: power.gpio and power.nut are exclusive: give one source',
    ]);
  });

  it('one pin, one purpose: the doors’ pins and each other’s', () => {
    expect(problems({ gpio: { onBattery: { pin: 17 } } })).toEqual([
      'power.gpio.onBattery.pin: GPIO 17 is already used by doors[0].contact',
    ]);
    expect(problems({ gpio: { onBattery: { pin: 5 }, lowBattery: { pin: 5 } } })).toEqual([
      'power.gpio.lowBattery.pin: GPIO 5 is already used by power.gpio.onBattery',
    ]);
  });

  it('refuses a password in clear text to another host, a half login, bad names and commands', () => {
    expect(
      problems({ nut: { host: 'ups.example', ups: 'u', username: 'x', passwordFile: '/etc/sekisho/nut' } }),
    ).toEqual([
      'power.nut.host: NUT would send the password in clear text to ups.example, which is not this device: run upsd on the Pi, or set power.nut.allowPlainPassword: true to accept that anyone on the network path can read it',
    ]);
    expect(
      parseConfig(
        stringify(
          base({
            nut: {
              host: 'ups.example',
              ups: 'u',
              username: 'x',
              passwordFile: '/p',
              allowPlainPassword: true,
            },
          }),
        ),
      ).power?.nut?.host,
    ).toBe('ups.example');
    expect(problems({ nut: { ups: 'u', username: 'x' } })).toEqual([
      'power.nut.passwordFile: username needs a passwordFile',
    ]);
    expect(problems({ nut: { ups: 'a ups' } })).toEqual([
      'power.nut.ups: expected the UPS name of ups.conf (letters, digits, ".", "_", "-")',
    ]);
    expect(problems({ shutdownCommand: ['systemctl', 'poweroff'], nut: { ups: 'u' } })).toEqual([
      'power.shutdownCommand: the program must be an absolute path',
    ]);
    expect(problems({ graceS: -1, nut: { ups: 'u', pollS: 0, onLost: 'panic' } })).toHaveLength(3);
    expect(problems({ nut: { ups: 'u', colour: 'red' } })).toEqual([
      expect.stringMatching(/^power\.nut: .*colour/),
    ]);
  });
});
