/**
 * Property-based fuzzing (fast-check) of every HTTP route the server registers — found by
 * enumerating `app.sekishoRoutes`, so routes added later are fuzzed without touching this file.
 * Where the route is declared (`app.sekishoDefs`), its params, query and body are generated from its
 * own zod schemas (turned into JSON Schema) and then mutated; otherwise from generic JSON.
 *
 * Each route is called as: nobody, a wrong bearer token, a forged session cookie, an API token with
 * every scope, and a logged-in administrator (cookie + CSRF token). Properties: never a 5xx; without valid
 * credentials, never a 2xx on a route that is not public, and nothing written to the journal.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { z } from 'zod';
import { SCOPES } from '../../../controller/accounts/roles.js';
import { TokenStore } from '../../../controller/accounts/tokens.js';
import { parseConfig } from '../../../controller/config/index.js';
import { verifyJournal } from '../../../controller/journal/index.js';
import { silentLogger } from '../../../controller/log.js';
import { Controller } from '../../../controller/runtime/index.js';
import { buildServer } from '../../../dashboards/server.js';
import { SimBoard } from '../../../hardware/index.js';
import { prepareTestDashboard } from '../../dashboards/helpers.js';
import { doorConfig, tempDir } from '../../helpers/controller.js';

type Mode = 'none' | 'badToken' | 'badCookie' | 'token' | 'session';
export const MODES: readonly Mode[] = ['none', 'badToken', 'badCookie', 'token', 'session'];

/** Rows the controller writes by itself (timers), which may appear while a request runs. */
const AUTONOMOUS = new Set([
  'door_locked',
  'held_open_prealarm',
  'alarm_raised',
  'alarm_condition_cleared',
  'end_of_day_report',
  'room_secured',
  'escort_window_expired',
  'handover_offered',
]);

/**
 * Bugs this fuzzer found that are reported to the owners of the code (docs/reliability.md, "Found"),
 * matched by their failure line so that `npm test` stays green until they are fixed. Remove an entry
 * when its fix lands; a new failure is never hidden by an old entry.
 */
export const KNOWN_ISSUES: readonly RegExp[] = [];

export interface RouteStats {
  method: string;
  url: string;
  auth: string;
  requests: number;
  statuses: Record<string, number>;
  failure: string | null;
}

export interface FuzzResult {
  seed: number;
  routes: number;
  declared: number;
  requests: number;
  byMode: Record<Mode, { requests: number; ok2xx: number; status4xx: number }>;
  failures: string[];
  /** Failures that match KNOWN_ISSUES: reported to the owners, not counted as failures here. */
  known: string[];
  perRoute: RouteStats[];
  sessionAvailable: boolean;
  ms: number;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

interface Pool {
  strings: string[];
  numbers: number[];
}

const junkString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '../../etc/passwd',
    '%00',
    '\u0000',
    'null',
    '-1',
    '1e309',
    '🚪',
    'マシン室',
    "' OR 1=1 --",
  ),
  fc.string({ minLength: 300, maxLength: 5000 }),
);
const junkNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 53, -(2 ** 53), 1e308, Number.MAX_SAFE_INTEGER + 2),
);

