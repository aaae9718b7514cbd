/**
 * The journal's record types: the `data` of each row type, as zod schemas, and the catalogue of all
 * of them (`RecordCatalogue`, at the end; the registry's, accounts', config's and operation's schemas are in
 * records-*.ts beside this file).
 *
 * A journal row is `{ seq, at, type, door, person, actor, data }`. `door` (door id), `person`
 * (person id) and `actor` (dashboard user id, or null for the controller itself) are columns of the
 * row, never repeated inside `data`. The schemas are plain `z.object`s: unknown keys are dropped
 * when parsing, so an older reader can fold rows written by a newer controller.
 */
import { z } from 'zod';
import { AccountRecordSchemas } from './records-accounts.js';
import { ApprovalRecordSchemas } from './records-approvals.js';
import { ClockRecordSchemas } from './records-clock.js';
import { CommissioningRecordSchemas } from './records-commissioning.js';
import { ConfigRecordSchemas } from './records-config.js';
import { EvidenceRecordSchemas, PublishedHeadRecord } from './records-evidence.js';
import { ManualRecordSchemas } from './records-manual.js';
import { MonitorRecordSchemas } from './records-monitor.js';
import { OperationRecordSchemas } from './records-operations.js';
import { OsdpRecordSchemas } from './records-osdp.js';
import { PowerRecordSchemas } from './records-power.js';
import { ReaderFirmwareRecordSchemas } from './records-readers-fw.js';
import { RegistryRecordSchemas } from './records-registry.js';
import { StorageRecordSchemas } from './records-storage.js';
import { TokenRecordSchemas } from './records-tokens.js';
import { UpgradeRecordSchemas } from './records-upgrade.js';
import { WitnessRecordSchemas } from './records-witness.js';
import { WorkflowRecordSchemas } from './records-workflows.js';
import {
  AlarmSeverity,
  AlarmType,
  AntiPassbackMode,
  DecisionReason,
  Direction,
  DoorMode,
  LockCause,
  PersonCategory,
  VisitorBadgeStatus,
} from './types.js';

export * from './records-accounts.js';
export * from './records-approvals.js';
export * from './records-clock.js';
export * from './records-commissioning.js';
export * from './records-config.js';
export * from './records-evidence.js';
export * from './records-manual.js';
export * from './records-operations.js';
export * from './records-osdp.js';
export * from './records-power.js';
export * from './records-readers-fw.js';
export * from './records-registry.js';
export * from './records-storage.js';
export * from './records-tokens.js';
export * from './records-upgrade.js';
export * from './records-witness.js';

const alarmId = z.int().positive();

/** A visitor in an escort's row. */
export const EscortedVisitor = z.object({ person: z.string(), name: z.string().nullish() });
export type EscortedVisitor = z.infer<typeof EscortedVisitor>;

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

  // Set by the visit rules (visits.ts); absent on rows that have nothing to say about them.

  /** A visitor's row: the escort (person id) they entered with, or have at their exit; null = none. */
  escort: z.string().nullish(),
  /** A visitor's entry: the escort's name at the time. */
  escortName: z.string().nullish(),
  /** An escort's entry: the visitors who entered with them. */
  visitors: z.array(EscortedVisitor).optional(),
  /** The entry of a person who may escort: visitors may join them until this time (UTC ms). */
  escortUntil: z.number().optional(),
  /** A visitor's `escort_required` denial: waiting for an escort's badge until this time (UTC ms). */
  awaitingEscortUntil: z.number().optional(),
  /** An escort's exit (refused, or allowed with an alarm): their visitors still inside. */
  visitorsInside: z.array(z.string()).optional(),
  /** Anti-passback: the read broke the in/out sequence (`violation`), or did so long enough ago to be forgiven. */
  passback: z.enum(['violation', 'forgiven']).optional(),
  /** A grant refused because it could not be committed (`storage_unavailable`): what was decided. */
  decided: DecisionReason.optional(),
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
export const AlarmRaisedRecord = z.object({
  alarm: AlarmType,
  severity: AlarmSeverity,
  detail: z.string(),
  /**
   * What on the door raised it, when a door has several (the reader id of `reader_offline` and
   * `reader_tamper`): only that source's return clears the condition. Absent in older rows.
   */
  source: z.string().optional(),
});
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

