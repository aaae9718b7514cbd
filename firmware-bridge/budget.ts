/**
 * A per-port byte budget: how many bytes a serial line may deliver per second before the port is
 * treated as flooding. A UART cannot receive faster than its line rate (baud / 10 bytes per second
 * at 8N1), so a port far above that is not a reader speaking: it is a pty, a USB-serial adapter
 * with something hostile behind it, or a fault. While it floods, its bytes are counted and thrown
 * away undecoded, so garbage cannot take the event loop that also drives the door.
 *
 * Repeated floods back off. A flood that begins less than `quietMs` after the previous one's
 * cool-down ended is the next **episode** of the same **incident**, and its cool-down is twice the
 * previous one, up to `maxCoolDownMs`: episode n of an incident cools down for
 * min(maxCoolDownMs, coolDownMs × 2^(n−1)). Once the port has stayed within its budget for `quietMs`
 * after a cool-down ended, the incident is over (`settle()`), and the next flood starts again at
 * `coolDownMs`. A port flooding again and again is thus cut off for longer and longer, instead of
 * coming back (and being reported back) every `coolDownMs`.
 *
 * Pure: the time is passed in (ms, any clock); no timers. A clock that goes backwards is treated
 * as standing still, so a wall-clock step never prolongs or shortens a cool-down (or the quiet time
 * that ends an incident) by more than the step itself forwards.
 */

export interface ByteBudgetSettings {
  /** Multiple of the line's maximum rate (baud / 10 bytes/s) above which the port is flooding. */
  factor: number;
  /** The sliding window the rate is measured over (ms). */
  windowMs: number;
  /**
   * Decoding resumes this long after the last moment the port was over its budget (ms): the
   * cool-down of the first flood of an incident.
   */
  coolDownMs: number;
  /**
   * The longest cool-down: each repeated flood of an incident doubles it up to this (ms, ≥
   * coolDownMs; equal: no back-off). Default `DEFAULT_BYTE_BUDGET.maxCoolDownMs`, or coolDownMs if
   * that is longer.
   */
  maxCoolDownMs?: number;
  /**
   * A flood beginning within this time after the previous cool-down ended is a repeat (its
   * cool-down doubles); this long within the budget after a cool-down ends the incident (ms; 0:
   * every flood is an incident of its own, at coolDownMs). Default `DEFAULT_BYTE_BUDGET.quietMs`.
   */
  quietMs?: number;
}

/**
 * The defaults. A real UART never exceeds 1× its line rate, and the floods that matter arrive at
 * megabytes per second (a pty or USB device: ~30,000× a 9600-baud line), so any factor well above
 * 1 catches the same floods. 10× leaves room for ptys and USB CDC devices that legitimately send
 * frames back to back faster than a line could (the bench presents ~270 frames/s, ≈ 4× a 9600-baud
 * line), while decoding at most 9.6 KB/s of garbage on a 9600-baud reader — a negligible load next
 * to the decoder's tens of MB/s.
 *
 * The back-off: 5 s, 10 s, 20 s … up to 5 min for a port that floods again and again, and 5 min
 * within its budget to be forgiven — so a port flooding at any rhythm faster than that is one
 * incident (one alarm) with at most one offline/online cycle every 5 minutes.
 */
export const DEFAULT_BYTE_BUDGET: Readonly<Required<ByteBudgetSettings>> = Object.freeze({
  factor: 10,
  windowMs: 1000,
  coolDownMs: 5000,
  maxCoolDownMs: 300_000,
  quietMs: 300_000,
});

/** The settings with the back-off's defaults filled in (see `ByteBudgetSettings`). */
export function withBackOffDefaults(settings: ByteBudgetSettings): Required<ByteBudgetSettings> {
  return {
    factor: settings.factor,
    windowMs: settings.windowMs,
    coolDownMs: settings.coolDownMs,
    maxCoolDownMs: settings.maxCoolDownMs ?? Math.max(DEFAULT_BYTE_BUDGET.maxCoolDownMs, settings.coolDownMs),
    quietMs: settings.quietMs ?? DEFAULT_BYTE_BUDGET.quietMs,
  };
}

/**
 * An exponential back-off: `initialMs` doubled `attempt` times (0-based), at most `maxMs`. The
 * reader's reconnection delays (before jitter) and the flood cool-downs.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 40));
}

/**
 * The cool-down of the `episode`th flood of an incident (1-based; 0, no incident, gives the first's):
 * coolDownMs doubled for each repeat, at most maxCoolDownMs.
 */
export function floodCoolDownMs(
  episode: number,
  settings: Pick<Required<ByteBudgetSettings>, 'coolDownMs' | 'maxCoolDownMs'>,
): number {
  return backoffDelay(Math.max(0, episode - 1), settings.coolDownMs, settings.maxCoolDownMs);
}

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
 *
 * After `flood`, `episode` and `coolDownMs` tell which flood of its incident this is.
 */
export type BudgetVerdict = 'decode' | 'flood' | 'drop' | 'resume';

/** The window is kept in this many buckets: its resolution is windowMs / BUCKETS. */
const BUCKETS = 10;

