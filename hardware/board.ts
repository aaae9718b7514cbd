/**
 * The Board: the only way Sekisho touches GPIO. The Raspberry Pi board (onoff, sysfs numbers
 * resolved from the gpiochip label and base) and the simulated board both implement it.
 *
 * Inputs and outputs are named by the caller (e.g. "machine-room.contact") and spoken of in
 * *logical* terms: an input is `true` when active (door open, button pressed, tamper open), an
 * output is `true` when energised. Pin polarity (activeLow) is handled inside the board.
 */
import type { InputPinConfig, OutputPinConfig } from '../controller/config/schema.js';

export type InputListener = (name: string, active: boolean, at: number) => void;

export interface Board {
  readonly kind: 'sim' | 'rpi';
  /**
   * Claim an input. Edges are debounced: a level must be stable for `debounceMs` before it is
   * reported. The first stable level after claiming is reported too (so callers learn the start state).
   */
  addInput(name: string, spec: InputPinConfig): void;
  /** Claim an output and drive it to `initial` at once. */
  addOutput(name: string, spec: OutputPinConfig, initial: boolean): void;
  /** Drive an output (logical level). Synchronous: when it returns, the pin has been written. */
  write(name: string, on: boolean): void;
  /** The last logical level written to an output. */
  readOutput(name: string): boolean;
  /** The current debounced logical level of an input, or undefined before the first stable read. */
  readInput(name: string): boolean | undefined;
  onInput(listener: InputListener): void;
  /** Release every pin. Outputs are first driven to the level given in `safeLevels` (if any). */
  close(safeLevels?: Record<string, boolean>): void;
}
