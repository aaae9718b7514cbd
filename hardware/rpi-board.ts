/**
 * The Raspberry Pi board: GPIO through the kernel's sysfs interface, by way of `onoff`.
 *
 * - BCM pins are turned into sysfs numbers through the gpiochip found by label (gpiochip.ts).
 * - Polarity is the kernel's: every line is exported with `active_low` set from the config, so
 *   onoff's values (and the edges it reports) are already logical.
 * - Inputs: edge `both` with onoff's `debounceTimeout` (the level must be quiet that long before
 *   the callback runs). The start level is read once `debounceMs` has passed after claiming.
 * - Outputs are exported straight into their initial level: the direction is written as `high` or
 *   `low`, which the kernel applies as a *raw* (electrical) level in the same step as switching to
 *   output — it ignores active_low — so the board computes the electrical level itself. Writing
 *   `out` would drive the pin low first: on an active-low relay that is a pulse of "energised".
 * - `close()` writes every safe level first and only then unexports, so no release can happen
 *   while another output is still at an unsafe level. (Raspberry Pi kernels keep a released
 *   output at its last level, `pinctrl_bcm2835.persist_gpio_outputs`, so the safe level stays.)
 *
 * onoff is loaded lazily (it needs the native `epoll` addon): the simulated board never touches it,
 * and tests inject a fake through `gpioFactory`.
 */
import { createRequire } from 'node:module';
import type { BinaryValue, Direction, Edge, Options, ValueCallback } from 'onoff';
import type { InputPinConfig, OutputPinConfig } from '../controller/config/schema.js';
import type { Board, InputListener } from './board.js';
import { type Clock, realClock } from './clock.js';
import {
  DEFAULT_CHIP_LABELS,
  DEFAULT_SYSFS_GPIO,
  findGpioChip,
  type GpioChip,
  sysfsNumber,
} from './gpiochip.js';
import { PinClaims, pinLevel, unknownPin } from './pins.js';

/** The part of onoff's `Gpio` the board uses. */
export interface GpioLike {
  readSync(): BinaryValue;
  writeSync(value: BinaryValue): void;
  watch(callback: ValueCallback): void;
  unwatchAll(): void;
  unexport(): void;
}

/** Makes a line; same arguments as `new Gpio(…)` from onoff. */
export type GpioFactory = (
  gpio: number,
  direction: Direction,
  edge: Edge | undefined,
  options: Options,
) => GpioLike;

export const onoffGpioFactory: GpioFactory = (gpio, direction, edge, options) => {
  const { Gpio } = createRequire(import.meta.url)('onoff') as typeof import('onoff');
  return new Gpio(gpio, direction, edge, options);
};

export interface RpiBoardOptions {
  /** The chip to use; when absent it is found under `sysfsRoot` by `chipLabels`. */
  chip?: GpioChip;
  chipLabels?: readonly string[];
  sysfsRoot?: string;
  gpioFactory?: GpioFactory;
  clock?: Clock;
  /**
   * Errors that have no caller to throw to: a failed read in a watch callback, an exception from
   * an input listener. Default: printed to stderr.
   */
  onError?: (err: Error) => void;
}

interface RpiInput {
  spec: InputPinConfig;
  number: number;
  gpio: GpioLike;
  level: boolean | undefined;
  timer: unknown;
}

interface RpiOutput {
  spec: OutputPinConfig;
  number: number;
  gpio: GpioLike;
  level: boolean;
}

export class RpiBoard implements Board {
  readonly kind = 'rpi' as const;
  readonly chip: GpioChip;
  private readonly factory: GpioFactory;
  private readonly clock: Clock;
  private readonly onError: (err: Error) => void;
  private readonly inputs = new Map<string, RpiInput>();
  private readonly outputs = new Map<string, RpiOutput>();
  private readonly claims = new PinClaims();
  private readonly listeners: InputListener[] = [];
  private closed = false;

  constructor(options: RpiBoardOptions = {}) {
    this.chip =
      options.chip ??
      findGpioChip(options.chipLabels ?? DEFAULT_CHIP_LABELS, options.sysfsRoot ?? DEFAULT_SYSFS_GPIO);
    this.factory = options.gpioFactory ?? onoffGpioFactory;
    this.clock = options.clock ?? realClock;
    this.onError = options.onError ?? ((err) => console.error(`[hardware] ${err.message}`));
  }

  /** The sysfs number a BCM pin maps to on this board's chip. */
  gpioNumber(bcmPin: number): number {
    return sysfsNumber(this.chip, bcmPin);
  }

