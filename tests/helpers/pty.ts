/**
 * A real pseudo-terminal pair made by socat, for tests that need a serial device: bytes written to
 * one end come out of the other. The ends are symlinks `<dir>/a` and `<dir>/b` to /dev/pts/N, so a
 * second pair made in the same folder (after `stop()`) has the same paths — a device that vanished
 * and came back.
 *
 * socat runs in its own process group; `stop()` kills the group and waits for it to exit. Pairs a
 * test forgets to stop are killed when the test process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface PtyPair {
  /** One end (a symlink to the pty). */
  a: string;
  /** The other end. */
  b: string;
  /** socat's pid (also its process group id). */
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
    options.socat ?? '/usr/bin/socat',
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  installExitHook();
  live.add(child);
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    log = (log + s).slice(-8192);
  });
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
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
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
