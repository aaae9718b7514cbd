/**
 * The process root (controller/main.ts) in the test's own process: the real controller on the
 * simulated board, real storage and a real listening dashboard. The order its parts start and stop
 * in is read from its debug log, interleaved with the board's output writes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import type { Logger } from '../../controller/log.js';
import { LoggedStartError, startSekisho } from '../../controller/main.js';
import { openStorage } from '../../controller/storage.js';
import { doorPinNames, RpiBoard, SimBoard } from '../../hardware/index.js';
import { lockOutputLevel } from '../../hardware/lock.js';
import { fakeGpios } from '../hardware/fake-gpio.js';
import { fakeSysfs } from '../hardware/fake-sysfs.js';
import { doorConfig, simReaders, tempDir } from '../helpers/controller.js';

const HOOKS = ['SIGINT', 'SIGTERM', 'uncaughtException', 'unhandledRejection'] as const;
const listeners = () => HOOKS.map((e) => process.listenerCount(e));
const PARTS = [
  'crash guard',
  'runtime check',
  'instance lock',
  'controller',
  'demo people',
  'dashboard tables',
  'API tokens',
  'dashboard',
  'signals',
  'listener',
  'sd-notify',
  'simulation banner',
];

let blocker: Server | undefined;
afterEach(() => {
  blocker?.close();
  blocker = undefined;
});

function setUp(port = 0) {
  const dir = tempDir('sekisho-main-');
  const cfg = doorConfig(dir, simReaders(), { dashboard: { host: '127.0.0.1', port } });
  const loaded = {
    config: parseConfig(stringify(cfg)),
    file: join(dir, 'c.yaml'),
    storageDir: join(dir, 'data'),
  };
  const events: string[] = [];
  const log: Logger = {
    debug: (msg) => events.push(msg),
    info: (msg) => events.push(msg),
    warn: () => undefined,
    error: (msg) => events.push(`error ${msg}`),
  };
  const board = new SimBoard();
  const lock = doorPinNames('machine-room').lock;
  const secured = lockOutputLevel(loaded.config.doors[0]!.lock, true);
  board.onOutput((name, on) => {
    if (name === lock) events.push(on === secured ? 'lock secured' : 'lock released');
  });
  let printed = '';
  const print = (text: string) => {
    printed += text;
  };
  const stopReasons = () => {
    const s = openStorage(loaded, { readonly: true });
    const rows = s.journal.query({ types: ['controller_stopped'], limit: 10 });
    s.db.close();
    return rows.map((r) => (r.data as { reason: string }).reason);
  };
  return { loaded, log, board, events, print, printed: () => printed, stopReasons };
}

/** The part names in `events`, in order (`starting x` / `stopping x` → x). */
const partsAfter = (events: string[], verb: 'starting' | 'stopping') =>
  events.filter((e) => e.startsWith(`${verb} `)).map((e) => e.slice(verb.length + 1));

