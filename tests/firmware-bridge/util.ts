import type { CodecEvent, CodecStats, DropReason } from '../../firmware-bridge/index.js';

/** xorshift32: a small seeded PRNG so random streams are the same on every run. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function randomBytes(n: number, next: () => number): Buffer {
  const buf = Buffer.alloc(n);
  for (let i = 0; i < n; i++) buf[i] = next() & 0xff;
  return buf;
}

export function credentials(events: CodecEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'credential' ? [e.credential] : []));
}

export function droppedBytes(events: CodecEvent[]): Partial<Record<DropReason, number>> {
  const out: Partial<Record<DropReason, number>> = {};
  for (const e of events) if (e.kind === 'dropped') out[e.why] = (out[e.why] ?? 0) + e.bytes;
  return out;
}

/** Everything but drop events, which may merge differently when a stream is cut differently. */
export function nonDropped(events: CodecEvent[]): CodecEvent[] {
  return events.filter((e) => e.kind !== 'dropped');
}

export function totalDropped(stats: CodecStats): number {
  return Object.values(stats.dropped).reduce((a, b) => a + b, 0);
}
