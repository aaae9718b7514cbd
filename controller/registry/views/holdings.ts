/**
 * The read model of what people hold: badges (listed, or found by what someone typed), door
 * permissions, escort rights and visitor badges, for lists and for a page of people at once
 * (one query per 500 people). Reads only.
 */
import { type Badge, BadgeStatus, type DoorPermission, VisitorBadgeStatus } from '../../domain/types.js';
import type { SqliteDatabase } from '../../journal/index.js';
import { RegistryError } from '../errors.js';
import {
  type BadgeRow,
  byIds,
  byPerson,
  type PermissionRow,
  toBadge,
  toPermission,
  toVisitorBadge,
  VISITOR_BADGE_SELECT,
  type VisitorBadge,
  type VisitorBadgeRow,
} from '../rows.js';
import { parse } from '../validate.js';
import { MAX_PEOPLE_PAGE } from './people.js';

export interface BadgeFilter {
  personId?: string;
  status?: BadgeStatus;
}

/** What identifies a badge when someone types it; each given field may match. */
export interface BadgeMatch {
  /** The badge's id (b_…). */
  id?: string;
  /** The last four characters of the number, as its masked form shows them (any case). */
  last4?: string;
}

export interface VisitorBadgeFilter {
  status?: VisitorBadgeStatus;
  /** Only badges not yet returned (issued or in use). */
  unreturned?: boolean;
  personId?: string;
  hostId?: string;
}

/** A badge number as typed or pasted from its masked form (`••••3D4E`, `****3D4E`): the mask dropped. */
export function withoutMask(typed: string): string {
  return typed.replace(/^[•*]+/, '');
}

export class HoldingsView {
  readonly #s;

  constructor(db: SqliteDatabase) {
    this.#s = {
      listBadges: db.prepare<[{ personId: string | null; status: string | null }], BadgeRow>(
        `SELECT * FROM badges WHERE (@personId IS NULL OR person_id = @personId) AND (@status IS NULL OR status = @status)
         ORDER BY created_at, rowid`,
      ),
      findBadges: db.prepare<{ id: string | null; masked: string | null; limit: number }, BadgeRow>(
        `SELECT * FROM badges WHERE rowid IN (
           SELECT rowid FROM badges WHERE id = :id
           UNION SELECT rowid FROM badges WHERE masked = :masked COLLATE NOCASE)
         ORDER BY created_at, rowid LIMIT :limit`,
      ),
      badgesOf: db.prepare<[string], BadgeRow>(
        `SELECT * FROM badges WHERE person_id IN (SELECT value FROM json_each(?))
         ORDER BY person_id, created_at, rowid`,
      ),
      permissionsOf: db.prepare<[string], PermissionRow>(
        `SELECT * FROM permissions WHERE person_id IN (SELECT value FROM json_each(?))
         ORDER BY person_id, door_id, schedule_id`,
      ),
      escortsAmong: db.prepare<[string], { person_id: string }>(
        'SELECT person_id FROM escorts WHERE person_id IN (SELECT value FROM json_each(?))',
      ),
      listEscorts: db.prepare<[], { person_id: string }>('SELECT person_id FROM escorts ORDER BY person_id'),
      listVisitorBadges: db.prepare<
        [{ status: string | null; unreturned: number; personId: string | null; hostId: string | null }],
        VisitorBadgeRow
      >(
        `${VISITOR_BADGE_SELECT}
         WHERE (@status IS NULL OR v.status = @status) AND (@unreturned = 0 OR v.status <> 'returned')
           AND (@personId IS NULL OR v.person_id = @personId) AND (@hostId IS NULL OR v.host_id = @hostId)
         ORDER BY v.issued_at, v.rowid`,
      ),
    };
  }

  /** Badges, earliest enrolled first. */
  listBadges(filter: BadgeFilter = {}): Badge[] {
    const status = filter.status === undefined ? null : parse(BadgeStatus, filter.status, 'status');
    return this.#s.listBadges.all({ personId: filter.personId ?? null, status }).map(toBadge);
  }

  /**
   * Badges matching what someone typed: the badge id, or the last four characters of the number as
   * its masked form shows them (any case). Earliest enrolled first, at most `limit`. Index lookups.
   */
  findBadges(match: BadgeMatch, limit = 50): Badge[] {
    const last4 = match.last4?.trim();
    if (last4 !== undefined && Array.from(last4).length !== 4)
      throw new RegistryError('invalid_input', 'badge match.last4 must be 4 characters');
    const id = match.id?.trim() || null;
    const masked = last4 ? `••••${last4}` : null;
    if (id === null && masked === null) return [];
    return this.#s.findBadges
      .all({ id, masked, limit: Math.max(1, Math.min(MAX_PEOPLE_PAGE, Math.trunc(limit))) })
      .map(toBadge);
  }

  /**
   * Badges matching what someone typed to find one: its id, or the last four characters of its
   * number (a pasted masked form such as `••••3D4E` too).
   */
  findTypedBadges(typed: string, limit = 50): Badge[] {
    const text = withoutMask(typed.trim());
    if (text === '') return [];
    return this.findBadges({ id: text, ...(Array.from(text).length === 4 ? { last4: text } : {}) }, limit);
  }

  /** The badges of these people, by person then enrolment: one query per 500 people. */
  badgesOf(personIds: Iterable<string>): Map<string, Badge[]> {
    return byPerson(byIds(this.#s.badgesOf, personIds).map(toBadge));
  }

  /** The door permissions of these people: one query per 500 people. */
  permissionsOf(personIds: Iterable<string>): Map<string, DoorPermission[]> {
    return byPerson(byIds(this.#s.permissionsOf, personIds).map(toPermission));
  }

  /** Which of these people may escort visitors: one query per 500 people. */
  escortsAmong(personIds: Iterable<string>): Set<string> {
    return new Set(byIds(this.#s.escortsAmong, personIds).map((r) => r.person_id));
  }

  /** The ids of everyone who may escort visitors. */
  listEscorts(): string[] {
    return this.#s.listEscorts.all().map((r) => r.person_id);
  }

  /** Visitor badges, earliest issued first. */
  listVisitorBadges(filter: VisitorBadgeFilter = {}): VisitorBadge[] {
    const status = filter.status === undefined ? null : parse(VisitorBadgeStatus, filter.status, 'status');
    return this.#s.listVisitorBadges
      .all({
        status,
        unreturned: filter.unreturned ? 1 : 0,
        personId: filter.personId ?? null,
        hostId: filter.hostId ?? null,
      })
      .map(toVisitorBadge);
  }
}