describe('the process root', () => {
  it('starts every part in order and stops them in reverse, the doors secured first', async () => {
    const t = setUp();
    const before = listeners();
    const s = await startSekisho({ loaded: t.loaded, log: t.log, board: t.board, print: t.print });
    expect(partsAfter(t.events, 'starting')).toEqual(PARTS);
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    // The demo accounts come before the running line; the simulation banner after it.
    const out = t.printed();
    expect(out.indexOf('Demo dashboard accounts')).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('Demo dashboard accounts')).toBeLessThan(out.indexOf(`listening ${s.base}\n`));
    expect(out.indexOf(`listening ${s.base}\n`)).toBeLessThan(out.indexOf('Simulation mode:'));
    expect(listeners()).toEqual(before.map((n) => n + 1));

    const mark = t.events.length;
    await s.stop('test end');
    await s.stop('again'); // a second stop waits for the first and does nothing more
    const stopping = t.events.slice(mark);
    expect(stopping[0]).toBe('lock secured');
    expect(partsAfter(stopping, 'stopping')).toEqual([...PARTS].reverse());
    expect(listeners()).toEqual(before);
    expect(t.stopReasons()).toEqual(['test end']);
  });

  it('one process drives a storage folder: a second start is refused while the first runs, not after', async () => {
    const t = setUp();
    const first = await startSekisho({ loaded: t.loaded, log: t.log, board: t.board, print: t.print });
    try {
      const before = listeners();
      await expect(
        startSekisho({ loaded: t.loaded, log: t.log, board: new SimBoard(), print: t.print }),
      ).rejects.toThrow(/another process drives the doors/);
      expect(listeners()).toEqual(before);
    } finally {
      await first.stop('test end');
    }
    const again = await startSekisho({ loaded: t.loaded, log: t.log, board: new SimBoard(), print: t.print });
    await again.stop('test end');
  });

  it('a part that fails to start stops the parts before it, in reverse, with its reason', async () => {
    blocker = createServer();
    const taken = await new Promise<number>((resolve) =>
      blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)),
    );
    const t = setUp(taken);
    const before = listeners();
    await expect(
      startSekisho({ loaded: t.loaded, log: t.log, board: t.board, print: t.print }),
    ).rejects.toBeInstanceOf(LoggedStartError);
    const failed = t.events.indexOf(`error cannot listen on 127.0.0.1:${taken}`);
    expect(failed).toBeGreaterThan(0);
    expect(partsAfter(t.events, 'starting')).toEqual(PARTS.slice(0, PARTS.indexOf('listener') + 1));
    expect(t.events[failed + 1]).toBe('lock secured');
    expect(partsAfter(t.events.slice(failed), 'stopping')).toEqual(
      PARTS.slice(0, PARTS.indexOf('listener')).reverse(),
    );
    expect(t.events).not.toContain('lock released');
    expect(t.printed()).not.toContain('listening');
    expect(listeners()).toEqual(before);
    expect(t.stopReasons()).toEqual(['listen_failed']);
  });
});

describe('the process root and the simulation token', () => {
  it('a simulated start writes <storage>/api-token; a real board revokes that token and never reads the file', async () => {
    const t = setUp();
    const sim = await startSekisho({ loaded: t.loaded, log: t.log, board: t.board, print: t.print });
    const file = join(t.loaded.storageDir, 'api-token');
    const secret = readFileSync(file, 'utf8').trim();
    const status = (base: string) =>
      fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.status);
    expect(await status(sim.base)).toBe(200);
    expect(t.printed()).toContain(file);
    await sim.stop('test end');

    // The same storage on a real board (an install that began as a simulation).
    const cfg = parseConfig(
      stringify(
        doorConfig(
          join(t.loaded.storageDir, '..'),
          [{ id: 'entry', path: '/dev/null-reader', protocol: 'rdm6300' }],
          {
            board: { kind: 'rpi', chipLabels: ['pinctrl-rp1'] },
          },
        ),
      ),
    );
    const sysfs = fakeSysfs([{ label: 'pinctrl-rp1', base: 571, ngpio: 54 }]);
    const board = new RpiBoard({
      chipLabels: cfg.board.chipLabels,
      sysfsRoot: sysfs.root,
      gpioFactory: fakeGpios().factory,
    });
    const warnings: string[] = [];
    const rpi = await startSekisho({
      loaded: { ...t.loaded, config: cfg },
      log: { ...t.log, warn: (msg) => warnings.push(msg) },
      board,
      print: () => undefined,
    });
    try {
      expect(await status(rpi.base)).toBe(401);
      expect(readFileSync(file, 'utf8').trim()).toBe(secret); // left as it was, never read
      expect(existsSync(file)).toBe(true);
      expect(warnings).toEqual(
        expect.arrayContaining([
          'revoked the simulation API token: this board is not simulated',
          expect.stringContaining(`${file} is not used on a real board`),
        ]),
      );
      const revoked = rpi.controller.journal.query({ types: ['token_revoked'], limit: 1 })[0]!;
      expect(revoked).toMatchObject({
        actor: 'system',
        data: { name: 'simulation', reason: 'not a simulated board' },
      });
      expect(rpi.app.sekishoRoutes.some((r) => r.url.startsWith('/api/sim'))).toBe(false);
    } finally {
      await rpi.stop('test end');
    }
  });
});
