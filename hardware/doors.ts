/**
 * Claiming a door's pins on a board under the standard names (`<door>.contact`, `<door>.lock`, …),
 * secured from the first instant.
 */
import type { DoorConfig } from '../controller/config/schema.js';
import type { Board } from './board.js';
import { secureLevels } from './lock.js';
import { doorPinNames } from './pins.js';

/**
 * Claim every pin of `doors`: the outputs first, each driven straight to its secure level (lock
 * locked, buzzer off), then the inputs. If any claim fails the board is closed at the secure
 * levels and the error is rethrown — a half-claimed board is never left behind.
 */
export function claimDoorPins(board: Board, doors: readonly DoorConfig[]): void {
  const secure = secureLevels(doors);
  try {
    for (const door of doors) {
      const n = doorPinNames(door.id);
      board.addOutput(n.lock, door.lock, secure[n.lock]!);
      if (door.buzzer) board.addOutput(n.buzzer, door.buzzer, false);
    }
    for (const door of doors) {
      const n = doorPinNames(door.id);
      board.addInput(n.contact, door.contact);
      if (door.exitButton) board.addInput(n.exitButton, door.exitButton);
      if (door.tamper) board.addInput(n.tamper, door.tamper);
    }
  } catch (err) {
    try {
      board.close(secure);
    } catch (closeErr) {
      throw new AggregateError(
        [err, closeErr],
        `${(err as Error).message} (and closing the board failed too)`,
      );
    }
    throw err;
  }
}
