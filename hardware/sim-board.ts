/**
 * The simulated board: what `npm start` (config/sim.yaml) and the tests run on.
 *
 * Inputs are driven with `simulate(name, active)`, a change of the *raw* logical level, and are
 * debounced like the real thing: the level must stay put for `debounceMs` before listeners hear of
 * it (with `debounceMs: 0` they hear synchronously, inside `simulate`). Outputs remember every write.
 * All timing goes through an injectable clock, so vitest fake timers drive it.
 */
import type { InputPinConfig, OutputPinConfig } from '../controller/config/schema.js';
import type { Board, InputListener } from './board.js';
import { type Clock, realClock } from './clock.js';
import { PinClaims, pinLevel, unknownPin } from './pins.js';

export interface SimBoardOptions {
  clock?: Clock;
  /**
   * Raw logical level of inputs when claimed, by name (default false: door closed, button
   * released, tamper switch closed).
   */
  initialInputs?: Record<string, boolean>;
}

export interface OutputRecord {
  on: boolean;
  at: number;
}

export type OutputListener = (name: string, on: boolean, at: number) => void;

interface SimInput {
  spec: InputPinConfig;
  /** The level on the wire right now (logical), bounces included. */
  raw: boolean;
  /** The debounced level, undefined until the first stable report. */
  stable: boolean | undefined;
  timer: unknown;
}

interface SimOutput {
  spec: OutputPinConfig;
  level: boolean;
  history: OutputRecord[];
}

export class SimBoard implements Board {
  readonly kind = 'sim' as const;
  private readonly clock: Clock;
  private readonly initialInputs: Record<string, boolean>;
  private readonly inputs = new Map<string, SimInput>();
  private readonly outputs = new Map<string, SimOutput>();
  private readonly claims = new PinClaims();
  private readonly inputListeners: InputListener[] = [];
  private readonly outputListeners: OutputListener[] = [];
  private readonly pendingBounces = new Set<unknown>();
  private closed = false;

  constructor(options: SimBoardOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.initialInputs = { ...options.initialInputs };
  }

  addInput(name: string, spec: InputPinConfig): void {
    this.assertOpen();
    this.claims.claim(name, spec.pin, 'in');
    const input: SimInput = {
      spec,
      raw: this.initialInputs[name] ?? false,
      stable: undefined,
      timer: undefined,
    };
    this.inputs.set(name, input);
    // The start level is reported once it has been stable for debounceMs. Always on a timer (even
    // for 0 ms) so a listener registered right after addInput still hears it.
    this.arm(name, input, spec.debounceMs);
  }

  addOutput(name: string, spec: OutputPinConfig, initial: boolean): void {
    this.assertOpen();
    this.claims.claim(name, spec.pin, 'out');
    const output: SimOutput = { spec, level: initial, history: [] };
    this.outputs.set(name, output);
    this.record(name, output, initial);
  }

  write(name: string, on: boolean): void {
    this.assertOpen();
    this.record(name, this.output(name), on);
  }

  readOutput(name: string): boolean {
    return this.output(name).level;
  }

  readInput(name: string): boolean | undefined {
    return this.input(name).stable;
  }

  onInput(listener: InputListener): void {
    this.inputListeners.push(listener);
  }

  close(safeLevels: Record<string, boolean> = {}): void {
    if (this.closed) return;
    for (const [name, level] of Object.entries(safeLevels)) {
      const output = this.outputs.get(name);
      if (output) this.record(name, output, level);
    }
    for (const input of this.inputs.values()) this.clock.clearTimeout(input.timer);
    for (const t of this.pendingBounces) this.clock.clearTimeout(t);
    this.pendingBounces.clear();
    this.closed = true;
  }

  // ---- simulation controls ----

