/**
 * Which config keys decide who may enter when (POLICY §4(3), §8(1)①, issue #14 path 8), in one
 * place: the part of the config that every start journals (`config_loaded`) and whose changes
 * another person must acknowledge. docs/config.md ("What is journaled") lists the same table.
 *
 * A pattern is a key path with `[]` for any element of a list; it classifies its whole subtree.
 * tests/config/access.test.ts walks the schema and fails for any key that no pattern covers, so a new
 * key cannot be added without being classified here. At run time a key that no pattern covers is
 * treated as access-relevant (journaled), never dropped.
 */
import type { Config } from './schema.js';

export type KeyClass = 'access' | 'operational';

/**
 * Sections that say how the controller names itself, stores, serves and talks — never who may
 * enter: everything under them is operational by rule (the keys that hold secrets or the paths of
 * secrets are all here, so no secret ever reaches a journal row).
 */
export const OPERATIONAL_SECTIONS = ['site', 'controller', 'storage', 'dashboard', 'mqtt'] as const;

/** Every other key, classified one by one (a pattern classifies its subtree). */
export const CONFIG_KEY_CLASSES: Readonly<Record<string, KeyClass>> = {
  ...Object.fromEntries(OPERATIONAL_SECTIONS.map((s) => [s, 'operational' as const])),
  // How many backups `sekisho backup` keeps in its folder.
  backup: 'operational',
  // How the printed ledger looks (seal boxes, era dates): presentation, never who may enter.
  ledger: 'operational',
  // Which release key `sekisho upgrade` trusts: the trust anchor of the code that drives the doors,
  // so a change is journaled and acknowledged like an access rule.
  upgrade: 'access',
  // The local day and time every schedule, holiday and visitor deadline is read in.
  timeZone: 'access',
  // A simulated board drives no lock (a fail-safe maglock stays open) and lets the API present badges.
  board: 'access',
  holidays: 'access',
  schedules: 'access',
  // Which reader serves which door, and what it accepts as a credential.
  'readers[].id': 'access',
  'readers[].path': 'access',
  'readers[].protocol': 'access',
  'readers[].linePattern': 'access',
  'readers[].baudRate': 'operational',
  'readers[].repeatSuppressMs': 'operational',
  'readers[].offlineAfterMs': 'operational',
  'readers[].reconnect': 'operational',
  'readers[].byteBudget': 'operational',
  // An OSDP reader's address picks which unit on the bus answers for the door, and `secure` how
  // its line is protected: both decide who gets in, so the whole block is an access rule.
  'readers[].osdp': 'access',
  // The door: its readers, exit button, lock, unlock times, and what notices a forced or held door.
  'doors[].id': 'access',
  'doors[].name': 'operational',
  'doors[].entryReader': 'access',
  'doors[].exitReader': 'access',
  'doors[].exitButton': 'access',
  'doors[].contact': 'access',
  'doors[].lock': 'access',
  'doors[].buzzer': 'operational',
  'doors[].tamper': 'access',
  'doors[].unlockMs': 'access',
  'doors[].heldOpenMs': 'access',
  'doors[].preAlarmMs': 'access',
  'doors[].relockOnClose': 'access',
  'doors[].requireCommissioning': 'access',
  // Visitor rules: escorts, hand-overs, anti-passback, the room secured, badge validity.
  'visitors.escortWindowS': 'access',
  'visitors.maxVisitorsPerEscort': 'access',
  'visitors.escortExit': 'access',
  'visitors.handoverWindowS': 'access',
  'visitors.antiPassback': 'access',
  'visitors.roomSecureS': 'access',
  // The end of day also ends a visitor badge issued "until end of day".
  'visitors.endOfDay': 'access',
  'visitors.badgeValidity': 'access',
  // Which grants are still given while the clock is not synchronised; how steps are seen is not.
  'clock.whenUnsynchronised': 'access',
  'clock.stepThresholdMs': 'operational',
  'clock.syncCheckS': 'operational',
  // Simulation only: seeds people with badges and door permissions.
  demo: 'access',
  // The power-fail input stops the controller (a fail-safe maglock opens once the Pi is off), and
  // where the UPS's state comes from decides when: journaled. How the link is run is operational.
  'power.graceS': 'access',
  'power.shutdownCommand': 'access',
  'power.shutdownTimeoutS': 'operational',
  'power.gpio': 'access',
  'power.nut.host': 'access',
  'power.nut.port': 'access',
  'power.nut.ups': 'access',
  'power.nut.onLost': 'access',
  'power.nut.username': 'operational',
  'power.nut.passwordFile': 'operational',
  'power.nut.allowPlainPassword': 'operational',
  'power.nut.pollS': 'operational',
  'power.nut.timeoutS': 'operational',
};

