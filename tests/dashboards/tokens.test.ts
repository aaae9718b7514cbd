/**
 * Named, scoped API tokens (controller/accounts/tokens.ts) on a running dashboard: stored only as a
 * hash, rotation and revocation taking effect at the very next request (and on an open event
 * stream), expiry, the simulation token's file, and a token being no person. Which routes each scope
 * reaches is proved over every route in access.test.ts; the `sekisho token` command in
 * tests/ops/token-cli.test.ts.
 */
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityOf, samePerson } from '../../controller/accounts/person.js';
import {
  ensureSimulationToken,
  retireSimulationToken,
  SIMULATION_TOKEN,
  TokenError,
  TokenStore,
} from '../../controller/accounts/tokens.js';
import { until } from '../helpers/util.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

const FORMAT = /^sks_[a-z][a-z0-9-]{1,31}_[A-Za-z0-9_-]{43}$/;

describe('API tokens: the store', () => {
  let d: TestDash;
  let store: TokenStore;
  beforeAll(async () => {
    d = await makeDash({ accounts: false });
    store = new TokenStore(d.controller.db, d.controller.journal);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('stores only the SHA-256 of the token, journals its creation without it, and lists no secret', () => {
    const { token, secret } = store.create(
      { name: 'prometheus', scopes: ['metrics'] },
      'cli:tanaka',
      d.controller.now(),
    );
    expect(secret).toMatch(FORMAT);
    expect(secret.startsWith('sks_prometheus_')).toBe(true);
    const rows = d.controller.db.prepare('SELECT * FROM api_tokens WHERE name = ?').all('prometheus');
    expect(rows).toEqual([
      expect.objectContaining({
        secret_hash: createHash('sha256').update(secret).digest('hex'),
        scopes: 'metrics',
        created_by: 'cli:tanaka',
      }),
    ]);
    const random = secret.slice('sks_prometheus_'.length);
    for (const r of rows) expect(JSON.stringify(r)).not.toContain(random);
    expect(JSON.stringify(store.list())).not.toContain(random);
    expect(token).toMatchObject({
      name: 'prometheus',
      scopes: ['metrics'],
      expiresAt: null,
      lastUsedAt: null,
    });
    const created = d.controller.journal.query({ types: ['token_created'], limit: 10 });
    expect(created[0]).toMatchObject({
      actor: 'cli:tanaka',
      data: { name: 'prometheus', scopes: ['metrics'], expiresAt: null, tokenId: token.id },
    });
    const all = d.controller.db.prepare('SELECT bytes FROM journal').all() as { bytes: string }[];
    for (const r of all) expect(r.bytes).not.toContain(random);
    // Two tokens never share a secret.
    const other = store.create({ name: 'grafana', scopes: ['read'] }, 'cli:tanaka', d.controller.now());
    expect(other.secret.slice(-43)).not.toBe(random);
  });

  it('refuses bad names, unknown or no scopes, reserved names, a second token of a name and a past expiry', () => {
    const now = d.controller.now();
    const refused = (input: Parameters<TokenStore['create']>[0], code: string, message: RegExp) => {
      const before = d.controller.journal.head().seq;
      let err: unknown;
      try {
        store.create(input, 'cli:tanaka', now);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(input)).toBeInstanceOf(TokenError);
      expect((err as TokenError).code).toBe(code);
      expect((err as TokenError).message).toMatch(message);
      expect(d.controller.journal.head().seq).toBe(before);
    };
    refused({ name: 'Has_Upper', scopes: ['read'] }, 'invalid_input', /lower-case/);
    refused({ name: 'under_score', scopes: ['read'] }, 'invalid_input', /lower-case/);
    refused({ name: 'x', scopes: ['read'] }, 'invalid_input', /2-32/);
    refused({ name: 'ok-name', scopes: ['admin'] }, 'invalid_input', /unknown scope "admin"/);
    refused({ name: 'ok-name', scopes: [] }, 'invalid_input', /at least one scope/);
    refused({ name: 'simulation', scopes: ['read'] }, 'invalid_input', /reserved/);
    refused({ name: 'api', scopes: ['read'] }, 'invalid_input', /reserved/);
    refused({ name: 'prometheus', scopes: ['read'] }, 'conflict', /exists already/);
    refused({ name: 'ok-name', scopes: ['read'], expiresAt: now - 1 }, 'invalid_input', /future/);
    expect(() => store.rotate('nobody', 'cli:tanaka', now)).toThrow(/no token "nobody"/);
    expect(() => store.revoke('nobody', 'cli:tanaka', now)).toThrow(/no token "nobody"/);
  });

  it('keeps scopes in one order, each once', () => {
    const { token } = store.create(
      { name: 'both', scopes: ['sim', 'read', 'sim'] },
      'cli:tanaka',
      d.controller.now(),
    );
    expect(token.scopes).toEqual(['read', 'sim']);
  });

  it('a token is no person: it can be nobody’s applicant or approver', () => {
    expect(identityOf('token:prometheus')).toEqual({
      actor: 'token:prometheus',
      credential: 'token',
      person: null,
    });
    expect(samePerson('token:prometheus', 'token:prometheus')).toBe(false);
  });
});

describe('API tokens on a running dashboard', () => {
  let d: TestDash;
  let store: TokenStore;
  let admin: Client;
  const get = (url: string, secret: string) =>
    d.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${secret}` } });
  beforeAll(async () => {
    d = await makeDash({ clock: true });
    store = new TokenStore(d.controller.db, d.controller.journal);
    admin = await d.login('admin1');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('rotation voids the old secret at the very next request; revocation the token', async () => {
    const first = store.create({ name: 'scraper', scopes: ['metrics'] }, 'cli:tanaka', d.controller.now());
    expect((await get('/metrics', first.secret)).statusCode).toBe(200);
    const second = store.rotate('scraper', 'cli:tanaka', d.controller.now());
    expect(second.secret).not.toBe(first.secret);
    const old = await get('/metrics', first.secret);
    expect(old.statusCode).toBe(401);
    expect(old.json().error).toMatchObject({ code: 'unauthorized', message: 'unknown or revoked API token' });
    expect((await get('/metrics', second.secret)).statusCode).toBe(200);
    expect(d.controller.journal.query({ types: ['token_rotated'], limit: 5 })[0]).toMatchObject({
      actor: 'cli:tanaka',
      data: { name: 'scraper', tokenId: first.token.id, scopes: ['metrics'] },
    });

    store.revoke('scraper', 'cli:suzuki', d.controller.now(), 'left the project');
    expect((await get('/metrics', second.secret)).statusCode).toBe(401);
    expect(store.get('scraper')).toBeUndefined();
    expect(d.controller.journal.query({ types: ['token_revoked'], limit: 5 })[0]).toMatchObject({
      actor: 'cli:suzuki',
      data: { name: 'scraper', tokenId: first.token.id, reason: 'left the project' },
    });
    // A new token of the same name is another token: the old secret stays void.
    const again = store.create({ name: 'scraper', scopes: ['metrics'] }, 'cli:tanaka', d.controller.now());
    expect(again.token.id).not.toBe(first.token.id);
    expect((await get('/metrics', second.secret)).statusCode).toBe(401);
    expect((await get('/metrics', again.secret)).statusCode).toBe(200);
  });

  it('notes when and from where a token was last used', async () => {
    const { secret } = store.create({ name: 'noted', scopes: ['read'] }, 'cli:tanaka', d.controller.now());
    expect(store.get('noted')!.lastUsedAt).toBeNull();
    const at = d.controller.now();
    expect((await get('/api/status', secret)).statusCode).toBe(200);
    const t = store.get('noted')!;
    expect(t.lastUsedAt).toBeGreaterThanOrEqual(at);
    expect(t.lastUsedFrom).toBe('127.0.0.1');
  });

  it('takes the scheme in any case (RFC 7235); a malformed header is refused as not a token', async () => {
    const { secret } = store.create({ name: 'schemes', scopes: ['read'] }, 'cli:tanaka', d.controller.now());
    for (const authorization of [`bearer ${secret}`, `BEARER  ${secret}`])
      expect(
        (await d.app.inject({ method: 'GET', url: '/api/status', headers: { authorization } })).statusCode,
        authorization.slice(0, 8),
      ).toBe(200);
    for (const authorization of [secret, `Basic ${secret}`, `Bearer ${secret} extra`, `Bearer ${secret}x`]) {
      const res = await d.app.inject({ method: 'GET', url: '/api/status', headers: { authorization } });
      expect(res.statusCode, authorization.slice(0, 8)).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
  });

  it('an expired token is refused with a message that says so; rotating it needs a new expiry', async () => {
    const now = d.controller.now();
    const { secret } = store.create(
      { name: 'shortlived', scopes: ['read'], expiresAt: now + 60_000 },
      'cli:tanaka',
      now,
    );
    expect((await get('/api/status', secret)).statusCode).toBe(200);
    d.clock.now += 61_000;
    const res = await get('/api/status', secret);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/expired/);
    expect(() => store.rotate('shortlived', 'cli:tanaka', d.controller.now())).toThrow(/give a new expiry/);
    const renewed = store.rotate('shortlived', 'cli:tanaka', d.controller.now(), {
      expiresAt: d.controller.now() + 3_600_000,
    });
    expect((await get('/api/status', renewed.secret)).statusCode).toBe(200);
    expect((await get('/api/status', secret)).statusCode).toBe(401);
  });

  it('a request outside its scopes is journaled as the token’s, at most once a minute', async () => {
    const { secret, token } = store.create(
      { name: 'prober', scopes: ['metrics'] },
      'cli:tanaka',
      d.controller.now(),
    );
    const post = (url: string) =>
      d.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${secret}` }, payload: {} });
    const refused = () => d.controller.journal.query({ types: ['token_refused'], limit: 10 });
    const before = refused().length;
    expect((await post('/api/alarms/1/ack')).statusCode).toBe(403);
    expect(refused()[0]).toMatchObject({
      actor: 'token:prober',
      data: {
        tokenId: token.id,
        name: 'prober',
        method: 'POST',
        route: '/api/alarms/:id/ack',
        permission: 'alarms.ack',
        suppressed: 0,
      },
    });
    expect((await post('/api/requests/1/approve')).statusCode).toBe(403);
    expect((await get('/api/people', secret)).statusCode).toBe(403);
    expect(refused().length).toBe(before + 1);
    d.clock.now += 61_000;
    expect((await post('/api/badges/b_1/lost')).statusCode).toBe(403);
    expect(refused().length).toBe(before + 2);
    expect(refused()[0]).toMatchObject({ data: { route: '/api/badges/:id/lost', suppressed: 2 } });
    // Within its scope nothing is journaled.
    expect((await get('/metrics', secret)).statusCode).toBe(200);
    expect(refused().length).toBe(before + 2);
  });

  it('GET /api/tokens lists them for the auditor and the administrator, never a secret or its hash', async () => {
    const { secret } = store.create(
      { name: 'listed', scopes: ['metrics', 'read'] },
      'cli:tanaka',
      d.controller.now(),
    );
    await get('/metrics', secret);
    const auditor = await d.login('auditor1');
    const res = await auditor.get('/api/tokens');
    expect(res.statusCode).toBe(200);
    const listed = res.json().tokens.find((t: { name: string }) => t.name === 'listed');
    expect(listed).toMatchObject({
      scopes: ['metrics', 'read'],
      status: 'active',
      createdBy: 'cli:tanaka',
      lastUsedFrom: '127.0.0.1',
      expiresAt: null,
    });
    const hash = createHash('sha256').update(secret).digest('hex');
    expect(res.body).not.toContain(secret.slice(-43));
    expect(res.body).not.toContain(hash);
    expect((await admin.get('/api/tokens')).statusCode).toBe(200);
    expect((await (await d.login('operator1')).get('/api/tokens')).statusCode).toBe(403);
    expect((await get('/api/tokens', secret)).statusCode).toBe(403);
    // No route makes, rotates or reveals a token: that is the device's command alone.
    expect(
      d.app.sekishoRoutes.filter((r) => /token/i.test(r.url)).map((r) => `${r.method} ${r.url}`),
    ).toEqual(['GET /api/tokens']);
  });

  it('a token never opens a page, and a session is not needed beside it', async () => {
    const { secret } = store.create({ name: 'pages', scopes: ['read'] }, 'cli:tanaka', d.controller.now());
    for (const url of ['/', '/log', '/alarms']) {
      const res = await get(url, secret);
      expect(res.statusCode, url).toBe(403);
      expect(res.headers['content-type']).toMatch(/text\/html/);
    }
    // A session cookie sent with a token does not lend the token the session's rights.
    const res = await d.app.inject({
      method: 'GET',
      url: '/api/people',
      headers: { authorization: `Bearer ${secret}`, cookie: admin.cookie },
    });
    expect(res.statusCode).toBe(403);
  });
});

