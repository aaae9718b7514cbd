/**
 * A per-port byte budget: how many bytes a serial line may deliver per second before the port is
 * treated as flooding. A UART cannot receive faster than its line rate (baud / 10 bytes per second
 * at 8N1), so a port far above that is not a reader speaking: it is a pty, a USB-serial adapter
 * with something hostile behind it, or a fault. While it floods, its bytes are counted and thrown
 * away undecoded, so garbage cannot take the event loop that also drives the door.
 *
 * Pure: the time is passed in (ms, any clock); no timers. A clock that goes backwards is treated
 * as standing still, so a wall-clock step never prolongs or shortens a cool-down by more than the
 * step itself forwards.
 */

export interface ByteBudgetSettings {
  /** Multiple of the line's maximum rate (baud / 10 bytes/s) above which the port is flooding. */
  factor: number;
  /** The sliding window the rate is measured over (ms). */
  windowMs: number;
  /** Decoding resumes this long after the last moment the port was over its budget (ms). */
  coolDownMs: number;
}

/**
 * The defaults. A real UART never exceeds 1× its line rate, and the floods that matter arrive at
 * megabytes per second (a pty or USB device: ~30,000× a 9600-baud line), so any factor well above
 * 1 catches the same floods. 10× leaves room for ptys and USB CDC devices that legitimately send
 * frames back to back faster than a line could (the bench presents ~270 frames/s, ≈ 4× a 9600-baud
 * line), while decoding at most 9.6 KB/s of garbage on a 9600-baud reader — a negligible load next
 * to the decoder's tens of MB/s.
 */
export const DEFAULT_BYTE_BUDGET: Readonly<ByteBudgetSettings> = Object.freeze({
  factor: 10,
  windowMs: 1000,
  coolDownMs: 5000,
});

/** The most bytes per second a UART at `baudRate` receives (8N1: 10 bits a byte). */
export function lineBytesPerS(baudRate: number): number {
  return baudRate / 10;
}

/**
 * What to do with bytes just received:
 * - `decode`: within the budget, feed them to the codec
 * - `flood`: these bytes put the port over its budget — the flood begins; drop them
 * - `drop`: the port is flooding (or cooling down); drop them
 * - `resume`: the cool-down ended before these bytes; reset the codec, then decode them
 */
export type BudgetVerdict = 'decode' | 'flood' | 'drop' | 'resume';

/** The window is kept in this many buckets: its resolution is windowMs / BUCKETS. */
const BUCKETS = 10;

export class ByteBudget {
  /** Bytes allowed within one window. */
  readonly limit: number;
  private readonly bucketMs: number;
  private readonly coolDownMs: number;
  private readonly counts = new Float64Array(BUCKETS);
  /** Absolute index of the newest bucket, on the budget's own clock. */
  private head = 0;
  private sum = 0;
  /** Our own monotonic clock: the sum of the forward steps of `at`. */
  private mono = 0;
  private lastAt = Number.NaN;
  private floodingNow = false;
  private lastOver = 0;

  constructor(baudRate: number, settings: ByteBudgetSettings = DEFAULT_BYTE_BUDGET) {
    if (!(baudRate > 0)) throw new RangeError(`baudRate must be positive, not ${baudRate}`);
    if (!(settings.factor > 0) || !(settings.windowMs > 0) || !(settings.coolDownMs >= 0))
      throw new RangeError('byte budget: factor and windowMs must be positive, coolDownMs ≥ 0');
    this.limit = (lineBytesPerS(baudRate) * settings.factor * settings.windowMs) / 1000;
    this.bucketMs = settings.windowMs / BUCKETS;
    this.coolDownMs = settings.coolDownMs;
  }

  get flooding(): boolean {
    return this.floodingNow;
  }

  /** Account `bytes` received at `at` and say what to do with them. */
  take(bytes: number, at: number): BudgetVerdict {
    this.advance(at);
    this.counts[this.head % BUCKETS]! += bytes;
    this.sum += bytes;
    const over = this.sum > this.limit;
    if (over) this.lastOver = this.mono;
    if (!this.floodingNow) {
      if (!over) return 'decode';
      this.floodingNow = true;
      return 'flood';
    }
    if (over || this.mono - this.lastOver < this.coolDownMs) return 'drop';
    this.floodingNow = false;
    return 'resume';
  }

  /**
   * Without new bytes: end the flood if the cool-down has passed by `at`. Returns true when this
   * call ended it (the caller resets the codec and reports the port back).
   */
  poll(at: number): boolean {
    this.advance(at);
    if (!this.floodingNow || this.mono - this.lastOver < this.coolDownMs) return false;
    this.floodingNow = false;
    return true;
  }

  /** While flooding: how long (ms, on this budget's clock) until the cool-down can end. 0 if not flooding. */
  msUntilResume(at: number): number {
    this.advance(at);
    if (!this.floodingNow) return 0;
    return Math.max(0, this.coolDownMs - (this.mono - this.lastOver));
  }

  /** Bytes counted in the current window as of `at`. */
  windowBytes(at: number): number {
    this.advance(at);
    return this.sum;
  }

  /** Forget everything (the reader was stopped). */
  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.floodingNow = false;
    this.lastOver = 0;
    this.lastAt = Number.NaN;
  }

  private advance(at: number): void {
    if (Number.isNaN(this.lastAt)) {
      this.lastAt = at;
      this.head = Math.floor(this.mono / this.bucketMs);
      return;
    }
    const step = at - this.lastAt;
    this.lastAt = at;
    if (!(step > 0)) return;
    this.mono += step;
    const head = Math.floor(this.mono / this.bucketMs);
    if (head - this.head >= BUCKETS) {
      this.counts.fill(0);
      this.sum = 0;
    } else {
      for (let i = this.head + 1; i <= head; i++) {
        const slot = i % BUCKETS;
        this.sum -= this.counts[slot]!;
        this.counts[slot] = 0;
      }
    }
    this.head = head;
  }
}
