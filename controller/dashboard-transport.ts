/**
 * How the dashboard meets the network, worked out from `dashboard:` at start (and by doctor): the
 * TLS certificate and key read and checked, the names it answers to, the proxy it trusts, whether
 * its cookies are Secure — and the refusal to listen in plain HTTP on an address other than
 * loopback, where passwords and session cookies would cross the LAN in clear.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from './config/index.js';
import { ConfigError } from './config/load.js';
import { readSecretFile, secretFileMessage } from './secret-files.js';

/** Names that always reach this machine itself: never a DNS-rebinding target. */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** Warn this long before the dashboard's certificate expires. */
export const CERT_WARN_MS = 30 * 86_400_000;

/** Is the listen address loopback (reachable only from this machine)? */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return /^::ffff:127\./.test(h);
}

/** A name as a Host header gives it: lower case; an IPv6 address compressed (0:0:…:1 → ::1). */
export function canonicalName(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  return isIP(n) === 6 ? new URL(`http://[${n}]`).hostname.slice(1, -1) : n;
}

export interface CertInfo {
  /** SHA-256 of the certificate (DER), as browsers show it: AB:CD:… */
  fingerprint256: string;
  /** base64 SHA-256 of the public key (SPKI), what Chromium's --ignore-certificate-errors-spki-list takes. */
  spki256: string;
  subject: string;
  /** The subjectAltName entries: DNS names and IP addresses. */
  names: string[];
  validFrom: number;
  validTo: number;
  selfSigned: boolean;
}

/** Reads a PEM certificate (the first one of a chain). Throws on anything that is not one. */
export function certInfo(pem: string | Buffer): CertInfo {
  const x = new X509Certificate(pem);
  const names = (x.subjectAltName ?? '')
    .split(', ')
    .map((s) => /^(?:DNS|IP Address):(.+)$/.exec(s.trim())?.[1])
    .filter((s): s is string => s !== undefined)
    .map(canonicalName);
  const spki = x.publicKey.export({ type: 'spki', format: 'der' });
  return {
    fingerprint256: x.fingerprint256,
    spki256: createHash('sha256').update(spki).digest('base64'),
    subject: x.subject.replace(/\n/g, ', '),
    names,
    validFrom: Date.parse(x.validFrom),
    validTo: Date.parse(x.validTo),
    // Not checkIssued: a server certificate may not sign certificates (no keyCertSign).
    selfSigned: x.issuer === x.subject && x.verify(x.publicKey),
  };
}

export interface DashboardTls {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  info: CertInfo;
}

/**
 * Reads and checks `dashboard.tls`: the certificate parses, the key is a private file (no
 * permission for group or others) and belongs to the certificate. Throws problems as lines
 * `dashboard.tls.…: …`, never the key's content.
 */
