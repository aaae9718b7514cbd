/**
 * The JSON payloads Sekisho publishes over MQTT: zod schemas (exported for consumers, who can parse
 * what they receive with them) and the pure functions that build each payload.
 *
 * Every payload is one JSON object with real booleans and numbers. Times are given twice: `at`
 * (UTC milliseconds, a number) and `time` (the same instant as ISO 8601 UTC). Every payload but the
 * last will carries `v`, the payload format version. The schemas are plain `z.object`s: keys added
 * by a newer controller are dropped, not refused, when an older consumer parses.
 */
import { z } from 'zod';
import {
  type ActiveAlarm,
  AlarmSeverity,
  AlarmType,
  type DoorMode,
  DoorMode as DoorModeSchema,
  dataFields,
  PersonCategory,
  UnsynchronisedPolicy,
} from '../domain/index.js';
import { type Checkpoint, holdsSecret, isSecretKey, type JournalRow } from '../journal/index.js';

export const PAYLOAD_VERSION = 1;

const v = z.literal(PAYLOAD_VERSION);
const ms = z.int().nonnegative();
const count = z.int().nonnegative();
const isoTime = z.iso.datetime();
const seq = z.int().positive();

/** `…/status` (retained). The last will is exactly `{"state":"offline"}`. */
export const StatusPayload = z.discriminatedUnion('state', [
  z.object({
    v,
    state: z.literal('online'),
    controllerId: z.string(),
    siteId: z.string(),
    version: z.string(),
    /** When this controller process started. */
    startedAt: ms,
    at: ms,
    time: isoTime,
    /** Journal rows waiting in the outbox to be published. */
    backlog: count,
    maxBacklog: count,
  }),
  z.object({
    v: v.optional(),
    state: z.literal('offline'),
    /** `stopped` after a clean stop; absent in the last will (the broker lost the connection). */
    reason: z.string().optional(),
    at: ms.optional(),
    time: isoTime.optional(),
  }),
]);
export type StatusPayload = z.infer<typeof StatusPayload>;

/** `…/doors/<doorId>/state` (retained). */
export const DoorStatePayload = z.object({
  v,
  door: z.string(),
  name: z.string(),
  lock: z.enum(['locked', 'unlocked']),
  locked: z.boolean(),
  contact: z.enum(['open', 'closed', 'unknown']),
  /** The door is open; null while the contact has not been read yet. */
  open: z.boolean().nullable(),
  mode: DoorModeSchema,
  /**
   * The `clock.whenUnsynchronised` policy in force at this door because the clock is not known to be
   * synchronised (`time_independent_only`, `staff_always_only`, `deny_entry`), or null: none.
   */
  clockRestriction: UnsynchronisedPolicy.exclude(['normal']).nullable(),
  /** People inside (by their entry and exit badges). */
  occupancy: count,
  /** Latched alarms on this door, and how many of them are not acknowledged yet. */
  activeAlarms: count,
  unacknowledgedAlarms: count,
  /** Some alarm is latched on this door. */
  alarm: z.boolean(),
  at: ms,
  time: isoTime,
});
export type DoorStatePayload = z.infer<typeof DoorStatePayload>;

export const PersonRef = z.object({
  id: z.string(),
  name: z.string().nullable(),
  category: PersonCategory.nullable(),
});
export type PersonRef = z.infer<typeof PersonRef>;

/**
 * Why a row's `bytes` are withheld from the feed: `v1_secret`, a format v1 row (written before format
 * v2) whose hashed bytes hold a secret in clear (a badge's keyed credential hash). Its `hash` is still
 * published, so the chain after it can be recomputed (docs/journal.md, "The feed as evidence").
 */
export const WithheldReason = z.enum(['v1_secret']);
export type WithheldReason = z.infer<typeof WithheldReason>;

/**
 * `…/events` (QoS 1, not retained): one per journal row, in seq order. De-duplicate by `seq`/`id`.
 * Evidence: `seq`, `prevHash`, `hash` and `bytes` (SHA-256(prevHash ‖ bytes) = hash). Every other
 * field is a convenience view of the row, not evidence.
 */
