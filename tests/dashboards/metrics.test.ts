/**
 * `GET /metrics`: strict Prometheus text format 0.0.4, values that follow simulated badges and
 * alarms, authentication like every other route, and nothing personal or secret in it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Exposition, escapeLabelValue } from '../../dashboards/metrics.js';
import { until } from '../helpers/util.js';
import { type Client, makeDash, PASSWORD, type TestDash } from './helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

/**
 * A strict reader of the text exposition format 0.0.4, as this endpoint writes it: every family has
 * exactly one HELP and one TYPE line before its samples, samples of a family are contiguous, label
 * values use only the three escapes, no series repeats, counters are named `_total` and never
 * negative. Throws with the line number on anything else.
 */
function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text must end with a line feed');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: string | null = null;
  const lines = text.slice(0, -1).split('\n');
  for (const [i, line] of lines.entries()) {
    const fail = (why: string) => new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) (.*)$/.exec(line);
      if (!m) throw fail('a comment that is not HELP or TYPE');
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!NAME.test(name)) throw fail('bad metric name');
      let f = families.get(name);
      if (f && f.samples.length > 0) throw fail('HELP/TYPE after the samples of its family');
      if (!f) {
        f = { type: '', help: '', samples: [] };
        families.set(name, f);
      }
      current = name;
      if (kind === 'HELP') {
        if (f.help) throw fail('a second HELP');
        if (/\\[^\\n]/.test(rest.replaceAll('\\\\', ''))) throw fail('bad escape in HELP');
        f.help = rest.replaceAll('\\n', '\n').replaceAll('\\\\', '\\');
        if (!f.help) throw fail('empty HELP');
      } else {
        if (f.type) throw fail('a second TYPE');
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw fail('unknown type');
        f.type = rest;
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? ([^ ]+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw fail('not a sample');
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    // A summary's samples: the family's name with its quantiles, then `_sum` and `_count`.
    const summaryOf = current !== null && families.get(current)?.type === 'summary' ? current : null;
    const own = summaryOf !== null && (name === `${summaryOf}_sum` || name === `${summaryOf}_count`);
    if (name !== current && !own) throw fail('a sample outside its family (no TYPE/HELP just before it)');
    const f = families.get(current!)!;
    if (!f.type || !f.help) throw fail('a sample before its HELP and TYPE');
    const labels: Record<string, string> = {};
    if (labelText !== undefined) {
      let rest = labelText.slice(1, -1);
      while (rest.length > 0) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/.exec(rest);
        if (!lm) throw fail('bad label set');
        const [all, k, raw, comma] = lm as unknown as [string, string, string, string];
        if (!LABEL.test(k) || k.startsWith('__')) throw fail('bad label name');
        if (k in labels) throw fail('a label twice');
        labels[k] = raw.replace(/\\(\\|"|n)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(all.length);
        if (comma === ',' && rest.length === 0) throw fail('trailing comma');
      }
    }
    if (!FLOAT.test(valueText)) throw fail('bad value');
    const value = valueText.endsWith('Inf')
      ? valueText.startsWith('-')
        ? -Infinity
        : Infinity
      : Number(valueText);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(id)) throw fail('a series twice');
    series.add(id);
    if (f.type === 'counter') {
      if (!name.endsWith('_total')) throw fail('a counter not named _total');
      if (!(value >= 0)) throw fail('a negative counter');
    }
    f.samples.push({ name, labels, value });
  }
  for (const [name, f] of families) if (!f.type || !f.help) throw new Error(`${name}: HELP or TYPE missing`);
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`. */
function value(
  m: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const f = m.get(name);
  const found = f?.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)) ?? [];
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value;
}

describe('the strict parser', () => {
  it('accepts what the writer makes, escapes included, and refuses malformed text', () => {
    const text = new Exposition()
      .family('x_total', 'counter', 'a \\ help\nline', [[{ a: 'q"uo\\te\nnl' }, 3]])
      .single('y', 'gauge', 'y', Number.NaN)
      .text();
    const m = parseExposition(text);
    expect(m.get('x_total')).toMatchObject({
      type: 'counter',
      help: 'a \\ help\nline',
      samples: [{ labels: { a: 'q"uo\\te\nnl' }, value: 3 }],
    });
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const ok = '# HELP a_total h\n# TYPE a_total counter\na_total{x="1"} 1\n';
    expect(() => parseExposition(ok)).not.toThrow();
    for (const bad of [
      ok.slice(0, -1), // no final line feed
      '# TYPE a gauge\na 1\n', // no HELP
      '# HELP a h\na 1\n', // no TYPE
      '# HELP a h\n# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n', // a series twice
      '# HELP a h\n# TYPE a gauge\na{x="\\t"} 1\n', // bad escape
      '# HELP a h\n# TYPE a gauge\na{x="1",} 1\n', // trailing comma
      '# HELP a h\n# TYPE a gauge\na{x="1"} one\n', // bad value
      '# HELP a h\n# TYPE a counter\na 1\n', // a counter not named _total
      '# HELP a_total h\n# TYPE a_total counter\na_total -1\n', // negative counter
      '# HELP a h\n# TYPE a gauge\n# HELP b h\n# TYPE b gauge\na 1\n', // not contiguous
      '# HELP a h\n# TYPE a gauge\na 1\n# HELP a h\n', // HELP after samples
      '# a comment\n',
    ])
      expect(() => parseExposition(bad), JSON.stringify(bad)).toThrow();
  });
});

describe('GET /metrics', () => {
  let d: TestDash;
  let op: Client;
  const secrets: string[] = [];
  const scrape = async () => {
    const res = await d.app.inject({ method: 'GET', url: '/metrics', headers: d.bearer('metrics') });
    expect(res.statusCode, res.body).toBe(200);
    return { res, m: parseExposition(res.body) };
  };

  beforeAll(async () => {
    // A WAL checkpoint at every tick (the default waits for 1,000 pages), for the checkpoint figures.
    d = await makeDash({ storage: { walCheckpointPages: 0 } });
    op = await d.login('operator1');
    const r = d.controller.registry;
    const now = d.controller.now();
    const a = r.addPerson({ displayId: 'S-7731', name: '渡辺 花子', category: 'staff' }, 'test', now);
    const ba = r.addBadge({ personId: a.id, credential: '0A1B2C3D4E' }, 'test', now);
    r.grantDoor(a.id, 'machine-room', 'always', 'test', now);
    const b = r.addPerson(
      { displayId: 'C-8842', name: 'Quentin "Q" Contractor', category: 'contractor' },
      'test',
      now,
    );
    const bb = r.addBadge({ personId: b.id, credential: '1122334455' }, 'test', now);
    secrets.push(a.id, a.name, a.displayId, ba.id, ba.masked, '0A1B2C3D4E', b.id, b.name, b.displayId);
    secrets.push(bb.id, bb.masked, '1122334455', PASSWORD, 'operator1', 'admin1', 'Test admin1');
    secrets.push(...Object.values(d.tokens), ...Object.values(d.tokens).map((t) => t.slice(-43)));
  });
  afterAll(async () => {
    await d?.close();
  });

  it('answers 401 without a session or with a wrong token, 200 with a metrics token or a session', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { cookie: 'sekisho_session=forged' }]) {
      const res = await d.app.inject({ method: 'GET', url: '/metrics', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
      expect(res.body).not.toContain('sekisho_');
    }
    const { res } = await scrape();
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const viaSession = await op.get('/metrics');
    expect(viaSession.statusCode).toBe(200);
    expect(() => parseExposition(viaSession.body)).not.toThrow();
  });

  it("shows the controller's WAL checkpoints, their longest in seconds", async () => {
    await until(() => d.controller.status().journal.walCheckpoints.count > 0, 'a WAL checkpoint');
    const { m } = await scrape();
    const w = d.controller.status().journal.walCheckpoints; // read after the scrape: only ever higher
    const total = value(m, 'sekisho_wal_checkpoints_total')!;
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(w.count);
    const max = value(m, 'sekisho_wal_checkpoint_max_seconds')!;
    expect(max).toBeGreaterThan(0);
    expect(max).toBeLessThanOrEqual(w.maxMs / 1000); // seconds, not milliseconds
    expect(value(m, 'sekisho_wal_checkpoint_failures_total')).toBe(0);
    expect(value(m, 'sekisho_wal_pages')).toBeGreaterThan(0); // the log the checkpoints copied
    expect(m.get('sekisho_wal_pages')?.type).toBe('gauge');
  });

  it('is valid exposition text with the expected families, types and base units', async () => {
    const { m } = await scrape();
    for (const name of m.keys()) expect(name.startsWith('sekisho_'), name).toBe(true);
    const expected: Record<string, string> = {
      sekisho_info: 'gauge',
      sekisho_door_locked: 'gauge',
      sekisho_door_open: 'gauge',
      sekisho_door_mode: 'gauge',
      sekisho_reader_online: 'gauge',
      sekisho_alarms_active: 'gauge',
      sekisho_journal_head_seq: 'gauge',
      sekisho_journal_storage_ok: 'gauge',
      sekisho_journal_pending_writes: 'gauge',
      sekisho_wal_checkpoints_total: 'counter',
      sekisho_wal_checkpoint_failures_total: 'counter',
      sekisho_wal_checkpoint_max_seconds: 'gauge',
      sekisho_mqtt_connected: 'gauge',
      sekisho_mqtt_outbox_backlog: 'gauge',
      sekisho_process_uptime_seconds: 'gauge',
      sekisho_process_resident_memory_bytes: 'gauge',
      sekisho_process_heap_used_bytes: 'gauge',
      sekisho_event_loop_delay_seconds: 'summary',
      sekisho_access_decisions_total: 'counter',
      sekisho_alarms_raised_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) expect(m.get(name)?.type, name).toBe(type);
    expect(value(m, 'sekisho_door_locked', { door: 'machine-room' })).toBe(1);
    expect(value(m, 'sekisho_door_mode', { door: 'machine-room', mode: 'normal' })).toBe(1);
    expect(value(m, 'sekisho_door_mode', { door: 'machine-room', mode: 'lockdown' })).toBe(0);
    expect(value(m, 'sekisho_reader_online', { reader: 'entry' })).toBe(1);
    expect(value(m, 'sekisho_journal_storage_ok')).toBe(1);
    expect(value(m, 'sekisho_mqtt_connected')).toBe(0);
    expect(value(m, 'sekisho_process_resident_memory_bytes')).toBeGreaterThan(1e6);
    // seconds, not milliseconds
    const uptime = value(m, 'sekisho_process_uptime_seconds')!;
    expect(uptime).toBeGreaterThan(0);
    expect(uptime).toBeLessThan(process.uptime() + 1);
    const p99 = value(m, 'sekisho_event_loop_delay_seconds', { quantile: '0.99' })!;
    expect(p99).toBeGreaterThanOrEqual(0);
    expect(p99).toBeLessThan(10);
    const count = m.get('sekisho_event_loop_delay_seconds')!.samples.find((x) => x.name.endsWith('_count'))!;
    expect(count.value).toBeGreaterThan(0);
    expect(value(m, 'sekisho_start_time_seconds')).toBeCloseTo(d.controller.startedAt / 1000, 3);
    // A blocked event loop shows in the delay since the previous scrape. (Node skips the first
    // sample after a reset of the histogram: let it pass before blocking.)
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    while (Date.now() - t0 < 150) {
      // busy
    }
    await new Promise((r) => setTimeout(r, 30));
    const blocked = (await scrape()).m;
    expect(value(blocked, 'sekisho_event_loop_delay_max_seconds')).toBeGreaterThan(0.1);
    // In seconds: a 150 ms block would read 150 in milliseconds. (No upper bound on the time itself.)
    expect(value(blocked, 'sekisho_event_loop_delay_max_seconds')).toBeLessThan(100);
  });

  it('follows simulated badges, the lock and an alarm', async () => {
    const before = (await scrape()).m;
    const head0 = value(before, 'sekisho_journal_head_seq')!;
    const decision = (m: Map<string, Family>, result: string, reason: string, direction: string) =>
      value(m, 'sekisho_access_decisions_total', { result, reason, direction }) ?? 0;
    const granted0 = decision(before, 'granted', 'granted', 'in');
    const unknown0 = decision(before, 'denied', 'unknown_badge', 'in');

    const badge = (credential: string) =>
      d.app.inject({
        method: 'POST',
        url: '/api/sim/badge',
        headers: d.bearer('sim'),
        payload: { reader: 'entry', credential },
      });
    expect((await badge('0A1B2C3D4E')).json().granted).toBe(true);
    let m = (await scrape()).m;
    expect(value(m, 'sekisho_door_locked', { door: 'machine-room' })).toBe(0);
    expect(decision(m, 'granted', 'granted', 'in')).toBe(granted0 + 1);
    expect((await badge('DEADBEEF01')).json().granted).toBe(false);
    expect((await badge('DEADBEEF02')).json().granted).toBe(false);
    m = (await scrape()).m;
    expect(decision(m, 'denied', 'unknown_badge', 'in')).toBe(unknown0 + 2);
    expect(value(m, 'sekisho_journal_head_seq')!).toBeGreaterThan(head0);
    expect(value(m, 'sekisho_journal_rows_total')!).toBeGreaterThanOrEqual(3);

    // The door relocks after its unlock time; then it is forced open through the simulation API.
    const severity = 'critical';
    const forced = { type: 'forced_open', severity };
    expect(value(m, 'sekisho_alarms_active', forced)).toBe(0);
    const raised0 = value(m, 'sekisho_alarms_raised_total', { type: 'forced_open' })!;
    await until(
      async () => value((await scrape()).m, 'sekisho_door_locked', { door: 'machine-room' }) === 1,
      'the door to relock',
    );
    const open = await d.app.inject({
      method: 'POST',
      url: '/api/sim/doors/machine-room/contact',
      headers: d.bearer('sim'),
      payload: { open: true },
    });
    expect(open.statusCode, open.body).toBe(200);
    await until(
      async () => value((await scrape()).m, 'sekisho_door_open', { door: 'machine-room' }) === 1,
      'the door to read open',
    );
    m = (await scrape()).m;
    expect(value(m, 'sekisho_alarms_active', forced)).toBe(1);
    expect(value(m, 'sekisho_alarms_unacknowledged', forced)).toBe(1);
    expect(value(m, 'sekisho_alarms_raised_total', { type: 'forced_open' })).toBe(raised0 + 1);
    expect(value(m, 'sekisho_alarms_active_conditions', { severity })).toBeGreaterThanOrEqual(1);
  });

  it('counts the registry: active people by category, badges by status', async () => {
    const c = d.controller;
    const count = (m: Map<string, Family>) => ({
      contractors: value(m, 'sekisho_people', { category: 'contractor' }) ?? -1,
      lost: value(m, 'sekisho_badges', { status: 'lost' }) ?? -1,
    });
    const before = count((await scrape()).m);
    const at = c.now();
    const p = c.registry.addPerson(
      { displayId: 'C-77', name: 'Counted', category: 'contractor' },
      'test',
      at,
    );
    const b = c.registry.addBadge({ personId: p.id, credential: '7777777777' }, 'test', at);
    c.registry.setBadgeStatus(b.id, 'lost', 'test', at);
    c.registry.addPerson({ displayId: 'C-78', name: 'Inactive', category: 'contractor' }, 'test', at);
    c.registry.updatePerson(c.registry.searchPeople('C-78')[0]!.id, { active: false }, 'test', at);
    expect(count((await scrape()).m)).toEqual({ contractors: before.contractors + 1, lost: before.lost + 1 });
  });

  it('names no person, badge, account or secret', async () => {
    const { res } = await scrape();
    const text = res.body;
    for (const s of secrets) expect(text, s).not.toContain(s);
    // Nor anything in the storage folder's secret files.
    const data = join(d.dir, 'data');
    for (const f of readdirSync(data)) {
      const p = join(data, f);
      if (!statSync(p).isFile() || !/key|token|secret/.test(f)) continue;
      const content = readFileSync(p, 'utf8').trim();
      for (const line of content.split('\n')) if (line.length >= 16) expect(text).not.toContain(line);
    }
    // Labels carry only ids from the config and values from the domain's enums.
    const allowed = new Set(['controller', 'site', 'version', 'board', 'door', 'mode', 'reader', 'type']);
    for (const k of ['severity', 'result', 'reason', 'direction', 'quantile', 'category', 'status'])
      allowed.add(k);
    for (const f of parseExposition(text).values())
      for (const s of f.samples) for (const k of Object.keys(s.labels)) expect(allowed.has(k), k).toBe(true);
  });

  it('a scrape does not keep a session alive', async () => {
    const t = await makeDash({ clock: true });
    try {
      const c = await t.login('auditor1');
      for (let i = 0; i < 4; i++) {
        t.clock.now += 10 * 60_000;
        const res = await c.get('/metrics');
        expect(res.statusCode, `after ${(i + 1) * 10} minutes`).toBe(i === 0 ? 200 : 401);
      }
    } finally {
      await t.close();
    }
  });
});
