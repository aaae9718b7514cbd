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
      expect(dup.stderr).toContain('already exists');
      const manager = cli(['user', 'add', '--config', cfg, '--username', 'kacho', '--role', 'manager'], {
        input: 'a-long-enough-passphrase\n',
      });
      expect(manager.status).toBe(2);
      expect(manager.stderr).toContain('administrators only');
    },
    SLOW,
  );

  it(
    'refuses well-known passwords, keyboard walks and one’s own names, saying why',
    () => {
      const add = (password: string) =>
        cli(
          [
            'user',
            'add',
            '--config',
            cfg,
            '--username',
            'kacho',
            '--name',
            'Suzuki Hanako',
            '--role',
            'admin',
          ],
          {
            input: `${password}\n`,
          },
        );
      for (const weak of ['password1234', 'qwertyuiop12']) {
        const r = add(weak);
        expect(r.status, weak).toBe(2);
        expect(r.stderr, weak).toContain('the password is too easy to guess: ');
      }
      const leet = add('P@ssw0rd2026');
      expect(leet.status).toBe(2);
      expect(leet.stderr).toContain('This is similar to a commonly used password.');
      const own = add('hanako-walks-the-dog');
      expect(own.status).toBe(2);
      expect(own.stderr).toContain('must not contain the user name, the display name or "sekisho"');
      expect(JSON.parse(cli(['user', 'list', '--config', cfg, '--json']).stdout)).toHaveLength(1);
    },
    SLOW,
  );

  it(
    'bootstrap only: once two active administrators exist, `user add` and `user passwd` refuse and point to the dashboard',
    () => {
      const added = JSON.parse(
        cli(['log', '--config', cfg, '--type', 'user_added', '--json']).stdout.trim().split('\n')[0]!,
      );
      expect(added).toMatchObject({
        actor: expect.stringMatching(/^cli:/),
        data: { username: 'chief', via: 'cli', bootstrap: true },
      });
      const second = cli(['user', 'add', '--config', cfg, '--username', 'deputy', '--role', 'admin'], {
        input: 'another-long-passphrase\n',
      });
      expect(second.status, second.stderr).toBe(0);
      expect(second.stdout).toContain('bootstrap');
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
      expect(more.stderr).toContain('two active administrators exist');
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
      expect(list.map((u) => [u.username, u.role])).toEqual([
        ['chief', 'admin'],
        ['deputy', 'admin'],
      ]);
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
    'with fewer than two active administrators left, the device may bootstrap again (recovery), journaled as such',
    async () => {
      const passwd = cli(['user', 'passwd', 'chief', '--config', cfg, '--generate']);
      expect(passwd.status, passwd.stderr).toBe(0);
      expect(passwd.stdout).toMatch(/password \(shown only now\): [\w]{5}-[\w]{5}-[\w]{5}-[\w]{5}/);
      const add = cli(['user', 'add', '--config', cfg, '--username', 'sub', '--role', 'admin'], {
        input: 'quiet-harbour-lanterns\n',
      });
      expect(add.status, add.stderr).toBe(0);
      expect(add.stdout).toContain('bootstrap');
      const res = await fetch(`${ctl!.base}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'sub', password: 'quiet-harbour-lanterns' }),
      });
      expect(res.status).toBe(200);
      // Two active administrators again (deputy, sub): closed.
      const closed = cli(['user', 'add', '--config', cfg, '--username', 'third', '--role', 'admin'], {
        input: 'yet-another-passphrase\n',
      });
      expect(closed.status).toBe(1);
    },
    SLOW,
  );
});
