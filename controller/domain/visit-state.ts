// One cohesive thing: the visit part of the derived state, its copy-on-write draft and how each
// row changes it; split it and the fold of one row no longer reads as one.
/**
 * The part of the derived state that the visit rules (visits.ts) read, and how journal rows change
 * it. Folded by fold.ts together with presence, alarms and door modes, so a restart rebuilds all of
 * it exactly from the journal:
 *
 * - **presence** (in fold.ts's `presence`): entries carry the visitor's `escort`, `uncertainSince`
 *   (an exit button was pressed while they were inside: they may have left) and `exitRefusedAt` (an
 *   escort refused at the exit because their visitors are inside);
 * - **pending visitors** per door: a visitor's `escort_required` row with `awaitingEscortUntil`, until
 *   an escort badges (their granted row), the wait ends (`escort_window_expired`) or they badge again;
 * - **escort windows** per door: the entry row of a person who may escort carries `escortUntil`;
 *   visitors may join them until then, while they are inside;
 * - **hand-over offers** per door (`handover_offered` rows) until their `until`;
 * - **rooms**: the door's contact and lock as last recorded, and since when the room has been empty
 *   and not yet secured (`room_secured` ends it);
 * - **last exits** per door and person, for anti-passback;
 * - **unreturned visitor badges**, from the registry's `visitor_badge_*` rows;
 * - the local date of the last **end-of-day report**.
 *
 * Windows and offers whose time has passed are dropped by the next row of any kind (by its time), so
 * the state depends on the rows alone. Every structure here is replaced, never modified, once it is
 * part of a state handed out: `VisitsDraft` copies each part on its first change within one fold.
 */
import { ExitTimes, ExitTimesDraft } from './exit-times.js';
import { type AccessRecord, parseVisitRecord, type RecordRow } from './records.js';
import type { PersonCategory, VisitorBadgeStatus } from './types.js';

type Dict<T> = Record<string, T>;

function dict<T>(from?: Readonly<Dict<T>>): Dict<T> {
  const d = Object.create(null) as Dict<T>;
  return from === undefined ? d : Object.assign(d, from);
}

export interface PresenceEntry {
  personId: string;
  /** When they entered (the granted `in` row's time, or the reconciliation that added them). */
  since: number;
  category?: PersonCategory;
  /** A visitor's escort (person id). Absent: the visitor has no escort (unescorted). */
  escort?: string;
  /** Someone may have left without badging since this time (exit button): shown as uncertain. */
  uncertainSince?: number;
  /** An escort's exit was refused at this time because their visitors were inside. */
  exitRefusedAt?: number;
}

export interface PendingVisitor {
  personId: string;
  /** When the visitor badged. */
  since: number;
  /** When their wait for an escort ends. */
  until: number;
  /** Their `escort_required` row, which becomes their granted row when an escort badges. */
  access: AccessRecord;
}

export interface EscortWindow {
  personId: string;
  name: string | null;
  until: number;
}

export interface HandoverOffer {
  personId: string;
  until: number;
}

export type RoomContact = 'open' | 'closed' | 'unknown';
export type RoomLock = 'locked' | 'unlocked' | 'unknown';

export interface RoomState {
  /** The door contact as last recorded (`door_opened` / `door_closed`). */
  contact: RoomContact;
  /** The lock as last recorded (`door_unlocked` / `door_locked`). */
  lock: RoomLock;
  /**
   * Since when the room has been empty and not shown secured: set when the last person leaves, or
   * when the door is opened or unlocked while nobody is inside; null once `room_secured` is recorded
   * or while someone is inside.
   */
  unsecuredSince: number | null;
}

/** An unreturned visitor badge, as the registry's rows describe it. */
export interface VisitorBadgeInfo {
  badgeId: string;
  personId: string;
  hostId: string;
  purpose: string;
  equipment: readonly string[];
  /** Doors the visit is for; empty = wherever the escort may take them. */
  doors: readonly string[];
  masked: string | null;
  validFrom: number | null;
  validUntil: number | null;
  status: Exclude<VisitorBadgeStatus, 'returned'>;
  issuedAt: number;
}

