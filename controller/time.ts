/** Converting between UTC milliseconds and wall-clock time in the site's time zone (for the CLI and UI). */

const formatters = new Map<string, Intl.DateTimeFormat>();
function fmt(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

function parts(at: number, tz: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of fmt(tz).formatToParts(at)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

/** "2026-11-26 12:34:56" in the zone. */
export function formatLocal(at: number, tz: string): string {
  const p = parts(at, tz);
  const two = (n: number | undefined) => String(n ?? 0).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
}

function offsetAt(at: number, tz: string): number {
  const p = parts(at, tz);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(at / 1000) * 1000;
}

/**
 * Parse "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DDTHH:MM[:SS]" as wall-clock time in `tz`,
 * or a full ISO time with Z/offset as given. Throws a clear error for anything else.
 */
export function parseLocal(text: string, tz: string): number {
  if (/[zZ]$|[+-]\d{2}:?\d{2}$/.test(text) && text.includes('T')) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new Error(`not a time: "${text}"`);
    return t;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) throw new Error(`not a date or time: "${text}" (expected YYYY-MM-DD or YYYY-MM-DD HH:MM)`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  const guess = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (Number.isNaN(guess) || new Date(guess).getUTCDate() !== d) throw new Error(`no such date: "${text}"`);
  // Two passes settle the offset even next to a DST change.
  let at = guess - offsetAt(guess, tz);
  at = guess - offsetAt(at, tz);
  return at;
}