export function readDashboardTls(loaded: LoadedConfig): DashboardTls | undefined {
  const tls = loaded.config.dashboard.tls;
  if (!tls) return undefined;
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dirname(loaded.file), p));
  const certFile = at(tls.cert);
  const keyFile = at(tls.key);
  const problem = (key: 'cert' | 'key', text: string) =>
    new ConfigError(loaded.file, [`dashboard.tls.${key}: ${text}`]);
  let cert: string;
  try {
    cert = readFileSync(certFile, 'utf8');
  } catch (err) {
    throw problem('cert', `cannot read ${certFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let info: CertInfo;
  try {
    info = certInfo(cert);
  } catch {
    throw problem('cert', `${certFile} is not a PEM certificate`);
  }
  const key = readSecretFile(keyFile, {
    error: (p, path) => problem('key', secretFileMessage(p, path)),
  });
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    throw problem('key', `${keyFile} is not an unencrypted PEM private key`);
  }
  if (!matches) throw problem('key', `${keyFile} is not the key of the certificate ${certFile}`);
  return { certFile, keyFile, cert, key, info };
}

/** When the certificate needs attention at `now`, in words; else null. */
export function certProblem(info: CertInfo, now: number): { expired: boolean; text: string } | null {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  if (now < info.validFrom) return { expired: true, text: `not valid before ${day(info.validFrom)}` };
  if (now >= info.validTo) return { expired: true, text: `expired on ${day(info.validTo)}` };
  if (info.validTo - now <= CERT_WARN_MS)
    return {
      expired: false,
      text: `expires on ${day(info.validTo)}, in ${Math.ceil((info.validTo - now) / 86_400_000)} days`,
    };
  return null;
}

/** This machine's host name (and its mDNS name) and its network addresses, as Host headers name them. */
export function machineNames(): string[] {
  const names = new Set<string>();
  const h = hostname().toLowerCase();
  if (h) {
    names.add(h);
    if (!h.includes('.')) names.add(`${h}.local`);
  }
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) {
      // A link-local IPv6 address needs a zone id in a URL: nobody reaches the dashboard by it.
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
      names.add(canonicalName(a.address));
    }
  return [...names];
}

/**
 * The names the dashboard answers to. Always the loopback names; then `dashboard.hostnames` if
 * given, else: the listen address when it is one address, the certificate's names, and (asked
 * again when a request names something else, so a new DHCP lease is followed) the machine's host
 * name and addresses.
 */
export interface HostnameSource {
  fixed: string[];
  /** Whether the machine's names and addresses are allowed too. */
  machine: boolean;
}

export function hostnameSource(loaded: LoadedConfig, cert?: CertInfo): HostnameSource {
  const d = loaded.config.dashboard;
  if (d.hostnames)
    return { fixed: [...new Set([...LOOPBACK_NAMES, ...d.hostnames.map(canonicalName)])], machine: false };
  const fixed = new Set(LOOPBACK_NAMES);
  if (!['0.0.0.0', '::'].includes(d.host)) fixed.add(canonicalName(d.host));
  for (const n of cert?.names ?? []) fixed.add(n);
  return { fixed: [...fixed], machine: true };
}

/** The refusal of a plain-HTTP listener on the network, or null. */
export function plainHttpProblem(loaded: LoadedConfig): string | null {
  const d = loaded.config.dashboard;
  if (d.tls || d.trustProxy || d.allowPlainHttp || isLoopbackHost(d.host)) return null;
  return (
    `dashboard.host: ${d.host} is not loopback and the dashboard has no TLS: passwords and session ` +
    'cookies would cross the network in clear. Set dashboard.tls (scripts/install.sh makes a ' +
    'certificate), or dashboard.trustProxy behind a TLS reverse proxy, or listen on 127.0.0.1 — or ' +
    'set dashboard.allowPlainHttp: true to accept the risk (docs/config.md)'
  );
}

export interface DashboardTransport {
  tls?: DashboardTls;
  trustProxy?: string[];
  secureCookies: boolean;
  hostnames: HostnameSource;
  /** Not refusals: things to log at start (a certificate close to expiry, plain HTTP allowed). */
  warnings: string[];
}

/** Everything `sekisho start` needs to listen; throws ConfigError for what must not start. */
export function dashboardTransport(loaded: LoadedConfig, now: number): DashboardTransport {
  const d = loaded.config.dashboard;
  const plain = plainHttpProblem(loaded);
  if (plain) throw new ConfigError(loaded.file, [plain]);
  const tls = readDashboardTls(loaded);
  const warnings: string[] = [];
  if (tls) {
    // An expired certificate does not stop the doors: the dashboard starts, and says so loudly.
    const p = certProblem(tls.info, now);
    if (p) warnings.push(`dashboard certificate ${tls.certFile} ${p.text}: renew it (docs/install.md)`);
  } else if (!isLoopbackHost(d.host))
    warnings.push(
      `dashboard on ${d.host} in plain HTTP (${d.trustProxy ? 'behind a proxy' : 'allowPlainHttp'}): ` +
        'passwords cross the network in clear between the proxy or browser and this controller',
    );
  return {
    ...(tls ? { tls } : {}),
    ...(d.trustProxy ? { trustProxy: d.trustProxy } : {}),
    secureCookies: d.secureCookies,
    hostnames: hostnameSource(loaded, tls?.info),
    warnings,
  };
}
