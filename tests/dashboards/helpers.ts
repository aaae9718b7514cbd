/**
 * A real controller (simulated board, real SQLite journal in a temp folder) with the dashboard on
 * top, accounts for every role, an API token of each scope, and a small client that logs in and
 * keeps its cookie and CSRF token.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { stringify } from 'yaml';
import type { Role, Scope } from '../../controller/accounts/roles.js';
import { TokenStore } from '../../controller/accounts/tokens.js';
import { type LoadedConfig, parseConfig } from '../../controller/config/index.js';
import { silentLogger } from '../../controller/log.js';
import { prepareDashboard } from '../../controller/main.js';
import { Controller } from '../../controller/runtime/index.js';
import { buildServer, type ServerOptions } from '../../dashboards/server.js';
import { SimBoard } from '../../hardware/index.js';
import { doorConfig, simReaders, tempDir } from '../helpers/controller.js';

/** The API tokens every test dashboard has: one per scope, and `walk` as the simulation's (read, sim). */
export const TEST_TOKENS = {
  metrics: ['metrics'],
  read: ['read'],
  sim: ['sim'],
  walk: ['read', 'sim'],
} as const satisfies Record<string, readonly Scope[]>;
export type TestToken = keyof typeof TEST_TOKENS;
/** Cheap scrypt for tests; the hash format and code path are the production ones. */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };
export const PASSWORD = 'correct-horse-battery-7';

/** `monitor`: a wall screen's binding (every test client comes from 127.0.0.1). */
export const ACCOUNTS: {
  username: string;
  role: Role;
  monitor?: { address: string; maskNames: boolean };
}[] = [
  { username: 'admin1', role: 'admin' },
  { username: 'admin2', role: 'admin' },
  { username: 'manager1', role: 'manager' },
  { username: 'manager2', role: 'manager' },
  { username: 'operator1', role: 'operator' },
  { username: 'auditor1', role: 'auditor' },
  { username: 'monitor1', role: 'monitor', monitor: { address: '127.0.0.1', maskNames: false } },
];

export interface Client {
  cookie: string;
  csrf: string;
  user: { id: string; username: string; role: Role };
  req(
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  get(url: string): Promise<LightMyRequestResponse>;
  post(url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

export interface TestDash {
  dir: string;
  controller: Controller;
  app: FastifyInstance;
  clock: { now: number; auto: boolean };
  /** The secrets of the test tokens (named like their keys). */
  tokens: Record<TestToken, string>;
  /** `{ authorization: 'Bearer …' }` for a test token. */
  bearer(token: TestToken): { authorization: string };
  login(username: string, password?: string): Promise<Client>;
  close(): Promise<void>;
}

/**
 * What the process root does before buildServer (controller/main.ts): the dashboard's tables, and
 * demo accounts when `announce` is given (their passwords go to it).
 */
export async function prepareTestDashboard(
  controller: Controller,
  announce?: (text: string) => void,
): Promise<void> {
  await prepareDashboard(controller, {
    demoAccounts: announce !== undefined,
    announce: announce ?? (() => undefined),
    scrypt: FAST_SCRYPT,
  });
}

export async function makeDash(
  opts: {
    server?: Partial<ServerOptions>;
    config?: Record<string, unknown>;
    /** Added to the config's `storage` (its path stays the test's own). */
    storage?: Record<string, unknown>;
    accounts?: boolean;
    clock?: boolean;
    /** Make the demo accounts as in simulation mode, their passwords handed to this. */
    demoAccounts?: (text: string) => void;
    /** Start on this config file and storage (e.g. a journal an earlier start wrote) instead of a new one. */
    loaded?: LoadedConfig;
    /** Who started the controller (the actor of its `config_loaded` row). */
    startedBy?: string;
  } = {},
): Promise<TestDash> {
  const dir = opts.loaded ? dirname(opts.loaded.file) : tempDir('sekisho-dash-');
  const cfg = doorConfig(dir, simReaders(), {
    schedules: [
      {
        id: 'office-hours',
        name: 'office hours',
        windows: [{ days: [1, 2, 3, 4, 5], from: '08:30', to: '18:00' }],
      },
    ],
    ...opts.config,
  });
  if (opts.storage) cfg.storage = { ...cfg.storage, ...opts.storage };
  const file = join(dir, 'config.yaml');
  if (!opts.loaded) writeFileSync(file, stringify(cfg));
  const loaded = opts.loaded ?? { config: parseConfig(stringify(cfg)), file, storageDir: join(dir, 'data') };
  // A controllable clock (advancing with real time unless frozen), so idle timeouts and lock-outs
  // can be tested without waiting.
  const clock = { now: Date.now(), auto: true };
  let last = Date.now();
  const now = () => {
    const real = Date.now();
    if (clock.auto) clock.now += real - last;
    last = real;
    return clock.now;
  };
  const controller = await Controller.start({
    loaded,
    board: new SimBoard(),
    log: silentLogger,
    ...(opts.startedBy ? { startedBy: opts.startedBy } : {}),
    ...(opts.clock ? { now } : {}),
  });
  await prepareTestDashboard(controller, opts.demoAccounts);
  const store = new TokenStore(controller.db, controller.journal);
  const tokens = Object.fromEntries(
    Object.entries(TEST_TOKENS).map(([name, scopes]) => [
      name,
      store.create({ name, scopes }, 'test:setup', controller.now()).secret,
    ]),
  ) as Record<TestToken, string>;
  const app = await buildServer({
    controller,
    scrypt: FAST_SCRYPT,
    liveCoalesceMs: 20,
    ...opts.server,
  });
  await app.ready();
  if (opts.accounts ?? true) {
    const { UserStore } = await import('../../controller/accounts/users.js');
    const users = new UserStore(controller.db, controller.journal, { scrypt: FAST_SCRYPT });
    for (const a of ACCOUNTS)
      await users.create(
        {
          username: a.username,
          displayName: `Test ${a.username}`,
          role: a.role,
          password: PASSWORD,
          ...(a.monitor ? { monitor: a.monitor } : {}),
        },
        'test:setup',
        controller.now(),
      );
  }
  const login = async (username: string, password = PASSWORD): Promise<Client> => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { username, password },
    });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
    const setCookie = String(res.headers['set-cookie']);
    const cookie = setCookie.split(';')[0]!;
    const body = res.json();
    const client: Client = {
      cookie,
      csrf: body.csrfToken,
      user: body.user,
      req: (method, url, payload, headers = {}) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: { cookie, 'x-csrf-token': client.csrf, ...headers },
          ...(payload === undefined ? {} : { payload: payload as object }),
        }),
      get: (url) => client.req('GET', url),
      post: (url, payload = {}) => client.req('POST', url, payload),
    };
    return client;
  };
  return {
    dir,
    controller,
    app,
    clock,
    tokens,
    bearer: (token) => ({ authorization: `Bearer ${tokens[token]}` }),
    login,
    async close() {
      await app.close();
      await controller.stop('test end');
    },
  };
}