/** An arbitrary for values of a JSON Schema, drawing known ids from the pool now and then. */
function fromSchema(s: JsonSchema | undefined, pool: Pool, depth = 0): fc.Arbitrary<unknown> {
  if (!s || depth > 6) return fc.jsonValue({ maxDepth: 2 });
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((x) => fromSchema(x, pool, depth + 1)));
  if (s.allOf?.length) return fromSchema(s.allOf[0], pool, depth + 1);
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((t) => fromSchema({ ...s, type: t }, pool, depth + 1)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = s.minimum ?? -1_000_000;
      const max = s.maximum ?? 2_000_000_000_000;
      const inRange =
        types[0] === 'integer'
          ? fc.integer({
              min: Math.max(min, Number.MIN_SAFE_INTEGER),
              max: Math.min(max, Number.MAX_SAFE_INTEGER),
            })
          : fc.double({ min, max, noNaN: true });
      return fc.oneof({ weight: 4, arbitrary: inRange }, fc.constantFrom(...pool.numbers), junkNumber);
    }
    case 'string': {
      const options: fc.Arbitrary<string>[] = [];
      if (s.pattern) {
        try {
          options.push(fc.stringMatching(new RegExp(s.pattern)));
        } catch {
          // a pattern JavaScript cannot take: generic strings only
        }
      }
      options.push(fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 200) }));
      options.push(fc.constantFrom(...pool.strings));
      return fc.oneof(...options, junkString);
    }
    case 'array':
      return fc.array(fromSchema(s.items, pool, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 5, 8),
      });
    case 'object': {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const keys = Object.keys(props);
      if (keys.length === 0)
        return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const k of keys) shape[k] = fromSchema(props[k], pool, depth + 1);
      return fc.record(shape, { requiredKeys: keys.filter((k) => required.has(k)) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Valid-looking values, then broken ones: a field dropped, replaced, an extra key, or random JSON. */
function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: valid },
    {
      weight: 2,
      arbitrary: fc
        .tuple(valid, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), fc.nat())
        .map(([v, key, junk, n]) => {
          if (v === null || typeof v !== 'object' || Array.isArray(v)) return junk;
          const o = { ...(v as Record<string, unknown>) };
          const ks = Object.keys(o);
          if (ks.length && n % 3 === 0) delete o[ks[n % ks.length]!];
          else if (ks.length && n % 3 === 1) o[ks[n % ks.length]!] = junk;
          else o[key] = junk;
          return o;
        }),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}

function toJsonSchema(schema: unknown): JsonSchema | undefined {
  if (!schema) return undefined;
  try {
    return z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return undefined;
  }
}

interface Declared {
  auth: string;
  kind: string;
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

export interface FuzzOptions {
  runsPerRouteAndMode: number;
  seed: number;
  log?: (s: string) => void;
}

export async function httpFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const dir = tempDir('sekisho-torture-fuzz-');
  /** The server's last logged error (the stack of a 500), for the report. */
  let lastError = '';
  const cfg = doorConfig(dir, [
    { id: 'entry', path: 'sim', protocol: 'rdm6300' },
    { id: 'exit', path: 'sim', protocol: 'rdm6300' },
  ]);
  const config = parseConfig(stringify({ ...cfg, demo: { seed: true } }));
  const controller = await Controller.start({
    loaded: { config, file: join(dir, 'config.yaml'), storageDir: join(dir, 'data') },
    board: new SimBoard(),
    log: { ...silentLogger, error: (msg, fields) => (lastError = `${msg}: ${String(fields?.error ?? '')}`) },
  });
  let announced = '';
  await prepareTestDashboard(controller, (s: string) => {
    announced += s;
  });
  const TOKEN = new TokenStore(controller.db, controller.journal).create(
    { name: 'fuzz', scopes: SCOPES },
    'fuzz',
    Date.now(),
  ).secret;
  const app: FastifyInstance = await buildServer({
    controller,
    scrypt: { N: 1024, r: 8, p: 1 },
    verifier: async () => verifyJournal(controller.db, { publicKey: controller.secrets.publicKey }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  // Some real data, so that generated ids sometimes hit something.
  const p = controller.registry.addPerson(
    { displayId: 'F-1', name: 'Fuzz Person', category: 'staff' },
    'fuzz',
    Date.now(),
  );
  const b = controller.registry.addBadge({ personId: p.id, credential: '0A1B2C3D4E' }, 'fuzz', Date.now());
  controller.registry.grantDoor(p.id, 'machine-room', 'always', 'fuzz', Date.now());
  controller.simulateBadge('entry', '0A1B2C3D4E');
  const pool: Pool = {
    strings: [
      'machine-room',
      'entry',
      'exit',
      p.id,
      b.id,
      'always',
      'ja',
      'en',
      'demo-manager',
      '0A1B2C3D4E',
    ],
    numbers: [1, 2, controller.journal.head().seq, 100, 0],
  };

  // A logged-in administrator (the demo account the server made, with its password changed).
  const login = async (): Promise<{ cookie: string; csrf: string } | null> => {
    const m = /demo-admin\s+(\S+)/.exec(announced);
    if (!m) return null;
    let password = m[1]!;
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { username: 'demo-admin', password },
        remoteAddress: `10.9.${attempt}.${Math.floor(Math.random() * 250)}`,
      });
      if (r.statusCode !== 200) return null;
      const cookie = String(r.headers['set-cookie'] ?? '').split(';')[0]!;
      const body = r.json() as { csrfToken: string; user: { mustChangePassword: boolean } };
      if (!body.user.mustChangePassword) return { cookie, csrf: body.csrfToken };
      const next = 'fuzz-torture-passphrase-0123456789';
      const c = await app.inject({
        method: 'POST',
        url: '/api/me/password',
        headers: { cookie, 'x-csrf-token': body.csrfToken },
        payload: { current: password, next },
      });
      if (c.statusCode !== 200) return null;
      announced = announced.replace(password, next);
      password = next;
    }
    return null;
  };
  let session = await login();
  const sessionAvailable = session !== null;