export const ReaderStatusRecord = z.object({
  reader: z.string(),
  reason: z.string(),
  /**
   * Reason `flood`: which flood of its incident this is (1 = the first; floods within the byte
   * budget's quietMs of each other are one incident) and its cool-down (ms).
   */
  episode: z.number().int().positive().optional(),
  coolDownMs: z.number().nonnegative().optional(),
});
export type ReaderStatusRecord = z.infer<typeof ReaderStatusRecord>;

export const ControllerStartedRecord = z.object({
  version: z.string(),
  /** Whether the system clock was synchronised at start; null when unknown. */
  clockSynced: z.boolean().nullable(),
  /** The board (`sim` or `rpi`) and the configured doors' ids (absent in rows written before they were kept). */
  board: z.string().optional(),
  doors: z.array(z.string()).optional(),
  /** The Node.js, SQLite and OS versions it started on (absent in rows written before they were kept). */
  runtime: z.object({ node: z.string(), sqlite: z.string(), os: z.string() }).optional(),
  /** The broker's retained head, read before this row (records-evidence.ts); absent without MQTT. */
  publishedHead: PublishedHeadRecord.optional(),
});
export type ControllerStartedRecord = z.infer<typeof ControllerStartedRecord>;

export const ControllerStoppedRecord = z.object({ reason: z.string() });
export type ControllerStoppedRecord = z.infer<typeof ControllerStoppedRecord>;

// ------------------------------------------------------------------------------------------------
// Visits, escorts and presence (visits.ts writes these; the registry writes the visitor badge and
// escort permission records). The `person` column names whom the row is about.

/**
 * An escort who entered shortly before was joined by visitors (escort first, visitor second).
 * `person` column = the escort. The visitors' own `access` rows name the escort.
 */
export const EscortVisitorsJoinedRecord = z.object({
  reader: z.string(),
  visitors: z.array(EscortedVisitor),
});
export type EscortVisitorsJoinedRecord = z.infer<typeof EscortVisitorsJoinedRecord>;

/** A visitor waited for an escort at the entry reader and none came in time. `person` = the visitor. */
export const EscortWindowExpiredRecord = z.object({
  reader: z.string(),
  badge: z.string().nullable(),
  masked: z.string().nullable(),
  /** When the visitor badged (their `escort_required` row). */
  waitingSince: z.number(),
  /** When the window ended (the row's time may be later, e.g. after a restart). */
  expiredAt: z.number(),
});
export type EscortWindowExpiredRecord = z.infer<typeof EscortWindowExpiredRecord>;

/**
 * A person who may escort badged at the inside reader while visitors there needed a new escort: the
 * door stayed shut and a visitor badging within the window is handed over to them. `person` = the
 * escort offering.
 */
export const HandoverOfferedRecord = z.object({
  reader: z.string(),
  badge: z.string().nullable(),
  masked: z.string().nullable(),
  until: z.number(),
  /** The visitors who needed an escort at the time. */
  visitors: z.array(z.string()),
});
export type HandoverOfferedRecord = z.infer<typeof HandoverOfferedRecord>;

/** A visitor was handed over to a new escort. `person` = the visitor. */
export const HandoverRecord = z.object({
  reader: z.string(),
  badge: z.string().nullable(),
  masked: z.string().nullable(),
  /** The previous escort (person id), or null when the visitor had none. */
  from: z.string().nullable(),
  /** The new escort (person id). */
  to: z.string(),
});
export type HandoverRecord = z.infer<typeof HandoverRecord>;

/**
 * An escort whose exit was refused left anyway — the exit button was pressed or the door was opened
 * from inside within the escort window after the refusal. `person` = the escort, now taken out of the
 * room; their visitors stay inside, unescorted.
 */
export const EscortLeftUnbadgedRecord = z.object({
  cause: z.enum(['exit_button', 'door_opened']),
  exitRefusedAt: z.number(),
  visitorsInside: z.array(z.string()),
});
export type EscortLeftUnbadgedRecord = z.infer<typeof EscortLeftUnbadgedRecord>;

