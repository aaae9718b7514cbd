/**
 * The dashboard on the network: the names it answers to (Host, against DNS rebinding, and the
 * Origin check of changes), /healthz with and without credentials, and a reverse proxy named in
 * trustProxy — X-Forwarded-For honoured from it and from nobody else, cookies Secure.
 */
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOOPBACK_NAMES, machineNames } from '../../controller/dashboard-transport.js';
import { HostNames, hostOfHeader } from '../../dashboards/hosts.js';
import { makeDash, PASSWORD, type TestDash } from './helpers.js';

const lastLoginIp = (d: TestDash) =>
  (
    d.controller.journal.query({ types: ['login_succeeded'], limit: 1 })[0]?.data as
      | { ip: string }
      | undefined
  )?.ip;

describe('Host header', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash({
      server: { hostnames: new HostNames([...LOOPBACK_NAMES, 'sekisho-mr1.city.example.jp'], machineNames) },
    });
  });
  afterAll(() => d?.close());

  const get = (host: string, url = '/healthz', headers: Record<string, string> = {}) =>
    d.app.inject({ method: 'GET', url, headers: { host, ...headers } });

  it('parses Host headers: names, ports, IPv6 in brackets; refuses malformed ones', () => {
    expect(hostOfHeader('Sekisho.Example:8443')).toBe('sekisho.example');
    expect(hostOfHeader('sekisho.example.')).toBe('sekisho.example');
    expect(hostOfHeader('[::1]:8080')).toBe('::1');
    expect(hostOfHeader('192.0.2.1')).toBe('192.0.2.1');
    for (const bad of ['', '[::1', '[nope]:80', 'a:b:c', 'x:99999999', undefined])
      expect(hostOfHeader(bad)).toBeNull();
  });

  it('answers the configured names, the loopback names and the machine’s own name and addresses', async () => {
    const names = [
      'localhost:8080',
      '127.0.0.1:8080',
      '[::1]:8080',
      'sekisho-mr1.city.example.jp:8443',
      'SEKISHO-MR1.city.example.jp',
      `${hostname()}:8080`,
      ...machineNames().map((n) => (n.includes(':') ? `[${n}]:8080` : `${n}:8080`)),
    ];
    for (const host of names) expect((await get(host)).statusCode, host).toBe(200);
  });

  it('refuses another name with 421 before looking at credentials, as JSON and as a page', async () => {
    const api = await get('rebind.attacker.example:8080', '/api/status', {
      ...d.bearer('read'),
    });
    expect(api.statusCode).toBe(421);
    expect(api.json().error).toMatchObject({
      code: 'unknown_host',
      message: expect.stringContaining('"rebind.attacker.example"'),
    });
    // The list of names is not given away to the page that asked.
    expect(api.body).not.toContain('sekisho-mr1');
    const page = await get('rebind.attacker.example', '/', { 'accept-language': 'ja' });
    expect(page.statusCode).toBe(421);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('このアドレス（ホスト名）ではダッシュボードを開けません');
    const en = await get('rebind.attacker.example', '/login', { 'accept-language': 'en' });
    expect(en.body).toContain('The dashboard is not reached by this address');
    // /healthz and the login call too: nothing answers under a foreign name.
    expect((await get('rebind.attacker.example')).statusCode).toBe(421);
    const login = await d.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { host: 'rebind.attacker.example' },
      payload: { username: 'manager1', password: PASSWORD },
    });
    expect(login.statusCode).toBe(421);
    expect(login.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a request without a Host (HTTP/1.0) with 400, over a real socket', async () => {
    const base = new URL(await d.app.listen({ host: '127.0.0.1', port: 0 }));
    const raw = await new Promise<string>((resolve, reject) => {
      let out = '';
      const sock = connect(Number(base.port), '127.0.0.1', () => sock.write('GET /healthz HTTP/1.0\r\n\r\n'));
      sock.on('data', (b) => (out += b));
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.[01] 400 /);
    expect(raw).toContain('"code":"bad_host"');
  });

  it('the Origin check of changes takes the same names: its own origin passes, another is refused', async () => {
    const login = (host: string, origin: string) =>
      d.app.inject({
        method: 'POST',
        url: '/api/session',
        headers: { host, origin },
        payload: { username: 'manager1', password: PASSWORD },
      });
    expect(
      (await login('sekisho-mr1.city.example.jp:8443', 'https://sekisho-mr1.city.example.jp:8443'))
        .statusCode,
    ).toBe(200);
    const cross = await login('sekisho-mr1.city.example.jp:8443', 'https://rebind.attacker.example');
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error.code).toBe('csrf_failed');
    expect((await login('sekisho-mr1.city.example.jp:8443', 'null')).statusCode).toBe(403);
  });

  it('a server given no names answers the loopback names only', async () => {
    const plain = await makeDash({ accounts: false });
    try {
      expect(
        (await plain.app.inject({ method: 'GET', url: '/healthz', headers: { host: '127.0.0.1:1' } }))
          .statusCode,
      ).toBe(200);
      expect(
        (
          await plain.app.inject({
            method: 'GET',
            url: '/healthz',
            headers: { host: `${hostname()}.invalid` },
          })
        ).statusCode,
      ).toBe(421);
    } finally {
      await plain.close();
    }
  });
});