export interface VisitsState {
  /** Door → visitors waiting for an escort at its entry reader, in the order they badged. */
  readonly pending: Readonly<Dict<readonly PendingVisitor[]>>;
  /** Door → escorts whom visitors may still join. */
  readonly escortWindows: Readonly<Dict<readonly EscortWindow[]>>;
  /** Door → open hand-over offers. */
  readonly handoverOffers: Readonly<Dict<readonly HandoverOffer[]>>;
  /** Door → room state, for doors with any door or presence row. */
  readonly rooms: Readonly<Dict<RoomState>>;
  /** Door → person → their last recorded exit (UTC ms). */
  readonly lastExit: Readonly<Dict<ExitTimes>>;
  /** Badge id → unreturned visitor badge. */
  readonly visitorBadges: Readonly<Dict<VisitorBadgeInfo>>;
  /** The local date (YYYY-MM-DD) of the last end-of-day report, or null. */
  readonly lastEndOfDay: string | null;
}

export function initialVisitsState(): VisitsState {
  return {
    pending: dict(),
    escortWindows: dict(),
    handoverOffers: dict(),
    rooms: dict(),
    lastExit: dict(),
    visitorBadges: dict(),
    lastEndOfDay: null,
  };
}

export const UNKNOWN_ROOM: RoomState = Object.freeze({
  contact: 'unknown',
  lock: 'unknown',
  unsecuredSince: null,
}) as RoomState;

/** What the visit fold needs from the presence part of the fold's draft. */
export interface PresenceOps {
  inside(door: string): Readonly<Dict<PresenceEntry>> | undefined;
  enter(door: string, entry: PresenceEntry): void;
  leave(door: string, personId: string): void;
  /** Replace an existing entry in place (keeping its position). */
  replace(door: string, entry: PresenceEntry): void;
  /** Make the door's presence exactly `entries`. */
  setDoor(door: string, entries: readonly PresenceEntry[]): void;
}

type ListKey = 'pending' | 'escortWindows' | 'handoverOffers';
type OwnedKey = ListKey | 'rooms' | 'lastExit' | 'visitorBadges';
type PartOf<K extends OwnedKey> = VisitsState[K][string];

/**
 * A copy-on-write working copy of the visits state: each part is shared with the starting state
 * until its first change in this fold, then copied once and updated in place.
 */
export class VisitsDraft {
  private readonly parts: { [K in OwnedKey]: Readonly<Dict<PartOf<K>>> };
  private lastEndOfDay: string | null;
  private readonly owned = new Set<string>();
  /** Doors whose exit times changed in this fold. */
  private readonly exitDrafts = new Map<string, ExitTimesDraft>();
  private changed = false;
  /** The earliest `until` of any window or offer, to skip pruning cheaply. */
  private nextExpiry: number;

  constructor(private readonly base: VisitsState) {
    this.parts = {
      pending: base.pending,
      escortWindows: base.escortWindows,
      handoverOffers: base.handoverOffers,
      rooms: base.rooms,
      lastExit: base.lastExit,
      visitorBadges: base.visitorBadges,
    };
    this.lastEndOfDay = base.lastEndOfDay;
    this.nextExpiry = earliestExpiry(base);
  }

  private own<K extends OwnedKey>(key: K): Dict<PartOf<K>> {
    this.changed = true;
    if (!this.owned.has(key)) {
      this.owned.add(key);
      (this.parts as Record<OwnedKey, unknown>)[key] = dict(this.parts[key] as Dict<unknown>);
    }
    return this.parts[key] as Dict<PartOf<K>>;
  }

  /** Drop windows and offers whose time has passed. */
  prune(at: number): void {
    if (at < this.nextExpiry) return;
    for (const key of ['escortWindows', 'handoverOffers'] as const) {
      const all = this.parts[key] as Readonly<Dict<readonly { until: number }[]>>;
      for (const door of Object.keys(all)) {
        const list = all[door]!;
        if (list.every((w) => w.until > at)) continue;
        this.setList(
          key,
          door,
          list.filter((w) => w.until > at),
        );
      }
    }
    this.nextExpiry = earliestExpiryOf(this.parts.escortWindows, this.parts.handoverOffers);
  }

