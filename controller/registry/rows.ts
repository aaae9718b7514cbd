/**
 * The registry's tables as SQLite returns them, and their mapping to the domain's objects: the one
 * place that knows the column names, shared by the aggregates (writes, lookups) and the views.
 */
import type Database from 'better-sqlite3';
import { readingKey } from '../domain/romaji.js';
import type {
  Badge,
  BadgeStatus,
  DoorPermission,
  Person,
  PersonCategory,
  VisitorBadgeStatus,
} from '../domain/types.js';

export type PersonRow = {
  id: string;
  display_id: string;
  name: string;
  category: PersonCategory;
  valid_from: number | null;
  valid_until: number | null;
  active: number;
  lockdown_override: number;
  reading: string | null;
};

export type BadgeRow = {
  id: string;
  person_id: string;
  credential_hash: string;
  masked: string;
  status: BadgeStatus;
  valid_from: number | null;
  valid_until: number | null;
};

export type PermissionRow = { person_id: string; door_id: string; schedule_id: string };

export type VisitorBadgeRow = {
  badge_id: string;
  person_id: string;
  host_id: string;
  purpose: string;
  equipment: string;
  doors: string;
  status: VisitorBadgeStatus;
  issued_at: number;
  issued_by: string;
  in_use_at: number | null;
  returned_at: number | null;
  returned_by: string | null;
  return_note: string | null;
  masked: string;
  valid_from: number | null;
  valid_until: number | null;
  badge_status: BadgeStatus;
};

/** A visitor badge: the badge (validity, status) with its visit. */
export interface VisitorBadge {
  badgeId: string;
  personId: string;
  hostId: string;
  purpose: string;
  equipment: string[];
  doors: string[];
  masked: string;
  validFrom: number | null;
  validUntil: number | null;
  /** The badge's own status: active, lost, or revoked (every returned visitor badge is revoked). */
  badgeStatus: BadgeStatus;
  status: VisitorBadgeStatus;
  issuedAt: number;
  issuedBy: string;
  inUseAt: number | null;
  returnedAt: number | null;
  returnedBy: string | null;
  returnNote: string | null;
}

/** A visitor badge row with its badge's validity and status; callers add WHERE and ORDER BY. */
export const VISITOR_BADGE_SELECT = `
  SELECT v.*, b.masked, b.valid_from, b.valid_until, b.status AS badge_status
  FROM visitor_badges v JOIN badges b ON b.id = v.badge_id`;

/** Ids per statement of the batch lookups (getPeople, badgesOf, …); more take several. */
const IDS_PER_QUERY = 500;

/** Runs a `… IN (SELECT value FROM json_each(?))` statement over distinct ids, 500 at a time. */
export function byIds<R>(st: Database.Statement<[string], R>, ids: Iterable<string>): R[] {
  const list = [...new Set(ids)];
  const out: R[] = [];
  for (let i = 0; i < list.length; i += IDS_PER_QUERY)
    out.push(...st.all(JSON.stringify(list.slice(i, i + IDS_PER_QUERY))));
  return out;
}

/** Items grouped by their person, each group in the items' order. */
export function byPerson<T extends { personId: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) {
    const of = out.get(x.personId);
    if (of) of.push(x);
    else out.set(x.personId, [x]);
  }
  return out;
}

export function toPersonParams(p: Person) {
  return {
    id: p.id,
    displayId: p.displayId,
    name: p.name,
    category: p.category,
    validFrom: p.validFrom,
    validUntil: p.validUntil,
    active: p.active ? 1 : 0,
    lockdownOverride: p.lockdownOverride ? 1 : 0,
    reading: p.reading ?? null,
    readingKey: p.reading === undefined ? null : readingKey(p.reading),
  };
}

export function toPerson(r: PersonRow): Person {
  return {
    id: r.id,
    displayId: r.display_id,
    name: r.name,
    category: r.category,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    active: r.active === 1,
    lockdownOverride: r.lockdown_override === 1,
    ...(r.reading === null || r.reading === undefined ? {} : { reading: r.reading }),
  };
}

export function toBadge(r: BadgeRow): Badge {
  return {
    id: r.id,
    personId: r.person_id,
    credentialHash: r.credential_hash,
    masked: r.masked,
    status: r.status,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
  };
}

export function toPermission(r: PermissionRow): DoorPermission {
  return { personId: r.person_id, doorId: r.door_id, scheduleId: r.schedule_id };
}

export function toVisitorBadge(r: VisitorBadgeRow): VisitorBadge {
  return {
    badgeId: r.badge_id,
    personId: r.person_id,
    hostId: r.host_id,
    purpose: r.purpose,
    equipment: JSON.parse(r.equipment) as string[],
    doors: JSON.parse(r.doors) as string[],
    masked: r.masked,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    badgeStatus: r.badge_status,
    status: r.status,
    issuedAt: r.issued_at,
    issuedBy: r.issued_by,
    inUseAt: r.in_use_at,
    returnedAt: r.returned_at,
    returnedBy: r.returned_by,
    returnNote: r.return_note,
  };
}
