/** `sekisho user …` as an operator runs it, and a running controller accepting the account it made. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cli,
  doorConfig,
  type Running,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';

// Each test spawns several `sekisho` processes (a Node.js start under tsx each): slow on a loaded Pi
// or CI box, hence the longer timeout.
const SLOW = 120_000;

describe('sekisho user', () => {
  const dir = tempDir('sekisho-user-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }]));
  let ctl: Running | undefined;
  afterAll(async () => {
    await ctl?.stop();
  });

  it(
    'adds the first administrator with a password from stdin; refuses weak passwords and bad roles',
    () => {
      const weak = cli(['user', 'add', '--config', cfg, '--username', 'chief', '--role', 'admin'], {
        input: 'short\n',
      });
      expect(weak.status).toBe(2);
      expect(weak.stderr).toContain('at least 12 characters');
      const role = cli(['user', 'add', '--config', cfg, '--username', 'chief', '--role', 'god'], {
        input: 'x\n',
      });
      expect(role.status).toBe(2);
      expect(role.stderr).toContain('--role');
      const ok = cli(
        ['user', 'add', '--config', cfg, '--username', 'chief', '--name', '情報 課長', '--role', 'admin'],
        {
          input: 'a-long-enough-passphrase\n',
        },
      );
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('added account chief (admin)');
      expect(ok.stdout).not.toContain('a-long-enough-passphrase');
      const dup = cli(['user', 'add', '--config', cfg, '--username', 'CHIEF', '--role', 'admin'], {
        input: 'a-long-enough-passphrase\n',
      });
      expect(dup.status).toBe(1);
      expect(dup.stderr).toContain('an active administrator exists');
    },
    SLOW,
  );

  it(
    'bootstrap only: once an active administrator exists, `user add` and `user passwd` refuse and point to the dashboard',
    () => {
      const added = JSON.parse(
        cli(['log', '--config', cfg, '--type', 'user_added', '--json']).stdout.trim().split('\n')[0]!,
      );
      expect(added).toMatchObject({
        actor: expect.stringMatching(/^cli:/),
        data: { username: 'chief', via: 'cli', bootstrap: true },
      });
      const more = cli([
        'user',
        'add',
        '--config',
        cfg,
        '--username',
        'duty',
        '--role',
        'operator',
        '--generate',
      ]);
      expect(more.status).toBe(1);
      expect(more.stderr).toContain('an active administrator exists');
      expect(more.stderr).toContain('Request the account on the dashboard');
      expect(more.stdout).not.toMatch(/password/);
      // `user passwd` becomes the two-half reset: it needs a reason and a person (not root).
      const passwd = cli(['user', 'passwd', 'chief', '--config', cfg, '--generate']);
      expect(passwd.status).toBe(2);
      expect(passwd.stderr).toContain('--generate: only to bootstrap');
      expect(passwd.stdout).toBe('');
      const noReason = cli(['user', 'passwd', 'chief', '--config', cfg]);
      expect(noReason.status).toBe(2);
      expect(noReason.stderr).toContain('--reason');
      const list = JSON.parse(cli(['user', 'list', '--config', cfg, '--json']).stdout) as {
        username: string;
        role: string;
      }[];
      expect(list.map((u) => [u.username, u.role])).toEqual([['chief', 'admin']]);
    },
    SLOW,
  );

  it(
    'the running controller accepts the account; `user disable` ends it',
    async () => {
      ctl = await startController(cfg, storage);
      const login = (username: string, password: string) =>
        fetch(`${ctl!.base}/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        });
      const res = await login('chief', 'a-long-enough-passphrase');
      expect(res.status).toBe(200);
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      expect((await fetch(`${ctl.base}/api/users`, { headers: { cookie } })).status).toBe(200);
      const off = cli(['user', 'disable', 'chief', '--config', cfg]);
      expect(off.status, off.stderr).toBe(0);
      expect((await fetch(`${ctl.base}/api/users`, { headers: { cookie } })).status).toBe(401);
      expect((await login('chief', 'a-long-enough-passphrase')).status).toBe(403);
      // Accounts existed before the first start, so simulation mode made no demo accounts.
      expect(ctl.output()).not.toContain('demo-admin');
      const journal = cli(['log', '--config', cfg, '--type', 'user_disabled', '--json']);
      expect(JSON.parse(journal.stdout.trim().split('\n')[0]!)).toMatchObject({
        actor: expect.stringMatching(/^cli:/),
      });
    },
    SLOW,
  );

  it(
    'with no active administrator left, the device may bootstrap again (recovery), journaled as such',
    async () => {
      const passwd = cli(['user', 'passwd', 'chief', '--config', cfg, '--generate']);
      expect(passwd.status, passwd.stderr).toBe(0);
      expect(passwd.stdout).toMatch(/password \(shown only now\): [\w]{5}-[\w]{5}-[\w]{5}-[\w]{5}/);
      const add = cli(['user', 'add', '--config', cfg, '--username', 'deputy', '--role', 'admin'], {
        input: 'another-long-passphrase\n',
      });
      expect(add.status, add.stderr).toBe(0);
      expect(add.stdout).toContain('bootstrap');
      const res = await fetch(`${ctl!.base}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'deputy', password: 'another-long-passphrase' }),
      });
      expect(res.status).toBe(200);
      // Now there is an active administrator again: closed.
      const closed = cli(['user', 'add', '--config', cfg, '--username', 'third', '--role', 'admin'], {
        input: 'yet-another-passphrase\n',
      });
      expect(closed.status).toBe(1);
    },
    SLOW,
  );
});
