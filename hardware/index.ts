/**
 * hardware: the public face. Other folders import from here only.
 */
import type { Config } from '../controller/config/schema.js';
import type { Clock } from './clock.js';
import { type GpioFactory, RpiBoard } from './rpi-board.js';
import { SimBoard } from './sim-board.js';

export type { Board, InputListener } from './board.js';
export { type Clock, realClock } from './clock.js';
export { claimDoorPins } from './doors.js';
export {
  DEFAULT_CHIP_LABELS,
  DEFAULT_SYSFS_GPIO,
  describeChip,
  findGpioChip,
  type GpioChip,
  listGpioChips,
  resolveGpioNumber,
  sysfsNumber,
} from './gpiochip.js';
export { isLockedAt, lockOutputLevel, secureLevels } from './lock.js';
export { type DoorPinNames, doorPinList, doorPinNames, pinLevel } from './pins.js';
export { claimPowerPins, POWER_PIN_NAMES, type PowerPins } from './power.js';
export {
  type GpioFactory,
  type GpioLike,
  onoffGpioFactory,
  RpiBoard,
  type RpiBoardOptions,
} from './rpi-board.js';
export { type OutputListener, type OutputRecord, SimBoard, type SimBoardOptions } from './sim-board.js';

export interface CreateBoardOptions {
  clock?: Clock;
  /** sim: raw start levels of inputs by name. */
  initialInputs?: Record<string, boolean>;
  /** rpi: where to look for gpiochips (default /sys/class/gpio). */
  sysfsRoot?: string;
  /** rpi: makes the GPIO lines (default: onoff). */
  gpioFactory?: GpioFactory;
  /** rpi: errors with no caller to throw to (watch callbacks, listeners). */
  onError?: (err: Error) => void;
}

/**
 * The board `config.board.kind` names. The Raspberry Pi board finds its gpiochip by
 * `config.board.chipLabels` at once, so a wrong machine fails here with a clear message.
 * No pins are claimed yet (see claimDoorPins).
 */
export function createBoard(
  config: Pick<Config, 'board'>,
  opts: CreateBoardOptions = {},
): SimBoard | RpiBoard {
  switch (config.board.kind) {
    case 'sim':
      return new SimBoard({ clock: opts.clock, initialInputs: opts.initialInputs });
    case 'rpi':
      return new RpiBoard({
        chipLabels: config.board.chipLabels,
        sysfsRoot: opts.sysfsRoot,
        gpioFactory: opts.gpioFactory,
        clock: opts.clock,
        onError: opts.onError,
      });
  }
}
