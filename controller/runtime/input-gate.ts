/**
 * Holds the board's input reports back while the start waits for the broker's head (controller.ts,
 * `awaitPublishedHead`). A board reports each input's first stable level once, on a timer after the
 * pin is claimed; a part that registers its listener after that report would never learn the door's
 * start state. The gate listens from the moment the pins are claimed, keeps what arrives until the
 * parts have started, then hands it on in order, and from then on passes every report straight through.
 */
import type { Board, InputListener } from '../../hardware/index.js';

export class InputGate {
  readonly #listeners: InputListener[] = [];
  #held: [string, boolean, number][] | null = [];
  /** The board as the parts see it: the same pins, with onInput through the gate. */
  readonly board: Board;

  constructor(board: Board) {
    board.onInput((name, active, at) => this.#report(name, active, at));
    const listen = (listener: InputListener) => {
      this.#listeners.push(listener);
    };
    this.board = new Proxy(board, {
      get(target, prop) {
        if (prop === 'onInput') return listen;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** The parts have started: what was held is reported now, in order; later reports pass at once. */
  open(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = null;
    for (const [name, active, at] of held) this.#deliver(name, active, at);
  }

  #report(name: string, active: boolean, at: number): void {
    if (this.#held) this.#held.push([name, active, at]);
    else this.#deliver(name, active, at);
  }

  #deliver(name: string, active: boolean, at: number): void {
    for (const l of this.#listeners) l(name, active, at);
  }
}
