/**
 * `sekisho token …` as a child process beside a running `sekisho start` (simulation mode), as an
 * operator uses it on the device: the simulation token's file and banner, a token made by the
 * command accepted by the running controller, a revocation refused by it at once, and the
 * simulation token made anew at the next start. The command's options and refusals are tested in
 * process in tests/dashboards/token-command.test.ts.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';

// Each command is a Node.js start of its own: slow on a loaded Raspberry Pi or CI machine.
const SLOW = 120_000;

describe('sekisho token beside a running controller', () => {
  const dir = tempDir('sekisho-token-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, simReaders()));
  let ctl: Running;
  const token = (...args: string[]) => cli(['token', ...args, '--config', cfg]);
  const call = (secret: string, path: string) =>
    fetch(`${ctl.base}${path}`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.status);

  beforeAll(async () => {
    ctl = await startController(cfg, storage, 60_000);
  }, SLOW);
  afterAll(async () => {
    await ctl?.stop();
  }, SLOW);

  it(
    'the simulation wrote its token (read, sim) to <storage>/api-token, mode 0600, and the banner says so',
    async () => {
      expect(statSync(join(storage, 'api-token')).mode & 0o777).toBe(0o600);
      expect(ctl.token).toMatch(/^sks_simulation_[A-Za-z0-9_-]{43}$/);
      // The banner follows the listener: it may still be on its way.
      await expect.poll(() => ctl.output()).toContain('scopes read and sim');
      expect(await call(ctl.token, '/api/status')).toBe(200);
      expect(await call(ctl.token, '/metrics')).toBe(403);
      const listed = JSON.parse(token('list', '--json').stdout);
      expect(listed).toEqual([
        expect.objectContaining({ name: 'simulation', scopes: ['read', 'sim'], createdBy: 'system' }),
      ]);
    },
    SLOW,
  );

  it(
    'a token the command makes works on the running controller at once, and stops at once when revoked',
    async () => {
      const r = token('create', 'prometheus', '--scope', 'metrics');
      expect(r.status, r.stderr).toBe(0);
      const secret = r.stdout.trim();
      expect(r.stdout).toBe(`${secret}\n`);
      expect(await call(secret, '/metrics')).toBe(200);
      expect(await call(secret, '/api/status')).toBe(403);
      expect(token('revoke', 'prometheus').status).toBe(0);
      expect(await call(secret, '/metrics')).toBe(401);
    },
    SLOW,
  );

  it(
    'a revoked simulation token is made anew at the next start, in the same file',
    async () => {
      const old = ctl.token;
      expect(token('revoke', 'simulation').status).toBe(0);
      expect(await call(old, '/api/status')).toBe(401);
      await ctl.stop();
      ctl = await startController(cfg, storage, 60_000);
      expect(ctl.token).not.toBe(old);
      expect(await call(ctl.token, '/api/status')).toBe(200);
      expect(statSync(join(storage, 'api-token')).mode & 0o777).toBe(0o600);
    },
    SLOW,
  );
});
