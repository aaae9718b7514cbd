/**
 * The process's logger: pino, writing one human-readable line per message to stderr (systemd puts
 * it in the journal): `<ISO time> <LEVEL> <message> <fields as JSON>`. Callers pass masked
 * credentials only; pino's `redact` scrubs any field named like a secret as a second line of defence.
 */
import { type DestinationStream, pino } from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'] satisfies Level[];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Field names whose values are secrets: passwords, tokens, key material, badge credentials, cookies, auth headers. */
const SECRET_KEYS = [
  'password',
  'passwordHash',
  'initialPassword',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'apiToken',
  'csrfToken',
  'tokenHash',
  'key',
  'privateKey',
  'signingKey',
  'hmacKey',
  'credential',
  'credentials',
  'credentialHash',
  'cookie',
  'set-cookie',
  'authorization',
  'Authorization',
];
/**
 * How many levels below the fields a secret is still found. Each wildcard path costs pino about a
 * microsecond per line written, which is fine for operational messages (none is written per access).
 */
const SECRET_DEPTH = 3;
const FIELDS = 'fields';

/** pino redact paths (relative to the fields): every secret key at the top and up to SECRET_DEPTH levels down. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => {
  const leaf = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  return Array.from({ length: SECRET_DEPTH + 1 }, (_, depth) => '*.'.repeat(depth) + leaf);
});

/** pino's JSON record → the line: the journal shows it as is, so it is meant for people first. */
function format(json: string): string {
  const r = JSON.parse(json) as { level: number; time: string; msg: string; [FIELDS]?: unknown };
  const label = (pino.levels.labels[r.level] ?? String(r.level)).toUpperCase();
  const extra = r[FIELDS] === undefined ? '' : ` ${JSON.stringify(r[FIELDS])}`;
  return `${r.time} ${label.padEnd(5)} ${r.msg}${extra}`;
}

/**
 * A logger at `level` (default: $SEKISHO_LOG, else info) writing each line to `write` (default:
 * stderr, synchronously, so that the last line before process.exit is not lost).
 */
export function createLogger(opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const env = process.env.SEKISHO_LOG;
  const level = opts.level ?? (env && LEVELS.includes(env) ? (env as Level) : 'info');
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dest: DestinationStream = { write: (json) => write(format(json)) };
  const p = pino(
    {
      level,
      base: null,
      nestedKey: FIELDS,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    dest,
  );
  return {
    debug: (m, f) => (f ? p.debug(f, m) : p.debug(m)),
    info: (m, f) => (f ? p.info(f, m) : p.info(m)),
    warn: (m, f) => (f ? p.warn(f, m) : p.warn(m)),
    error: (m, f) => (f ? p.error(f, m) : p.error(m)),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