export class ByteBudget {
  /** Bytes allowed within one window. */
  readonly limit: number;
  /** The settings in force, defaults filled in. */
  readonly settings: Readonly<Required<ByteBudgetSettings>>;
  private readonly bucketMs: number;
  private readonly counts = new Float64Array(BUCKETS);
  /** Absolute index of the newest bucket, on the budget's own clock. */
  private head = 0;
  private sum = 0;
  /** Our own monotonic clock: the sum of the forward steps of `at`. */
  private mono = 0;
  private lastAt = Number.NaN;
  private floodingNow = false;
  private lastOver = 0;
  /** The flood of the current incident (1 = its first); 0 when there is no incident. */
  private episodeNow = 0;
  /** When the last cool-down ended (on our clock); meaningful between the floods of an incident. */
  private endedAt = 0;

  constructor(baudRate: number, settings: ByteBudgetSettings = DEFAULT_BYTE_BUDGET) {
    if (!(baudRate > 0)) throw new RangeError(`baudRate must be positive, not ${baudRate}`);
    const s = withBackOffDefaults(settings);
    if (!(s.factor > 0) || !(s.windowMs > 0) || !(s.coolDownMs >= 0))
      throw new RangeError('byte budget: factor and windowMs must be positive, coolDownMs ≥ 0');
    if (!(s.maxCoolDownMs >= s.coolDownMs) || !(s.quietMs >= 0))
      throw new RangeError('byte budget: maxCoolDownMs must be ≥ coolDownMs, quietMs ≥ 0');
    this.settings = Object.freeze(s);
    this.limit = (lineBytesPerS(baudRate) * s.factor * s.windowMs) / 1000;
    this.bucketMs = s.windowMs / BUCKETS;
  }

  get flooding(): boolean {
    return this.floodingNow;
  }

  /**
   * Which flood of the current incident the port is in (flooding) or was last in (cooled down, not
   * yet quiet for `quietMs`): 1 for the first. 0 when there is no incident.
   */
  get episode(): number {
    return this.episodeNow;
  }

  /** The cool-down of the current (or, between floods, the last) episode, ms. */
  get coolDownMs(): number {
    return floodCoolDownMs(this.episodeNow, this.settings);
  }

  /** An incident is open: the port is flooding, or cooled down less than `quietMs` ago. */
  get inIncident(): boolean {
    return this.episodeNow > 0;
  }

  /** Account `bytes` received at `at` and say what to do with them. */
  take(bytes: number, at: number): BudgetVerdict {
    this.advance(at);
    // The cool-down ended before these bytes: a fresh window (see end()) that they may fit in.
    const resumed = this.floodingNow && this.cooledDown() && bytes <= this.limit;
    if (resumed) this.end();
    this.counts[this.head % BUCKETS]! += bytes;
    this.sum += bytes;
    const over = this.sum > this.limit;
    if (over) this.lastOver = this.mono;
    if (resumed) return 'resume';
    if (this.floodingNow) return 'drop';
    if (!over) return 'decode';
    this.begin();
    return 'flood';
  }

  /**
   * Without new bytes: end the flood if the cool-down has passed by `at`. Returns true when this
   * call ended it (the caller resets the codec and reports the port back).
   */
  poll(at: number): boolean {
    this.advance(at);
    if (!this.floodingNow || !this.cooledDown()) return false;
    this.end();
    return true;
  }

  /**
   * End the incident if the port has stayed within its budget for `quietMs` since its last
   * cool-down ended, by `at`. Returns true when this call ended it (the next flood starts again at
   * the base cool-down). A flood that begins after that time without `settle()` having been called
   * starts a new incident all the same (`episode` 1).
   */
  settle(at: number): boolean {
    this.advance(at);
    if (this.floodingNow || this.episodeNow === 0 || !this.quiet()) return false;
    this.episodeNow = 0;
    return true;
  }

  /** While flooding: how long (ms, on this budget's clock) until the cool-down can end. 0 if not flooding. */
  msUntilResume(at: number): number {
    this.advance(at);
    if (!this.floodingNow) return 0;
    return Math.max(0, this.coolDownMs - (this.mono - this.lastOver));
  }

  /**
   * Between the floods of an incident: how long (ms, on this budget's clock) until `settle()` can
   * end it. 0 if flooding or there is no incident.
   */
  msUntilSettled(at: number): number {
    this.advance(at);
    if (this.floodingNow || this.episodeNow === 0) return 0;
    return Math.max(0, this.settings.quietMs - (this.mono - this.endedAt));
  }

  /** Bytes counted in the current window as of `at`. */
  windowBytes(at: number): number {
    this.advance(at);
    return this.sum;
  }

  /** Forget everything, the back-off included (the reader was stopped). */
  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.floodingNow = false;
    this.lastOver = 0;
    this.lastAt = Number.NaN;
    this.episodeNow = 0;
    this.endedAt = 0;
  }

  /** A flood begins now: the next episode of the incident, or the first of a new one. */
  private begin(): void {
    this.floodingNow = true;
    this.episodeNow = this.episodeNow > 0 && !this.quiet() ? this.episodeNow + 1 : 1;
  }

  /**
   * The cool-down is over. The window starts empty, like the codec: the flood's bytes were paid for
   * by the cool-down, and with a cool-down shorter than the window they would otherwise still be in
   * it and trip the budget again with the first byte after it.
   */
  private end(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.floodingNow = false;
    // When it ended, not when someone noticed: a late timer or byte does not move the quiet time.
    this.endedAt = this.lastOver + this.coolDownMs;
  }

  private cooledDown(): boolean {
    return this.mono - this.lastOver >= this.coolDownMs;
  }

  /** Between floods: within the budget for quietMs since the last cool-down ended. */
  private quiet(): boolean {
    return this.mono - this.endedAt >= this.settings.quietMs;
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
