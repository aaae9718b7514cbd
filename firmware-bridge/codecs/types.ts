/**
 * The shape every reader protocol decoder shares. A codec is pure and incremental: it is fed the
 * bytes exactly as they arrive from the serial port, in chunks of any size, and returns what those
 * bytes completed. It never throws on input, never decodes a damaged frame into a credential, and
 * holds at most one partial frame between calls.
 */

/** The credential formats a codec can produce (`BadgeRead.format`). */
export const CREDENTIAL_FORMATS = ['em4100', 'wiegand26', 'wiegand34', 'line'] as const;
export type CredentialFormat = (typeof CREDENTIAL_FORMATS)[number];

/**
 * Why bytes were thrown away.
 * - `garbage`: bytes outside any frame, or a frame with a byte that cannot appear there
 * - `bad_length`: a frame cut short (a new start byte, or a silence, before its end) or too long
 * - `bad_checksum`: a complete frame whose checksum does not match
 * - `bad_parity`: an intact Wiegand frame whose parity bits are wrong
 * - `overlong`: a line longer than the limit without a line end
 * - `no_match`: an intact frame or line that is not a credential we know (unknown bit count or
 *   frame type, a line not matching `linePattern`)
 */
export const DROP_REASONS = [
  'bad_checksum',
  'bad_parity',
  'garbage',
  'overlong',
  'bad_length',
  'no_match',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type CodecEvent =
  | { kind: 'credential'; credential: string; format: CredentialFormat }
  | {
      kind: 'heartbeat';
      /** Board's frame counter, +1 per heartbeat, wraps at 2^32. */
      seq: number;
      /** Board's millisecond uptime counter, wraps at 2^32 (about 49.7 days). */
      uptimeMs: number;
      /** The board's tamper switch as of this heartbeat. */
      tamper: boolean;
    }
  | { kind: 'hello'; protocol: number; firmware: string }
  | { kind: 'tamper'; active: boolean }
  | { kind: 'dropped'; why: DropReason; bytes: number };

export interface CodecStats {
  /** Bytes pushed in. */
  bytes: number;
  /** Intact frames (or lines) recognised, whatever they carried. */
  frames: number;
  credentials: number;
  /** Drop events, by reason. */
  dropped: Record<DropReason, number>;
  /** Bytes thrown away, by reason. */
  droppedBytes: Record<DropReason, number>;
}

export interface Codec {
  /**
   * Feed the next bytes, received at `at` (ms). Returns the events those bytes completed, in
   * stream order. Never throws.
   */
  push(chunk: Buffer, at: number): CodecEvent[];
  /** Forget any partial frame (e.g. after the port was reopened); counted as `bad_length`. */
  reset(): CodecEvent[];
  /**
   * Whether a frame (or line) has begun and not yet ended at `at` (ms), its latest byte no older than
   * the stale limit: a badge is arriving. Bytes outside any frame do not count.
   */
  receiving(at: number): boolean;
  stats(): CodecStats;
}

export interface CodecOptions {
  /**
   * A partial frame older than this when more bytes arrive is thrown away (`bad_length`) before
   * the new bytes are looked at, so a frame cut off by a removed card or a board reset never joins
   * the next one. Default 500 ms.
   */
  staleMs?: number;
}

export const DEFAULT_STALE_MS = 500;

/** True when an event proves the device on the other end is alive and speaking the protocol. */
export function isSignOfLife(event: CodecEvent): boolean {
  if (event.kind !== 'dropped') return true;
  // An intact frame with a valid checksum whose content we reject still came from the board.
  return event.why === 'bad_parity' || event.why === 'no_match';
}

function zeroes(): Record<DropReason, number> {
  return { bad_checksum: 0, bad_parity: 0, garbage: 0, overlong: 0, bad_length: 0, no_match: 0 };
}

/** Book-keeping shared by the codecs: counts events as they are produced. */
export class StatsCounter {
  private readonly s: CodecStats = {
    bytes: 0,
    frames: 0,
    credentials: 0,
    dropped: zeroes(),
    droppedBytes: zeroes(),
  };

  addBytes(n: number): void {
    this.s.bytes += n;
  }

  /** Record an intact frame. */
  frame(): void {
    this.s.frames++;
  }

  /** Record an event; returns it for chaining into an output list. */
  count(event: CodecEvent): CodecEvent {
    if (event.kind === 'credential') this.s.credentials++;
    else if (event.kind === 'dropped') {
      this.s.dropped[event.why]++;
      this.s.droppedBytes[event.why] += event.bytes;
    }
    return event;
  }

  snapshot(): CodecStats {
    return {
      ...this.s,
      dropped: { ...this.s.dropped },
      droppedBytes: { ...this.s.droppedBytes },
    };
  }
}
