/**
 * The power-fail input in the test's own process: the process root (controller/main.ts) on the
 * simulated board, to see the order of what happens — the lock secured before `power_failing` is
 * written, the database closed before the exit — and the NUT monitor against a upsd that answers
 * garbage (reported, never a crash, never a shutdown).
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import { verifyJournal } from '../../controller/journal/verify.js';
import type { Logger } from '../../controller/log.js';
import { POWER_FAILING_EXIT, startSekisho } from '../../controller/main.js';
import { openStorage } from '../../controller/storage.js';
import { doorPinNames, POWER_PIN_NAMES, SimBoard } from '../../hardware/index.js';
import { lockOutputLevel } from '../../hardware/lock.js';
import { doorConfig, seedStaff, simReaders, tempDir, until, writeConfig } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

function setUp(power: Record<string, unknown>) {
  const dir = tempDir('sekisho-power-');
  const raw = doorConfig(dir, simReaders(), { power });
  const file = writeConfig(dir, raw);
  const loaded = { config: parseConfig(stringify(raw)), file, storageDir: join(dir, 'data') };
  const events: string[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: (msg) => events.push(msg),
    warn: (msg) => events.push(`warn ${msg}`),
    error: (msg) => events.push(`error ${msg}`),
  };
  const board = new SimBoard();
  const lock = doorPinNames('machine-room').lock;
  const secured = lockOutputLevel(loaded.config.doors[0]!.lock, true);
  board.onOutput((name, on) => {
    if (name === lock) events.push(on === secured ? 'lock secured' : 'lock released');
  });
  return { dir, file, loaded, log, board, events };
}

describe('a power failure on the simulated board', () => {
  it('secures the door before power_failing, stops cleanly, runs the command, then exits 3', async () => {
    const t = setUp({
      graceS: 600,
      shutdownCommand: ['/bin/false'],
      gpio: { onBattery: { pin: 5, debounceMs: 0 }, lowBattery: { pin: 6, debounceMs: 0 } },
    });
    seedStaff(t.file, { name: 'A', displayId: 'A-1', door: 'machine-room', credential: '0A1B2C3D4E' });
    let exitCode: number | undefined;
    let dbOpenAtExit: boolean | undefined;
    const s = await startSekisho({
      loaded: t.loaded,
      log: t.log,
      board: t.board,
      print: () => undefined,
      exit: (code) => {
        exitCode = code;
        dbOpenAtExit = s.controller.db.open;
      },
    });
    expect(s.controller.simulateBadge('entry', '0A1B2C3D4E').decision.granted).toBe(true);
    expect(t.events.at(-1)).toBe('lock released');
    const mark = t.events.length;
    t.board.simulate(POWER_PIN_NAMES.lowBattery, true);
    // LB while on line is no reason to stop (as upsmon): nothing happens yet.
    expect(s.controller.status().power).toMatchObject({ status: 'OL LB', onBattery: false, failing: false });
    t.board.simulate(POWER_PIN_NAMES.onBattery, true);
    // Decided: until the process ends no badge is decided and no door opens; each is journaled as
    // refused (`shutting_down`), with the person, so that the record has no silent hole.
    const refused = s.controller.simulateBadge('entry', '0A1B2C3D4E');
    expect(refused.decision).toEqual({ granted: false, reason: 'shutting_down' });
    expect(refused.row?.data).toMatchObject({ result: 'denied', reason: 'shutting_down', personName: 'A' });
    expect(s.controller.simulateBadge('exit', '0A1B2C3D4E').decision.reason).toBe('shutting_down');
    expect(t.events).toContain('warn badge refused: the controller is shutting down for a power failure');
    await until(() => exitCode !== undefined, 'the exit');
    expect(exitCode).toBe(POWER_FAILING_EXIT);
    expect(dbOpenAtExit).toBe(false);
    const after = t.events.slice(mark);
    expect(after.indexOf('lock secured')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('lock secured')).toBeLessThan(
      after.indexOf('error power failing: doors secured, shutting down'),
    );
    expect(after).toContain('error the shutdown command failed');
    expect(after).not.toContain('lock released');

    const st = openStorage(t.loaded, { readonly: true });
    try {
      expect(verifyJournal(st.db, { publicKey: st.secrets.publicKey })).toMatchObject({ ok: true });
      const types = st.journal
        .query({ types: ['power_on_battery', 'power_failing', 'access', 'controller_stopped'], limit: 10 })
        .map((r) => (r.type === 'access' ? `access:${(r.data as { reason: string }).reason}` : r.type))
        .reverse();
      expect(types).toEqual([
        'access:granted',
        'power_on_battery',
        'power_failing',
        'access:shutting_down',
        'access:shutting_down',
        'controller_stopped',
      ]);
    } finally {
      st.db.close();
    }
  });
});

describe('the NUT monitor against a upsd that answers garbage', () => {
  it('reports the link lost with the protocol error, keeps the doors working, never shuts down', async () => {
    server = createServer((socket) => {
      socket.on('data', () => socket.write('\u001b[2Jsurprise\n'));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((res) => server!.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    const dir = tempDir('sekisho-power-garbage-');
    const { c } = await startInProcess(dir, {
      extra: { power: { graceS: 0, nut: { port, ups: 'ups1', pollS: 1, timeoutS: 1 } } },
    });
    try {
      const lost = await until(
        () => c.journal.query({ types: ['power_monitor_lost'], limit: 1 })[0],
        'power_monitor_lost',
      );
      expect(lost.data).toMatchObject({ server: `127.0.0.1:${port}`, ups: 'ups1' });
      expect(String((lost.data as { reason: string }).reason)).toContain(
        'protocol error: GET VAR ups.status: unexpected reply "?[2Jsurprise"',
      );
      expect(c.activeAlarms().map((a) => a.type)).toEqual(['power_monitor_offline']);
      expect(c.status().power).toMatchObject({ source: 'nut', monitorOk: false, failing: false });
      expect(c.journal.query({ types: ['power_failing', 'power_on_battery'], limit: 1 })).toEqual([]);
    } finally {
      await c.stop('test end');
    }
  });
});
