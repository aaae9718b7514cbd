/**
 * The systemd notify protocol (sd_notify(3)) for `Type=notify` and `WatchdogSec=`: READY=1 when the
 * door is secured and the controller runs, STATUS=… lines for `systemctl status`, WATCHDOG=1 at half
 * of WATCHDOG_USEC while the controller is healthy, STOPPING=1 at shutdown.
 *
 * How the messages are sent: systemd listens on a unix *datagram* socket ($NOTIFY_SOCKET). Node
 * cannot send unix datagrams (dgram is UDP only, net is stream only; a stream connect to a datagram
 * socket fails with EPROTOTYPE), and Sekisho takes no native add-on for it. So each message is sent
 * by running `systemd-notify`, which ships with systemd itself. Its caveats, and how they are handled:
 *
 * - The datagram comes from systemd-notify's PID, not ours: systemd-notify first tries to send it
 *   with its parent's PID in the credentials, which the kernel allows only to a privileged process
 *   (CAP_SYS_ADMIN), then falls back to its own. The service user has no capabilities, so systemd
 *   must accept messages from any process of the service: the unit says `NotifyAccess=all`
 *   (deploy/sekisho.service). Only Sekisho and its own children run in that cgroup.
 * - systemd attributes a message to a unit by the sender's PID; if systemd-notify exited before
 *   systemd looked, the message could be lost. Since systemd 246 systemd-notify waits for a
 *   barrier (BARRIER=1 with a pipe that systemd closes once it has processed everything before it),
 *   so it only exits after systemd has read the message. We never pass --no-block. (Raspberry Pi
 *   OS Bookworm has systemd 252.)
 * - No MAINPID= is sent: `ExecStart=` runs node itself, so systemd already knows our PID.
 * - Messages are sent one at a time, in order. A watchdog ping that falls due while the previous one
 *   is still in flight is sent right after it, and at most one waits (a queue of stale pings would
 *   hide a stuck process). A systemd-notify that hangs is killed after `timeoutMs`.
 * - WATCHDOG_PID, when set and not our PID, means the watchdog is meant for another process: no pings.
 *
 * With NOTIFY_SOCKET unset (started by hand, in tests, in a container) every call is a no-op.
 * Nothing here ever throws or rejects: a notify failure is logged and the door keeps working.
 */
import { spawn } from 'node:child_process';

export interface Notifier {
  /** True when $NOTIFY_SOCKET is set: messages are sent. */
  readonly enabled: boolean;
  /** Half of WATCHDOG_USEC in ms when systemd expects watchdog pings from this process, else null. */
  readonly watchdogIntervalMs: number | null;
  /** READY=1 (with STATUS= when given): start-up is complete. */
  ready(status?: string): Promise<void>;
  /** STATUS=text, shown by `systemctl status sekisho`. */
  status(text: string): Promise<void>;
  /** STOPPING=1 (with STATUS= when given): the controller is shutting down. Also stops the watchdog. */
  stopping(status?: string): Promise<void>;
  /**
   * Sends WATCHDOG=1 every watchdogIntervalMs while `isHealthy()` returns true (it is asked before
   * every ping; an exception counts as unhealthy). When pings stop, systemd kills and restarts the
   * service after WatchdogSec. Returns false (and does nothing) when no watchdog is expected.
   */
  startWatchdog(isHealthy: () => boolean): boolean;
  stopWatchdog(): void;
  /** Resolves when every message sent so far has been handed to systemd (or failed). */
  flush(): Promise<void>;
}

export interface NotifierOptions {
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The notify tool. Default `systemd-notify` (found on PATH). */
  command?: string;
  /** Our PID, compared with WATCHDOG_PID. Default process.pid. */
  pid?: number;
  /** Where failures are reported. Default: a line on stderr. */
  log?: (message: string) => void;
  /** Kill a systemd-notify that has not finished after this long. Default 10,000 ms. */
  timeoutMs?: number;
}

