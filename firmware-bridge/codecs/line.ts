/**
 * Generic line readers: one credential per line. A line ends at LF, CR or CR LF; it is trimmed,
 * must match `linePattern` in full, and is upper-cased. Empty lines are ignored. A line longer
 * than `maxLineBytes` is thrown away whole, up to its line end.
 */
import { type Codec, type CodecEvent, type CodecOptions, DEFAULT_STALE_MS, StatsCounter } from './types.js';

export const DEFAULT_LINE_PATTERN = '^[0-9A-Fa-f]{4,32}$';
export const MAX_LINE_BYTES = 256;
/** While throwing away an endless line, report what was dropped at least this often. */
const OVERLONG_REPORT_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * A matcher for one configured pattern: trimmed, full match, upper-cased; undefined when the text
 * is not a credential. Throws on an invalid regular expression.
 */
export function lineMatcher(
  linePattern: string = DEFAULT_LINE_PATTERN,
): (text: string) => string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${linePattern})$`);
  } catch (err) {
    throw new SyntaxError(`invalid linePattern ${JSON.stringify(linePattern)}: ${(err as Error).message}`);
  }
  return (text) => {
    const trimmed = text.trim();
    return trimmed !== '' && re.test(trimmed) ? trimmed.toUpperCase() : undefined;
  };
}

export interface LineCodecOptions extends CodecOptions {
  linePattern?: string;
  maxLineBytes?: number;
}

function nextLineEnd(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length; i++) {
    const b = buf[i];
    if (b === LF || b === CR) return i;
  }
  return -1;
}

class LineCodec implements Codec {
  private readonly match: (text: string) => string | undefined;
  private readonly maxLineBytes: number;
  private readonly staleMs: number;
  private readonly counter = new StatsCounter();
  private parts: Buffer[] = [];
  private partLength = 0;
  /** Bytes of the current overlong line thrown away but not yet reported; -1 when not discarding. */
  private discarding = -1;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(options: LineCodecOptions) {
    this.match = lineMatcher(options.linePattern);
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  }

  push(chunk: Buffer, at: number): CodecEvent[] {
    const out: CodecEvent[] = [];
    this.counter.addBytes(chunk.length);
    if (at - this.lastAt > this.staleMs) out.push(...this.reset());
    this.lastAt = at;

    let p = 0;
    while (p < chunk.length) {
      const end = nextLineEnd(chunk, p);
      const stop = end === -1 ? chunk.length : end;
      const segment = chunk.subarray(p, stop);
      if (this.discarding >= 0) {
        this.discarding += segment.length + (end === -1 ? 0 : 1);
        if (end !== -1 || this.discarding >= OVERLONG_REPORT_BYTES) {
          out.push(this.counter.count({ kind: 'dropped', why: 'overlong', bytes: this.discarding }));
          this.discarding = end === -1 ? 0 : -1;
        }
      } else if (this.partLength + segment.length > this.maxLineBytes) {
        // Too long already: throw away what we have and the rest of this line.
        this.discarding = this.partLength + segment.length + (end === -1 ? 0 : 1);
        this.parts = [];
        this.partLength = 0;
        if (end !== -1) {
          out.push(this.counter.count({ kind: 'dropped', why: 'overlong', bytes: this.discarding }));
          this.discarding = -1;
        }
      } else if (end === -1) {
        // Copy, so a large chunk is not kept alive by a short partial line.
        this.parts.push(Buffer.from(segment));
        this.partLength += segment.length;
      } else {
        const line = this.parts.length > 0 ? Buffer.concat([...this.parts, segment]) : segment;
        this.parts = [];
        this.partLength = 0;
        this.finishLine(line, out);
      }
      p = end === -1 ? chunk.length : end + 1;
    }
    return out;
  }

  private finishLine(line: Buffer, out: CodecEvent[]): void {
    const text = line.toString('utf8');
    if (text.trim() === '') return;
    this.counter.frame();
    const credential = this.match(text);
    out.push(
      this.counter.count(
        credential === undefined
          ? { kind: 'dropped', why: 'no_match', bytes: line.length + 1 }
          : { kind: 'credential', credential, format: 'line' },
      ),
    );
  }

  receiving(at: number): boolean {
    return this.partLength > 0 && at - this.lastAt <= this.staleMs;
  }

  reset(): CodecEvent[] {
    const out: CodecEvent[] = [];
    if (this.discarding > 0)
      out.push(this.counter.count({ kind: 'dropped', why: 'overlong', bytes: this.discarding }));
    if (this.partLength > 0) {
      out.push(this.counter.count({ kind: 'dropped', why: 'bad_length', bytes: this.partLength }));
    }
    this.discarding = -1;
    this.parts = [];
    this.partLength = 0;
    return out;
  }

  stats() {
    return this.counter.snapshot();
  }
}

export function createLineCodec(options: LineCodecOptions = {}): Codec {
  return new LineCodec(options);
}
