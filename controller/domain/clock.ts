/**
 * The clock as the rules see it: whether decisions may lean on it, and what a step of the wall
 * clock means for timers that were counting in the old time. Pure: every time is passed in.
 *
 * - **Trust**: a clock that is not known to be synchronised (NTP says no, or nothing can tell) may
 *   be wrong by anything — a Pi without a hardware clock starts at the last time it saved. The
 *   configured `clock.whenUnsynchronised` policy says which grants decide() still gives then
 *   (`clockRestriction`).
 * - **Steps**: the shell watches the wall clock against the monotonic clock; a difference beyond a
 *   threshold between two looks is a step (`clockStep`). Deadlines that count a duration from an
 *   earlier event (a door's unlock time, its held-open timer) are moved by the step
 *   (`shiftDoorState`), so that a step back does not hold a door unlocked for as long as the step,
 *   and a step forward does not raise a held-open alarm for a door opened a moment ago.
 */
import { z } from 'zod';
import type { DoorState } from './door.js';

/**
 * Which entry grants decide() still gives while the clock is not known to be synchronised:
 *
 * - `normal`: every grant, as usual (schedules and validity dates are read on a clock that may be
 *   wrong);
 * - `time_independent_only`: only grants that do not depend on the clock — a permission for the
 *   door on an every-time schedule (`always`), and no validity dates on the person or the badge;
 * - `staff_always_only`: as `time_independent_only`, and only people of category `staff`
 *   (no contractors, no visitors);
 * - `deny_entry`: no entry on a badge at all (exits still open; the mechanical key and the paper
 *   log are the way in, docs/operations.md).
 */
export const UnsynchronisedPolicy = z.enum([
  'normal',
  'time_independent_only',
  'staff_always_only',
  'deny_entry',
]);
export type UnsynchronisedPolicy = z.infer<typeof UnsynchronisedPolicy>;

/** The clock's state as a decision takes it. */
export interface ClockTrust {
  /** The sync state: true = synchronised, false = not, null = cannot be told. */
  synchronised: boolean | null;
  /** The configured policy for a clock that is not known to be synchronised. */
  whenUnsynchronised: UnsynchronisedPolicy;
}

/**
 * The restriction in force: the policy while the clock is not known to be synchronised (false or
 * null — a state nobody can tell is not trusted), or null when decisions are unrestricted.
 */
export function clockRestriction(
  trust: ClockTrust | undefined,
): Exclude<UnsynchronisedPolicy, 'normal'> | null {
  if (trust === undefined || trust.synchronised === true) return null;
  return trust.whenUnsynchronised === 'normal' ? null : trust.whenUnsynchronised;
}

/** One look at both clocks: the wall clock (UTC ms) and the monotonic clock (ms, any origin). */
export interface ClockReading {
  wall: number;
  mono: number;
}

/** A step of the wall clock between two looks. */
export interface ClockStep {
  /** The wall time the clock would show had it not stepped (the old clock, carried forward). */
  from: number;
  /** The wall time it shows. */
  to: number;
  /** `to - from`: positive = forward. */
  stepMs: number;
}

/**
 * Whether the wall clock stepped between two looks: it moved by more than `thresholdMs` more (or
 * less) than the monotonic clock did. NTP's slewing (at most 0.5 ms a second) never comes near a
 * threshold of seconds between looks a second apart.
 */
export function clockStep(prev: ClockReading, now: ClockReading, thresholdMs: number): ClockStep | null {
  const from = prev.wall + (now.mono - prev.mono);
  const stepMs = now.wall - from;
  if (Math.abs(stepMs) <= thresholdMs) return null;
  return { from: Math.round(from), to: now.wall, stepMs: Math.round(stepMs) };
}

/**
 * A door's running deadlines moved into the new time: the unlock's end and the start of the
 * current opening (its held-open timer). Pure: `state` is not modified.
 */
export function shiftDoorState(state: DoorState, stepMs: number): DoorState {
  return {
    ...state,
    unlockedUntil: state.unlockedUntil === null ? null : state.unlockedUntil + stepMs,
    openedAt: state.openedAt === null ? null : state.openedAt + stepMs,
  };
}