  /**
   * The wall clock stepped (`clock_adjusted`): the running waits, windows, offers and room timers
   * were counting in the old time and move with it, so each still ends as long after its start as
   * it would have (clock.ts).
   */
  shiftTimers(stepMs: number): void {
    for (const key of ['pending', 'escortWindows', 'handoverOffers'] as const) {
      const all = this.parts[key] as Readonly<Dict<readonly { until: number }[]>>;
      for (const door of Object.keys(all))
        this.setList(
          key,
          door,
          all[door]!.map((x) => ({ ...x, until: x.until + stepMs })),
        );
    }
    for (const door of Object.keys(this.parts.rooms)) {
      const since = this.parts.rooms[door]!.unsecuredSince;
      if (since !== null) this.patchRoom(door, { unsecuredSince: since + stepMs });
    }
    this.nextExpiry = earliestExpiryOf(this.parts.escortWindows, this.parts.handoverOffers);
  }

  list<T extends ListKey>(key: T, door: string): PartOf<T> {
    return (this.parts[key][door] ?? []) as PartOf<T>;
  }

  private setList<T extends ListKey>(key: T, door: string, list: readonly unknown[]): void {
    const mine = this.own(key) as Dict<readonly unknown[]>;
    if (list.length === 0) delete mine[door];
    else mine[door] = list;
  }

  removePending(door: string, personId: string): void {
    const list = this.list('pending', door);
    if (!list.some((p) => p.personId === personId)) return;
    this.setList(
      'pending',
      door,
      list.filter((p) => p.personId !== personId),
    );
  }

  addPending(door: string, p: PendingVisitor): void {
    const list = this.list('pending', door).filter((x) => x.personId !== p.personId);
    this.setList('pending', door, [...list, p]);
  }

  setEscortWindow(door: string, w: EscortWindow): void {
    const list = this.list('escortWindows', door).filter((x) => x.personId !== w.personId);
    this.setList('escortWindows', door, [...list, w]);
    if (w.until < this.nextExpiry) this.nextExpiry = w.until;
  }

  addOffer(door: string, o: HandoverOffer): void {
    const list = this.list('handoverOffers', door).filter((x) => x.personId !== o.personId);
    this.setList('handoverOffers', door, [...list, o]);
    if (o.until < this.nextExpiry) this.nextExpiry = o.until;
  }

  /** The person left the door's room: their escort window and offer end. */
  dropWindows(door: string, personId: string): void {
    for (const key of ['escortWindows', 'handoverOffers'] as const) {
      const list = this.list(key, door) as readonly { personId: string }[];
      if (list.some((x) => x.personId === personId))
        this.setList(
          key,
          door,
          list.filter((x) => x.personId !== personId),
        );
    }
  }

  room(door: string): RoomState {
    return this.parts.rooms[door] ?? UNKNOWN_ROOM;
  }

  patchRoom(door: string, patch: Partial<RoomState>): void {
    const current = this.room(door);
    const next = { ...current, ...patch };
    if (
      this.parts.rooms[door] !== undefined &&
      next.contact === current.contact &&
      next.lock === current.lock &&
      next.unsecuredSince === current.unsecuredSince
    )
      return;
    this.own('rooms')[door] = next;
  }

  /** The room's presence went from someone to no one (`empty`), or from no one to someone. */
  presenceChanged(door: string, empty: boolean, at: number): void {
    this.patchRoom(door, { unsecuredSince: empty ? at : null });
  }

  setLastExit(door: string, personId: string, at: number): void {
    let draft = this.exitDrafts.get(door);
    if (draft === undefined) {
      this.own('lastExit');
      draft = new ExitTimesDraft(this.parts.lastExit[door] ?? ExitTimes.EMPTY);
      this.exitDrafts.set(door, draft);
    }
    draft.set(personId, at);
  }

  badge(id: string): VisitorBadgeInfo | undefined {
    const all = this.parts.visitorBadges;
    return Object.hasOwn(all, id) ? all[id] : undefined;
  }

  putBadge(b: VisitorBadgeInfo): void {
    this.own('visitorBadges')[b.badgeId] = b;
  }

  removeBadge(id: string): void {
    if (this.badge(id) === undefined) return;
    delete this.own('visitorBadges')[id];
  }