/** Turns a status text into one assignment: no newlines (they would start a new assignment). */
function statusLine(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ').trim();
  return `STATUS=${clean.length > 500 ? `${clean.slice(0, 497)}...` : clean}`;
}

export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = env.WATCHDOG_USEC;
  if (!usec || !/^\d+$/.test(usec) || Number(usec) === 0) return null;
  const owner = env.WATCHDOG_PID;
  if (owner !== undefined && owner !== '' && Number(owner) !== pid) return null;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

export function createNotifier(options: NotifierOptions = {}): Notifier {
  const env = options.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  const enabled = socket !== undefined && socket !== '';
  const command = options.command ?? 'systemd-notify';
  const pid = options.pid ?? process.pid;
  const log = options.log ?? ((message: string) => process.stderr.write(`[sdnotify] ${message}\n`));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const interval = enabled ? watchdogInterval(env, pid) : null;

  let chain: Promise<void> = Promise.resolve();
  let pingInFlight = false;
  let pingWanted = false;
  let timer: NodeJS.Timeout | null = null;
  let unhealthyLogged = false;
  let missingLogged = false;

  /** Runs systemd-notify once with these assignments. Never rejects. */
  const runOnce = (assignments: string[]): Promise<void> =>
    new Promise((resolve) => {
      let stderr = '';
      let settled = false;
      const done = (problem?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(kill);
        if (problem) log(`${assignments.join(' ')}: ${problem}`);
        resolve();
      };
      const child = spawn(command, assignments, {
        // Only what systemd-notify needs: not WATCHDOG_* or anything else of ours.
        env: { NOTIFY_SOCKET: socket, PATH: env.PATH ?? '/usr/bin:/bin' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const kill = setTimeout(() => {
        child.kill('SIGKILL');
        done(`${command} did not finish in ${timeoutMs} ms; killed`);
      }, timeoutMs);
      kill.unref();
      child.stderr!.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString();
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          if (!missingLogged) done(`${command} not found: install systemd, or unset NOTIFY_SOCKET`);
          else done();
          missingLogged = true;
        } else done(err.message);
      });
      child.on('close', (code, signal) => {
        if (code === 0) done();
        else done(`${command} exited ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''}`);
      });
    });

  const send = (assignments: string[]): Promise<void> => {
    if (!enabled) return Promise.resolve();
    chain = chain.then(() => runOnce(assignments));
    return chain;
  };

  const stopWatchdog = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    enabled,
    watchdogIntervalMs: interval,
    ready: (status) => send(status === undefined ? ['READY=1'] : ['READY=1', statusLine(status)]),
    status: (text) => send([statusLine(text)]),
    stopping: (status) => {
      stopWatchdog();
      return send(status === undefined ? ['STOPPING=1'] : ['STOPPING=1', statusLine(status)]);
    },
    startWatchdog(isHealthy) {
      stopWatchdog();
      if (interval === null) return false;
      const ping = () => {
        let healthy = false;
        try {
          healthy = isHealthy();
        } catch {
          healthy = false;
        }
        if (!healthy) {
          if (!unhealthyLogged) log('controller unhealthy: watchdog pings withheld; systemd will restart it');
          unhealthyLogged = true;
          return;
        }
        unhealthyLogged = false;
        if (pingInFlight) {
          // Healthy now, but the last ping is still on its way: send one more as soon as it is done
          // (at most one waits, so pings never pile up behind a stuck systemd-notify).
          pingWanted = true;
          return;
        }
        pingInFlight = true;
        void send(['WATCHDOG=1']).then(() => {
          pingInFlight = false;
          if (pingWanted && timer) {
            pingWanted = false;
            ping();
          }
        });
      };
      timer = setInterval(ping, interval);
      timer.unref();
      ping();
      return true;
    },
    stopWatchdog,
    flush: () => chain,
  };
}
