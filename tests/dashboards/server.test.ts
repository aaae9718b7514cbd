import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TokenStore } from '../../controller/accounts/tokens.js';
import { parseConfig } from '../../controller/config/index.js';
import { silentLogger } from '../../controller/log.js';
import { Controller } from '../../controller/runtime/index.js';
import { buildServer } from '../../dashboards/server.js';
import { RpiBoard, SimBoard } from '../../hardware/index.js';
import { fakeGpios } from '../hardware/fake-gpio.js';
import { fakeSysfs } from '../hardware/fake-sysfs.js';
import { doorConfig, tempDir } from '../helpers/controller.js';
import { prepareTestDashboard } from './helpers.js';

async function make(board: 'sim' | 'rpi') {
  const dir = tempDir('sekisho-http-');
  const cfg = doorConfig(dir, [
    { id: 'entry', path: board === 'sim' ? 'sim' : '/dev/null-reader', protocol: 'rdm6300' },
  ]);
  (cfg as Record<string, unknown>).board = { kind: board };
  const config = parseConfig(stringify(cfg));
  let b: SimBoard | RpiBoard;
  if (board === 'sim') b = new SimBoard();
  else {
    const sysfs = fakeSysfs([{ label: 'pinctrl-rp1', base: 571, ngpio: 54 }]);
    b = new RpiBoard({
      chipLabels: config.board.chipLabels,
      sysfsRoot: sysfs.root,
      gpioFactory: fakeGpios().factory,
    });
  }
  const controller = await Controller.start({
    loaded: { config, file: join(dir, 'c.yaml'), storageDir: join(dir, 'data') },
    board: b,
    log: silentLogger,
  });
  await prepareTestDashboard(controller);
  // Scopes read and sim, as the simulation's token (on the real board too: the sim scope then finds
  // no route to call).
  const { secret } = new TokenStore(controller.db, controller.journal).create(
    { name: 'walk', scopes: ['read', 'sim'] },
    'test:setup',
    controller.now(),
  );
  const app = await buildServer({ controller });
  await app.ready();
  return { controller, app, auth: { authorization: `Bearer ${secret}` } };
}

describe('HTTP server', () => {
  let sim: { controller: Controller; app: FastifyInstance; auth: { authorization: string } };
  let rpi: { controller: Controller; app: FastifyInstance; auth: { authorization: string } };
  beforeAll(async () => {
    sim = await make('sim');
    rpi = await make('rpi');
  });
  afterAll(async () => {
    for (const x of [sim, rpi]) {
      await x?.app.close();
      await x?.controller.stop('test end');
    }
  });

  it('/healthz answers without a session (up or degraded only); the rest is proved in access.test.ts', async () => {
    const health = await sim.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const detailed = await sim.app.inject({ method: 'GET', url: '/healthz', headers: sim.auth });
    expect(detailed.json()).toMatchObject({ status: 'ok', journal: { storageOk: true } });
    expect((await sim.app.inject({ method: 'GET', url: '/api/status' })).statusCode).toBe(401);
  });

  it('bad bodies get 400 with a stable code and change nothing', async () => {
    const head = sim.controller.journal.head().seq;
    const post = (url: string, payload: string | object) =>
      sim.app.inject({
        method: 'POST',
        url,
        headers: { ...sim.auth, 'content-type': 'application/json' },
        payload,
      });
    const cases: [string, string | object, number, string][] = [
      ['/api/sim/badge', '{"reader": "entry", ', 400, 'invalid_request'],
      ['/api/sim/badge', { reader: 'entry' }, 400, 'invalid_request'],
      [
        '/api/sim/badge',
        { reader: 'entry', credential: "0A1B'; DROP TABLE journal;--" },
        400,
        'invalid_request',
      ],
      ['/api/sim/badge', { reader: 'entry', credential: '0A1B2C3D4E', extra: 1 }, 400, 'invalid_request'],
      ['/api/sim/badge', { reader: 'nowhere', credential: '0A1B2C3D4E' }, 404, 'unknown_reader'],
      ['/api/sim/doors/machine-room/contact', { open: 'yes' }, 400, 'invalid_request'],
      ['/api/sim/doors/back-door/contact', { open: true }, 404, 'unknown_door'],
      ['/api/sim/badge', 'x'.repeat(70_000), 413, 'fst_err_ctp_body_too_large'],
    ];
    for (const [url, payload, status, code] of cases) {
      const res = await post(url, payload);
      expect(res.statusCode, `${url} ${String(payload).slice(0, 40)}`).toBe(status);
      expect(res.json().error.code).toBe(code);
    }
    const q2 = await sim.app.inject({ method: 'GET', url: '/api/log?limit=abc', headers: sim.auth });
    expect(q2.statusCode).toBe(400);
    const nf = await sim.app.inject({ method: 'GET', url: '/api/nothing', headers: sim.auth });
    expect(nf.statusCode).toBe(404);
    expect(sim.controller.journal.head().seq).toBe(head);
    // The read scope has the log, not the raw journal: refused, and only the refusal is noted.
    const q = await sim.app.inject({ method: 'GET', url: '/api/journal?limit=abc', headers: sim.auth });
    expect(q.statusCode).toBe(403);
    expect(sim.controller.journal.head().seq).toBe(head + 1);
    expect(sim.controller.journal.get(head + 1)?.type).toBe('token_refused');
  });

  it('serves status and the log with a cursor', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await sim.app.inject({
        method: 'POST',
        url: '/api/sim/badge',
        headers: sim.auth,
        payload: { reader: 'entry', credential: `00000000${i}F` },
      });
      expect(res.json()).toMatchObject({ granted: false, reason: 'unknown_badge' });
    }
    const page1 = (
      await sim.app.inject({ method: 'GET', url: '/api/log?limit=2', headers: sim.auth })
    ).json();
    expect(page1.rows).toHaveLength(2);
    const page2 = (
      await sim.app.inject({ method: 'GET', url: `/api/log?limit=2&cursor=${page1.next}`, headers: sim.auth })
    ).json();
    expect(page2.rows).toHaveLength(1);
    expect(page2.rows[0].seq).toBeLessThan(page1.rows[1].seq);
    expect(page2.next).toBeNull();
    const status = (await sim.app.inject({ method: 'GET', url: '/api/status', headers: sim.auth })).json();
    expect(status.doors[0]).toMatchObject({ id: 'machine-room', locked: true, lockOutput: false });
  });

  it('the simulation routes do not exist on a real board, even for a token with the sim scope', async () => {
    expect(rpi.app.sekishoRoutes.some((r) => r.url.startsWith('/api/sim'))).toBe(false);
    const head = rpi.controller.journal.head().seq;
    for (const url of ['/api/sim/badge', '/api/sim/doors/machine-room/contact']) {
      const res = await rpi.app.inject({
        method: 'POST',
        url,
        headers: rpi.auth,
        payload: { reader: 'entry', credential: '0A1B2C3D4E', open: true },
      });
      expect(res.statusCode, url).toBe(404);
    }
    expect(
      (await rpi.app.inject({ method: 'GET', url: '/api/sim/outputs', headers: rpi.auth })).statusCode,
    ).toBe(404);
    expect(rpi.controller.journal.head().seq).toBe(head);
    // The same token reads there as anywhere.
    expect((await rpi.app.inject({ method: 'GET', url: '/api/status', headers: rpi.auth })).statusCode).toBe(
      200,
    );
  });
});
