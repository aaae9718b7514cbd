/**
 * The time source of the boards: debounce timers and edge timestamps. Injectable so tests can run
 * on vitest fake timers (the default calls the globals at call time, so `vi.useFakeTimers()`
 * installed after this module loaded still takes effect).
 */
export interface Clock {
  /** UTC milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
