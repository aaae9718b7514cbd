/**
 * The `dashboard:` keys of the config: each one accepted with its meaning, and each bad value
 * refused with a message naming the key and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DashboardFields } from '../../controller/config/dashboard.js';
import { ConfigError, parseConfig } from '../../controller/config/index.js';
import { minimalConfig } from '../helpers/config.js';
import { ROOT } from '../helpers/util.js';

const base = (dashboard: unknown) =>
  minimalConfig({ readers: [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }], dashboard });

const dashboard = (d: unknown) => parseConfig(stringify(base(d))).dashboard;

function problems(d: unknown): string[] {
  try {
    parseConfig(stringify(base(d)));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config was accepted');
}

describe('config: dashboard', () => {
  it('defaults to loopback, plain HTTP, no proxy, no names of its own', () => {
    expect(dashboard({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      allowPlainHttp: false,
      secureCookies: false,
      sessionWarningSeconds: 120,
      monitorSessionDays: 30,
    });
  });

  it('takes the session warning and the monitor session lifetime within their ranges', () => {
    expect(dashboard({ sessionWarningSeconds: 30, monitorSessionDays: 7 })).toMatchObject({
      sessionWarningSeconds: 30,
      monitorSessionDays: 7,
    });
    expect(problems({ sessionWarningSeconds: 5 })).toEqual([
      'dashboard.sessionWarningSeconds: must be 10–3600 seconds',
    ]);
    expect(problems({ monitorSessionDays: 0 })).toEqual(['dashboard.monitorSessionDays: must be 1–365 days']);
  });

  it('takes tls, and cookies are then Secure', () => {
    const d = dashboard({
      host: '0.0.0.0',
      port: 8443,
      tls: { cert: 'dashboard.crt', key: '/etc/sekisho/dashboard.key' },
    });
    expect(d).toEqual({
      host: '0.0.0.0',
      port: 8443,
      tls: { cert: 'dashboard.crt', key: '/etc/sekisho/dashboard.key' },
      allowPlainHttp: false,
      secureCookies: true,
      sessionWarningSeconds: 120,
      monitorSessionDays: 30,
    });
  });

  it('takes trustProxy as one address or a list of addresses and CIDR blocks; cookies are then Secure', () => {
    expect(dashboard({ trustProxy: '127.0.0.1' })).toMatchObject({
      trustProxy: ['127.0.0.1'],
      secureCookies: true,
    });
    expect(dashboard({ trustProxy: ['127.0.0.1', '::1', '10.1.0.0/16', 'fd00::/8'] }).trustProxy).toEqual([
      '127.0.0.1',
      '::1',
      '10.1.0.0/16',
      'fd00::/8',
    ]);
  });

  it('takes secureCookies, allowPlainHttp and hostnames', () => {
    expect(dashboard({ secureCookies: true }).secureCookies).toBe(true);
    expect(dashboard({ host: '0.0.0.0', allowPlainHttp: true }).allowPlainHttp).toBe(true);
    expect(
      dashboard({ hostnames: ['sekisho-mr1.city.example.jp', '192.0.2.10', '2001:db8::10'] }).hostnames,
    ).toEqual(['sekisho-mr1.city.example.jp', '192.0.2.10', '2001:db8::10']);
  });

  it('refuses trusting every client, names, bad blocks and empty lists, each with its reason', () => {
    expect(problems({ trustProxy: true })).toEqual([
      "dashboard.trustProxy: name the proxy's address(es), e.g. [127.0.0.1, ::1]: true would take X-Forwarded-For from any client",
    ]);
    expect(problems({ trustProxy: ['127.0.0.1', 'proxy.example'] })).toEqual([
      'dashboard.trustProxy[1]: "proxy.example" is not an IP address or CIDR block (e.g. 127.0.0.1, ::1, 10.0.0.0/24); names are not resolved',
    ]);
    expect(problems({ trustProxy: '0.0.0.0/0' })).toEqual([
      'dashboard.trustProxy: "0.0.0.0/0" trusts every address: any client could choose the address the journal records',
    ]);
    expect(problems({ trustProxy: ['10.0.0.0/33'] })).toEqual([
      'dashboard.trustProxy[0]: "10.0.0.0/33": the prefix length must be 1–32',
    ]);
    expect(problems({ trustProxy: [] })).toEqual([
      'dashboard.trustProxy: expected an address or a non-empty list of addresses',
    ]);
  });

  it('refuses secureCookies: false with tls or trustProxy', () => {
    expect(problems({ trustProxy: '127.0.0.1', secureCookies: false })).toEqual([
      'dashboard.secureCookies: cookies are always Secure with trustProxy: remove secureCookies: false',
    ]);
    expect(problems({ tls: { cert: 'c.pem', key: 'k.pem' }, secureCookies: false })).toEqual([
      'dashboard.secureCookies: cookies are always Secure with tls: remove secureCookies: false',
    ]);
  });

  it('refuses an incomplete tls, wrong types and unknown keys', () => {
    expect(problems({ tls: { cert: 'c.pem' } })).toEqual(['dashboard.tls.key: required (expected string)']);
    expect(problems({ tls: { cert: 'c.pem', key: '' } })).toEqual([
      'dashboard.tls.key: expected the path of the private key (PEM, mode 0600)',
    ]);
    expect(problems({ tls: { cert: 'c.pem', key: 'k.pem', ca: 'x' } })).toEqual([
      'dashboard.tls: unknown key "ca"',
    ]);
    expect(problems({ allowPlainHttp: 'yes' })).toEqual(['dashboard.allowPlainHttp: expected true or false']);
    expect(problems({ secureCookies: 1 })).toEqual(['dashboard.secureCookies: expected true or false']);
    expect(problems({ port: 70000 })).toEqual(['dashboard.port: must be 0–65535']);
    expect(problems({ tsl: {} })).toEqual(['dashboard: unknown key "tsl"']);
  });

  it('refuses host names with a scheme, a port, brackets or a wildcard, and an empty list', () => {
    expect(
      problems({
        hostnames: ['https://sekisho.example', 'sekisho.example:8443', '[::1]', '*.example', 'bad_name!'],
      }),
    ).toEqual([
      'dashboard.hostnames[0]: write the name without a scheme (no http:// or https://)',
      'dashboard.hostnames[1]: write the name without a port (the port is dashboard.port)',
      'dashboard.hostnames[2]: write an IPv6 address without brackets',
      'dashboard.hostnames[3]: wildcards are not supported: list each name',
      'dashboard.hostnames[4]: not a host name or IP address',
    ]);
    expect(problems({ hostnames: [] })).toEqual([
      'dashboard.hostnames: list at least one name, or leave hostnames out',
    ]);
    expect(problems({ host: 'http://0.0.0.0' })).toEqual([
      'dashboard.host: write the name without a scheme (no http:// or https://)',
    ]);
  });

  it('docs/config.md documents exactly the keys the schema has', () => {
    const doc = readFileSync(join(ROOT, 'docs/config.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## `dashboard`'), doc.indexOf('## `mqtt`'));
    const documented = [...section.matchAll(/^\| `([a-zA-Z.]+)` \|/gm)].map((m) => m[1]);
    const shape = DashboardFields.shape;
    const keys = Object.keys(shape).flatMap((k) => (k === 'tls' ? ['tls.cert', 'tls.key'] : [k]));
    expect(documented.sort()).toEqual(keys.sort());
  });
});