/**
 * Someone may have left without badging (exit button, or the door opened from inside): these people
 * are still counted inside, marked uncertain until they badge or a manager reconciles.
 */
export const PresenceUncertainRecord = z.object({
  cause: z.enum(['exit_button', 'door_opened']),
  persons: z.array(z.string()),
});
export type PresenceUncertainRecord = z.infer<typeof PresenceUncertainRecord>;

export const ReconciledPresence = z.object({
  personId: z.string(),
  category: PersonCategory,
  /** For a visitor: their escort (person id), or null for none. */
  escort: z.string().nullish(),
});
export type ReconciledPresence = z.infer<typeof ReconciledPresence>;

/**
 * A manager stated who is really inside (`actor` column = who). The room's presence becomes exactly
 * `present`: people already listed keep their entry time, new ones are inside from this row's time.
 */
export const PresenceReconciledRecord = z.object({
  present: z.array(ReconciledPresence),
  added: z.array(z.string()),
  removed: z.array(z.string()),
  note: z.string(),
});
export type PresenceReconciledRecord = z.infer<typeof PresenceReconciledRecord>;

/** A read broke the in/out sequence. `person` = the holder. */
export const PassbackViolationRecord = z.object({
  reader: z.string(),
  direction: Direction,
  /** soft: the read went through; hard: it was denied (`passback`). */
  mode: AntiPassbackMode,
  /** The person's last recorded passage through this door (entry for `in`, exit for `out`). */
  lastPassageAt: z.number().nullable(),
});
export type PassbackViolationRecord = z.infer<typeof PassbackViolationRecord>;

/** The empty room was found closed and locked (§7(1)②イ). */
export const RoomSecuredRecord = z.object({
  /** Since when the room was empty and not yet secured. */
  unsecuredSince: z.number(),
  /** Later than the configured time (a `room_unsecured` alarm was raised). */
  late: z.boolean(),
});
export type RoomSecuredRecord = z.infer<typeof RoomSecuredRecord>;

export const EndOfDayInside = z.object({
  door: z.string(),
  personId: z.string(),
  category: PersonCategory.nullish(),
  since: z.number(),
  escort: z.string().nullish(),
  uncertain: z.boolean(),
});
export const EndOfDayBadge = z.object({
  badgeId: z.string(),
  personId: z.string(),
  hostId: z.string(),
  masked: z.string().nullish(),
  validUntil: z.number().nullable(),
  status: VisitorBadgeStatus,
});

/** The end-of-day report: who is still inside, which visitor badges are not returned. */
export const EndOfDayReportRecord = z.object({
  /** The local date reported, YYYY-MM-DD. */
  date: z.string(),
  inside: z.array(EndOfDayInside),
  unreturnedBadges: z.array(EndOfDayBadge),
});
export type EndOfDayReportRecord = z.infer<typeof EndOfDayReportRecord>;

/** The registry issued a visitor badge (with its `badge_added` row). `person` = the visitor. */
export const VisitorBadgeIssuedRecord = z.object({
  badgeId: z.string(),
  personId: z.string(),
  /** The staff member hosting the visit. */
  hostId: z.string(),
  purpose: z.string(),
  /** Equipment declared for carry-in (§7(1)②オ). */
  equipment: z.array(z.string()),
  /** Doors the visit is for; empty = wherever the escort may take them. */
  doors: z.array(z.string()),
  masked: z.string().nullish(),
  validFrom: z.number().nullable(),
  validUntil: z.number().nullable(),
});
export type VisitorBadgeIssuedRecord = z.infer<typeof VisitorBadgeIssuedRecord>;

/** The visitor badge is in use (first entry, or handed to the visitor). */
export const VisitorBadgeInUseRecord = z.object({ badgeId: z.string(), personId: z.string() });
export type VisitorBadgeInUseRecord = z.infer<typeof VisitorBadgeInUseRecord>;

