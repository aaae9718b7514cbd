/**
 * The dashboard's access control, proved over every route fastify has registered: 401 without a
 * session, 403 for each role that lacks the route's right, and the route's declared right matches
 * what the roles table grants; for API tokens, 401/403 on every route outside the token's scopes.
 * Plus CSRF, security headers and the cookie's flags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  can,
  type Permission,
  ROLES,
  type Role,
  SCOPE_PERMISSIONS,
  SCOPES,
  type Scope,
} from '../../controller/accounts/roles.js';
import { ACCOUNTS, type Client, makeDash, type TestDash } from './helpers.js';

const PUBLIC = [
  'GET /healthz',
  'GET /login',
  'POST /api/session',
  'GET /static/:file',
  'GET /activate',
  'POST /api/activate',
];

/** A concrete URL for a route pattern. */
function concrete(url: string): string {
  return url.replace(':door', 'machine-room').replace(':file', 'app.css').replace(':id', '999999');
}

describe('every route is protected', () => {
  let d: TestDash;
  const clients = new Map<Role, Client>();
  beforeAll(async () => {
    d = await makeDash();
    for (const role of ROLES) {
      const account = ACCOUNTS.find((a) => a.role === role)!;
      clients.set(role, await d.login(account.username));
    }
  });
  afterAll(async () => {
    await d?.close();
  });

  it('every registered route is declared, and exactly the login page, the login call, the assets and /healthz are public', () => {
    const registered = d.app.sekishoRoutes.map((r) => `${r.method} ${r.url}`);
    const declared = new Map(d.app.sekishoDefs.map((x) => [`${x.method} ${x.url}`, x]));
    expect(registered.length).toBeGreaterThan(60);
    for (const r of registered) if (r !== 'GET /healthz') expect(declared.has(r), r).toBe(true);
    const publicRoutes = registered.filter((r) => r === 'GET /healthz' || declared.get(r)?.auth === 'public');
    expect(publicRoutes.sort()).toEqual([...PUBLIC].sort());
  });

  it('answers 401 without a session (and with a forged cookie or a wrong token) on every other route', async () => {
    const routes = d.app.sekishoRoutes.filter((r) => !PUBLIC.includes(`${r.method} ${r.url}`));
    for (const r of routes) {
      const url = concrete(r.url);
      for (const headers of [
        {},
        { cookie: 'sekisho_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
        { authorization: 'Bearer wrong-token' },
        // a real token without "Bearer", and one with a wrong secret or an unknown name
        { authorization: d.tokens.walk },
        { authorization: `Bearer ${d.tokens.walk.slice(0, -1)}${d.tokens.walk.endsWith('A') ? 'B' : 'A'}` },
        { authorization: `Bearer ${d.tokens.walk.replace('sks_walk_', 'sks_nobody_')}` },
      ]) {
        const res = await d.app.inject({
          method: r.method as 'GET',
          url,
          headers,
          ...(r.method === 'GET' ? {} : { payload: {} }),
        });
        expect(res.statusCode, `${r.method} ${r.url} ${JSON.stringify(headers)}`).toBe(401);
        const def = d.app.sekishoDefs.find((x) => x.method === r.method && x.url === r.url)!;
        if (def.kind === 'page') {
          expect(res.headers['content-type']).toMatch(/text\/html/);
          expect(res.body).toContain('/login?next=');
        } else expect(res.json().error.code).toBe('unauthorized');
      }
      // fastify answers HEAD for every GET route: the same guard applies.
      if (r.method === 'GET')
        expect((await d.app.inject({ method: 'HEAD', url })).statusCode, `HEAD ${r.url}`).toBe(401);
    }
  });

  it('answers 403 to every role that lacks the route’s right, and lets the others through', async () => {
    let denied = 0;
    let allowed = 0;
    for (const def of d.app.sekishoDefs) {
      if (def.auth === 'public') continue;
      const url = concrete(def.url);
      for (const role of ROLES) {
        const c = clients.get(role)!;
        const ok = can(role, def.auth as Permission);
        // Streams never end under inject, and an allowed change would really happen: check those
        // only for the roles that must be refused.
        if (ok && (def.kind === 'stream' || def.method !== 'GET')) continue;
        const res = await c.req(def.method, url, def.method === 'GET' ? undefined : {});
        if (ok) {
          expect([401, 403], `${role} ${def.method} ${def.url}`).not.toContain(res.statusCode);
          allowed++;
        } else {
          expect(res.statusCode, `${role} ${def.method} ${def.url}`).toBe(403);
          if (def.kind === 'page') expect(res.body).toContain('data-code="forbidden"');
          else expect(res.json().error.code).toBe('forbidden');
          denied++;
        }
      }
    }
    const lacking = d.app.sekishoDefs
      .filter((x) => x.auth !== 'public')
      .reduce((n, x) => n + ROLES.filter((r) => !can(r, x.auth as Permission)).length, 0);
    expect(denied).toBe(lacking);
    expect(denied).toBeGreaterThan(40);
    expect(allowed).toBeGreaterThan(50);
  });

  it('roles mean what the policy says: the auditor only reads, the operator cannot approve', () => {
    const changes = d.app.sekishoDefs.filter(
      (x) => x.method !== 'GET' && x.auth !== 'public' && x.auth !== 'self' && x.auth !== 'integrity.verify',
    );
    expect(changes.length).toBeGreaterThan(20);
    for (const x of changes) expect(can('auditor', x.auth as Permission), `${x.method} ${x.url}`).toBe(false);
    expect(can('operator', 'requests.approve')).toBe(false);
    expect(can('operator', 'badges.lost')).toBe(true);
    expect(can('manager', 'accounts.approve')).toBe(false);
    expect(can('admin', 'accounts.approve')).toBe(true);
  });

  it('answers 401/403 to a token on every route outside its scopes, and lets it through inside them', async () => {
    const inScope = (scopes: readonly Scope[], def: { auth: string; kind: string }) =>
      def.kind !== 'page' &&
      scopes.some((sc) => (SCOPE_PERMISSIONS[sc] as readonly string[]).includes(def.auth));
    const tested = new Map<Scope, string[]>(SCOPES.map((sc) => [sc, []]));
    let refused = 0;
    for (const r of d.app.sekishoRoutes) {
      if (PUBLIC.includes(`${r.method} ${r.url}`)) continue;
      const def = d.app.sekishoDefs.find((x) => x.method === r.method && x.url === r.url)!;
      for (const token of ['metrics', 'read', 'sim', 'walk'] as const) {
        const scopes: readonly Scope[] = token === 'walk' ? ['read', 'sim'] : [token];
        const ok = inScope(scopes, def);
        if (ok && token !== 'walk') tested.get(token)!.push(`${r.method} ${r.url}`);
        // The live stream never ends under inject: it is proved over HTTP in tokens.test.ts.
        if (ok && def.kind === 'stream' && r.url === '/api/live') continue;
        const res = await d.app.inject({
          method: r.method as 'GET',
          url: concrete(r.url),
          headers: d.bearer(token),
          ...(r.method === 'GET' ? {} : { payload: {} }),
        });
        const what = `${token} ${r.method} ${r.url}`;
        if (ok) expect([401, 403], what).not.toContain(res.statusCode);
        else {
          expect(res.statusCode, what).toBe(403);
          if (def.kind === 'page') expect(res.body, what).toContain('data-code="forbidden"');
          else expect(res.json().error.code, what).toBe('forbidden');
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(200);
    // What each scope reaches, route by route: the contract docs/api.md states.
    expect(tested.get('metrics')).toEqual(['GET /metrics']);
    expect(tested.get('read')!.sort()).toEqual(
      [
        'GET /api/status',
        'GET /api/live',
        'GET /api/log',
        'GET /api/alarms',
        'GET /api/alarms/history',
        'GET /api/alarms/:id',
        'GET /api/integrity',
        'GET /api/integrity/public-key',
        'GET /api/openapi.json',
      ].sort(),
    );
    expect(tested.get('sim')!.sort()).toEqual(
      [
        'POST /api/sim/badge',
        'POST /api/sim/doors/:door/contact',
        'POST /api/sim/doors/:door/exit-button',
        'POST /api/sim/doors/:door/tamper',
        'POST /api/sim/power',
        'GET /api/sim/outputs',
      ].sort(),
    );
  });

  it('no scope holds a change outside the simulated hardware, an export, a person’s record or an account', () => {
    const never: Permission[] = [
      'requests.create',
      'requests.approve',
      'accounts.approve',
      'alarms.ack',
      'badges.lost',
      'badges.revoke',
      'people.read',
      'people.write',
      'doors.mode',
      'visitors.handle',
      'log.export',
      'integrity.verify',
      'integrity.export',
      'users.read',
      'users.manage',
      'reports.read',
      'requests.read',
      'self',
    ];
    for (const sc of SCOPES)
      for (const p of never)
        expect((SCOPE_PERMISSIONS[sc] as readonly string[]).includes(p), `${sc} ${p}`).toBe(false);
    const changes = d.app.sekishoDefs.filter(
      (x) =>
        x.method !== 'GET' &&
        x.auth !== 'public' &&
        SCOPES.some((sc) => (SCOPE_PERMISSIONS[sc] as readonly string[]).includes(x.auth)),
    );
    expect(changes.length).toBeGreaterThan(0);
    for (const x of changes) expect(x.url, `${x.method} ${x.url}`).toMatch(/^\/api\/sim\//);
  });

  it('a token with every scope still cannot file, approve, acknowledge, mark a badge or change an account', async () => {
    const head = d.controller.journal.head().seq;
    const attempts: [string, string, object][] = [
      ['POST', '/api/requests', { kind: 'access_grant', payload: {}, reason: 'x' }],
      ['POST', '/api/requests/1/approve', {}],
      ['POST', '/api/alarms/1/ack', { comment: 'x' }],
      ['POST', '/api/badges/b_1/lost', {}],
      ['POST', '/api/doors/machine-room/mode', { mode: 'lockdown' }],
      ['POST', '/api/users/u_1/disable', {}],
      ['POST', '/api/me/password', { current: 'x', next: 'y' }],
      ['GET', '/api/log.csv', {}],
      ['GET', '/api/journal', {}],
      ['GET', '/api/people', {}],
      ['GET', '/', {}],
    ];
    for (const [method, url, payload] of attempts)
      for (const token of ['walk', 'metrics'] as const) {
        const res = await d.app.inject({
          method: method as 'GET',
          url,
          headers: d.bearer(token),
          ...(method === 'GET' ? {} : { payload }),
        });
        expect(res.statusCode, `${token} ${method} ${url}`).toBe(403);
      }
    // Nothing changed: the only rows are the notes of the refusals themselves.
    const after = d.controller.journal.head().seq;
    for (let seq = head + 1; seq <= after; seq++)
      expect(d.controller.journal.get(seq)?.type, `row ${seq}`).toBe('token_refused');
    // Within its scope a token needs no CSRF token: a browser never sends it by itself.
    const sim = await d.app.inject({
      method: 'POST',
      url: '/api/sim/badge',
      headers: d.bearer('walk'),
      payload: { reader: 'entry', credential: '00000000AA' },
    });
    expect(sim.statusCode).toBe(200);
  });
});

describe('CSRF, headers and cookies', () => {
  let d: TestDash;
  let m: Client;
  beforeAll(async () => {
    d = await makeDash();
    m = await d.login('manager1');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('refuses a change without the CSRF token, with a wrong one, or from another origin — and changes nothing', async () => {
    const other = await d.login('manager2');
    const head = d.controller.journal.head().seq;
    const body = { mode: 'lockdown' };
    const url = '/api/doors/machine-room/mode';
    const cases: Record<string, string>[] = [
      { cookie: m.cookie },
      { cookie: m.cookie, 'x-csrf-token': 'wrong' },
      { cookie: m.cookie, 'x-csrf-token': `${m.csrf.slice(0, -1)}x` },
      { cookie: m.cookie, 'x-csrf-token': m.csrf, origin: 'http://evil.example' },
      { cookie: m.cookie, 'x-csrf-token': m.csrf, origin: 'null' },
    ];
    for (const headers of cases) {
      const res = await d.app.inject({ method: 'POST', url, headers, payload: body });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().error.code).toBe('csrf_failed');
    }
    // Another session's token is not this session's token.
    const cross = await d.app.inject({
      method: 'POST',
      url,
      headers: { cookie: m.cookie, 'x-csrf-token': other.csrf },
      payload: body,
    });
    expect(cross.statusCode).toBe(403);
    expect(d.controller.journal.head().seq).toBe(head);
    expect(d.controller.status().doors[0]!.mode).toBe('normal');
    // A form post from another site cannot even reach the handler: no JSON, no parser.
    const form = await d.app.inject({
      method: 'POST',
      url,
      headers: { cookie: m.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'mode=lockdown',
    });
    expect(form.statusCode).toBeGreaterThanOrEqual(400);
    expect(d.controller.status().doors[0]!.mode).toBe('normal');
    const ok = await m.req('POST', url, body, { origin: 'http://localhost:80' });
    expect(ok.statusCode).toBe(200);
    expect(d.controller.status().doors[0]!.mode).toBe('lockdown');
    await m.post(url, { mode: 'normal' });
  });

  it('a login from another origin is refused (login CSRF)', async () => {
    const res = await d.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: 'http://evil.example' },
      payload: { username: 'manager1', password: 'x' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('csrf_failed');
  });

  it('sends a CSP without unsafe-inline and the other security headers on every kind of answer', async () => {
    const answers = [
      await d.app.inject({ method: 'GET', url: '/login' }),
      await d.app.inject({ method: 'GET', url: '/static/app.js' }),
      await d.app.inject({ method: 'GET', url: '/nowhere' }),
      await d.app.inject({ method: 'GET', url: '/api/status' }),
      await m.get('/'),
      await m.get('/api/status'),
    ];
    for (const res of answers) {
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(answers[4]!.headers['cache-control']).toBe('no-store');
    // No inline script or style, and no inline event handler, in any page.
    for (const url of [
      '/',
      '/log',
      '/alarms',
      '/people',
      '/requests',
      '/visitors',
      '/integrity',
      '/reports',
      '/compliance',
      '/users',
      '/sim',
      '/account',
    ]) {
      const body = (await m.get(url)).body;
      expect(body, url).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(body, url).not.toMatch(/<style/i);
      expect(body, url).not.toMatch(/\son[a-z]+=/i);
      expect(body, url).not.toMatch(/\sstyle=/i);
    }
  });

  it('the session cookie is HttpOnly and SameSite=Strict, and only its hash is stored', async () => {
    const res = await d.app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { username: 'operator1', password: 'correct-horse-battery-7' },
    });
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^sekisho_session=[\w-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    const token = cookie.split(';')[0]!.split('=')[1]!;
    const rows = d.controller.db.prepare('SELECT token_hash FROM dashboard_sessions').all() as {
      token_hash: string;
    }[];
    expect(rows.some((r) => r.token_hash === token)).toBe(false);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash))).toBe(true);
  });
});
