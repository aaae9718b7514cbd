/**
 * The login through HTTP as an anonymous client on the LAN would try it: guessing from one address
 * or many cannot lock the owner out, and the answers do not tell an existing name from an unknown,
 * disabled, expired or throttled one.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserStore } from '../../controller/accounts/users.js';
import { FAST_SCRYPT, makeDash, PASSWORD, type TestDash } from './helpers.js';

const login = (d: TestDash, username: string, password: string, ip: string, headers = {}) =>
  d.app.inject({
    method: 'POST',
    url: '/api/session',
    payload: { username, password },
    remoteAddress: ip,
    headers,
  });

const rows = (d: TestDash, type: string) => d.controller.journal.query({ types: [type], limit: 1000 });

describe('guessing cannot lock the owner out', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash({ clock: true });
    d.clock.auto = false; // delays are waited out by moving the clock, never by the machine's speed
  });
  afterAll(async () => {
    await d?.close();
  });

  it('50 wrong passwords from one address slow that address down, not the owner elsewhere', async () => {
    const statuses: number[] = [];
    const waits: number[] = [];
    let checked = 0;
    while (checked < 50) {
      const res = await login(d, 'admin1', `guess number ${checked}!`, '10.0.0.66');
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.json().error).toMatchObject({ code: 'rate_limited', scope: 'address' });
        const wait = Number(res.headers['retry-after']);
        waits.push(wait);
        d.clock.now += wait * 1000; // the attacker waits as told: every guess is checked
      } else {
        expect(res.statusCode).toBe(401);
        checked++;
      }
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    expect(waits.slice(0, 4)).toEqual([1, 2, 4, 8]);
    expect(Math.max(...waits)).toBe(600);
    expect(
      rows(d, 'login_failed').filter((r) => (r.data as { username?: string }).username === 'admin1'),
    ).toHaveLength(50);
    expect(rows(d, 'login_throttled')).toHaveLength(0);
    // Hammering without waiting is refused before any password is checked.
    const hammer = await login(d, 'admin1', PASSWORD, '10.0.0.66');
    expect(hammer.statusCode).toBe(429);
    // The owner, from an address never used before, is let in at once.
    const owner = await login(d, 'admin1', PASSWORD, '10.0.0.20');
    expect(owner.statusCode).toBe(200);
  });

  it('guesses from many addresses delay new addresses only; the owner’s own address gets in', async () => {
    // The owner logged in from their desk before the attack.
    expect((await login(d, 'manager1', PASSWORD, '10.0.1.1')).statusCode).toBe(200);
    const attack = async (name: string, net: number) => {
      const out: number[] = [];
      for (let a = 0; a < 6; a++)
        for (let i = 0; i < 3; i++)
          out.push((await login(d, name, `spray ${a}-${i}!!`, `10.0.${net}.${a}`)).statusCode);
      return out;
    };
    const real = await attack('manager1', 2);
    // Ten counted failures set the name's delay off; from then on new addresses wait.
    expect(real.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(real.slice(10)).toEqual(Array(8).fill(429));
    const throttled = rows(d, 'login_throttled');
    expect(throttled).toHaveLength(1);
    expect(throttled[0]!.data).toMatchObject({ username: 'manager1', failures: 10, delayMs: 1000 });

    const fresh = await login(d, 'manager1', PASSWORD, '10.0.3.3');
    expect(fresh.statusCode).toBe(429);
    expect(fresh.json().error.scope).toBe('account');
    expect(Number(fresh.headers['retry-after'])).toBeGreaterThan(0);
    const desk = await login(d, 'manager1', PASSWORD, '10.0.1.1');
    expect(desk.statusCode).toBe(200);
    // The success starts the name over: the new address is let in now.
    expect((await login(d, 'manager1', PASSWORD, '10.0.3.3')).statusCode).toBe(200);

    // A name without an account goes through exactly the same.
    expect(await attack('ghost-manager', 7)).toEqual(real);
    expect(rows(d, 'login_throttled')[0]!.data).toMatchObject({ userId: null, username: null });
  });

  it('an administrator can lift the delay; it is journaled', async () => {
    for (let a = 0; a < 4; a++)
      for (let i = 0; i < 3; i++) await login(d, 'operator1', `spray ${a}-${i}!!`, `10.0.4.${a}`);
    expect((await login(d, 'operator1', PASSWORD, '10.0.5.5')).statusCode).toBe(429);
    const admin = await d.login('admin2');
    const id = (await admin.get('/api/users'))
      .json()
      .users.find((u: { username: string }) => u.username === 'operator1').id;
    expect((await admin.post(`/api/users/${id}/unlock`)).statusCode).toBe(200);
    expect(rows(d, 'user_unlocked')[0]).toMatchObject({ actor: 'user:admin2' });
    expect((await login(d, 'operator1', PASSWORD, '10.0.5.5')).statusCode).toBe(200);
  });

  it('parallel guesses from one address are counted while they run', async () => {
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(d, 'auditor1', `parallel ${i}!!!!`, '10.0.6.6')),
    );
    const codes = all.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(15);
  });
});

/** Everything the client sees. */
function answer(res: LightMyRequestResponse) {
  const { date: _date, ...headers } = res.headers;
  return { status: res.statusCode, headers, body: res.body };
}