/** The visitor badge was returned (`actor` = who took it back); its badge is revoked so the card can be reissued. */
export const VisitorBadgeReturnedRecord = z.object({
  badgeId: z.string(),
  personId: z.string(),
  note: z.string().nullable(),
});
export type VisitorBadgeReturnedRecord = z.infer<typeof VisitorBadgeReturnedRecord>;

/** A person may (granted) or may no longer (revoked) escort visitors. `person` = that person. */
export const EscortPermissionRecord = z.object({ personId: z.string() });
export type EscortPermissionRecord = z.infer<typeof EscortPermissionRecord>;

/**
 * The door did not open for a group entry because one of its access rows could not be committed
 * (storage fault); the group's grants that were committed (`grants`, their seqs) did not happen.
 * Written when storage recovers. `door` = the door.
 */
export const UnlockSkippedRecord = z.object({
  reason: z.string(),
  grants: z.array(z.int()),
  /** The people of those grants who were entering: they never went in, so they are not inside. */
  entering: z.array(z.string()).default([]),
});
export type UnlockSkippedRecord = z.infer<typeof UnlockSkippedRecord>;

/**
 * The record types of visits, escorts and presence, with the schema of their `data`. Kept apart
 * from `RecordSchemas` (the door machine's and the shell's); `parseVisitRecord()` parses them.
 */
export const VisitRecordSchemas = {
  escort_visitors_joined: EscortVisitorsJoinedRecord,
  escort_window_expired: EscortWindowExpiredRecord,
  handover_offered: HandoverOfferedRecord,
  handover: HandoverRecord,
  escort_left_unbadged: EscortLeftUnbadgedRecord,
  presence_uncertain: PresenceUncertainRecord,
  presence_reconciled: PresenceReconciledRecord,
  passback_violation: PassbackViolationRecord,
  room_secured: RoomSecuredRecord,
  end_of_day_report: EndOfDayReportRecord,
  visitor_badge_issued: VisitorBadgeIssuedRecord,
  visitor_badge_in_use: VisitorBadgeInUseRecord,
  visitor_badge_returned: VisitorBadgeReturnedRecord,
  escort_permission_granted: EscortPermissionRecord,
  escort_permission_revoked: EscortPermissionRecord,
  unlock_skipped: UnlockSkippedRecord,
} as const;

export type VisitRecordType = keyof typeof VisitRecordSchemas;
export const VisitRecordType = z.enum(
  Object.keys(VisitRecordSchemas) as [VisitRecordType, ...VisitRecordType[]],
);

/** The `data` of a visit record of type `T`. */
export type VisitRecordData<T extends VisitRecordType> = z.infer<(typeof VisitRecordSchemas)[T]>;

/** A typed visit record: `{ type: 'handover', data: HandoverRecord } | …`. */
export type TypedVisitRecord = {
  [T in VisitRecordType]: { type: T; data: VisitRecordData<T> };
}[VisitRecordType];

export function isVisitRecordType(type: string): type is VisitRecordType {
  return Object.hasOwn(VisitRecordSchemas, type);
}