export const EventPayload = z.object({
  v,
  /** `<controller.id>:<seq>`: globally unique. */
  id: z.string(),
  seq,
  type: z.string(),
  at: ms,
  time: isoTime,
  door: z.string().nullable(),
  /** Access rows: `in` or `out`. */
  direction: z.enum(['in', 'out']).nullable(),
  /** Access rows: `granted` or `denied`. */
  result: z.enum(['granted', 'denied']).nullable(),
  /** Access rows: the decision reason (`granted`, `unknown_badge`, `outside_schedule`, …). */
  reason: z.string().nullable(),
  person: PersonRef.nullable(),
  /** The badge, masked (`••••3D4E`); the credential itself is never published. */
  badge: z.object({ id: z.string().nullable(), masked: z.string().nullable() }).nullable(),
  /** The escorting staff member of a visitor's entry or exit, when the record names one. */
  escort: PersonRef.nullable(),
  /** Who did it (administrative records), or null for the controller itself. */
  actor: z.string().nullable(),
  /** The record's data, minus anything secret-looking (credential hashes). */
  data: z.record(z.string(), z.unknown()),
  /** The row's hash in the journal's chain, and the previous row's. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * The exact UTF-8 string the row's hash covers, as stored (format v2: secrets committed, never in
   * clear); null only when `withheld` says why.
   */
  bytes: z.string().nullable(),
  withheld: WithheldReason.nullable(),
});
export type EventPayload = z.infer<typeof EventPayload>;

export const AlarmEvent = z.enum(['raised', 'acknowledged', 'cleared']);
export type AlarmEvent = z.infer<typeof AlarmEvent>;

/** `…/alarms` (QoS 1, not retained). The alarm id is the seq of its `alarm_raised` row. */
export const AlarmPayload = z.object({
  v,
  event: AlarmEvent,
  alarmId: seq,
  type: AlarmType,
  severity: AlarmSeverity,
  door: z.string().nullable(),
  /** The journal row of this event (for `raised`, equal to alarmId); de-duplicate by it. */
  seq,
  id: z.string(),
  at: ms,
  time: isoTime,
  /** What happened (from the raise). */
  detail: z.string(),
  /** `acknowledged`: who acknowledged it, and their comment. */
  actor: z.string().nullable(),
  comment: z.string().nullable(),
});
export type AlarmPayload = z.infer<typeof AlarmPayload>;

export const ActiveAlarmEntry = z.object({
  alarmId: seq,
  type: AlarmType,
  severity: AlarmSeverity,
  door: z.string().nullable(),
  detail: z.string(),
  raisedAt: ms,
  raisedTime: isoTime,
  acknowledged: z.boolean(),
  acknowledgedBy: z.string().nullable(),
  acknowledgedAt: ms.nullable(),
  comment: z.string().nullable(),
  /** The condition (door open, tamper…) no longer holds; the alarm stays until acknowledged. */
  conditionCleared: z.boolean(),
  conditionClearedAt: ms.nullable(),
});
export type ActiveAlarmEntry = z.infer<typeof ActiveAlarmEntry>;

/**
 * `…/alarms/active` (retained): the latched alarms now, oldest first. An alarm is latched until it
 * is acknowledged *and* its condition has cleared; `unacknowledged` counts those still waiting
 * for a person.
 */
export const ActiveAlarmsPayload = z.object({
  v,
  at: ms,
  time: isoTime,
  count,
  unacknowledged: count,
  alarms: z.array(ActiveAlarmEntry),
});
export type ActiveAlarmsPayload = z.infer<typeof ActiveAlarmsPayload>;

/**
 * `…/journal/checkpoint` (retained): the latest signed `{seq, hash, at, controller}` of the journal.
 * `verifyCheckpoint(payload, publicKeyPem)` from controller/journal checks it; docs/journal.md shows
 * the same with openssl.
 */
export const CheckpointPayload = z.object({
  v,
  seq,
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: ms,
  time: isoTime,
  controller: z.string(),
  /** Ed25519 over `{"seq":…,"hash":"…","at":…,"controller":"…"}`, base64. */
  signature: z.string(),
  keyId: z.string(),
});
export type CheckpointPayload = z.infer<typeof CheckpointPayload>;

// -------------------------------------------------------------------------------------------------
// Builders

const MAX_DATE_MS = 8.64e15;

/** ISO 8601 UTC of a UTC-ms instant. */
export function isoOf(at: number): string {
  return new Date(Math.min(Math.max(at, 0), MAX_DATE_MS)).toISOString();
}