/** The class of a key path pattern: its own entry or its nearest classified ancestor's; undefined if none. */
export function classOf(pattern: string): KeyClass | undefined {
  let p = pattern;
  for (;;) {
    const c = CONFIG_KEY_CLASSES[p];
    if (c !== undefined) return c;
    const cut = Math.max(p.lastIndexOf('.'), p.endsWith('[]') ? p.length - 2 : -1);
    if (cut <= 0) return undefined;
    p = p.slice(0, cut);
  }
}

/** A JSON value as the journal stores it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function project(value: unknown, pattern: string): Json | undefined {
  if (value === undefined) return undefined;
  const cls = pattern === '' ? undefined : CONFIG_KEY_CLASSES[pattern];
  if (cls === 'operational') return undefined;
  if (cls === 'access') return toJson(value);
  if (Array.isArray(value)) return value.map((x) => project(x, `${pattern}[]`) ?? null);
  if (isPlainObject(value)) {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
      const p = project(v, pattern === '' ? k : `${pattern}.${k}`);
      if (p !== undefined) out[k] = p;
    }
    return out;
  }
  return toJson(value);
}

function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

/**
 * The access-relevant part of a parsed config (defaults filled in): the config without its
 * operational keys. Plain JSON, for the `config_loaded` row.
 */
export function accessView(config: Config): { [key: string]: Json } {
  return project(config, '') as { [key: string]: Json };
}

/** One changed key: `old` absent = the key is new, `new` absent = it was removed. */
export interface ConfigChange {
  /** e.g. `schedules[office-hours].always`, `holidays`, `visitors.escortExit`. */
  path: string;
  old?: Json;
  new?: Json;
}

function equal(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: Json | undefined): Json | undefined {
  if (Array.isArray(v)) return v.map((x) => canonical(x) ?? null);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k]) ?? null]),
    );
  return v;
}

/** A list of objects that each have a distinct string `id`: compared element by element, by id. */
function byId(v: Json | undefined): Map<string, Json> | null {
  if (!Array.isArray(v)) return null;
  const m = new Map<string, Json>();
  for (const x of v) {
    if (x === null || typeof x !== 'object' || Array.isArray(x) || typeof x.id !== 'string') return null;
    if (m.has(x.id)) return null;
    m.set(x.id, x);
  }
  return m;
}

function walk(a: Json | undefined, b: Json | undefined, path: string, out: ConfigChange[]): void {
  if (equal(a, b)) return;
  const change = (): void => {
    out.push({ path, ...(a === undefined ? {} : { old: a }), ...(b === undefined ? {} : { new: b }) });
  };
  const ia = byId(a);
  const ib = byId(b);
  if (ia && ib) {
    for (const id of new Set([...ia.keys(), ...ib.keys()]))
      walk(ia.get(id), ib.get(id), `${path}[${id}]`, out);
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort()) walk(a[k], b[k], path === '' ? k : `${path}.${k}`, out);
    return;
  }
  change();
}

/**
 * The changes from one access view to another: objects key by key, lists of objects with ids
 * element by element (`doors[machine-room].unlockMs`), any other list or value as a whole.
 */
export function diffAccess(before: Json, after: Json): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(before, after, '', out);
  return out;
}