  addInput(name: string, spec: InputPinConfig): void {
    this.assertOpen();
    const number = this.gpioNumber(spec.pin);
    this.claims.claim(name, spec.pin, 'in');
    let gpio: GpioLike;
    try {
      gpio = this.make(name, spec.pin, number, 'in', 'both', {
        debounceTimeout: spec.debounceMs,
        activeLow: spec.activeLow,
      });
    } catch (err) {
      this.claims.release(name);
      throw err;
    }
    const input: RpiInput = { spec, number, gpio, level: undefined, timer: undefined };
    this.inputs.set(name, input);
    gpio.watch((err, value) => {
      if (this.closed) return;
      if (err) {
        this.onError(new Error(`input "${name}" (GPIO ${number}): ${err.message}`, { cause: err }));
        return;
      }
      this.report(name, input, value === 1);
    });
    input.timer = this.clock.setTimeout(() => {
      input.timer = undefined;
      if (this.closed || input.level !== undefined) return;
      let value: BinaryValue;
      try {
        value = gpio.readSync();
      } catch (err) {
        this.onError(
          new Error(`input "${name}" (GPIO ${number}): cannot read the start level`, { cause: err }),
        );
        return;
      }
      this.report(name, input, value === 1);
    }, spec.debounceMs);
  }

  addOutput(name: string, spec: OutputPinConfig, initial: boolean): void {
    this.assertOpen();
    const number = this.gpioNumber(spec.pin);
    this.claims.claim(name, spec.pin, 'out');
    const direction: Direction = pinLevel(initial, spec.activeLow) ? 'high' : 'low';
    let gpio: GpioLike;
    try {
      gpio = this.make(name, spec.pin, number, direction, undefined, { activeLow: spec.activeLow });
    } catch (err) {
      this.claims.release(name);
      throw err;
    }
    this.outputs.set(name, { spec, number, gpio, level: initial });
  }

  write(name: string, on: boolean): void {
    this.assertOpen();
    const output = this.output(name);
    output.gpio.writeSync(on ? 1 : 0);
    output.level = on;
  }

  readOutput(name: string): boolean {
    return this.output(name).level;
  }

  readInput(name: string): boolean | undefined {
    const input = this.inputs.get(name);
    if (!input) throw unknownPin('input', name, this.inputs.keys());
    return input.level;
  }

  onInput(listener: InputListener): void {
    this.listeners.push(listener);
  }

  /**
   * Safe levels first (every one is attempted even if one fails), then every line is released.
   * Throws an AggregateError listing what failed, after doing all it could.
   */
  close(safeLevels: Record<string, boolean> = {}): void {
    if (this.closed) return;
    this.closed = true;
    const errors: Error[] = [];
    const attempt = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        errors.push(new Error(`${what}: ${(err as Error).message}`, { cause: err }));
      }
    };
    for (const input of this.inputs.values()) this.clock.clearTimeout(input.timer);
    for (const [name, level] of Object.entries(safeLevels)) {
      const output = this.outputs.get(name);
      if (!output) continue;
      attempt(`writing the safe level of "${name}"`, () => {
        output.gpio.writeSync(level ? 1 : 0);
        output.level = level;
      });
    }
    for (const [name, input] of this.inputs) {
      attempt(`releasing input "${name}"`, () => {
        input.gpio.unwatchAll();
        input.gpio.unexport();
      });
    }
    for (const [name, output] of this.outputs) {
      attempt(`releasing output "${name}"`, () => output.gpio.unexport());
    }
    this.inputs.clear();
    this.outputs.clear();
    this.claims.clear();
    if (errors.length > 0) {
      throw new AggregateError(errors, `closing the GPIO board: ${errors.map((e) => e.message).join('; ')}`);
    }
  }

  // ---- internals ----

  private make(
    name: string,
    bcmPin: number,
    number: number,
    direction: Direction,
    edge: Edge | undefined,
    options: Options,
  ): GpioLike {
    try {
      return this.factory(number, direction, edge, options);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint =
        code === 'EACCES'
          ? ' (is the service user in the "gpio" group?)'
          : code === 'ENOENT'
            ? ' (is this a kernel with the GPIO sysfs interface?)'
            : code === 'EBUSY'
              ? ' (is the pin used by another driver or program?)'
              : '';
      throw new Error(
        `cannot claim GPIO ${number} (BCM ${bcmPin} on ${this.chip.name}) for "${name}": ${(err as Error).message}${hint}`,
        { cause: err },
      );
    }
  }

  private report(name: string, input: RpiInput, active: boolean): void {
    if (input.level === active) return; // onoff reports both edges; only changes matter
    input.level = active;
    this.clock.clearTimeout(input.timer);
    input.timer = undefined;
    const at = this.clock.now();
    for (const listener of [...this.listeners]) {
      try {
        listener(name, active, at);
      } catch (err) {
        this.onError(
          new Error(`input listener failed on "${name}": ${(err as Error).message}`, { cause: err }),
        );
      }
    }
  }

  private output(name: string): RpiOutput {
    const output = this.outputs.get(name);
    if (!output) throw unknownPin('output', name, this.outputs.keys());
    return output;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the GPIO board is closed');
  }
}