/** Like `parseRecord()`, for the visit record types; `undefined` for any other type. */
export function parseVisitRecord(
  type: string,
  data: unknown,
): { ok: true; record: TypedVisitRecord } | { ok: false; error: string } | undefined {
  if (!isVisitRecordType(type)) return undefined;
  const result = VisitRecordSchemas[type].safeParse(data);
  if (!result.success) {
    return {
      ok: false,
      error: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  }
  return { ok: true, record: { type, data: result.data } as TypedVisitRecord };
}

/**
 * The record types the domain folds (the door machine's and the shell's), with the schema of their
 * `data`; `parseRecord()` parses them. The whole catalogue is `RecordCatalogue` below.
 */
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

// ------------------------------------------------------------------------------------------------
// The catalogue: every record type Sekisho writes, with the schema of its `data`.

/**
 * Every record type Sekisho writes, with the schema of its `data`: the domain's and the visits'
 * above, the registry's, the accounts' and approvals', the API tokens', and the operation's (MQTT link, backups,
 * archives, the dashboard's own records). `Journal.append` accepts only these types, each with its
 * data; tests/domain/records.test.ts checks that every row a whole session writes parses.
 */
export const RecordCatalogue = {
  ...RecordSchemas,
  ...WitnessRecordSchemas,
  ...VisitRecordSchemas,
  ...ConfigRecordSchemas,
  ...RegistryRecordSchemas,
  ...AccountRecordSchemas,
  ...ApprovalRecordSchemas,
  ...TokenRecordSchemas,
  ...OperationRecordSchemas,
  ...ManualRecordSchemas,
  ...ClockRecordSchemas,
  ...StorageRecordSchemas,
  ...PowerRecordSchemas,
  ...CommissioningRecordSchemas,
  ...EvidenceRecordSchemas,
  ...UpgradeRecordSchemas,
  ...MonitorRecordSchemas,
  ...WorkflowRecordSchemas,
  ...ReaderFirmwareRecordSchemas,
  ...OsdpRecordSchemas,
} as const;

export type KnownRecordType = keyof typeof RecordCatalogue;

/**
 * The `data` of a row of type `T` as written and as read back unparsed: the schema's input type
 * (a field with a default may be absent). Parsing with the schema gives its output type.
 */
export type RecordDataOf<T extends KnownRecordType> = z.input<(typeof RecordCatalogue)[T]>;

/** A catalogued record: `{ type: 'access', data: … } | { type: 'door_opened', data: … } | …`. */
export type KnownRecord<T extends KnownRecordType = KnownRecordType> = {
  [K in T]: { type: K; data: RecordDataOf<K> };
}[T];

declare const uncatalogued: unique symbol;

/**
 * A record type that is not in the catalogue: a row written by a newer Sekisho, which an older one
 * must still read (and verify, list, export); the folds ignore it.
 *
 * Why a branded string rather than `string`: with a plain `string` branch, append would take
 * `{ type: 'access', data: <anything> }` (or a misspelt type) as an uncatalogued input, and a guard
 * could not drop that branch. With the brand an uncatalogued type is written only deliberately
 * (`uncataloguedType()`: tests of the journal's format), and `isRecordOf(row, 'access')` narrows a
 * row to the access branch alone. (TypeScript does not narrow the union on `row.type === 'access'`
 * while one branch's type is a non-literal string, branded or not: hence `isRecordOf`.)
 */
export type UncataloguedType = string & { readonly [uncatalogued]: true };

/** A record whose type is not in the catalogue: its data is whatever JSON object it holds. */
export interface UncataloguedRecord {
  type: UncataloguedType;
  data: Record<string, unknown>;
}

/** A record as stored: a catalogued one, or one of a type this version does not know. */
export type StoredRecord = KnownRecord | UncataloguedRecord;

/** Marks a type name as not catalogued (a newer controller's, or a test's). */
export function uncataloguedType(type: string): UncataloguedType {
  return type as UncataloguedType;
}

/**
 * A record's data as a plain JSON object, for code that reads any type's fields defensively (the
 * MQTT payloads, the log's columns); code that acts on one type narrows `type` instead.
 */
export function dataFields(record: StoredRecord): Record<string, unknown> {
  return record.data;
}

export function isKnownRecordType(type: string): type is KnownRecordType {
  return Object.hasOwn(RecordCatalogue, type);
}

/** The columns of a row besides its type and data. */
export interface RowColumns {
  seq: number;
  /** UTC ms. */
  at: number;
  door: string | null;
  person: string | null;
  actor: string | null;
}

/**
 * A journal row as the domain reads it (the journal's `JournalRow` adds its id, hash and bytes). Its
 * data is typed by its type but not parsed: folds that act on it parse it with the schema.
 */
export type RecordRow = RowColumns & StoredRecord;

/** Whether a record is of the catalogued type `type`, narrowing its data to that type's. */
export function isRecordOf<T extends KnownRecordType, R extends StoredRecord>(
  record: R,
  type: T,
): record is R & KnownRecord<T> {
  return record.type === type;
}

/**
 * A record from a type and its data, for a caller generic in the type (the compiler cannot tie a
 * generic type to its data inside a union: this is the one place that says they match).
 */
export function recordOf<T extends KnownRecordType>(type: T, data: RecordDataOf<T>): KnownRecord {
  return { type, data } as KnownRecord;
}
