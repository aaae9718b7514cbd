/**
 * On a real board the simulation routes do not exist: not refused (403), absent (404), for every
 * caller — nobody, the API token, a session of every role — with the very answer an invented URL
 * gets, so that not even their existence shows. Nor are they in the OpenAPI document or the menu,
 * and the controller itself refuses a simulated presentation.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TokenStore } from '../../controller/accounts/tokens.js';
import { UserStore } from '../../controller/accounts/users.js';
import { parseConfig } from '../../controller/config/index.js';
import { silentLogger } from '../../controller/log.js';
import { Controller } from '../../controller/runtime/index.js';
import { buildServer } from '../../dashboards/server.js';
import { RpiBoard } from '../../hardware/index.js';
import { fakeGpios } from '../hardware/fake-gpio.js';
import { fakeSysfs } from '../hardware/fake-sysfs.js';
import { doorConfig, tempDir } from '../helpers/controller.js';
import { ACCOUNTS, FAST_SCRYPT, makeDash, PASSWORD, prepareTestDashboard, type TestDash } from './helpers.js';

let sim: TestDash;
let rpi: { controller: Controller; app: FastifyInstance; token: string };

beforeAll(async () => {
  sim = await makeDash();
  const dir = tempDir('sekisho-rpi-');
  const cfg = doorConfig(dir, [{ id: 'entry', path: '/dev/null-reader', protocol: 'rdm6300' }], {
    board: { kind: 'rpi' },
  });
  const config = parseConfig(stringify(cfg));
  const sysfs = fakeSysfs([{ label: 'pinctrl-rp1', base: 571, ngpio: 54 }]);
  const controller = await Controller.start({
    loaded: { config, file: join(dir, 'c.yaml'), storageDir: join(dir, 'data') },
    board: new RpiBoard({
      chipLabels: config.board.chipLabels,
      sysfsRoot: sysfs.root,
      gpioFactory: fakeGpios().factory,
    }),
    log: silentLogger,
  });
  await prepareTestDashboard(controller);
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
  // A token with the sim scope, as the simulation's: on a real board that scope finds no route.
  const { secret } = new TokenStore(controller.db, controller.journal).create(
    { name: 'walk', scopes: ['read', 'sim'] },
    'test:setup',
    controller.now(),
  );
  const app = await buildServer({ controller, scrypt: FAST_SCRYPT });
  await app.ready();
  rpi = { controller, app, token: secret };
});

afterAll(async () => {
  await sim?.close();
  await rpi?.app.close();
  await rpi?.controller.stop('test end');
});

async function sessionCookie(app: FastifyInstance, username: string): Promise<Record<string, string>> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/session',
    payload: { username, password: PASSWORD },
  });
  expect(res.statusCode).toBe(200);
  return { cookie: String(res.headers['set-cookie']).split(';')[0]!, 'x-csrf-token': res.json().csrfToken };
}

/** Every simulation route the simulated server declares, with its parameters filled in. */
function simRoutes(): { method: string; url: string }[] {
  const routes = sim.app.sekishoRoutes
    .filter((r) => r.url === '/sim' || r.url.startsWith('/api/sim'))
    .map((r) => ({ method: r.method, url: r.url.replace(':door', 'machine-room') }));
  return routes;
}

describe('simulation routes on a real board', () => {
  it('the simulated server has them, and they answer there', async () => {
    const routes = simRoutes();
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'GET /api/sim/outputs',
      'GET /sim',
      'POST /api/sim/badge',
      'POST /api/sim/doors/machine-room/contact',
      'POST /api/sim/doors/machine-room/exit-button',
      'POST /api/sim/doors/machine-room/tamper',
      'POST /api/sim/power',
    ]);
    const r = await sim.app.inject({
      method: 'GET',
      url: '/api/sim/outputs',
      headers: sim.bearer('walk'),
    });
    expect(r.statusCode).toBe(200);
    expect((await sim.app.inject({ method: 'GET', url: '/api/sim/outputs' })).statusCode).toBe(401);
  });

  it('none exists on the real board: 404 like an invented URL, for nobody, the token and every role', async () => {
    expect(rpi.app.sekishoRoutes.filter((r) => r.url === '/sim' || r.url.includes('/sim/'))).toEqual([]);
    const invented = await rpi.app.inject({ method: 'GET', url: '/api/no-such-route' });
    expect(invented.statusCode).toBe(404);
    const callers: Record<string, Record<string, string>> = {
      nobody: {},
      token: { authorization: `Bearer ${rpi.token}` },
    };
    for (const a of ACCOUNTS) callers[a.username] = await sessionCookie(rpi.app, a.username);
    const head = rpi.controller.journal.head().seq;
    for (const { method, url } of simRoutes())
      for (const [who, headers] of Object.entries(callers)) {
        const res = await rpi.app.inject({
          method: method as 'GET' | 'POST',
          url,
          headers,
          ...(method === 'POST'
            ? { payload: { reader: 'entry', credential: '0A1B2C3D4E', open: true, active: true } }
            : {}),
        });
        expect({ who, method, url, status: res.statusCode, body: res.body }).toEqual({
          who,
          method,
          url,
          status: 404,
          body: invented.body,
        });
      }
    expect(rpi.controller.journal.head().seq).toBe(head); // nothing was written
  });

  it('is absent from the OpenAPI document and the menu', async () => {
    const headers = await sessionCookie(rpi.app, 'admin1');
    const doc = await rpi.app.inject({ method: 'GET', url: '/api/openapi.json', headers });
    expect(doc.statusCode).toBe(200);
    expect(Object.keys(doc.json().paths).filter((p) => p.includes('sim'))).toEqual([]);
    const simDoc = await sim.app.inject({
      method: 'GET',
      url: '/api/openapi.json',
      headers: await sessionCookie(sim.app, 'admin1'),
    });
    expect(Object.keys(simDoc.json().paths)).toContain('/api/sim/badge');
    const page = await rpi.app.inject({ method: 'GET', url: '/log', headers });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('href="/sim"');
    const simPage = await sim.app.inject({
      method: 'GET',
      url: '/log',
      headers: await sessionCookie(sim.app, 'admin1'),
    });
    expect(simPage.body).toContain('href="/sim"');
  });

  it('the controller refuses a simulated presentation on a real board', () => {
    const head = rpi.controller.journal.head().seq;
    expect(() => rpi.controller.simulateBadge('entry', '0A1B2C3D4E')).toThrow(/only with a simulated board/);
    expect(rpi.controller.journal.head().seq).toBe(head);
  });
});
