/**
 * The access-relevant part of the config (controller/config/access.ts): every key of the schema is
 * classified, the part journaled at each start holds no operational key and no secret, and the diff
 * names exactly the keys that changed.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { z } from 'zod';
import {
  accessView,
  CONFIG_KEY_CLASSES,
  type Config,
  ConfigSchema,
  classOf,
  diffAccess,
  type Json,
  OPERATIONAL_SECTIONS,
  parseConfig,
} from '../../controller/config/index.js';

/** Every leaf key path of a zod schema, `[]` standing for a list's elements. */
function leafPaths(schema: z.ZodType, path: string, out: Set<string>): Set<string> {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  const inner = (s: unknown) => leafPaths(s as z.ZodType, path, out);
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>))
        leafPaths(v, path === '' ? k : `${path}.${k}`, out);
      return out;
    case 'optional':
    case 'default':
    case 'nullable':
    case 'readonly':
    case 'prefault':
    case 'catch':
      return inner(def.innerType);
    case 'pipe':
      return inner(def.in);
    case 'array':
      return leafPaths(def.element as z.ZodType, `${path}[]`, out);
    case 'union':
      for (const o of def.options as z.ZodType[]) inner(o);
      return out;
    default:
      out.add(path);
      return out;
  }
}

const SCHEMA_LEAVES = [...leafPaths(ConfigSchema, '', new Set())];

const base = () => ({
  site: { id: 'hq', name: 'HQ' },
  controller: { id: 'ctl-1' },
  storage: { path: '/var/lib/sekisho' },
  board: { kind: 'rpi' },
  mqtt: {
    url: 'mqtts://broker.example:8883',
    username: 'sekisho',
    passwordFile: '/etc/sekisho/mqtt-password',
    ca: '/etc/sekisho/ca.pem',
    cert: '/etc/sekisho/client.pem',
    key: '/etc/sekisho/client-key.pem',
  },
  holidays: ['2026-01-01'],
  schedules: [{ id: 'office-hours', windows: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '18:00' }] }],
  readers: [
    { id: 'entry', path: '/dev/ttyAMA0', protocol: 'rdm6300' },
    { id: 'exit', path: '/dev/ttyUSB0', protocol: 'line' },
  ],
  doors: [
    {
      id: 'machine-room',
      name: 'マシン室',
      entryReader: 'entry',
      exitReader: 'exit',
      contact: { pin: 17 },
      lock: { pin: 22, failMode: 'fail-secure' },
    },
  ],
});
const parse = (cfg: unknown): Config => parseConfig(stringify(cfg));

describe('the classification of config keys', () => {
  it('covers every key of the schema: a new key fails here until it is classified', () => {
    expect(SCHEMA_LEAVES.length).toBeGreaterThan(60);
    const unclassified = SCHEMA_LEAVES.filter((p) => classOf(p) === undefined);
    expect(unclassified).toEqual([]);
  });

  it('finds a key the schema does not list as unclassified (the check above can fail)', () => {
    expect(classOf('doors[].secondLock')).toBeUndefined();
    expect(classOf('visitors.newRule')).toBeUndefined();
    expect(classOf('schedules[].anything')).toBe('access');
    expect(classOf('mqtt.newOption')).toBe('operational');
  });

  it('names only keys that exist (no stale entries)', () => {
    for (const pattern of Object.keys(CONFIG_KEY_CLASSES))
      expect(
        SCHEMA_LEAVES.some(
          (l) => l === pattern || l.startsWith(`${pattern}.`) || l.startsWith(`${pattern}[]`),
        ),
        pattern,
      ).toBe(true);
  });

  it('classifies what decides who may enter when as access-relevant', () => {
    for (const p of [
      'timeZone',
      'holidays',
      'schedules[].always',
      'schedules[].windows[].from',
      'schedules[].includeHolidays',
      'board.kind',
      'readers[].protocol',
      'readers[].linePattern',
      'doors[].entryReader',
      'doors[].lock.activeLow',
      'doors[].lock.failMode',
      'doors[].unlockMs',
      'doors[].relockOnClose',
      'doors[].exitButton.pin',
      'visitors.escortExit',
      'visitors.maxVisitorsPerEscort',
      'visitors.antiPassback.mode',
      'visitors.badgeValidity',
    ])
      expect(classOf(p), p).toBe('access');
  });

  it('keeps the sections that hold secrets and their paths operational', () => {
    for (const s of OPERATIONAL_SECTIONS) expect(classOf(s)).toBe('operational');
    for (const p of ['mqtt.passwordFile', 'mqtt.key', 'mqtt.cert', 'mqtt.ca', 'storage.path'])
      expect(classOf(p), p).toBe('operational');
  });
});

