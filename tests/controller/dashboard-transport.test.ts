/**
 * The dashboard's transport as `sekisho start` and `sekisho doctor` see it: plain HTTP on the
 * network refused at start (unless allowed, and then warned about), HTTPS with a certificate made
 * by the installer's own script (scripts/make-cert.sh), its key checked like every secret file, the
 * names and proxy of the config reaching the listener, and doctor's verdicts.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, type LoadedConfig, loadConfig } from '../../controller/config/index.js';
import { certInfo, isLoopbackHost } from '../../controller/dashboard-transport.js';
import type { Check } from '../../controller/doctor/check.js';
import { dashboardChecks } from '../../controller/doctor/dashboard.js';
import { runChecks } from '../../controller/doctor.js';
import type { Logger } from '../../controller/log.js';
import { type Sekisho, startSekisho } from '../../controller/main.js';
import { SimBoard } from '../../hardware/index.js';
import { BIN, doorConfig, ROOT, simReaders, tempDir } from '../helpers/controller.js';

const MAKE_CERT = join(ROOT, 'scripts/make-cert.sh');

/** A certificate and key made by the installer's script, for 127.0.0.1 and localhost. */
function makeCert(dir: string, name = 'dash', days = 1826) {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = spawnSync(
    'bash',
    [
      MAKE_CERT,
      '--cert',
      cert,
      '--key',
      key,
      '--days',
      String(days),
      '--name',
      'localhost',
      '--ip',
      '127.0.0.1',
    ],
    {
      encoding: 'utf8',
    },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return { cert, key, stdout: r.stdout };
}

function setUp(dashboard: Record<string, unknown>) {
  const dir = tempDir('sekisho-transport-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(doorConfig(dir, simReaders(), { dashboard: { port: 0, ...dashboard } })));
  const warnings: string[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (m) => warnings.push(m),
    error: () => undefined,
  };
  return { dir, file, loaded: loadConfig(file), log, warnings };
}

let running: Sekisho | undefined;
afterEach(async () => {
  await running?.stop('test end');
  running = undefined;
});

const start = (loaded: LoadedConfig, log: Logger) =>
  startSekisho({ loaded, log, board: new SimBoard(), print: () => undefined });

/** GET over HTTPS trusting only `ca`; the answer and the certificate the server presented. */
function httpsGet(base: string, path: string, ca: string, host?: string) {
  return new Promise<{ status: number; body: string; fingerprint: string; cookie?: string[] }>(
    (resolve, reject) => {
      const req = request(
        `${base}${path}`,
        { ca, headers: host ? { host } : {}, servername: 'localhost' },
        (res) => {
          // Read now: once the answer has ended the socket may be gone.
          const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
          let body = '';
          res.on('data', (b) => (body += b));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body, fingerprint, cookie: res.headers['set-cookie'] }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

describe('sekisho start: the dashboard on the network', () => {
  it('refuses plain HTTP on a non-loopback address before anything starts, naming the way out', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'sekisho-mr1.example']) {
      const t = setUp({ host });
      const err = await start(t.loaded, t.log).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, host).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems[0]).toMatch(
        new RegExp(
          `^dashboard\\.host: ${host.replaceAll('.', '\\.')} is not loopback and the dashboard has no TLS: .*dashboard\\.allowPlainHttp: true`,
        ),
      );
      // Nothing started: no journal was created.
      expect(existsSync(join(t.dir, 'data', 'journal.db'))).toBe(false);
    }
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost'])
      expect(isLoopbackHost(host), host).toBe(true);
  });

  it('`sekisho start` exits 2 (a config error, not restarted by systemd) with that message', () => {
    const t = setUp({ host: '0.0.0.0' });
    const r = spawnSync(process.execPath, [BIN, 'start', '--config', t.file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('dashboard.host: 0.0.0.0 is not loopback and the dashboard has no TLS');
  });

  it('starts in plain HTTP on the network with allowPlainHttp: true, and warns', async () => {
    const t = setUp({ host: '0.0.0.0', allowPlainHttp: true });
    running = await start(t.loaded, t.log);
    expect(running.base).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(t.warnings.join('\n')).toMatch(/dashboard on 0\.0\.0\.0 in plain HTTP \(allowPlainHttp\)/);
    const port = new URL(running.base).port;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('serves HTTPS with the installer’s certificate, under the configured names only', async () => {
    const dir = tempDir('sekisho-cert-');
    const c = makeCert(dir);
    const info = certInfo(readFileSync(c.cert));
    // The script prints the fingerprint browsers show: the same as the certificate's.
    expect(c.stdout).toContain(`SHA-256 fingerprint ${info.fingerprint256}`);
    expect(info.names).toEqual(['localhost', '127.0.0.1']);
    expect(info.validTo - Date.now()).toBeGreaterThan(4.9 * 365 * 86_400_000);
    const t = setUp({
      host: '127.0.0.1',
      tls: { cert: c.cert, key: c.key },
      hostnames: ['sekisho-mr1.example'],
    });
    running = await start(t.loaded, t.log);
    expect(running.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(c.cert, 'utf8');
    const h = await httpsGet(running.base, '/healthz', ca);
    expect([h.status, h.body, h.fingerprint]).toEqual([200, '{"status":"ok"}', info.fingerprint256]);
    expect((await httpsGet(running.base, '/healthz', ca, 'sekisho-mr1.example')).status).toBe(200);
    expect((await httpsGet(running.base, '/healthz', ca, 'rebind.attacker.example')).status).toBe(421);
    // Plain HTTP on the TLS port gets no dashboard.
    const port = new URL(running.base).port;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    expect(t.warnings.filter((w) => /dashboard/.test(w))).toEqual([]);
  });

  it('refuses a key others may read, a key of another certificate, a missing file and a non-certificate', async () => {
    const dir = tempDir('sekisho-cert-');
    const a = makeCert(dir, 'a');
    const b = makeCert(dir, 'b');
    const problem = async (tls: Record<string, string>) => {
      const t = setUp({ tls });
      const err = await start(t.loaded, t.log).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems[0];
    };
    expect(await problem({ cert: a.cert, key: b.key })).toBe(
      `dashboard.tls.key: ${b.key} is not the key of the certificate ${a.cert}`,
    );
    expect(await problem({ cert: join(dir, 'none.crt'), key: a.key })).toBe(
      `dashboard.tls.cert: cannot read ${join(dir, 'none.crt')}: ENOENT`,
    );
    expect(await problem({ cert: a.key, key: a.key })).toBe(
      `dashboard.tls.cert: ${a.key} is not a PEM certificate`,
    );
    expect(await problem({ cert: a.cert, key: a.cert })).toBe(
      `dashboard.tls.key: ${a.cert} is readable by others (mode 0644); chmod 600 it`,
    );
    chmodSync(a.key, 0o640);
    expect(await problem({ cert: a.cert, key: a.key })).toBe(
      `dashboard.tls.key: ${a.key} is readable by its group (mode 0640); chmod 600 it`,
    );
  });

  it('behind a proxy named in the config: the client’s address is journaled, the cookie is Secure', async () => {
    const t = setUp({ trustProxy: ['127.0.0.1', '::1'] });
    let printed = '';
    running = await startSekisho({
      loaded: t.loaded,
      log: t.log,
      board: new SimBoard(),
      print: (text) => {
        printed += text;
      },
    });
    // The simulation's demo accounts, their passwords printed once.
    const password = /demo-manager\s+(\S+)/.exec(printed)?.[1];
    expect(password).toBeDefined();
    const login = (forwardedFor: string) =>
      fetch(`${running!.base}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ username: 'demo-manager', password }),
      });
    const res = await login('203.0.113.5');
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
    const row = running.controller.journal.query({ types: ['login_succeeded'], limit: 1 })[0]!;
    expect((row.data as { ip: string }).ip).toBe('203.0.113.5');
  });

  it('starts with a certificate close to expiry, and warns', async () => {
    const c = makeCert(tempDir('sekisho-cert-'), 'soon', 10);
    const t = setUp({ tls: { cert: c.cert, key: c.key } });
    running = await start(t.loaded, t.log);
    expect(t.warnings.join('\n')).toMatch(
      /dashboard certificate .*soon\.crt expires on \d{4}-\d{2}-\d{2}, in 10 days: renew it/,
    );
  });
});

describe('sekisho doctor: the dashboard', () => {
  const checks = (loaded: LoadedConfig, now = Date.now()) => {
    const out: Check[] = [];
    dashboardChecks(loaded, (verdict, what, detail) => out.push({ verdict, what, detail }), now);
    return out;
  };
  const one = (list: Check[], what: string) => list.filter((c) => c.what === what);

  it('OK on loopback; WARN for plain HTTP on the network when allowed or behind a proxy; FAIL when start would refuse it', async () => {
    expect(one(checks(setUp({}).loaded), 'dashboard listener')).toEqual([
      {
        verdict: 'OK',
        what: 'dashboard listener',
        detail: 'http://127.0.0.1:0: this machine only (loopback)',
      },
    ]);
    const allowed = one(
      checks(setUp({ host: '0.0.0.0', allowPlainHttp: true }).loaded),
      'dashboard listener',
    )[0]!;
    expect(allowed.verdict).toBe('WARN');
    expect(allowed.detail).toMatch(
      /^http:\/\/0\.0\.0\.0:0: plain HTTP on the network .* \(allowPlainHttp: true\)/,
    );
    const proxied = checks(setUp({ host: '192.0.2.10', trustProxy: ['192.0.2.1'] }).loaded);
    expect(one(proxied, 'dashboard listener')[0]!.verdict).toBe('WARN');
    expect(one(proxied, 'dashboard proxy')[0]!.detail).toBe(
      'client addresses taken from X-Forwarded-For sent by 192.0.2.1 only; cookies Secure',
    );
    expect(one(checks(setUp({ port: 443 }).loaded), 'dashboard port')[0]!.detail).toMatch(
      /^port 443 needs CAP_NET_BIND_SERVICE/,
    );
    expect(one(checks(setUp({ port: 8443 }).loaded), 'dashboard port')).toEqual([]);
    const refused = one(checks(setUp({ host: '0.0.0.0' }).loaded), 'dashboard listener')[0]!;
    expect(refused.verdict).toBe('FAIL');
    expect(refused.detail).toMatch(/sekisho start refuses this/);
    // Wired into doctor's run.
    const all = await runChecks(setUp({ host: '0.0.0.0', allowPlainHttp: true }).loaded, {
      serialListenMs: 10,
    });
    expect(all.find((c) => c.what === 'dashboard listener')?.verdict).toBe('WARN');
  });

  it('prints the certificate’s fingerprint and expiry; WARNs within 30 days; FAILs once expired', () => {
    const c = makeCert(tempDir('sekisho-cert-'));
    const info = certInfo(readFileSync(c.cert));
    const t = setUp({
      host: '0.0.0.0',
      tls: { cert: c.cert, key: c.key },
      hostnames: ['sekisho-mr1.example'],
    });
    const now = checks(t.loaded);
    const cert = one(now, 'dashboard certificate')[0]!;
    expect(cert.verdict).toBe('OK');
    expect(cert.detail).toContain(`SHA-256 fingerprint ${info.fingerprint256}`);
    expect(cert.detail).toContain(`valid until ${new Date(info.validTo).toISOString().slice(0, 10)}`);
    expect(one(now, 'dashboard listener')[0]).toMatchObject({
      verdict: 'OK',
      detail: 'https://0.0.0.0:0 (TLS)',
    });
    // The certificate was made for localhost and 127.0.0.1, not for the configured name.
    expect(one(now, 'dashboard names').map((x) => x.verdict)).toEqual(['OK', 'WARN']);
    expect(one(now, 'dashboard names')[1]!.detail).toMatch(/does not cover sekisho-mr1\.example/);
    const soon = one(checks(t.loaded, info.validTo - 29 * 86_400_000), 'dashboard certificate')[0]!;
    expect(soon.verdict).toBe('WARN');
    expect(soon.detail).toMatch(/expires on .*, in 29 days/);
    expect(one(checks(t.loaded, info.validTo - 31 * 86_400_000), 'dashboard certificate')[0]!.verdict).toBe(
      'OK',
    );
    const expired = one(checks(t.loaded, info.validTo + 1), 'dashboard certificate')[0]!;
    expect(expired.verdict).toBe('FAIL');
    expect(expired.detail).toMatch(/expired on/);
  });

  it('FAILs a certificate whose key others may read', () => {
    const c = makeCert(tempDir('sekisho-cert-'));
    chmodSync(c.key, 0o644);
    const list = checks(setUp({ tls: { cert: c.cert, key: c.key } }).loaded);
    expect(one(list, 'dashboard certificate')[0]).toEqual({
      verdict: 'FAIL',
      what: 'dashboard certificate',
      detail: `dashboard.tls.key: ${c.key} is readable by others (mode 0644); chmod 600 it`,
    });
    expect(one(list, 'dashboard listener')[0]!.verdict).toBe('FAIL');
  });
});
