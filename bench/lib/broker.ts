/**
 * A bare Mosquitto with one listener, for the one variant the shared test helper does not offer:
 * `set_tcp_nodelay true` (Nagle's algorithm off on the broker's sockets).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../tests/helpers/mosquitto.js';
import { sleep } from './stats.js';

export interface BareBroker {
  url: string;
  stop(): Promise<void>;
}

export async function startBareBroker(dir: string, options: { nodelay: boolean }): Promise<BareBroker> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `set_tcp_nodelay ${options.nodelay}`];
  if (process.getuid?.() === 0) lines.push('user root');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const proc: ChildProcess = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > end || proc.exitCode !== null) throw new Error('mosquitto did not start');
    await sleep(25);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
