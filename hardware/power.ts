/**
 * The power-fail input's pins (config `power.gpio`): a UPS's "on battery" and, optionally, "battery
 * low" contacts, claimed on the board like a door's inputs, under fixed names.
 */
import type { InputPinConfig } from '../controller/config/schema.js';
import type { Board } from './board.js';

export const POWER_PIN_NAMES = {
  onBattery: 'power.onBattery',
  lowBattery: 'power.lowBattery',
} as const;

export interface PowerPins {
  onBattery: InputPinConfig;
  lowBattery?: InputPinConfig | undefined;
}

/**
 * Claims the power inputs (after the doors' pins, so the locks are secured first). On failure the
 * board is closed at `safeLevels` and the error rethrown, as claimDoorPins does.
 */
export function claimPowerPins(
  board: Board,
  pins: PowerPins | undefined,
  safeLevels: Record<string, boolean>,
): void {
  if (!pins) return;
  try {
    board.addInput(POWER_PIN_NAMES.onBattery, pins.onBattery);
    if (pins.lowBattery) board.addInput(POWER_PIN_NAMES.lowBattery, pins.lowBattery);
  } catch (err) {
    try {
      board.close(safeLevels);
    } catch {
      // the claim's error is the one to report
    }
    throw err;
  }
}
