/**
 * A real NUT server for the power tests: Debian's upsd with the dummy-ups driver, in a temp folder
 * with its own ups.conf, upsd.conf and upsd.users, on a free port of 127.0.0.1. The UPS's status is
 * the driver's .seq file, which setStatus() rewrites ("OL" → "OB LB"). upsd and the driver refuse
 * to run as root: when the tests run as root they run as the `nut` user.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, renameSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { tempDir, until } from './controller.js';
import { freePort } from './mosquitto.js';

export const UPSD = '/lib/nut/upsd';
export const DUMMY_UPS = '/lib/nut/dummy-ups';
export const UPSC = '/usr/bin/upsc';

export interface Nut {
  dir: string;
  port: number;
  ups: string;
  username: string;
  password: string;
  /** Rewrites the dummy UPS's status and waits until upsd reports it. */
  setStatus(status: string): Promise<void>;
  /** Stops upsd (the driver keeps running): the controller loses its link. */
  stopUpsd(): Promise<void>;
  startUpsd(): Promise<void>;
  /** The addresses upsd lists as logged in to the UPS (`upsc -c`), or null when it cannot be asked. */
  clients(): string[] | null;
  /** Ends both processes. */
  kill(): Promise<void>;
}

/** The uid/gid to run NUT as: `nut` when we are root, else ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'nut'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nut'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startNut(initialStatus = 'OL'): Promise<Nut> {
  const dir = tempDir('sekisho-nut-');
  const port = await freePort();
  const ups = 'testups';
  const username = 'sekisho';
  const password = 'nut-test-password';
  const seq = join(dir, `${ups}.seq`);
  const as = runAs();
  const writeSeq = (status: string) => {
    const tmp = `${seq}.tmp`;
    writeFileSync(tmp, `ups.status: ${status}\nbattery.charge: ${status.includes('LB') ? 10 : 100}\n`);
    chmodSync(tmp, 0o644);
    renameSync(tmp, seq);
  };
  writeFileSync(
    join(dir, 'ups.conf'),
    `[${ups}]\n  driver = dummy-ups\n  port = ${seq}\n  mode = dummy-loop\n  pollinterval = 1\n  desc = "Sekisho test UPS"\n`,
  );
  writeFileSync(join(dir, 'upsd.conf'), `LISTEN 127.0.0.1 ${port}\nMAXAGE 15\n`);
  // `upsmon secondary`: what a LOGIN to the UPS needs, as for NUT's own upsmon on another host.
  writeFileSync(join(dir, 'upsd.users'), `[${username}]\n  password = ${password}\n  upsmon secondary\n`, {
    mode: 0o600,
  });
  writeSeq(initialStatus);
  let current = initialStatus;
  chmodSync(dir, 0o755);
  if (as)
    for (const f of ['', 'ups.conf', 'upsd.conf', 'upsd.users', `${ups}.seq`])
      chownSync(join(dir, f), as.uid, as.gid);
  const env = { ...process.env, NUT_CONFPATH: dir, NUT_STATEPATH: dir, NUT_ALTPIDPATH: dir };
  const run = (file: string, args: string[]) => {
    const p = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'], ...(as ?? {}) });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    (p as ChildProcess & { stderrText: () => string }).stderrText = () => err;
    return p;
  };
  const driver = run(DUMMY_UPS, ['-a', ups, '-F']);
  let upsd: ChildProcess | null = null;
  const status = () => {
    try {
      return execFileSync(UPSC, [`${ups}@127.0.0.1:${port}`, 'ups.status'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 3000,
      }).trim();
    } catch {
      return null;
    }
  };
  const ended = (p: ChildProcess) =>
    p.exitCode !== null || p.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((res) => p.once('exit', () => res()));
  const nut: Nut = {
    dir,
    port,
    ups,
    username,
    password,
    async setStatus(s: string) {
      current = s;
      writeSeq(s);
      await until(() => status() === s, `upsd to report "${s}"`, 60_000);
    },
    async stopUpsd() {
      if (!upsd) return;
      const p = upsd;
      upsd = null;
      p.kill('SIGTERM');
      await ended(p);
    },
    async startUpsd() {
      upsd = run(UPSD, ['-F']);
      // Until the driver's data has reached upsd (it says WAIT before).
      await until(() => status() === current, `upsd on port ${port} to report "${current}"`, 60_000);
    },
    clients() {
      try {
        return execFileSync(UPSC, ['-c', `${ups}@127.0.0.1:${port}`], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
          timeout: 3000,
        })
          .split('\n')
          .filter((l) => l.trim() !== '');
      } catch {
        return null;
      }
    },
    async kill() {
      await nut.stopUpsd();
      driver.kill('SIGTERM');
      await ended(driver);
    },
  };
  try {
    await nut.startUpsd();
  } catch (err) {
    await nut.kill();
    throw err;
  }
  return nut;
}
