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

describe('sekisho user', () => {
  const dir = tempDir('sekisho-user-');
  const storage = join(dir, 'data');
  const cfg = writeConfig(dir, doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }]));
  let ctl: Running | undefined;
  afterAll(async () => {
    await ctl?.stop();
  });

  it('adds the first administrator with a password from stdin; refuses weak passwords and bad roles', () => {
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
  });

  it('refuses well-known passwords, keyboard walks and one’s own names, saying why', () => {
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
          'manager',
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
    for (const own of ['hanako-walks-the-dog']) {
      const r = add(own);
      expect(r.status, own).toBe(2);
      expect(r.stderr, own).toContain('must not contain the user name, the display name or "sekisho"');
    }
    expect(JSON.parse(cli(['user', 'list', '--config', cfg, '--json']).stdout)).toHaveLength(1);
    const passwd = cli(['user', 'passwd', 'chief', '--config', cfg], { input: 'iloveyou2026\n' });
    expect(passwd.status).toBe(2);
    expect(passwd.stderr).toContain('too easy to guess');
  }, 150_000);

  it('generates a password on request and shows it once; lists accounts', () => {
    const gen = cli([
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
    expect(gen.status, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/password \(shown only now\): [\w]{5}-[\w]{5}-[\w]{5}-[\w]{5}/);
    const list = JSON.parse(cli(['user', 'list', '--config', cfg, '--json']).stdout) as {
      username: string;
      role: string;
    }[];
    expect(list.map((u) => [u.username, u.role])).toEqual([
      ['chief', 'admin'],
      ['duty', 'operator'],
    ]);
  });

  it('the running controller accepts the account; `user disable` ends it', async () => {
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
  });
});