describe('/healthz', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash();
  });
  afterAll(() => d?.close());

  const DETAILS = [
    'status',
    'controllerId',
    'version',
    'board',
    'journal',
    'readersOnline',
    'readers',
    'clockSynced',
    'mqtt',
  ];

  it('says only up without credentials, or with credentials that are not valid', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token' },
      { cookie: 'sekisho_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    ]) {
      const res = await d.app.inject({ method: 'GET', url: '/healthz', headers });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    }
  });

  it('gives the journal head, readers, clock and MQTT to a session or a token with live.read', async () => {
    const auditor = await d.login('auditor1');
    for (const res of [
      await auditor.get('/healthz'),
      await d.app.inject({ method: 'GET', url: '/healthz', headers: d.bearer('read') }),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(Object.keys(res.json()).sort()).toEqual([...DETAILS].sort());
      expect(res.json()).toMatchObject({
        status: 'ok',
        journal: { headSeq: d.controller.journal.head().seq, storageOk: true },
        mqtt: { configured: false },
      });
    }
  });

  it('says degraded with 503 when the journal cannot be written, still without details', async () => {
    const real = d.controller.status();
    const spy = vi
      .spyOn(d.controller, 'status')
      .mockReturnValue({ ...real, journal: { ...real.journal, storageOk: false } });
    try {
      const res = await d.app.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'degraded' });
      const op = await d.login('operator1');
      expect((await op.get('/healthz')).json()).toMatchObject({
        status: 'degraded',
        journal: { storageOk: false },
      });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('behind a proxy (trustProxy)', () => {
  let d: TestDash;
  const PROXY = '10.20.30.40';
  beforeAll(async () => {
    d = await makeDash({ server: { trustProxy: [PROXY], loginLimits: { clientFreeFailures: 3 } } });
  });
  afterAll(() => d?.close());

  const login = (remoteAddress: string, forwardedFor?: string, password = PASSWORD) =>
    d.app.inject({
      method: 'POST',
      url: '/api/session',
      remoteAddress,
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
      payload: { username: 'manager1', password },
    });

  it('journals the client named by the proxy, and marks the cookie Secure', async () => {
    const res = await login(PROXY, '203.0.113.7');
    expect(res.statusCode).toBe(200);
    expect(lastLoginIp(d)).toBe('203.0.113.7');
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
    // A chain: the address the proxy itself saw is the last one; what the client claimed is ignored.
    expect((await login(PROXY, '192.0.2.99, 203.0.113.8')).statusCode).toBe(200);
    expect(lastLoginIp(d)).toBe('203.0.113.8');
  });

  it('ignores X-Forwarded-For from anyone but the proxy', async () => {
    expect((await login('198.51.100.20', '203.0.113.9')).statusCode).toBe(200);
    expect(lastLoginIp(d)).toBe('198.51.100.20');
  });

  it('rate-limits each client behind the proxy on its own, and a client forging the header by its real address', async () => {
    for (let i = 0; i < 3; i++)
      expect((await login(PROXY, '203.0.113.50', 'wrong-password-x')).statusCode).toBe(401);
    expect((await login(PROXY, '203.0.113.50')).statusCode).toBe(429);
    // Another client behind the same proxy is not held back by the first.
    expect((await login(PROXY, '203.0.113.51')).statusCode).toBe(200);
    // A client that is not the proxy cannot escape its limit by inventing addresses.
    for (let i = 0; i < 2; i++)
      expect((await login('198.51.100.77', `203.0.113.${60 + i}`)).statusCode).toBe(200);
    expect((await login('198.51.100.77', '203.0.113.70')).statusCode).toBe(200);
    expect((await login('198.51.100.77', '203.0.113.71')).statusCode).toBe(429);
  });

  it('without trustProxy, the header is ignored and cookies are not Secure on plain HTTP', async () => {
    const plain = await makeDash();
    try {
      const res = await plain.app.inject({
        method: 'POST',
        url: '/api/session',
        remoteAddress: PROXY,
        headers: { 'x-forwarded-for': '203.0.113.7' },
        payload: { username: 'manager1', password: PASSWORD },
      });
      expect(res.statusCode).toBe(200);
      expect(lastLoginIp(plain)).toBe(PROXY);
      expect(String(res.headers['set-cookie'])).not.toMatch(/Secure/);
    } finally {
      await plain.close();
    }
  });
});
