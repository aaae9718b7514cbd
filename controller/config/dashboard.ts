/**
 * The `dashboard:` part of the config: where the dashboard listens, its TLS certificate, the reverse
 * proxy it trusts, the names it answers to. docs/config.md ("dashboard") is the reference. Whether
 * a plain-HTTP listener on the network may start is decided at start (controller/dashboard-
 * transport.ts), not here: a config the dashboard refuses must still serve `secure-outputs`.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const int = () => z.int({ error: 'expected integer' });
const bool = () => z.boolean({ error: 'expected true or false' });

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`, 'i');

/** Why `text` is not a host name or IP address as a Host header names it, or null. */
export function hostnameProblem(text: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    return 'write the name without a scheme (no http:// or https://)';
  if (text.includes('*')) return 'wildcards are not supported: list each name';
  if (isIP(text) !== 0) return null;
  if (text.startsWith('[') && text.endsWith(']')) return 'write an IPv6 address without brackets';
  if (/:\d+$/.test(text)) return 'write the name without a port (the port is dashboard.port)';
  if (!DNS_NAME.test(text.replace(/\.$/, ''))) return 'not a host name or IP address';
  return null;
}

const hostName = z.string().superRefine((h, ctx) => {
  const problem = hostnameProblem(h);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Why `text` is not an address or CIDR block a proxy connects from, or null. */
export function proxyAddressProblem(text: string): string | null {
  const [addr = '', prefix, ...rest] = text.split('/');
  const family = isIP(addr);
  if (family === 0 || rest.length > 0)
    return `"${text}" is not an IP address or CIDR block (e.g. 127.0.0.1, ::1, 10.0.0.0/24); names are not resolved`;
  if (prefix === undefined) return null;
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits)
    return `"${text}": the prefix length must be 1–${bits}`;
  if (Number(prefix) === 0)
    return `"${text}" trusts every address: any client could choose the address the journal records`;
  return null;
}

/**
 * The proxy's address or addresses: one string or a list. `true` (fastify's "trust everyone") is
 * refused: any client could then choose its own address for the rate limits and the journal.
 */
const trustProxy = z.unknown().transform((v, ctx): string[] => {
  if (typeof v === 'boolean') {
    ctx.addIssue({
      code: 'custom',
      message:
        "name the proxy's address(es), e.g. [127.0.0.1, ::1]: true would take X-Forwarded-For from any client",
    });
    return z.NEVER;
  }
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string')) {
    ctx.addIssue({ code: 'custom', message: 'expected an address or a non-empty list of addresses' });
    return z.NEVER;
  }
  let ok = true;
  (list as string[]).forEach((a, i) => {
    const problem = proxyAddressProblem(a);
    if (problem) {
      ok = false;
      ctx.addIssue({ code: 'custom', path: typeof v === 'string' ? [] : [i], message: problem });
    }
  });
  return ok ? (list as string[]) : z.NEVER;
});

/** The keys as written (docs/config.md's table is checked against it). */
export const DashboardFields = z.strictObject({
  /** The listen address: loopback by default. */
  host: hostName.default('127.0.0.1'),
  port: int().min(0, { error: 'must be 0–65535' }).max(65_535, { error: 'must be 0–65535' }).default(8080),
  /** HTTPS served by Sekisho: PEM files, relative to the config file's folder. */
  tls: z
    .strictObject({
      cert: z.string().min(1, 'expected the path of the certificate (PEM)'),
      key: z.string().min(1, 'expected the path of the private key (PEM, mode 0600)'),
    })
    .optional(),
  /** The reverse proxy's addresses: X-Forwarded-For is taken from them, and only from them. */
  trustProxy: trustProxy.optional(),
  /** Mark cookies Secure. Always true with tls or trustProxy. */
  secureCookies: bool().optional(),
  /** Let the dashboard listen without TLS on an address other than loopback (passwords in clear). */
  allowPlainHttp: bool().default(false),
  /** The names the dashboard is reached by (the Host header); see docs/config.md for the default. */
  hostnames: z.array(hostName).min(1, 'list at least one name, or leave hostnames out').optional(),
  /** Seconds before a session ends for idleness that its pages warn, with "stay signed in". */
  sessionWarningSeconds: int()
    .min(10, { error: 'must be 10–3600 seconds' })
    .max(3600, { error: 'must be 10–3600 seconds' })
    .default(120),
  /** The absolute lifetime of a monitor's (wall screen's) session, in days; it has no idle timeout. */
  monitorSessionDays: int()
    .min(1, { error: 'must be 1–365 days' })
    .max(365, { error: 'must be 1–365 days' })
    .default(30),
});

export const DashboardSchema = DashboardFields.superRefine((d, ctx) => {
  if (d.secureCookies === false && (d.tls !== undefined || d.trustProxy !== undefined))
    ctx.addIssue({
      code: 'custom',
      path: ['secureCookies'],
      message: `cookies are always Secure with ${d.tls ? 'tls' : 'trustProxy'}: remove secureCookies: false`,
    });
}).transform(({ secureCookies, ...d }) => ({
  ...d,
  /** Effective: as given, else true with TLS or behind a proxy. */
  secureCookies: secureCookies ?? (d.tls !== undefined || d.trustProxy !== undefined),
}));
export type DashboardConfig = z.infer<typeof DashboardSchema>;

export const DASHBOARD_DEFAULTS: DashboardConfig = DashboardSchema.parse({});
