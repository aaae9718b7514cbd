/**
 * The commissioning record (POLICY §8(3)①ウ: sufficient testing before a door is connected):
 * `door_commissioned`, written by `sekisho commission` (controller/commission/) once per door it
 * walked through, and the wiring it was tested with, so that a later change of the door's pins or
 * readers shows the commissioning no longer covers it.
 *
 * `door` column = the door, `actor` column = the installer as the CLI names them
 * (`cli:<sudo user>/<os user>`).
 */
import { z } from 'zod';

/** What one step found: passed, failed (with why), or skipped by the installer (with why). */
export const CommissionStepResult = z.enum(['passed', 'failed', 'skipped']);
export type CommissionStepResult = z.infer<typeof CommissionStepResult>;

export const CommissionStep = z.object({
  /** e.g. `lock_release`, `contact_open`, `reader_card:entry` (docs/operations.md lists them). */
  id: z.string(),
  result: CommissionStepResult,
  /** Why it failed or was skipped (the installer's words, or e.g. `timeout after 60 s`). */
  reason: z.string().nullable(),
  /** What was seen: the masked test card, the reader's offline reason, … */
  detail: z.string().nullable(),
  /**
   * Who answered a question the board cannot: `installer` (typed at the prompt or on stdin),
   * `flag` (given ahead on the command line: --confirm-lock, --skip). Absent for a step decided by
   * an input or a reader alone.
   */
  answeredBy: z.enum(['installer', 'flag']).optional(),
});
export type CommissionStep = z.infer<typeof CommissionStep>;

/** A reader as it was tested. */
export const CommissionedReader = z.object({
  id: z.string(),
  role: z.enum(['entry', 'exit']),
  path: z.string(),
  /** The device the path resolved to (a /dev/serial/by-id link's target), or null. */
  device: z.string().nullable(),
  protocol: z.string(),
  /** The bridge board's firmware (wiegand-bridge, from its hello), else null. */
  firmware: z.string().nullable(),
  /** The masked test card it read, or null. */
  testCard: z.string().nullable(),
});
export type CommissionedReader = z.infer<typeof CommissionedReader>;

const Pin = z.object({ pin: z.number(), activeLow: z.boolean() });

/** The door's wiring as configured when it was tested: pins, polarity, fail mode, readers. */
export const DoorWiring = z.object({
  contact: Pin,
  lock: Pin.extend({ failMode: z.string() }),
  exitButton: Pin.nullable(),
  tamper: Pin.nullable(),
  buzzer: Pin.nullable(),
  readers: z.array(z.object({ id: z.string(), role: z.string(), path: z.string(), protocol: z.string() })),
});
export type DoorWiring = z.infer<typeof DoorWiring>;

export const CommissionOutcome = z.enum(['passed', 'incomplete', 'failed', 'interrupted']);
export type CommissionOutcome = z.infer<typeof CommissionOutcome>;

export const DoorCommissionedRecord = z.object({
  /**
   * passed: every step passed; incomplete: none failed but some were skipped; failed: a step
   * failed; interrupted: the run was stopped (Ctrl-C, a signal, an error) before the door's last step.
   */
  outcome: CommissionOutcome,
  /** `rpi` or `sim`: a commissioning on the simulated board proves nothing about a real door. */
  board: z.string(),
  /** Which board: the Pi's model (device tree) and its gpiochip; null on the simulated board. */
  boardDetail: z.string().nullable().optional(),
  /** How the answers came: a terminal, or a script (stdin / flags). */
  mode: z.enum(['interactive', 'scripted']),
  startedAt: z.number(),
  finishedAt: z.number(),
  steps: z.array(CommissionStep),
  readers: z.array(CommissionedReader),
  wiring: DoorWiring,
  /** The Sekisho version that ran it. */
  version: z.string(),
  /** The device key that signed it (publicKeyId) and its Ed25519 signature (base64) over commissionSignedBytes(). */
  keyId: z.string(),
  signature: z.string(),
});
export type DoorCommissionedRecord = z.infer<typeof DoorCommissionedRecord>;

export const CommissioningRecordSchemas = {
  door_commissioned: DoorCommissionedRecord,
} as const;

/** The configured door and readers, in the shape the record keeps (see DoorWiring). */
export function doorWiring(
  door: {
    entryReader: string;
    exitReader?: string | undefined;
    contact: { pin: number; activeLow: boolean };
    lock: { pin: number; activeLow: boolean; failMode: string };
    exitButton?: { pin: number; activeLow: boolean } | undefined;
    tamper?: { pin: number; activeLow: boolean } | undefined;
    buzzer?: { pin: number; activeLow: boolean } | undefined;
  },
  readers: readonly { id: string; path: string; protocol: string }[],
): DoorWiring {
  const pin = (p: { pin: number; activeLow: boolean } | undefined) =>
    p ? { pin: p.pin, activeLow: p.activeLow } : null;
  const roles: [string, string | undefined][] = [
    ['entry', door.entryReader],
    ['exit', door.exitReader],
  ];
  return {
    contact: pin(door.contact)!,
    lock: { pin: door.lock.pin, activeLow: door.lock.activeLow, failMode: door.lock.failMode },
    exitButton: pin(door.exitButton),
    tamper: pin(door.tamper),
    buzzer: pin(door.buzzer),
    readers: roles.flatMap(([role, id]) => {
      const r = id === undefined ? undefined : readers.find((x) => x.id === id);
      return r ? [{ id: r.id, role, path: r.path, protocol: r.protocol }] : [];
    }),
  };
}

/** Whether two wirings are the same (field by field, readers in order). */
export function sameWiring(a: DoorWiring, b: DoorWiring): boolean {
  const pin = (
    x: { pin: number; activeLow: boolean } | null,
    y: { pin: number; activeLow: boolean } | null,
  ) => (x === null || y === null ? x === y : x.pin === y.pin && x.activeLow === y.activeLow);
  return (
    pin(a.contact, b.contact) &&
    pin(a.lock, b.lock) &&
    a.lock.failMode === b.lock.failMode &&
    pin(a.exitButton, b.exitButton) &&
    pin(a.tamper, b.tamper) &&
    pin(a.buzzer, b.buzzer) &&
    a.readers.length === b.readers.length &&
    a.readers.every((r, i) => {
      const o = b.readers[i]!;
      return r.id === o.id && r.role === o.role && r.path === o.path && r.protocol === o.protocol;
    })
  );
}

/** The outcome of a door's steps (`interrupted` is decided by the runner, not here). */
export function commissionOutcome(steps: readonly Pick<CommissionStep, 'result'>[]): CommissionOutcome {
  if (steps.some((s) => s.result === 'failed')) return 'failed';
  if (steps.some((s) => s.result === 'skipped')) return 'incomplete';
  return 'passed';
}
