/**
 * The process's logger: pino, writing one human-readable line per message to stderr (systemd puts
 * it in the journal): `<ISO time> <LEVEL> <message> <fields as JSON>`. Callers pass masked
 * credentials only; every field named like a secret is scrubbed, at any depth, as a second line of defence.
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

/**
 * A field whose name contains one of these is a secret (password, token, key material, a badge
 * credential, a cookie, an auth header), at any depth: `mqttPassword` and `hmacKey` as much as
 * `password`. Matching parts of names, not a list of names, so that a new secret field is hidden
 * before anyone thinks of adding it. Harmless names that match (`keyId`) are hidden too: the price.
 */
const SECRET_KEY = /pass|secret|token|credential|key|cookie|hmac|authorization/i;
/** Nesting deeper than this is printed as it is (no log call nests so deep). */
const MAX_DEPTH = 16;

/** A copy of `value` with every secret-named field's value replaced; the caller's object is untouched. */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((x) => redact(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

const FIELDS = 'fields';

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
      // Every line's fields pass through redact() before pino serialises them.
      formatters: { log: (record) => redact(record) as Record<string, unknown> },
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