/** Reads server-sent events from a fetch body until `stop` says so. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let cut = buf.indexOf('\n\n');
    while (cut >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event) onEvent(event, data ?? '');
      cut = buf.indexOf('\n\n');
    }
  }
}

describe('API tokens: the live stream', () => {
  let d: TestDash;
  let base: string;
  beforeAll(async () => {
    d = await makeDash({ accounts: false });
    await d.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = d.app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(async () => {
    await d?.close();
  });

  for (const how of ['revoked', 'rotated'] as const)
    it(`ends with "expired" at its next update once its token is ${how}; never sends the page's HTML`, async () => {
      const store = new TokenStore(d.controller.db, d.controller.journal);
      const name = `watch-${how}`;
      const { secret } = store.create({ name, scopes: ['read'] }, 'cli:tanaka', d.controller.now());
      const res = await fetch(`${base}/api/live?html=1`, { headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(200);
      const events: { event: string; data: string }[] = [];
      const done = readEvents(res.body!, (event, data) => events.push({ event, data }));
      await until(() => events.some((e) => e.event === 'status'), 'the first status');
      const first = JSON.parse(events.find((e) => e.event === 'status')!.data);
      expect(first.status.doors[0].id).toBe('machine-room');
      expect(first.html).toBeUndefined();
      if (how === 'revoked') store.revoke(name, 'cli:tanaka', d.controller.now());
      else store.rotate(name, 'cli:tanaka', d.controller.now());
      // The next change anywhere (here a badge at the simulated reader) reaches every stream.
      await d.app.inject({
        method: 'POST',
        url: '/api/sim/badge',
        headers: d.bearer('sim'),
        payload: { reader: 'entry', credential: '00000000AB' },
      });
      await done;
      expect(events.at(-1)!.event).toBe('expired');
    });
});

describe('the simulation token file', () => {
  let d: TestDash;
  let store: TokenStore;
  let file: string;
  beforeAll(async () => {
    d = await makeDash({ accounts: false });
    store = new TokenStore(d.controller.db, d.controller.journal);
    file = join(d.dir, 'data', 'api-token');
  });
  afterAll(async () => {
    await d?.close();
  });

  const secretIn = () => readFileSync(file, 'utf8').trim();
  const works = (secret: string) => store.authenticate(secret, d.controller.now(), { touch: false }).caller;

  it('is made with mode 0600 holding a token with the scopes read and sim, and kept while it works', () => {
    expect(ensureSimulationToken(store, file, d.controller.now())).toEqual({ renewed: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = secretIn();
    expect(secret).toMatch(/^sks_simulation_/);
    expect(works(secret)).toMatchObject({ name: SIMULATION_TOKEN, scopes: ['read', 'sim'] });
    expect(store.get(SIMULATION_TOKEN)!.createdBy).toBe('system');
    expect(ensureSimulationToken(store, file, d.controller.now())).toEqual({ renewed: false });
    expect(secretIn()).toBe(secret);
  });

  it('is renewed when its token was rotated or revoked, when it is an old-format token, or open to others', () => {
    let before = secretIn();
    store.rotate(SIMULATION_TOKEN, 'cli:tanaka', d.controller.now());
    expect(ensureSimulationToken(store, file, d.controller.now()).renewed).toBe(true);
    expect(works(secretIn())).not.toBeNull();
    expect(works(before)).toBeNull();

    store.revoke(SIMULATION_TOKEN, 'cli:tanaka', d.controller.now());
    expect(ensureSimulationToken(store, file, d.controller.now()).renewed).toBe(true);
    expect(works(secretIn())).toMatchObject({ name: SIMULATION_TOKEN });

    // The single device token of earlier versions: a random string, no longer a credential.
    writeFileSync(file, 'm5Jb3kq0xQ2n8v1YzP4rT7wA9sD6fG3h\n');
    expect(ensureSimulationToken(store, file, d.controller.now()).renewed).toBe(true);
    expect(secretIn()).toMatch(/^sks_simulation_/);

    before = secretIn();
    chmodSync(file, 0o644);
    expect(ensureSimulationToken(store, file, d.controller.now()).renewed).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(works(before)).toBeNull();
  });

  it('on a real board the token is revoked and the file is never read', () => {
    const secret = secretIn();
    expect(retireSimulationToken(store, file, d.controller.now())).toEqual({ revoked: true, fileLeft: true });
    expect(works(secret)).toBeNull();
    expect(d.controller.journal.query({ types: ['token_revoked'], limit: 10 })[0]).toMatchObject({
      actor: 'system',
      data: { name: SIMULATION_TOKEN, reason: 'not a simulated board' },
    });
    expect(retireSimulationToken(store, file, d.controller.now())).toEqual({
      revoked: false,
      fileLeft: true,
    });
  });
});
