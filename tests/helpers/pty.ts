/**
 * A real pseudo-terminal pair made by socat, for tests that need a serial device: bytes written to
 * one end come out of the other. The ends are symlinks `<dir>/a` and `<dir>/b` to /dev/pts/N, so a
 * second pair made in the same folder (after `stop()`) has the same paths — a device that vanished
 * and came back.
 *
 * socat runs in its own process group; `stop()` kills the group and waits for all of it to exit.
 * Pairs a test forgets to stop are killed when the test process exits, even when it is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface PtyPair {
  /** One end (a symlink to the pty). */
  a: string;
  /** The other end. */
  b: string;
  /** The process group id (socat and the shell that watches over it). */
  pid: number;
  /** Kill socat (SIGTERM, then SIGKILL after 2 s) and wait for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface PtyPairOptions {
  /** Link names inside `dir`. Default ['a', 'b']. */
  names?: [string, string];
  /** How long to wait for socat to be ready. Default 5000 ms. */
  timeoutMs?: number;
  socat?: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function resolvesToPty(link: string): boolean {
  try {
    return realpathSync(link).startsWith('/dev/');
  } catch {
    return false;
  }
}

/**
 * socat runs under a small shell that also watches its own stdin, a pipe from this process: when
 * this process dies without calling stop() (a crashed or killed test worker), the pipe closes and
 * the shell terminates socat. The shell exits when socat exits.
 */
const WRAPPER = 'exec 3<&0; "$0" "$@" & s=$!; (read -r _ <&3; kill "$s" 2>/dev/null) & wait "$s"';

/**
 * Whether any process of the group is still running. Zombies do not count: in a container without
 * an init that reaps orphans, socat can stay a zombie for ever once its shell is gone.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true; // no /proc: trust kill(0)
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ... — comm may contain spaces, so split after the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // exited while we looked
    }
  }
  return false;
}

export async function makePtyPair(dir: string, options: PtyPairOptions = {}): Promise<PtyPair> {
  const [nameA, nameB] = options.names ?? ['a', 'b'];
  const a = join(dir, nameA);
  const b = join(dir, nameB);
  // socat splits addresses at these characters.
  if (/[,!:\s'"\\]/.test(a + b)) throw new Error(`makePtyPair: unusable path for socat: ${a}`);
  mkdirSync(dir, { recursive: true });
  // Stale links from a socat that was SIGKILLed would look ready before the new one is.
  rmSync(a, { force: true });
  rmSync(b, { force: true });

  const child = spawn(
    '/bin/sh',
    [
      '-c',
      WRAPPER,
      options.socat ?? '/usr/bin/socat',
      '-d',
      '-d',
      `pty,raw,echo=0,link=${a}`,
      `pty,raw,echo=0,link=${b}`,
    ],
    { detached: true, stdio: ['pipe', 'ignore', 'pipe'] },
  );
  installExitHook();
  live.add(child);
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    log = (log + s).slice(-8192);
  });
  child.stdin?.on('error', () => {});
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  exited.then(() => live.delete(child));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const pgid = child.pid;
      killGroup(child, 'SIGTERM');
      if (pgid !== undefined) {
        // Wait for the whole group (the shell, socat, the watcher), not just the shell.
        const deadline = Date.now() + 2000;
        while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        if (groupAlive(pgid)) {
          try {
            process.kill(-pgid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
      }
      child.stdin?.destroy();
      await exited;
      // socat removes its links on SIGTERM, not on SIGKILL.
      rmSync(a, { force: true });
      rmSync(b, { force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  let linkedAt: number | undefined;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `makePtyPair: socat did not start (${spawnError?.message ?? `exit ${child.exitCode}`}): ${log}`,
      );
    }
    if (existsSync(a) && existsSync(b) && resolvesToPty(a) && resolvesToPty(b)) {
      linkedAt ??= Date.now();
      // Ready once socat says so; older socats may word it differently, so links + 300 ms also do.
      if (/starting data transfer loop/.test(log) || Date.now() - linkedAt > 300) break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`makePtyPair: socat not ready after ${options.timeoutMs ?? 5000} ms: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { a, b, pid: child.pid!, stop };
}
