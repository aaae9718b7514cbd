/**
 * Logging in: passwords (scrypt, minimum length, no default), sessions
 * with an idle timeout, logout, password change, disabled accounts, and the simulation-mode demo
 * accounts whose passwords are generated and printed once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from '../../controller/accounts/passwords.js';
import { UserStore } from '../../controller/accounts/users.js';
import { FAST_SCRYPT, makeDash, PASSWORD, prepareTestDashboard, type TestDash } from './helpers.js';

const login = (d: TestDash, username: string, password: string, ip = '127.0.0.1') =>
  d.app.inject({ method: 'POST', url: '/api/session', payload: { username, password }, remoteAddress: ip });

function types(d: TestDash, type: string) {
  return d.controller.journal.query({ types: [type], limit: 100 });
}

describe('passwords', () => {
  it('are stored as salted scrypt hashes and checked in constant time', async () => {
    const a = await hashPassword('a long passphrase here', FAST_SCRYPT);
    const b = await hashPassword('a long passphrase here', FAST_SCRYPT);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b); // salted
    expect(await verifyPassword('a long passphrase here', a)).toBe(true);
    expect(await verifyPassword('a long passphrase herE', a)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
    expect(
      (await hashPassword('another long one!', { N: 2 ** 15, r: 8, p: 1 })).startsWith('scrypt$32768$8$1$'),
    ).toBe(true);
  });

  it('need a minimum length and must not contain the user’s own names nor "sekisho"', () => {
    expect(passwordProblem('short-pw', 'tanaka')).toBe('password_too_short');
    expect(passwordProblem('x'.repeat(257), 'tanaka')).toBe('password_too_long');
    expect(passwordProblem('tanaka-is-my-pass', 'tanaka')).toBe('password_contains_name');
    expect(passwordProblem('TANAKA-is-my-pass', 'tanaka')).toBe('password_contains_name');
    expect(passwordProblem('my-sekisho-password', 'tanaka')).toBe('password_contains_name');
    expect(passwordProblem('hanako-walks-the-dog', 'h.s', 'Suzuki Hanako')).toBe('password_contains_name');
    expect(passwordProblem('長い日本語のパスワードです', 'tanaka')).toBeNull();
    expect(passwordProblem(PASSWORD, 'tanaka')).toBeNull();
  });
});

describe('login and sessions', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash({ clock: true, server: { loginLimits: { clientFreeFailures: 1000 } } });
  });
  afterAll(async () => {
    await d?.close();
  });
  afterEach(() => {
    d.clock.auto = true;
  });

  it('a wrong password is refused with one stable code and journaled; the right one opens a session', async () => {
    const bad = await login(d, 'operator1', 'wrong password!!');
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('invalid_credentials');
    const unknown = await login(d, 'nobody-here', 'wrong password!!');
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error.code).toBe('invalid_credentials');
    expect(types(d, 'login_failed').map((r) => r.data)).toEqual([
      { userId: null, username: null, ip: '127.0.0.1', failures: 1, reason: 'password' },
      { userId: expect.any(String), username: 'operator1', ip: '127.0.0.1', failures: 1, reason: 'password' },
    ]);
    const ok = await login(d, 'operator1', PASSWORD);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ user: { username: 'operator1', role: 'operator' } });
    expect(ok.json().csrfToken).toMatch(/^[\w-]{43}$/);
    expect(types(d, 'login_succeeded')[0]!.actor).toBe('user:operator1');
    // A password never reaches the journal.
    const rows = d.controller.journal.query({ limit: 1000 });
    expect(rows.some((r) => r.bytes.includes('wrong password') || r.bytes.includes(PASSWORD))).toBe(false);
  });

  it('ends a session after the idle timeout, but not while it is used', async () => {
    const c = await d.login('manager1');
    d.clock.auto = false;
    for (let i = 0; i < 4; i++) {
      d.clock.now += 10 * 60_000; // 10 minutes each: 40 in all, but never 15 idle
      expect((await c.get('/api/session')).statusCode).toBe(200);
    }
    d.clock.now += 15 * 60_000 + 1000;
    const res = await c.get('/api/session');
    expect(res.statusCode).toBe(401);
    expect((await c.get('/')).statusCode).toBe(401);
  });

  it('ends every session after the absolute lifetime', async () => {
    const c = await d.login('manager1');
    d.clock.auto = false;
    for (let i = 0; i < 12 * 6; i++) {
      d.clock.now += 10 * 60_000;
      const res = await c.get('/api/session');
      if (res.statusCode !== 200) {
        expect(i).toBeGreaterThanOrEqual(12 * 6 - 1);
        return;
      }
    }
    d.clock.now += 10 * 60_000;
    expect((await c.get('/api/session')).statusCode).toBe(401);
  });

  it('logout ends the session (and is journaled)', async () => {
    const c = await d.login('operator1');
    const out = await c.req('DELETE', '/api/session');
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await c.get('/api/status')).statusCode).toBe(401);
    expect(types(d, 'logout')[0]!.actor).toBe('user:operator1');
  });

  it('changing one’s password needs the current one, a good new one, and ends the other sessions', async () => {
    const a = await d.login('operator1');
    const b = await d.login('operator1');
    expect(
      (await a.post('/api/me/password', { current: 'not it', next: 'a-brand-new-passphrase' })).statusCode,
    ).toBe(403);
    const weak = await a.post('/api/me/password', { current: PASSWORD, next: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error.code).toBe('weak_password');
    expect(
      (await a.post('/api/me/password', { current: PASSWORD, next: 'a-brand-new-passphrase' })).statusCode,
    ).toBe(200);
    expect((await a.get('/api/session')).statusCode).toBe(200);
    expect((await b.get('/api/session')).statusCode).toBe(401);
    expect((await login(d, 'operator1', PASSWORD)).statusCode).toBe(401);
    expect((await login(d, 'operator1', 'a-brand-new-passphrase')).statusCode).toBe(200);
    await a.post('/api/me/password', { current: 'a-brand-new-passphrase', next: PASSWORD });
  });

  it('disabling an account ends its sessions at once; it cannot log in again', async () => {
    const victim = await d.login('auditor1');
    const admin = await d.login('admin1');
    const id = victim.user.id;
    expect((await admin.post(`/api/users/${admin.user.id}/disable`)).statusCode).toBe(409); // not oneself
    expect((await admin.post(`/api/users/${id}/disable`)).statusCode).toBe(200);
    expect((await victim.get('/api/status')).statusCode).toBe(401);
    const again = await login(d, 'auditor1', PASSWORD);
    expect(again.statusCode).toBe(403);
    expect(again.json().error.code).toBe('account_disabled');
    expect(types(d, 'user_disabled')[0]).toMatchObject({
      actor: 'user:admin1',
      data: { username: 'auditor1' },
    });
  });

  it('a password set on the device must be changed before anything else', async () => {
    // Resets from the dashboard are requests with two-half activation
    // (tests/dashboards/accounts-dual-control.test.ts); a password set directly is the bootstrap's.
    const target = await d.login('operator1');
    const temp = 'temporary-pass-4711';
    await new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT }).setPassword(
      target.user.id,
      temp,
      'cli:root',
      Date.now(),
      {
        mustChange: true,
      },
    );
    const c = await d.login('operator1', temp);
    const blocked = await c.get('/api/status');
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().error.code).toBe('password_change_required');
    const page = await c.get('/log');
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/account');
    expect((await c.get('/account')).statusCode).toBe(200);
    expect((await c.post('/api/me/password', { current: temp, next: PASSWORD })).statusCode).toBe(200);
    expect((await c.get('/api/status')).statusCode).toBe(200);
  });
});

describe('no default passwords; demo accounts only in simulation mode', () => {
  it('a controller starts with no account at all; the first admin comes from `sekisho user add`', async () => {
    const d = await makeDash({ accounts: false });
    try {
      expect(new UserStore(d.controller.db, d.controller.journal).count()).toBe(0);
      for (const name of ['admin', 'root', 'sekisho', 'demo-admin'])
        expect((await login(d, name, 'admin')).statusCode).toBe(401);
    } finally {
      await d.close();
    }
  });

  it('in simulation mode, demo accounts get generated passwords, printed once at first start', async () => {
    let printed = '';
    const d = await makeDash({
      accounts: false,
      demoAccounts: (s) => {
        printed += s;
      },
    });
    try {
      const found = [...printed.matchAll(/^\s+(demo-\w+)\s+(\S+)\s+\((\w+)\)$/gm)].map((m) => ({
        username: m[1]!,
        password: m[2]!,
        role: m[3]!,
      }));
      expect(found.map((f) => f.role).sort()).toEqual(['admin', 'manager']);
      expect(found[0]!.password).not.toBe(found[1]!.password);
      for (const f of found) {
        expect(f.password.length).toBeGreaterThanOrEqual(20);
        const res = await login(d, f.username, f.password);
        expect(res.statusCode).toBe(200);
      }
      // The passwords are nowhere in the journal or the database.
      const all = d.controller.db.prepare('SELECT bytes FROM journal').all() as { bytes: string }[];
      for (const f of found) expect(all.some((r) => r.bytes.includes(f.password))).toBe(false);
      // A second start prints nothing and makes no new accounts.
      let again = '';
      await prepareTestDashboard(d.controller, (s) => {
        again += s;
      });
      expect(again).toBe('');
    } finally {
      await d.close();
    }
  });
});