  setLastEndOfDay(date: string): void {
    if (this.lastEndOfDay === date) return;
    this.changed = true;
    this.lastEndOfDay = date;
  }

  result(): VisitsState {
    if (!this.changed) return this.base;
    if (this.exitDrafts.size > 0) {
      const exits = this.parts.lastExit as Dict<ExitTimes>; // owned: setLastExit took it
      for (const [door, draft] of this.exitDrafts) exits[door] = draft.result();
    }
    return { ...this.parts, lastEndOfDay: this.lastEndOfDay };
  }
}

function earliestExpiryOf(...parts: Readonly<Dict<readonly { until: number }[]>>[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const part of parts)
    for (const list of Object.values(part)) for (const x of list) min = Math.min(min, x.until);
  return min;
}

function earliestExpiry(v: VisitsState): number {
  return earliestExpiryOf(v.escortWindows, v.handoverOffers);
}

/** Visitors inside `door` whose escort is `escortId`. */
export function visitorsOf(
  inside: Readonly<Dict<PresenceEntry>> | undefined,
  escortId: string,
): PresenceEntry[] {
  if (inside === undefined) return [];
  return Object.values(inside).filter((e) => e.category === 'visitor' && e.escort === escortId);
}

// ------------------------------------------------------------------------------------------------
// Applying rows

/** An `access` row (already parsed): presence and the visit bookkeeping. */
export function applyAccess(v: VisitsDraft, p: PresenceOps, row: RecordRow, data: AccessRecord): void {
  const door = row.door;
  const person = row.person;
  if (door === null || person === null) return;
  if (data.result !== 'granted') {
    if (
      data.direction === 'in' &&
      data.reason === 'escort_required' &&
      data.awaitingEscortUntil !== undefined
    ) {
      v.addPending(door, { personId: person, since: row.at, until: data.awaitingEscortUntil, access: data });
      return;
    }
    v.removePending(door, person);
    if (data.reason === 'escort_exit_refused') {
      // Badging at the inside reader also shows they are inside: no longer uncertain.
      const entry = entryOf(p, door, person);
      if (entry !== undefined) p.replace(door, { ...certain(entry), exitRefusedAt: row.at });
    }
    return;
  }
  v.removePending(door, person);
  if (data.direction === 'in') {
    const entry: PresenceEntry = { personId: person, since: row.at };
    if (data.category != null) entry.category = data.category;
    if (data.escort != null) entry.escort = data.escort;
    p.enter(door, entry);
    if (data.escortUntil !== undefined && data.escortUntil > row.at)
      v.setEscortWindow(door, { personId: person, name: data.personName ?? null, until: data.escortUntil });
  } else {
    p.leave(door, person);
    v.setLastExit(door, person, row.at);
    v.dropWindows(door, person);
  }
}

/** door_opened / door_closed / door_locked / door_unlocked: the room's door as last recorded. */
export function applyDoorRow(v: VisitsDraft, p: PresenceOps, row: RecordRow): void {
  const door = row.door;
  if (door === null) return;
  const empty = p.inside(door) === undefined;
  switch (row.type) {
    case 'door_opened':
    case 'door_unlocked': {
      const patch: Partial<RoomState> =
        row.type === 'door_opened' ? { contact: 'open' } : { lock: 'unlocked' };
      // An empty room that opens or unlocks is no longer secured: it must be secured again.
      if (empty && v.room(door).unsecuredSince === null) patch.unsecuredSince = row.at;
      v.patchRoom(door, patch);
      return;
    }
    case 'door_closed':
      v.patchRoom(door, { contact: 'closed' });
      return;
    case 'door_locked':
      v.patchRoom(door, { lock: 'locked' });
      return;
  }
}

/**
 * A visit record. Returns false when its data does not match its schema (or a row that needs a door
 * or person has none): the fold counts it as invalid and ignores it.
 */
