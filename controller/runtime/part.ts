/**
 * The life cycle shared by the parts of the runtime (writer, doors, readers, derived state, visits,
 * checkpoints): the Controller starts them in order and stops them in reverse order.
 */
export interface Part {
  /** Starts the part's inputs and timers. Synchronous: no event reaches the part before the last start. */
  start(): void;
  /**
   * Stops the part's inputs and timers: once the returned promise resolves, the part raises no event
   * of its own. Whatever it must still write is written by the Controller after every part stopped.
   */
  stop(): void | Promise<void>;
}

/** Runs a handler; any failure secures the doors and is logged instead of crashing the process. */
export type Guard = (fn: () => void) => void;
