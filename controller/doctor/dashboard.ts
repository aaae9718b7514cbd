/**
 * doctor's dashboard checks: how it listens (TLS, loopback, or plain HTTP on the network), its
 * certificate (fingerprint, expiry, names), the names it answers to and the proxy it trusts.
 */
import type { LoadedConfig } from '../config/index.js';
import {
  type CertInfo,
  certProblem,
  type DashboardTls,
  hostnameSource,
  isLoopbackHost,
  machineNames,
  plainHttpProblem,
  readDashboardTls,
} from '../dashboard-transport.js';
import type { Add } from './check.js';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function dashboardChecks(loaded: LoadedConfig, add: Add, now: number): void {
  const d = loaded.config.dashboard;
  const shown = d.host.includes(':') ? `[${d.host}]` : d.host;
  const where = `${shown}:${d.port}`;
  let tls: DashboardTls | undefined;
  if (d.tls) {
    try {
      tls = readDashboardTls(loaded);
    } catch (err) {
      const problems = (err as { problems?: string[] }).problems;
      add('FAIL', 'dashboard certificate', problems ? problems.join('; ') : (err as Error).message);
    }
  }
  if (tls) certCheck(tls, add, now);

  if (d.tls) add(tls ? 'OK' : 'FAIL', 'dashboard listener', `https://${where} (TLS)`);
  else if (isLoopbackHost(d.host))
    add(
      'OK',
      'dashboard listener',
      `http://${where}: this machine only (loopback)${d.trustProxy ? ', reached through the proxy' : ''}`,
    );
  else {
    const refused = plainHttpProblem(loaded);
    add(
      refused ? 'FAIL' : 'WARN',
      'dashboard listener',
      `http://${where}: plain HTTP on the network — passwords and session cookies cross it in clear` +
        (refused
          ? '; sekisho start refuses this: set dashboard.tls, or listen on 127.0.0.1 behind a TLS proxy (docs/install.md)'
          : d.trustProxy
            ? ' between the proxy and this controller: listen on 127.0.0.1 if the proxy runs here'
            : ' (allowPlainHttp: true): set dashboard.tls (docs/install.md)'),
    );
  }

  if (d.port > 0 && d.port < 1024)
    add(
      'WARN',
      'dashboard port',
      `port ${d.port} needs CAP_NET_BIND_SERVICE, which the service does not have (deploy/sekisho.service): use e.g. 8443, or a proxy on 443`,
    );

  const source = hostnameSource(loaded, tls?.info);
  const names = [...new Set([...source.fixed, ...(source.machine ? machineNames() : [])])];
  add(
    'OK',
    'dashboard names',
    `answers to ${names.join(', ')}${d.hostnames ? ' (dashboard.hostnames)' : ' (default: loopback, this machine, the certificate)'}; any other Host is refused (421)`,
  );
  if (tls && d.hostnames) {
    const uncovered = d.hostnames.filter((n) => !covers(tls.info, n));
    if (uncovered.length > 0)
      add(
        'WARN',
        'dashboard names',
        `the certificate does not cover ${uncovered.join(', ')}: browsers warn when it is opened by that name`,
      );
  }
  if (d.trustProxy)
    add(
      'OK',
      'dashboard proxy',
      `client addresses taken from X-Forwarded-For sent by ${d.trustProxy.join(', ')} only; cookies Secure`,
    );
}

function certCheck(tls: DashboardTls, add: Add, now: number): void {
  const i = tls.info;
  const problem = certProblem(i, now);
  const what =
    `${tls.certFile}: SHA-256 fingerprint ${i.fingerprint256}, valid until ${day(i.validTo)}` +
    `${i.selfSigned ? ' (self-signed: compare this fingerprint with the browser’s the first time)' : ''}, for ${i.names.join(', ') || 'no names'}`;
  if (!problem) add('OK', 'dashboard certificate', what);
  else
    add(
      problem.expired ? 'FAIL' : 'WARN',
      'dashboard certificate',
      `${what} — ${problem.text}: make a new one (docs/install.md, "The dashboard's certificate") and restart`,
    );
}

/** Whether a certificate's names cover `name` (a `*.` entry covers one label). */
function covers(info: CertInfo, name: string): boolean {
  const n = name.toLowerCase();
  return info.names.some((c) => c === n || (c.startsWith('*.') && n.slice(n.indexOf('.')) === c.slice(1)));
}