export function applyVisitRecord(v: VisitsDraft, p: PresenceOps, row: RecordRow): boolean {
  const parsed = parseVisitRecord(row.type, row.data);
  if (parsed === undefined || !parsed.ok) return false;
  const rec = parsed.record;
  const { door, person } = row;
  switch (rec.type) {
    case 'escort_visitors_joined':
    case 'passback_violation':
    case 'escort_permission_granted':
    case 'escort_permission_revoked':
      return true; // the log's words; the state changes through other rows
    case 'escort_window_expired':
      if (door === null || person === null) return false;
      v.removePending(door, person);
      return true;
    case 'handover_offered':
      if (door === null || person === null) return false;
      if (rec.data.until > row.at) v.addOffer(door, { personId: person, until: rec.data.until });
      confirmInside(p, door, person);
      return true;
    case 'handover': {
      if (door === null || person === null) return false;
      const visitor = entryOf(p, door, person);
      if (visitor !== undefined) p.replace(door, { ...certain(visitor), escort: rec.data.to });
      const to = entryOf(p, door, rec.data.to);
      if (to?.exitRefusedAt !== undefined) {
        const { exitRefusedAt: _, ...rest } = to;
        p.replace(door, rest);
      }
      return true;
    }
    case 'escort_left_unbadged':
      if (door === null || person === null) return false;
      p.leave(door, person);
      v.setLastExit(door, person, row.at);
      v.dropWindows(door, person);
      return true;
    case 'unlock_skipped':
      // The door stayed shut: whoever the committed grants recorded as entering is not inside.
      if (door === null) return false;
      for (const id of rec.data.entering) {
        if (entryOf(p, door, id) === undefined) continue;
        p.leave(door, id);
        v.dropWindows(door, id);
      }
      return true;
    case 'presence_uncertain':
      if (door === null) return false;
      for (const id of rec.data.persons) {
        const e = entryOf(p, door, id);
        if (e !== undefined && e.uncertainSince === undefined)
          p.replace(door, { ...e, uncertainSince: row.at });
      }
      return true;
    case 'presence_reconciled': {
      if (door === null) return false;
      const entries: PresenceEntry[] = [];
      const seen = new Set<string>();
      for (const item of rec.data.present) {
        if (seen.has(item.personId)) continue;
        seen.add(item.personId);
        const old = entryOf(p, door, item.personId);
        const entry: PresenceEntry = {
          personId: item.personId,
          since: old?.since ?? row.at,
          category: item.category,
        };
        if (item.category === 'visitor' && item.escort != null) entry.escort = item.escort;
        entries.push(entry);
      }
      for (const id of Object.keys(p.inside(door) ?? {})) if (!seen.has(id)) v.dropWindows(door, id);
      p.setDoor(door, entries);
      return true;
    }
    case 'room_secured':
      if (door === null) return false;
      v.patchRoom(door, { unsecuredSince: null });
      return true;
    case 'end_of_day_report':
      v.setLastEndOfDay(rec.data.date);
      return true;
    case 'visitor_badge_issued': {
      const d = rec.data;
      v.putBadge({
        badgeId: d.badgeId,
        personId: d.personId,
        hostId: d.hostId,
        purpose: d.purpose,
        equipment: d.equipment,
        doors: d.doors,
        masked: d.masked ?? null,
        validFrom: d.validFrom,
        validUntil: d.validUntil,
        status: 'issued',
        issuedAt: row.at,
      });
      return true;
    }
    case 'visitor_badge_in_use': {
      const b = v.badge(rec.data.badgeId);
      if (b !== undefined && b.status !== 'in_use') v.putBadge({ ...b, status: 'in_use' });
      return true;
    }
    case 'visitor_badge_returned':
      v.removeBadge(rec.data.badgeId);
      return true;
  }
}

/** The entry without its uncertainty mark. */
function certain(e: PresenceEntry): PresenceEntry {
  if (e.uncertainSince === undefined) return e;
  const { uncertainSince: _, ...rest } = e;
  return rest;
}

/** A presentation at the inside reader shows the person is inside. */
function confirmInside(p: PresenceOps, door: string, personId: string): void {
  const e = entryOf(p, door, personId);
  if (e?.uncertainSince !== undefined) p.replace(door, certain(e));
}

function entryOf(p: PresenceOps, door: string, personId: string): PresenceEntry | undefined {
  const inside = p.inside(door);
  return inside !== undefined && Object.hasOwn(inside, personId) ? inside[personId] : undefined;
}
