/**
 * A stand-in for onoff's Gpio that behaves like a sysfs line: `active_low` inverts reads, writes
 * and edges; a direction of `high`/`low` sets the *electrical* level (as the kernel does); `out`
 * means low. Every call lands in a shared log so tests can check ordering.
 */
import type { BinaryValue, Direction, Edge, Options, ValueCallback } from 'onoff';
import type { GpioFactory, GpioLike } from '../../hardware/index.js';

export class FakeGpio implements GpioLike {
  /** Electrical level: true = 3.3 V. */
  volts: boolean;
  readonly activeLow: boolean;
  private callbacks: ValueCallback[] = [];
  exported = true;

  constructor(
    readonly number: number,
    readonly direction: Direction,
    readonly edge: Edge | undefined,
    readonly options: Options,
    private readonly log: string[],
    startVolts: boolean,
  ) {
    this.activeLow = options.activeLow ?? false;
    this.volts =
      direction === 'high' ? true : direction === 'low' || direction === 'out' ? false : startVolts;
    log.push(`new ${number} ${direction}`);
  }

  private logical(): BinaryValue {
    return this.volts !== this.activeLow ? 1 : 0;
  }

  readSync(): BinaryValue {
    if (!this.exported) throw new Error(`GPIO ${this.number} is not exported`);
    return this.logical();
  }

  writeSync(value: BinaryValue): void {
    if (!this.exported) throw new Error(`GPIO ${this.number} is not exported`);
    if (this.direction === 'in') throw new Error(`GPIO ${this.number} is an input`);
    this.volts = (value === 1) !== this.activeLow;
    this.log.push(`write ${this.number} ${value}`);
  }

  watch(callback: ValueCallback): void {
    this.callbacks.push(callback);
  }

  unwatchAll(): void {
    this.callbacks = [];
    this.log.push(`unwatch ${this.number}`);
  }

  unexport(): void {
    this.exported = false;
    this.log.push(`unexport ${this.number}`);
  }

  /** The wire changes (after onoff's own debounce): watchers get the logical value. */
  setVolts(volts: boolean): void {
    this.volts = volts;
    for (const cb of [...this.callbacks]) cb(null, this.logical());
  }

  fail(err: Error): void {
    for (const cb of [...this.callbacks]) cb(err, 0);
  }
}

export interface FakeGpios {
  factory: GpioFactory;
  log: string[];
  /** By sysfs number. */
  lines: Map<number, FakeGpio>;
  /** Electrical level of an input line when it is exported (default high: pull-up, switch open). */
  startVolts: Map<number, boolean>;
}

export function fakeGpios(): FakeGpios {
  const log: string[] = [];
  const lines = new Map<number, FakeGpio>();
  const startVolts = new Map<number, boolean>();
  const factory: GpioFactory = (n, direction, edge, options) => {
    const g = new FakeGpio(n, direction, edge, options, log, startVolts.get(n) ?? true);
    lines.set(n, g);
    return g;
  };
  return { factory, log, lines, startVolts };
}
