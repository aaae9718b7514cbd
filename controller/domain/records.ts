/**
 * The journal's record types: the `data` of each row type, as zod schemas.
 *
 * A journal row is `{ seq, at, type, door, person, actor, data }`. `door` (door id), `person`
 * (person id) and `actor` (dashboard user id, or null for the controller itself) are columns of the
 * row, never repeated inside `data`. The schemas are plain `z.object`s: unknown keys are dropped
 * when parsing, so an older reader can fold rows written by a newer controller.
 */
import { z } from 'zod';
import {
  AlarmSeverity,
  AlarmType,
  DecisionReason,
  Direction,
  DoorMode,
  LockCause,
  PersonCategory,
} from './types.js';

const alarmId = z.int().positive();

/** A badge presented at a reader, with its decision. `person` column = the holder, if known. */
export const AccessRecord = z.object({
  reader: z.string(),
  direction: Direction,
  result: z.enum(['granted', 'denied']),
  reason: DecisionReason,
  /** Badge id, or null for an unknown credential. */
  badge: z.string().nullable(),
  /** Masked credential (e.g. "••••3D4E"), or null. The clear credential is never recorded. */
  masked: z.string().nullable(),
  /** Codec that read it: em4100, wiegand26, wiegand34, line. */
  format: z.string(),
  /** The holder's name and category at the time (absent or null for an unknown badge). */
  personName: z.string().nullish(),
  category: PersonCategory.nullish(),
});
export type AccessRecord = z.infer<typeof AccessRecord>;

/** The exit button was pressed. */
export const ExitRequestRecord = z.object({});
export type ExitRequestRecord = z.infer<typeof ExitRequestRecord>;

export const DoorOpenedRecord = z.object({
  /** Opened while unlocked by a grant or exit request. */
  authorized: z.boolean(),
  /** The first contact reading after start found the door open: not a transition, never "forced". */
  initial: z.boolean().optional(),
});
export type DoorOpenedRecord = z.infer<typeof DoorOpenedRecord>;

export const DoorClosedRecord = z.object({});
export type DoorClosedRecord = z.infer<typeof DoorClosedRecord>;

export const LockChangeRecord = z.object({ cause: LockCause });
export type LockChangeRecord = z.infer<typeof LockChangeRecord>;

export const HeldOpenPrealarmRecord = z.object({});
export type HeldOpenPrealarmRecord = z.infer<typeof HeldOpenPrealarmRecord>;

/** An alarm is raised. Its id is this row's seq. */
export const AlarmRaisedRecord = z.object({ alarm: AlarmType, severity: AlarmSeverity, detail: z.string() });
export type AlarmRaisedRecord = z.infer<typeof AlarmRaisedRecord>;

/** The alarm's condition no longer holds (door closed, tamper restored …). */
export const AlarmConditionClearedRecord = z.object({ alarmId });
export type AlarmConditionClearedRecord = z.infer<typeof AlarmConditionClearedRecord>;

/** A user acknowledged the alarm; the `actor` column says who. */
export const AlarmAcknowledgedRecord = z.object({ alarmId, comment: z.string() });
export type AlarmAcknowledgedRecord = z.infer<typeof AlarmAcknowledgedRecord>;

/** The door's mode changed; one row per door (`door` column). */
export const ModeChangedRecord = z.object({ mode: DoorMode });
export type ModeChangedRecord = z.infer<typeof ModeChangedRecord>;

export const ReaderStatusRecord = z.object({ reader: z.string(), reason: z.string() });
export type ReaderStatusRecord = z.infer<typeof ReaderStatusRecord>;

export const ControllerStartedRecord = z.object({
  version: z.string(),
  /** Whether the system clock was synchronised at start; null when unknown. */
  clockSynced: z.boolean().nullable(),
});
export type ControllerStartedRecord = z.infer<typeof ControllerStartedRecord>;

export const ControllerStoppedRecord = z.object({ reason: z.string() });
export type ControllerStoppedRecord = z.infer<typeof ControllerStoppedRecord>;

/** Every record type the domain knows, with the schema of its `data`. */
export const RecordSchemas = {
  access: AccessRecord,
  exit_request: ExitRequestRecord,
  door_opened: DoorOpenedRecord,
  door_closed: DoorClosedRecord,
  door_unlocked: LockChangeRecord,
  door_locked: LockChangeRecord,
  held_open_prealarm: HeldOpenPrealarmRecord,
  alarm_raised: AlarmRaisedRecord,
  alarm_condition_cleared: AlarmConditionClearedRecord,
  alarm_acknowledged: AlarmAcknowledgedRecord,
  mode_changed: ModeChangedRecord,
  reader_online: ReaderStatusRecord,
  reader_offline: ReaderStatusRecord,
  controller_started: ControllerStartedRecord,
  controller_stopped: ControllerStoppedRecord,
} as const;

export type RecordType = keyof typeof RecordSchemas;
export const RecordType = z.enum(Object.keys(RecordSchemas) as [RecordType, ...RecordType[]]);

/** The `data` of a record of type `T`. */
export type RecordData<T extends RecordType> = z.infer<(typeof RecordSchemas)[T]>;

/** A typed record: `{ type: 'access', data: AccessRecord } | …`. */
export type TypedRecord = { [T in RecordType]: { type: T; data: RecordData<T> } }[RecordType];

/** A journal row as the journal hands it to the domain. */
export interface JournalRow {
  seq: number;
  /** UTC ms. */
  at: number;
  type: string;
  door: string | null;
  person: string | null;
  actor: string | null;
  data: Record<string, unknown>;
}

export function isRecordType(type: string): type is RecordType {
  return Object.hasOwn(RecordSchemas, type);
}

/**
 * Parse a record's data against its type's schema. Returns the typed record, or an error message;
 * `undefined` for a type the domain does not know (newer controller, or another folder's record).
 */
export function parseRecord(
  type: string,
  data: unknown,
): { ok: true; record: TypedRecord } | { ok: false; error: string } | undefined {
  if (!isRecordType(type)) return undefined;
  const result = RecordSchemas[type].safeParse(data);
  if (!result.success) {
    return {
      ok: false,
      error: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  }
  return { ok: true, record: { type, data: result.data } as TypedRecord };
}
