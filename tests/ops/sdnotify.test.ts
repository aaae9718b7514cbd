/**
 * controller/sdnotify.ts against a real unix datagram socket standing in for systemd's, through the
 * real systemd-notify: the exact messages, their order, the watchdog cadence and its gating.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotifier, watchdogInterval } from '../../controller/sdnotify.js';
import { ROOT, sleep, tempDir } from '../helpers/util.js';
import { type NotifySocket, notifySocket } from './notify-socket.js';

describe('sd_notify', () => {
  let dir = '';
  let sock: NotifySocket;
  const logs: string[] = [];

  beforeEach(async () => {
    dir = tempDir('sekisho-notify-');
    sock = await notifySocket(join(dir, 'notify'));
    logs.length = 0;
  });
  afterEach(() => {
    sock.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    NOTIFY_SOCKET: sock.path,
    PATH: process.env.PATH,
    ...extra,
  });

  it('sends READY=1, STATUS and STOPPING=1 exactly, in order, each confirmed by a barrier', async () => {
    const n = createNotifier({ env: env(), log: (m) => logs.push(m) });
    expect(n.enabled).toBe(true);
    await n.ready('door secured; 2 readers');
    await n.status('reader machine-room-exit offline:\nsilent');
    await n.stopping('SIGTERM: securing doors');
    expect(sock.payloads()).toEqual([
      'READY=1\nSTATUS=door secured; 2 readers',
      'STATUS=reader machine-room-exit offline: silent',
      'STOPPING=1\nSTATUS=SIGTERM: securing doors',
    ]);
    // systemd-notify waits for systemd to read each message (BARRIER=1 with a pipe) before exiting,
    // so a message is never lost to the PID-attribution race.
    const barriers = sock.messages.filter((m) => m.message === 'BARRIER=1');
    expect(barriers).toHaveLength(3);
    expect(barriers.every((m) => m.fds === 1)).toBe(true);
    expect(logs).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)(
    "run as an unprivileged user, the messages come from systemd-notify's PID: why the unit needs NotifyAccess=all",
    async () => {
      chmodSync(dir, 0o755);
      chmodSync(sock.path, 0o777);
      const script =
        "const { createNotifier } = await import('./controller/sdnotify.ts');" +
        "const n = createNotifier(); await n.ready('unprivileged'); console.log(process.pid);";
      const r = spawnSync(
        'setpriv',
        [
          '--reuid=nobody',
          '--regid=nogroup',
          '--clear-groups',
          process.execPath,
          '--import',
          'tsx',
          '-e',
          script,
        ],
        { cwd: ROOT, env: env(), encoding: 'utf8', timeout: 20_000 },
      );
      expect(r.stderr).toBe('');
      const childPid = Number(r.stdout.trim());
      expect(childPid).toBeGreaterThan(0);
      for (let i = 0; i < 100 && sock.payloads().length === 0; i++) await sleep(20);
      const ready = sock.messages.find((m) => m.message === 'READY=1\nSTATUS=unprivileged');
      expect(ready?.pid).toBeGreaterThan(0);
      // Root may pass the parent's PID (systemd-notify tries that first); nobody else can.
      expect(ready?.pid).not.toBe(childPid);
    },
  );

  it('pings WATCHDOG=1 at half of WATCHDOG_USEC while healthy, and withholds pings when not', async () => {
    let healthy = true;
    const n = createNotifier({ env: env({ WATCHDOG_USEC: '600000' }), log: (m) => logs.push(m) });
    expect(n.watchdogIntervalMs).toBe(300);
    expect(n.startWatchdog(() => healthy)).toBe(true);
    // Pings keep coming while healthy (the interval itself is checked above, not timed here).
    const pings = () => sock.messages.filter((m) => m.message === 'WATCHDOG=1').length;
    const deadline = Date.now() + 10_000;
    while (pings() < 3 && Date.now() < deadline) await sleep(50);
    expect(pings()).toBeGreaterThanOrEqual(3);

    healthy = false;
    await sleep(350);
    await n.flush();
    const before = sock.payloads().length;
    await sleep(900);
    expect(sock.payloads().length).toBe(before);
    expect(logs).toEqual(['controller unhealthy: watchdog pings withheld; systemd will restart it']);

    healthy = true;
    await sleep(700);
    expect(sock.payloads().length).toBeGreaterThan(before);
    await n.stopping();
    await sleep(700);
    await n.flush();
    expect(sock.payloads().at(-1)).toBe('STOPPING=1');
  });

  it('a throwing health check counts as unhealthy', async () => {
    const n = createNotifier({ env: env({ WATCHDOG_USEC: '200000' }), log: (m) => logs.push(m) });
    n.startWatchdog(() => {
      throw new Error('boom');
    });
    await sleep(350);
    n.stopWatchdog();
    await n.flush();
    expect(sock.payloads()).toEqual([]);
  });

  it('no watchdog when WATCHDOG_USEC is absent or WATCHDOG_PID names another process', () => {
    expect(watchdogInterval({}, 10)).toBeNull();
    expect(watchdogInterval({ WATCHDOG_USEC: '0' }, 10)).toBeNull();
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '11' }, 10)).toBeNull();
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '10' }, 10)).toBe(10_000);
    const n = createNotifier({ env: env({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1' }) });
    expect(n.startWatchdog(() => true)).toBe(false);
  });

  it('is a no-op without NOTIFY_SOCKET, and only logs when systemd-notify is missing', async () => {
    const off = createNotifier({
      env: { PATH: process.env.PATH },
      command: '/nonexistent',
      log: (m) => logs.push(m),
    });
    expect(off.enabled).toBe(false);
    await off.ready('x');
    expect(off.startWatchdog(() => true)).toBe(false);
    expect(logs).toEqual([]);

    const broken = createNotifier({
      env: env(),
      command: join(dir, 'no-such-notify'),
      log: (m) => logs.push(m),
    });
    await expect(broken.ready()).resolves.toBeUndefined();
    await broken.status('still running');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/not found/);
    expect(sock.messages).toEqual([]);
  });
});