  /**
   * Change the raw logical level of an input (true = active: door open, button pressed, tamper
   * open). Listeners hear it once the level has been stable for the input's debounceMs.
   */
  simulate(name: string, active: boolean): void {
    this.assertOpen();
    const input = this.input(name);
    if (input.raw === active) return; // no edge on the wire
    input.raw = active;
    const { debounceMs } = input.spec;
    if (debounceMs === 0) {
      this.clock.clearTimeout(input.timer);
      input.timer = undefined;
      this.settle(name, input);
    } else if (input.stable !== undefined && input.raw === input.stable) {
      // Bounced back before the debounce time ran out: nothing happened.
      this.clock.clearTimeout(input.timer);
      input.timer = undefined;
    } else {
      this.arm(name, input, debounceMs);
    }
  }

  /**
   * A contact closing (or opening) with chatter: the raw level flips to `finalActive`, back,
   * and so on `bounces` times, `gapMs` apart, ending at `finalActive`. The first change happens
   * now. Returns the time in ms until the last change.
   */
  simulateBounce(name: string, finalActive: boolean, bounces = 3, gapMs = 1): number {
    this.input(name);
    const levels: boolean[] = [finalActive];
    for (let i = 0; i < bounces; i++) levels.push(!finalActive, finalActive);
    levels.forEach((level, i) => {
      if (i === 0) {
        this.simulate(name, level);
        return;
      }
      const t = this.clock.setTimeout(() => {
        this.pendingBounces.delete(t);
        this.simulate(name, level);
      }, i * gapMs);
      this.pendingBounces.add(t);
    });
    return (levels.length - 1) * gapMs;
  }

  /** Every level written to an output, the initial one first. */
  history(name: string): OutputRecord[] {
    return this.output(name).history.map((r) => ({ ...r }));
  }

  /** The electrical level of an output (true = 3.3 V), after its polarity. */
  outputPinLevel(name: string): boolean {
    const output = this.output(name);
    return pinLevel(output.level, output.spec.activeLow);
  }

  onOutput(listener: OutputListener): void {
    this.outputListeners.push(listener);
  }

  /**
   * Resolves when the output is at `on` (at once if it already is); rejects after `timeoutMs`
   * (measured on the board's clock).
   */
  async waitForOutput(name: string, on: boolean, timeoutMs = 1000): Promise<void> {
    const output = this.output(name);
    if (output.level === on) return;
    await new Promise<void>((resolve, reject) => {
      const listener: OutputListener = (n, level) => {
        if (n !== name || level !== on) return;
        this.clock.clearTimeout(timer);
        this.removeOutputListener(listener);
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        this.removeOutputListener(listener);
        const seen = output.history.map((r) => `${r.on ? 'on' : 'off'}@${r.at}`).join(', ');
        reject(
          new Error(
            `output "${name}" did not turn ${on ? 'on' : 'off'} within ${timeoutMs} ms (history: ${seen})`,
          ),
        );
      }, timeoutMs);
      this.outputListeners.push(listener);
    });
  }

  inputNames(): string[] {
    return [...this.inputs.keys()];
  }

  outputNames(): string[] {
    return [...this.outputs.keys()];
  }

  // ---- internals ----

  private arm(name: string, input: SimInput, ms: number): void {
    this.clock.clearTimeout(input.timer);
    input.timer = this.clock.setTimeout(() => {
      input.timer = undefined;
      this.settle(name, input);
    }, ms);
  }

  /** The raw level is now stable: report it if it differs from the last report. */
  private settle(name: string, input: SimInput): void {
    if (input.stable === input.raw) return;
    input.stable = input.raw;
    const at = this.clock.now();
    for (const listener of [...this.inputListeners]) listener(name, input.raw, at);
  }

  private record(name: string, output: SimOutput, on: boolean): void {
    const at = this.clock.now();
    output.level = on;
    output.history.push({ on, at });
    for (const listener of [...this.outputListeners]) listener(name, on, at);
  }

  private removeOutputListener(listener: OutputListener): void {
    const i = this.outputListeners.indexOf(listener);
    if (i >= 0) this.outputListeners.splice(i, 1);
  }

  private input(name: string): SimInput {
    const input = this.inputs.get(name);
    if (!input) throw unknownPin('input', name, this.inputs.keys());
    return input;
  }

  private output(name: string): SimOutput {
    const output = this.outputs.get(name);
    if (!output) throw unknownPin('output', name, this.outputs.keys());
    return output;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the simulated board is closed');
  }
}