/** The record types announced on `…/alarms`, and as which event. */
export const ALARM_ROW_EVENTS: Readonly<Record<string, AlarmEvent>> = {
  alarm_raised: 'raised',
  alarm_acknowledged: 'acknowledged',
  alarm_condition_cleared: 'cleared',
};

export function isAlarmRow(type: string): boolean {
  return Object.hasOwn(ALARM_ROW_EVENTS, type);
}

/**
 * A copy of `value` without object keys that look secret (at any depth): the same keys format v2
 * commits in the hashed bytes (controller/journal/commitments.ts).
 */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((x) => withoutSecrets(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) if (!isSecretKey(k)) out[k] = withoutSecrets(x, depth + 1);
  return out;
}

/**
 * The bytes a row is published with: as stored, except a format v1 row whose bytes hold a secret in
 * clear (its data, read from those bytes, has a secret key), which is withheld.
 */
export function publishedBytes(row: JournalRow): Pick<EventPayload, 'bytes' | 'withheld'> {
  if (row.bytes.startsWith('{"v":1,') && holdsSecret(row.data)) return { bytes: null, withheld: 'v1_secret' };
  return { bytes: row.bytes, withheld: null };
}

const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
const category = (x: unknown) => {
  const r = PersonCategory.safeParse(x);
  return r.success ? r.data : null;
};

export type PersonLookup = (personId: string) => { name: string; category: string } | undefined;

/** The escort a record names: `escort` as a person id or `{id, name, category}`, or `escortPersonId`. */
function escortOf(data: Record<string, unknown>, lookup?: PersonLookup): PersonRef | null {
  const e = data.escort ?? data.escortPersonId ?? null;
  let id: string | null = null;
  let name: string | null = str(data.escortName);
  let cat: PersonRef['category'] = category(data.escortCategory);
  if (typeof e === 'string' && e.length > 0) id = e;
  else if (e !== null && typeof e === 'object' && !Array.isArray(e)) {
    const o = e as Record<string, unknown>;
    id = str(o.id) ?? str(o.personId);
    name = str(o.name) ?? name;
    cat = category(o.category) ?? cat;
  }
  if (id === null) return null;
  if (name === null || cat === null) {
    const p = lookup?.(id);
    name ??= p?.name ?? null;
    cat ??= category(p?.category);
  }
  return { id, name, category: cat };
}

/** The `…/events` payload of a journal row. Total: any row gives a valid payload. */
export function eventPayload(row: JournalRow, lookupPerson?: PersonLookup): EventPayload {
  const data = dataFields(row);
  const isAccess = row.type === 'access';
  let person: PersonRef | null = null;
  if (row.person !== null) {
    let name = isAccess ? str(data.personName) : null;
    let cat = isAccess ? category(data.category) : null;
    if (name === null || cat === null) {
      const p = lookupPerson?.(row.person);
      name ??= p?.name ?? null;
      cat ??= category(p?.category);
    }
    person = { id: row.person, name, category: cat };
  }
  const direction = data.direction === 'in' || data.direction === 'out' ? data.direction : null;
  const result = isAccess && (data.result === 'granted' || data.result === 'denied') ? data.result : null;
  const masked = str(data.masked);
  const badgeId = str(data.badge) ?? str(data.badgeId);
  return {
    ...minimalEventPayload(row),
    direction,
    result,
    reason: isAccess ? str(data.reason) : null,
    person,
    badge: masked !== null || badgeId !== null ? { id: badgeId, masked } : null,
    escort: escortOf(data, lookupPerson),
    data: withoutSecrets(data) as Record<string, unknown>,
  };
}

/**
 * What is certain about any row, without reading its data: the `…/events` payload the publisher
 * sends when a row's full payload cannot be built, so that one row never blocks the queue.
 */
export function minimalEventPayload(row: JournalRow): EventPayload {
  return {
    v: PAYLOAD_VERSION,
    id: row.id,
    seq: row.seq,
    type: row.type,
    at: row.at,
    time: isoOf(row.at),
    door: row.door,
    direction: null,
    result: null,
    reason: null,
    person: null,
    badge: null,
    escort: null,
    actor: row.actor,
    data: {},
    hash: row.hash,
    prevHash: row.prevHash,
    ...publishedBytes(row),
  };
}

/**
 * The `…/alarms` payload of an alarm row, or null for any other row. `raise` is the alarm's
 * `alarm_raised` row (for acknowledgements and clears; the raise row itself otherwise).
 */