  const defs = new Map<string, Declared>();
  for (const d of (app as unknown as { sekishoDefs?: (Declared & { method: string; url: string })[] })
    .sekishoDefs ?? [])
    defs.set(`${d.method} ${d.url}`, d);
  const routes = [...new Map(app.sekishoRoutes.map((r) => [`${r.method} ${r.url}`, r])).values()];
  const result: FuzzResult = {
    seed: opts.seed,
    routes: routes.length,
    declared: routes.filter((r) => defs.has(`${r.method} ${r.url}`)).length,
    requests: 0,
    byMode: Object.fromEntries(
      MODES.map((m) => [m, { requests: 0, ok2xx: 0, status4xx: 0 }]),
    ) as FuzzResult['byMode'],
    failures: [],
    known: [],
    perRoute: [],
    sessionAvailable,
    ms: 0,
  };
  log(`  ${routes.length} routes (${result.declared} declared with schemas), session: ${sessionAvailable}`);

  // Unauthenticated modes first, while nothing else moves the journal.
  for (const mode of MODES) {
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const def = defs.get(key);
      const isPublic = def ? def.auth === 'public' : route.url === '/healthz';
      const stats: RouteStats = {
        method: route.method,
        url: route.url,
        auth: def?.auth ?? (isPublic ? 'public' : 'undeclared'),
        requests: 0,
        statuses: {},
        failure: null,
      };
      if (mode === 'session' && session) {
        const check = await app.inject({
          method: 'GET',
          url: '/api/session',
          headers: { cookie: session.cookie },
        });
        if (check.statusCode !== 200) session = await login();
      }
      if (mode === 'session' && !session) continue;
      const paramNames = [...route.url.matchAll(/:(\w+)/g)].map((x) => x[1]!);
      const paramSchema = toJsonSchema(def?.params);
      const paramArb = fc.record(
        Object.fromEntries(
          paramNames.map((n) => [
            n,
            fc.oneof(
              {
                weight: 3,
                arbitrary: fromSchema(paramSchema?.properties?.[n] ?? { type: 'string' }, pool).map(String),
              },
              { weight: 1, arbitrary: junkString },
            ),
          ]),
        ),
      );
      const queryArb = def?.query
        ? mutated(fromSchema(toJsonSchema(def.query), pool))
        : fc.dictionary(
            fc.constantFrom('from', 'to', 'limit', 'door', 'person', 'lang', 'next', 'q'),
            junkString,
            {
              maxKeys: 3,
            },
          );
      const bodyArb = def?.body
        ? mutated(fromSchema(toJsonSchema(def.body), pool))
        : fc.jsonValue({ maxDepth: 2 });
      const encodingArb = fc.constantFrom('json', 'json', 'json', 'none', 'broken-json', 'text', 'form');
      const extraArb = fc.record(
        {
          origin: fc.constantFrom('http://evil.example', 'null'),
          'accept-language': fc.constantFrom('en', 'ja', 'xx', '*;q=0', ''),
          'x-csrf-token': junkString,
        },
        { requiredKeys: [] },
      );
      const prop = fc.asyncProperty(
        paramArb,
        queryArb,
        bodyArb,
        encodingArb,
        extraArb,
        fc.boolean(),
        async (params, query, body, encoding, extra, rawParams) => {
          // Objects as JSON: fast-check makes some without a prototype, which String() cannot convert.
          const asText = (v: unknown) =>
            v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? '');
          let url = route.url;
          for (const [n, v] of Object.entries(params)) {
            const s = asText(v);
            url = url.replace(
              `:${n}`,
              rawParams && /^[\x21-\x7e]+$/.test(s) && !/[?#/%]/.test(s) ? s : encodeURIComponent(s),
            );
          }
          const qs = new URLSearchParams();
          if (query && typeof query === 'object' && !Array.isArray(query))
            for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
              if (Array.isArray(v)) for (const x of v) qs.append(k, asText(x));
              else qs.append(k, asText(v));
            }
          if ([...qs].length) url += `?${qs}`;
          const headers: Record<string, string> = {};
          if (mode === 'badToken')
            headers.authorization = `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('x') ? 'y' : 'x'}`;
          if (mode === 'token') headers.authorization = `Bearer ${TOKEN}`;
          if (mode === 'badCookie') headers.cookie = 'sekisho_session=forged-0123456789abcdef; lang=en';
          if (mode === 'session' && session) {
            headers.cookie = session.cookie;
            headers['x-csrf-token'] = session.csrf;
          }
          // Header values travel as bytes: UTF-8 junk arrives as its bytes (latin1 here); no control characters.
          for (const [k, v] of Object.entries(extra))
            if (!(k === 'x-csrf-token' && mode === 'session'))
              headers[k] = [...Buffer.from(v, 'utf8').toString('latin1')]
                .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
                .join('');
          let payload: string | undefined;
          if (route.method !== 'GET' && encoding !== 'none') {
            if (encoding === 'json') {
              headers['content-type'] = 'application/json';
              payload = JSON.stringify(body);
            } else if (encoding === 'broken-json') {
              headers['content-type'] = 'application/json';
              payload = `${JSON.stringify(body)}}{`;
            } else if (encoding === 'text') {
              headers['content-type'] = 'text/plain';
              payload = String(JSON.stringify(body));
            } else {
              headers['content-type'] = 'application/x-www-form-urlencoded';
              payload = new URLSearchParams({ data: JSON.stringify(body) }).toString();
            }
          }
          const head = controller.journal.head().seq;
          let status: number;
          if (def?.kind === 'stream') {
            const ac = new AbortController();
            const res = await fetch(base + url, {
              method: route.method,
              headers,
              body: payload,
              signal: ac.signal,
            });
            status = res.status;
            ac.abort();
          } else {
            const res = await app.inject({
              method: route.method as 'GET',
              url,
              headers,
              payload,
            });
            status = res.statusCode;
          }
          stats.requests++;
          result.requests++;
          result.byMode[mode].requests++;
          if (status >= 200 && status < 300) result.byMode[mode].ok2xx++;
          if (status >= 400 && status < 500) result.byMode[mode].status4xx++;
          stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
          if (status >= 500)
            throw new Error(
              `${route.method} ${url} answered ${status}: ${lastError.split('\n').slice(0, 4).join(' | ')}`,
            );
          const anonymous = mode === 'none' || mode === 'badToken' || mode === 'badCookie';
          if (anonymous && !isPublic) {
            if (status < 400)
              throw new Error(`${route.method} ${url} answered ${status} without credentials`);
            const after = controller.journal.head().seq;
            for (let seq = head + 1; seq <= after; seq++) {
              const row = controller.journal.get(seq);
              if (row && !AUTONOMOUS.has(row.type))
                throw new Error(`${route.method} ${url} without credentials wrote a ${row.type} row`);
            }
          }
        },
      );
      try {
        await fc.assert(prop, { numRuns: opts.runsPerRouteAndMode, seed: opts.seed, endOnFailure: true });
      } catch (err) {
        const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
        const example =
          /Counterexample: (.*)/.exec(String(err instanceof Error ? err.message : err))?.[1] ?? '';
        stats.failure = `${cause || String(err)} — counterexample ${example.slice(0, 400)}`;
        const line = `[${mode}] ${key}: ${stats.failure}`;
        if (KNOWN_ISSUES.some((k) => k.test(line))) result.known.push(line);
        else result.failures.push(line);
      }
      const prev = result.perRoute.find((x) => x.method === stats.method && x.url === stats.url);
      if (prev) {
        prev.requests += stats.requests;
        for (const [k, v] of Object.entries(stats.statuses)) prev.statuses[k] = (prev.statuses[k] ?? 0) + v;
        prev.failure ??= stats.failure;
      } else result.perRoute.push(stats);
    }
    log(
      `  mode ${mode}: ${result.byMode[mode].requests} requests, ${result.failures.length} failures so far`,
    );
  }
  await app.close();
  await controller.stop('fuzz end');
  if (result.failures.length === 0) rmSync(dir, { recursive: true, force: true });
  result.ms = performance.now() - t0;
  return result;
}