describe('the answers do not reveal which names exist', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash({ clock: true });
    d.clock.auto = false; // the Retry-After values are compared too
    const users = new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT });
    const now = d.controller.now();
    // A disabled account, an expired one, and one locked by an older version (locked_until set).
    users.setActive(users.byUsername('operator1')!.id, false, 'test:setup', now);
    d.controller.db
      .prepare("UPDATE dashboard_users SET valid_until = ? WHERE username = 'auditor1'")
      .run(now - 1000);
    d.controller.db
      .prepare("UPDATE dashboard_users SET locked_until = ?, failed_logins = 5 WHERE username = 'manager2'")
      .run(now + 3_600_000);
    // The same again, untouched by the other tests, for the sequences.
    for (const username of ['gone-user', 'ended-user'])
      await users.create(
        { username, displayName: username, role: 'operator', password: PASSWORD },
        'test:setup',
        now,
      );
    users.setActive(users.byUsername('gone-user')!.id, false, 'test:setup', now);
    d.controller.db
      .prepare("UPDATE dashboard_users SET valid_until = ? WHERE username = 'ended-user'")
      .run(now - 1000);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('a wrong password: byte-identical for an existing, unknown, disabled, expired or locked name', async () => {
    for (const lang of ['ja', 'en']) {
      const headers = { 'accept-language': lang };
      const names = ['manager1', 'nobody-at-all', 'operator1', 'auditor1', 'manager2'];
      const answers = [];
      for (const [i, name] of names.entries())
        answers.push(answer(await login(d, name, 'not-the-password!', `10.1.${i}.1`, headers)));
      expect(answers[0]!.status).toBe(401);
      expect(answers[0]!.headers['set-cookie']).toBeUndefined();
      for (const a of answers.slice(1)) expect(a).toEqual(answers[0]);
    }
  });

  it('only the right password tells a disabled account apart; an old lock no longer holds anyone', async () => {
    const disabled = await login(d, 'operator1', PASSWORD, '10.4.0.1');
    expect(disabled.statusCode).toBe(403);
    expect(disabled.json().error.code).toBe('account_disabled');
    expect((await login(d, 'auditor1', PASSWORD, '10.4.0.2')).json().error.code).toBe('account_disabled');
    expect((await login(d, 'manager2', PASSWORD, '10.4.0.3')).statusCode).toBe(200);
  });
  it('the same sequence of answers, attempt after attempt, from one address and from many', async () => {
    const seq = async (name: string, net: number) => {
      const out = [];
      for (let i = 0; i < 8; i++)
        out.push(answer(await login(d, name, `wrong ${i}!!!!!!!`, `10.2.${net}.1`)));
      for (let a = 0; a < 5; a++)
        for (let i = 0; i < 3; i++)
          out.push(answer(await login(d, name, `wrong ${a}${i}!!!!!!`, `10.3.${net}.${a}`)));
      return out;
    };
    const existing = await seq('admin2', 1);
    expect(existing.map((a) => a.status)).toContain(429);
    expect(await seq('no-such-admin', 2)).toEqual(existing);
    expect(await seq('gone-user', 3)).toEqual(existing); // disabled
    expect(await seq('ended-user', 4)).toEqual(existing); // expired
  });
});

describe('a browser where the owner logged in before (the device cookie)', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash({ clock: true });
    d.clock.auto = false; // delays are waited out by moving the clock, never by the machine's speed
  });
  afterAll(async () => {
    await d?.close();
  });

  const deviceCookie = (res: LightMyRequestResponse) => {
    const all = [res.headers['set-cookie'] ?? []].flat().map(String);
    const c = all.find((x) => x.startsWith('sekisho_device='))!;
    expect(c).toContain('Path=/api/session');
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    return c.split(';')[0]!;
  };

  it('gets in from an address that a guesser has slowed down, and from a new one during a spray', async () => {
    // The owner logged in once, at home; the browser keeps the device cookie.
    const first = await login(d, 'admin1', PASSWORD, '10.7.0.1');
    expect(first.statusCode).toBe(200);
    const cookie = deviceCookie(first);
    // A guesser shares the office's address (one NAT) with the owner and fails 8 times.
    for (let i = 0; i < 8; i++) await login(d, 'admin1', `guess ${i}!!!!!!!`, '10.7.9.9');
    expect((await login(d, 'admin1', PASSWORD, '10.7.9.9')).statusCode).toBe(429);
    // The owner's browser, at that same address, is let in.
    const owner = await login(d, 'admin1', PASSWORD, '10.7.9.9', { cookie });
    expect(owner.statusCode).toBe(200);
    // A spray from many addresses holds new addresses back, but not the owner's browser.
    for (let a = 0; a < 4; a++)
      for (let i = 0; i < 3; i++) await login(d, 'admin1', `spray ${a}${i}!!!!!`, `10.8.0.${a}`);
    expect((await login(d, 'admin1', PASSWORD, '10.9.0.1')).statusCode).toBe(429);
    expect((await login(d, 'admin1', PASSWORD, '10.9.0.1', { cookie })).statusCode).toBe(200);
  });

  it('a device cookie opens nothing for another name, and a forged one is ignored', async () => {
    const mine = deviceCookie(await login(d, 'operator1', PASSWORD, '10.10.0.1'));
    for (let i = 0; i < 5; i++)
      await login(d, 'manager1', `guess ${i}!!!!!!!`, '10.10.9.9', { cookie: mine });
    // operator1's cookie is no standing for manager1: the address's delay holds.
    expect((await login(d, 'manager1', PASSWORD, '10.10.9.9', { cookie: mine })).statusCode).toBe(429);
    const id = mine.split('=')[1]!.split('.')[0]!;
    const forged = `sekisho_device=${id}.${'A'.repeat(43)}`;
    expect((await login(d, 'manager1', PASSWORD, '10.10.9.9', { cookie: forged })).statusCode).toBe(429);
    // A failure with or without a cookie answers the same.
    const a = await login(d, 'auditor1', 'not-the-password!', '10.11.0.1', { cookie: mine });
    const b = await login(d, 'auditor1', 'not-the-password!', '10.11.0.2');
    expect(answer(a)).toEqual(answer(b));
  });
});