export function alarmPayload(row: JournalRow, raise: JournalRow | undefined): AlarmPayload | null {
  const event = ALARM_ROW_EVENTS[row.type];
  if (event === undefined) return null;
  const data = dataFields(row);
  const alarmId = event === 'raised' ? row.seq : Number(data.alarmId);
  const source = event === 'raised' ? row : raise?.type === 'alarm_raised' ? raise : undefined;
  const rd = source ? dataFields(source) : {};
  const type = AlarmType.safeParse(rd.alarm);
  const severity = AlarmSeverity.safeParse(rd.severity);
  if (!Number.isSafeInteger(alarmId) || alarmId < 1 || !type.success || !severity.success) return null;
  return {
    v: PAYLOAD_VERSION,
    event,
    alarmId,
    type: type.data,
    severity: severity.data,
    door: source?.door ?? row.door,
    seq: row.seq,
    id: row.id,
    at: row.at,
    time: isoOf(row.at),
    detail: str(rd.detail) ?? '',
    actor: event === 'acknowledged' ? row.actor : null,
    comment: event === 'acknowledged' ? str(data.comment) : null,
  };
}

export function activeAlarmsPayload(alarms: readonly ActiveAlarm[], at: number): ActiveAlarmsPayload {
  const entries = [...alarms]
    .sort((a, b) => a.id - b.id)
    .map(
      (a): ActiveAlarmEntry => ({
        alarmId: a.id,
        type: a.type,
        severity: a.severity,
        door: a.door,
        detail: a.detail,
        raisedAt: a.raisedAt,
        raisedTime: isoOf(a.raisedAt),
        acknowledged: a.acknowledged !== null,
        acknowledgedBy: a.acknowledged?.by ?? null,
        acknowledgedAt: a.acknowledged?.at ?? null,
        comment: a.acknowledged?.comment ?? null,
        conditionCleared: a.conditionCleared,
        conditionClearedAt: a.conditionClearedAt,
      }),
    );
  return {
    v: PAYLOAD_VERSION,
    at,
    time: isoOf(at),
    count: entries.length,
    unacknowledged: entries.filter((a) => !a.acknowledged).length,
    alarms: entries,
  };
}

/** What the publisher needs to know about a door (the runtime provides it). */
export interface DoorSnapshot {
  id: string;
  name: string;
  locked: boolean;
  contact: 'open' | 'closed' | 'unknown';
  mode: DoorMode;
  occupancy: number;
  /** The unsynchronised-clock restriction in force (absent: none). */
  clockRestriction?: Exclude<UnsynchronisedPolicy, 'normal'> | null;
}

export function doorStatePayload(
  door: DoorSnapshot,
  alarms: readonly ActiveAlarm[],
  at: number,
): DoorStatePayload {
  const mine = alarms.filter((a) => a.door === door.id);
  return {
    v: PAYLOAD_VERSION,
    door: door.id,
    name: door.name,
    lock: door.locked ? 'locked' : 'unlocked',
    locked: door.locked,
    contact: door.contact,
    open: door.contact === 'unknown' ? null : door.contact === 'open',
    mode: door.mode,
    clockRestriction: door.clockRestriction ?? null,
    occupancy: door.occupancy,
    activeAlarms: mine.length,
    unacknowledgedAlarms: mine.filter((a) => a.acknowledged === null).length,
    alarm: mine.length > 0,
    at,
    time: isoOf(at),
  };
}

export function checkpointPayload(cp: Checkpoint): CheckpointPayload {
  return {
    v: PAYLOAD_VERSION,
    seq: cp.seq,
    hash: cp.hash,
    at: cp.at,
    time: isoOf(cp.at),
    controller: cp.controller,
    signature: cp.signature,
    keyId: cp.keyId,
  };
}

export interface OnlineStatus {
  controllerId: string;
  siteId: string;
  version: string;
  startedAt: number;
  backlog: number;
  maxBacklog: number;
}

export function onlinePayload(s: OnlineStatus, at: number): StatusPayload {
  return { v: PAYLOAD_VERSION, state: 'online', ...s, at, time: isoOf(at) };
}

/** The retained last will, exactly. */
export const LAST_WILL = '{"state":"offline"}';

export function offlinePayload(reason: string, at: number): StatusPayload {
  return { v: PAYLOAD_VERSION, state: 'offline', reason, at, time: isoOf(at) };
}
