import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '../../controller/config/index.js';
import { minimalConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/util.js';

const base = () => minimalConfig();

function problems(cfg: unknown): string[] {
  try {
    parseConfig(stringify(cfg));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  it('accepts a minimal config and fills safe defaults', () => {
    const cfg = parseConfig(stringify(base()));
    expect(cfg.timeZone).toBe('Asia/Tokyo');
    expect(cfg.storage.retentionYears).toBe(5);
    expect(cfg.dashboard).toEqual({
      host: '127.0.0.1',
      port: 8080,
      allowPlainHttp: false,
      secureCookies: false,
      sessionWarningSeconds: 120,
      monitorSessionDays: 30,
    });
    const door = cfg.doors[0]!;
    expect(door.unlockMs).toBe(5000);
    expect(door.contact).toEqual({ pin: 17, activeLow: true, debounceMs: 50 });
    expect(cfg.readers[0]!.repeatSuppressMs).toBe(1000);
  });

  it('names the path and the reason of a wrong type', () => {
    const cfg = base();
    (cfg.doors[0]!.lock as { pin: unknown }).pin = 'twenty-two';
    expect(problems(cfg)).toContain('doors[0].lock.pin: expected integer');
  });

  it('rejects a fractional pin, an unknown key and a bad time zone', () => {
    const cfg = base() as ReturnType<typeof base> & Record<string, unknown>;
    cfg.doors[0]!.contact.pin = 17.5;
    cfg.timeZone = 'Mars/Olympus';
    cfg.colour = 'red';
    const p = problems(cfg);
    expect(p).toContain('doors[0].contact.pin: expected integer');
    expect(p).toContain('timeZone: unknown IANA time zone');
    expect(p).toContain('(root): unknown key "colour"');
  });

  it('refuses a door whose reader does not exist, and a reader used twice', () => {
    const cfg = base() as ReturnType<typeof base>;
    (cfg.doors[0] as Record<string, unknown>).exitReader = 'entry';
    expect(problems(cfg)).toContain(
      'doors[0].exitReader: reader "entry" is already used as machine-room.entryReader',
    );
    cfg.doors[0]!.entryReader = 'nope';
    delete (cfg.doors[0] as Record<string, unknown>).exitReader;
    expect(problems(cfg)).toContain('doors[0].entryReader: no reader with id "nope"');
  });

  it('refuses one GPIO pin for two purposes', () => {
    const cfg = base();
    cfg.doors[0]!.lock.pin = 17;
    expect(problems(cfg)).toContain('doors[0].lock.pin: GPIO 17 is already used by doors[0].contact');
  });

  it('refuses a non-mqtt broker URL and a simulated reader on real hardware', () => {
    const cfg = { ...base(), mqtt: { url: 'http://broker:1883' }, board: { kind: 'rpi' } };
    cfg.readers[0]!.path = 'sim';
    const p = problems(cfg);
    expect(p.some((x) => x.startsWith('mqtt.url:'))).toBe(true);
    expect(p).toContain('readers[0].path: a simulated reader ("sim") needs board.kind: sim');
  });

  it('refuses a schedule window that crosses midnight', () => {
    const cfg = {
      ...base(),
      schedules: [{ id: 'night', windows: [{ days: [1], from: '22:00', to: '06:00' }] }],
    };
    expect(problems(cfg).join('\n')).toMatch(
      /schedules\[0\]: windows\[0\]: "from" 22:00 must be before "to" 06:00/,
    );
  });

  it('refuses a line reader pattern that is not a regular expression', () => {
    const cfg = base();
    (cfg.readers[0] as Record<string, unknown>).linePattern = '^[0-9A-F';
    expect(problems(cfg)).toContain('readers[0].linePattern: not a valid regular expression');
  });

  it('gives each reader a byte budget: defaults, partial overrides, and limits', () => {
    const cfg = base();
    expect(parseConfig(stringify(cfg)).readers[0]!.byteBudget).toEqual({
      factor: 10,
      windowMs: 1000,
      coolDownMs: 5000,
      maxCoolDownMs: 300_000,
      quietMs: 300_000,
    });
    (cfg.readers[0] as Record<string, unknown>).byteBudget = { factor: 2.5, coolDownMs: 30_000 };
    expect(parseConfig(stringify(cfg)).readers[0]!.byteBudget).toEqual({
      factor: 2.5,
      windowMs: 1000,
      coolDownMs: 30_000,
      maxCoolDownMs: 300_000,
      quietMs: 300_000,
    });
    // A first cool-down longer than the default ceiling raises the ceiling, rather than an error
    // about a key that was not written.
    (cfg.readers[0] as Record<string, unknown>).byteBudget = { coolDownMs: 600_000 };
    expect(parseConfig(stringify(cfg)).readers[0]!.byteBudget).toMatchObject({
      coolDownMs: 600_000,
      maxCoolDownMs: 600_000,
    });
    (cfg.readers[0] as Record<string, unknown>).byteBudget = { maxCoolDownMs: 60_000, quietMs: 0 };
    expect(parseConfig(stringify(cfg)).readers[0]!.byteBudget).toMatchObject({
      coolDownMs: 5000,
      maxCoolDownMs: 60_000,
      quietMs: 0,
    });
    (cfg.readers[0] as Record<string, unknown>).byteBudget = {
      factor: 1,
      windowMs: 50,
      coolDownMs: 2.5,
      burst: 3,
    };
    const p = problems(cfg);
    expect(p).toContain('readers[0].byteBudget.factor: Too small: expected number to be >=1.2');
    expect(p).toContain('readers[0].byteBudget.windowMs: must be 100–60000 ms');
    expect(p).toContain('readers[0].byteBudget.coolDownMs: expected integer');
    expect(p).toContain('readers[0].byteBudget: unknown key "burst"');
    (cfg.readers[0] as Record<string, unknown>).byteBudget = {
      coolDownMs: 10_000,
      maxCoolDownMs: 5000,
      quietMs: -1,
    };
    const q = problems(cfg);
    expect(q).toContain(
      'readers[0].byteBudget.maxCoolDownMs: 5000 is shorter than coolDownMs (10000): it is the longest cool-down, coolDownMs the first',
    );
    expect(q).toContain('readers[0].byteBudget.quietMs: must be 0–86400000 ms');
    (cfg.readers[0] as Record<string, unknown>).byteBudget = { maxCoolDownMs: 7_200_000 };
    expect(problems(cfg)).toContain('readers[0].byteBudget.maxCoolDownMs: must be 100–3600000 ms');
  });

  it('refuses a schedule that would redefine the built-in "always"', () => {
    const cfg = {
      ...base(),
      schedules: [{ id: 'always', windows: [{ days: [1], from: '09:00', to: '17:00' }] }],
    };
    expect(problems(cfg)).toContain(
      'schedules[0].id: "always" is the built-in schedule (every day, all day); choose another id',
    );
  });

  it('reports YAML syntax errors with a line', () => {
    expect(() => parseConfig('site: {id: x\n  name: [')).toThrow(/YAML line/);
  });

  it('resolves storage.path relative to the config file, and reports a missing file', () => {
    const dir = tempDir('sekisho-cfg-');
    const file = join(dir, 'c.yaml');
    writeFileSync(file, stringify({ ...base(), storage: { path: './data' } }));
    expect(loadConfig(file).storageDir).toBe(join(dir, 'data'));
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read file: ENOENT/);
  });

  it('the shipped example configs are valid', () => {
    expect(loadConfig('config/sim.yaml').config.board.kind).toBe('sim');
  });
});