describe('the access view', () => {
  it('holds the access-relevant keys with their defaults, and no operational key or secret', () => {
    const view = accessView(parse(base()));
    expect(Object.keys(view).sort()).toEqual(
      ['board', 'clock', 'demo', 'doors', 'holidays', 'readers', 'schedules', 'timeZone', 'visitors'].sort(),
    );
    // Only the policy decides who enters; how the clock is watched is operational.
    expect(view.clock).toEqual({ whenUnsynchronised: 'normal' });
    const text = JSON.stringify(view);
    for (const secret of ['mqtt', 'password', 'client-key', 'broker.example', '/var/lib/sekisho', 'HQ'])
      expect(text).not.toContain(secret);
    expect(view.readers).toEqual([
      { id: 'entry', path: '/dev/ttyAMA0', protocol: 'rdm6300', linePattern: '^[0-9A-Fa-f]{4,32}$' },
      { id: 'exit', path: '/dev/ttyUSB0', protocol: 'line', linePattern: '^[0-9A-Fa-f]{4,32}$' },
    ]);
    const door = (view.doors as Record<string, Json>[])[0]!;
    expect(door).not.toHaveProperty('name');
    expect(door).not.toHaveProperty('buzzer');
    expect(door).toMatchObject({ unlockMs: 5000, relockOnClose: true, lock: { activeLow: false } });
    expect(view.visitors).toMatchObject({ escortExit: 'refuse', maxVisitorsPerEscort: 3 });
  });

  it('keeps a key no pattern covers (a key is journaled unless classified operational)', () => {
    const cfg = { ...parse(base()), futureRule: { open: true } } as unknown as Config;
    expect(accessView(cfg).futureRule).toEqual({ open: true });
  });
});

describe('the diff of two access views', () => {
  const before = accessView(parse(base()));

  it('is empty for the same rules, however the file is written', () => {
    const same = base();
    same.site.name = 'Renamed';
    same.mqtt.username = 'other';
    (same.doors[0] as Record<string, unknown>).name = 'Server room';
    expect(diffAccess(before, accessView(parse(same)))).toEqual([]);
  });

  it('names each changed key with its old and new value: a 24/7 schedule, a holiday, a relaxed visitor rule', () => {
    const cfg = base() as Record<string, unknown> & ReturnType<typeof base>;
    (cfg.schedules[0] as Record<string, unknown>).always = true;
    cfg.holidays = ['2026-01-01', '2026-12-29'];
    cfg.visitors = { escortExit: 'allow_and_alarm', maxVisitorsPerEscort: 10 } as never;
    expect(diffAccess(before, accessView(parse(cfg)))).toEqual([
      { path: 'holidays', old: ['2026-01-01'], new: ['2026-01-01', '2026-12-29'] },
      { path: 'schedules[office-hours].always', old: false, new: true },
      { path: 'visitors.escortExit', old: 'refuse', new: 'allow_and_alarm' },
      { path: 'visitors.maxVisitorsPerEscort', old: 3, new: 10 },
    ]);
  });

  it('names a loosened clock policy (a change another person must review), not how the clock is watched', () => {
    const cfg = base() as Record<string, unknown> & ReturnType<typeof base>;
    const strict = { ...cfg, clock: { whenUnsynchronised: 'staff_always_only' } };
    const loose = {
      ...cfg,
      clock: { whenUnsynchronised: 'normal', stepThresholdMs: 10_000, syncCheckS: 60 },
    };
    expect(diffAccess(accessView(parse(strict)), accessView(parse(loose)))).toEqual([
      { path: 'clock.whenUnsynchronised', old: 'staff_always_only', new: 'normal' },
    ]);
  });

  it('matches lists of things with ids by id, and reports added and removed ones whole', () => {
    const cfg = base();
    cfg.schedules.reverse();
    cfg.schedules.push({ id: 'night', windows: [{ days: [0, 6], from: '00:00', to: '24:00' }] });
    cfg.readers[1]!.protocol = 'rdm6300';
    (cfg.doors[0] as Record<string, unknown>).exitReader = undefined;
    const changes = diffAccess(before, accessView(parse(cfg)));
    expect(changes.map((c) => c.path)).toEqual([
      'doors[machine-room].exitReader',
      'readers[exit].protocol',
      'schedules[night]',
    ]);
    expect(changes[0]).toEqual({ path: 'doors[machine-room].exitReader', old: 'exit' });
    expect(changes[2]).toMatchObject({ new: { id: 'night', always: false, includeHolidays: false } });
    expect(changes[2]).not.toHaveProperty('old');
  });

  it('lists the whole access-relevant config as new on the baseline', () => {
    const changes = diffAccess({}, before);
    expect(changes.map((c) => c.path)).toEqual(Object.keys(before).sort());
    expect(changes.every((c) => !('old' in c))).toBe(true);
  });
});
