/**
 * The scanner shared by the start-byte framed protocols (RDM6300, the Wiegand bridge board): find a
 * start byte, let the protocol judge the candidate frame, resynchronise on the next start byte when
 * the candidate is rejected. Memory is bounded by one chunk plus one partial frame.
 */
import {
  type Codec,
  type CodecEvent,
  type CodecOptions,
  type CodecStats,
  DEFAULT_STALE_MS,
  type DropReason,
  StatsCounter,
} from './types.js';

export type FrameVerdict =
  /** Everything seen so far fits; the frame needs more bytes. */
  | { status: 'need' }
  /** An intact frame of `length` bytes and what it carried (may be a `dropped` for its content). */
  | { status: 'ok'; length: number; events: CodecEvent[] }
  /** Not a frame: `length` bytes (at least 1, counted from the start byte) were examined. */
  | { status: 'reject'; why: DropReason; length: number };

export interface FrameProtocol {
  /** The start byte. */
  readonly sync: number;
  /** The longest frame the protocol has, start byte to last byte. */
  readonly maxFrame: number;
  /** Judge the candidate frame starting at `buf[start]` (which is the start byte). Pure. */
  parse(buf: Buffer, start: number): FrameVerdict;
}

const EMPTY = Buffer.alloc(0);

export class SyncFramer implements Codec {
  private pending: Buffer = EMPTY;
  private lastAt = Number.NEGATIVE_INFINITY;
  private readonly counter = new StatsCounter();
  private readonly staleMs: number;

  constructor(
    private readonly protocol: FrameProtocol,
    options: CodecOptions = {},
  ) {
    this.staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  }

  push(chunk: Buffer, at: number): CodecEvent[] {
    const out: CodecEvent[] = [];
    this.counter.addBytes(chunk.length);
    if (this.pending.length > 0 && at - this.lastAt > this.staleMs) out.push(...this.reset());
    this.lastAt = at;
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    const { sync } = this.protocol;

    let garbage = 0;
    const flushGarbage = () => {
      if (garbage > 0) out.push(this.counter.count({ kind: 'dropped', why: 'garbage', bytes: garbage }));
      garbage = 0;
    };

    let p = 0;
    while (p < buf.length) {
      if (buf[p] !== sync) {
        const q = buf.indexOf(sync, p);
        const end = q === -1 ? buf.length : q;
        garbage += end - p;
        p = end;
        continue;
      }
      const verdict = this.judge(buf, p);
      if (verdict.status === 'need') {
        const later = this.completeFrameAfter(buf, p);
        if (later === -1) {
          // Copy, so a large chunk is not kept alive by a small partial frame.
          this.pending = Buffer.from(buf.subarray(p));
          break;
        }
        // A whole valid frame starts inside this one: this one was cut short.
        flushGarbage();
        out.push(this.counter.count({ kind: 'dropped', why: 'bad_length', bytes: later - p }));
        p = later;
      } else if (verdict.status === 'ok') {
        flushGarbage();
        this.counter.frame();
        for (const event of verdict.events) out.push(this.counter.count(event));
        p += verdict.length;
      } else {
        flushGarbage();
        let end = Math.min(p + Math.max(1, verdict.length), buf.length);
        const q = buf.indexOf(sync, p + 1);
        if (q !== -1 && q < end) end = q;
        out.push(this.counter.count({ kind: 'dropped', why: verdict.why, bytes: end - p }));
        p = end;
      }
    }
    flushGarbage();
    return out;
  }

  receiving(at: number): boolean {
    return this.pending.length > 0 && at - this.lastAt <= this.staleMs;
  }

  reset(): CodecEvent[] {
    const n = this.pending.length;
    this.pending = EMPTY;
    return n > 0 ? [this.counter.count({ kind: 'dropped', why: 'bad_length', bytes: n })] : [];
  }

  stats(): CodecStats {
    return this.counter.snapshot();
  }

  /** The protocol's verdict, with a guard against a protocol asking to buffer without bound. */
  private judge(buf: Buffer, p: number): FrameVerdict {
    const verdict = this.protocol.parse(buf, p);
    if (verdict.status === 'need' && buf.length - p >= this.protocol.maxFrame) {
      return { status: 'reject', why: 'bad_length', length: this.protocol.maxFrame };
    }
    return verdict;
  }

  /** The offset of the first start byte after `p` that begins a complete, intact frame, or -1. */
  private completeFrameAfter(buf: Buffer, p: number): number {
    let q = buf.indexOf(this.protocol.sync, p + 1);
    while (q !== -1) {
      if (this.protocol.parse(buf, q).status === 'ok') return q;
      q = buf.indexOf(this.protocol.sync, q + 1);
    }
    return -1;
  }
}
