/**
 * People, badges and door permissions, visitor badges and who may escort: ordinary tables over the
 * journal's database. Every change commits in one transaction with the journal row(s) that record it
 * and its actor, so the journal can never lack a change nor record one that did not happen.
 *
 * Badge credentials are stored only as keyed hashes (HMAC-SHA-256 with the device secret) and a
 * masked suffix; the plain credential is never written to any table, journal row or error.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { endOfLocalDay } from '../domain/local-day.js';
import {
  type Badge,
  BadgeStatus,
  type DoorPermission,
  type Person,
  PersonCategory,
  VisitorBadgeStatus,
} from '../domain/types.js';
import type { SqliteDatabase } from './db.js';
import type { Journal } from './journal.js';
import { credentialHash, maskCredential } from './secrets.js';

/** The journal record types the registry writes. */
export const REGISTRY_RECORD_TYPES = [
  'person_added',
  'person_updated',
  'badge_added',
  'badge_status_changed',
  'permission_granted',
  'permission_revoked',
  'visitor_badge_issued',
  'visitor_badge_in_use',
  'visitor_badge_returned',
  'escort_permission_granted',
  'escort_permission_revoked',
] as const;
export type RegistryRecordType = (typeof REGISTRY_RECORD_TYPES)[number];

export type RegistryErrorCode = 'invalid_input' | 'not_found' | 'duplicate_credential' | 'conflict';

/** A refused registry change; nothing was written. `code` is stable for APIs. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const Millis = z.number().int().nonnegative();
const Text = z.string().trim().min(1).max(200);
const Id = z.string().min(1).max(64);
const Actor = z.string().min(1).max(128);

const NewPersonSchema = z.strictObject({
  displayId: Text,
  name: Text,
  category: PersonCategory,
  validFrom: Millis.nullable().optional(),
  validUntil: Millis.nullable().optional(),
  lockdownOverride: z.boolean().optional(),
});
export type NewPerson = z.input<typeof NewPersonSchema>;

const PersonPatchSchema = z.strictObject({
  displayId: Text.optional(),
  name: Text.optional(),
  category: PersonCategory.optional(),
  validFrom: Millis.nullable().optional(),
  validUntil: Millis.nullable().optional(),
  active: z.boolean().optional(),
  lockdownOverride: z.boolean().optional(),
});
export type PersonPatch = z.input<typeof PersonPatchSchema>;

const NewBadgeSchema = z.strictObject({
  personId: Id,
  credential: z.string(),
  validFrom: Millis.nullable().optional(),
  validUntil: Millis.nullable().optional(),
});
export type NewBadge = z.input<typeof NewBadgeSchema>;

export interface BadgeFilter {
  personId?: string;
  status?: BadgeStatus;
}

/** Which people a list or a count is about; every field narrows it. */
export interface PeopleFilter {
  /** Part of the name or display id (ASCII letters case-insensitively); at most 100 characters. */
  text?: string;
  /** One or more categories. */
  categories?: readonly PersonCategory[];
  active?: boolean;
  /** Only these people (e.g. the holders of a badge found by its number); at most 500. */
  ids?: readonly string[];
}

/** A person's place in the people's order (name, then id): a keyset cursor. */
export interface PeopleKey {
  name: string;
  id: string;
}

export interface PeoplePageQuery extends PeopleFilter {
  /** 1–500. */
  limit: number;
  /** The people after this one … */
  after?: PeopleKey;
  /** … or before it (not both). */
  before?: PeopleKey;
}

export interface PeoplePage {
  /** In order (name, then id), whichever way the page was read. */
  people: Person[];
  /** Whether there are more people beyond the page in the direction it was read. */
  more: boolean;
}

/** What identifies a badge when someone types it; each given field may match. */
export interface BadgeMatch {
  /** The badge's id (b_…). */
  id?: string;
  /** The last four characters of the number, as its masked form shows them (any case). */
  last4?: string;
}

/** What needs attention in the registry at an instant, counted in SQL (the compliance view). */
export interface AttentionCounts {
  /** Badges reported lost. */
  lostBadges: number;
  /** Active people whose validity ended. */
  expiredPeople: number;
  /** Active badges whose validity ended. */
  expiredBadges: number;
  /** Visitors whose validity ended and who still hold an active badge. */
  overdueVisitors: number;
}

/** The most people a page (or a `PeopleFilter.ids`) holds. */
export const MAX_PEOPLE_PAGE = 500;
/** Ids per statement of the batch lookups (getPeople, badgesOf, …); more take several. */
const IDS_PER_QUERY = 500;

const NewVisitorBadgeSchema = z
  .strictObject({
    /** A visitor already registered (category `visitor`) … */
    personId: Id.optional(),
    /** … or a new one, added with the badge. */
    visitor: z.strictObject({ displayId: Text, name: Text }).optional(),
    /** The normalised credential of the visitor card handed out. */
    credential: z.string(),
    /** The staff member hosting the visit. */
    hostId: Id,
    purpose: Text,
    /** Equipment declared for carry-in (§7(1)②オ), e.g. "laptop, asset tag 1234". */
    equipment: z.array(Text).max(50).optional(),
    /** Doors the visit is for; empty or absent = wherever the escort may take them. */
    doors: z.array(Id).max(50).optional(),
    /** Default: the time of issue. */
    validFrom: Millis.nullable().optional(),
    /** Default: the registry's `visitorBadgeUntil(validFrom)` (the end of that day). */
    validUntil: Millis.optional(),
  })
  .refine((v) => (v.personId === undefined) !== (v.visitor === undefined), {
    message: 'give either personId (a registered visitor) or visitor (a new one)',
  });
export type NewVisitorBadge = z.input<typeof NewVisitorBadgeSchema>;

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

export interface VisitorBadgeFilter {
  status?: VisitorBadgeStatus;
  /** Only badges not yet returned (issued or in use). */
  unreturned?: boolean;
  personId?: string;
  hostId?: string;
}

export interface RegistryOptions {
  /** The device HMAC key (at least 32 bytes). */
  hmacKey: Buffer;
  /**
   * When a visitor badge issued without `validUntil` ends, given its start (UTC ms). The controller
   * passes `(at) => defaultVisitorBadgeUntil(at, visitSettings(config))`. Default: the end of that
   * local day in `timeZone`.
   */
  visitorBadgeUntil?: (validFrom: number) => number;
  /** For the default `visitorBadgeUntil`. Default `Asia/Tokyo`. */
  timeZone?: string;
}

type PersonRow = {
  id: string;
  display_id: string;
  name: string;
  category: PersonCategory;
  valid_from: number | null;
  valid_until: number | null;
  active: number;
  lockdown_override: number;
};

type BadgeRow = {
  id: string;
  person_id: string;
  credential_hash: string;
  masked: string;
  status: BadgeStatus;
  valid_from: number | null;
  valid_until: number | null;
};

type PermissionRow = { person_id: string; door_id: string; schedule_id: string };

type VisitorBadgeRow = {
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

const VISITOR_BADGE_SELECT = `
  SELECT v.*, b.masked, b.valid_from, b.valid_until, b.status AS badge_status
  FROM visitor_badges v JOIN badges b ON b.id = v.badge_id`;

const PATCH_FIELDS = [
  'displayId',
  'name',
  'category',
  'validFrom',
  'validUntil',
  'active',
  'lockdownOverride',
] as const;

export class Registry {
  readonly #journal: Journal;
  readonly #hmacKey: Buffer;
  readonly #visitorBadgeUntil: (validFrom: number) => number;
  readonly #db: SqliteDatabase;
  /** The people queries by the shape of their filter (a handful of shapes, each prepared once). */
  readonly #peopleStatements = new Map<string, Database.Statement<Record<string, unknown>, PersonRow>>();
  readonly #countStatements = new Map<string, Database.Statement<Record<string, unknown>, { n: number }>>();
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal, options: RegistryOptions) {
    if (!Buffer.isBuffer(options?.hmacKey) || options.hmacKey.length < 32) {
      throw new Error('Registry needs the device HMAC key (at least 32 bytes)');
    }
    this.#journal = journal;
    this.#db = db;
    this.#hmacKey = options.hmacKey;
    const timeZone = options.timeZone ?? 'Asia/Tokyo';
    this.#visitorBadgeUntil = options.visitorBadgeUntil ?? ((at) => endOfLocalDay(at, timeZone));
    this.#s = {
      insertPerson: db.prepare(
        `INSERT INTO people (id, display_id, name, category, valid_from, valid_until, active, lockdown_override,
                             created_at, updated_at)
         VALUES (@id, @displayId, @name, @category, @validFrom, @validUntil, @active, @lockdownOverride, @at, @at)`,
      ),
      updatePerson: db.prepare(
        `UPDATE people SET display_id = @displayId, name = @name, category = @category, valid_from = @validFrom,
           valid_until = @validUntil, active = @active, lockdown_override = @lockdownOverride, updated_at = @at
         WHERE id = @id`,
      ),
      getPerson: db.prepare<[string], PersonRow>('SELECT * FROM people WHERE id = ?'),
      listPeople: db.prepare<[], PersonRow>('SELECT * FROM people ORDER BY name, id'),
      // One index range per category (people_category_name holds `active`): no table scan.
      countPeople: db.prepare<[], { category: string; n: number }>(
        `SELECT category, COUNT(*) AS n FROM people
         WHERE category IN ('staff', 'contractor', 'visitor') AND active = 1 GROUP BY category`,
      ),
      getPeople: db.prepare<[string], PersonRow>(
        'SELECT * FROM people WHERE id IN (SELECT value FROM json_each(?))',
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
      peopleById: db.prepare<{ id: string; displayId: string; limit: number }, PersonRow>(
        `SELECT * FROM people WHERE id IN (
           SELECT id FROM people WHERE id = :id
           UNION SELECT id FROM people WHERE display_id = :displayId COLLATE NOCASE)
         ORDER BY name, id LIMIT :limit`,
      ),
      findBadges: db.prepare<{ id: string | null; masked: string | null; limit: number }, BadgeRow>(
        `SELECT * FROM badges WHERE rowid IN (
           SELECT rowid FROM badges WHERE id = :id
           UNION SELECT rowid FROM badges WHERE masked = :masked COLLATE NOCASE)
         ORDER BY created_at, rowid LIMIT :limit`,
      ),
      expiredPeople: db.prepare<[number], { n: number }>(
        // One read of the table: through the active index it would fetch nearly every row singly.
        'SELECT COUNT(*) AS n FROM people NOT INDEXED WHERE active = 1 AND valid_until <= ?',
      ),
      badgeAttention: db.prepare<[number], { lost: number | null; expired: number | null }>(
        `SELECT SUM(status = 'lost') AS lost, SUM(status = 'active' AND valid_until <= ?) AS expired
         FROM badges`,
      ),
      overdueVisitors: db.prepare<[number], { n: number }>(
        `SELECT COUNT(*) AS n FROM people p WHERE p.category = 'visitor' AND p.valid_until <= ?
           AND EXISTS (SELECT 1 FROM badges b WHERE b.person_id = p.id AND b.status = 'active')`,
      ),
      countBadges: db.prepare<[], { status: string; n: number }>(
        'SELECT status, COUNT(*) AS n FROM badges GROUP BY status',
      ),
      insertBadge: db.prepare(
        `INSERT INTO badges (id, person_id, credential_hash, masked, status, valid_from, valid_until, created_at, updated_at)
         VALUES (@id, @personId, @credentialHash, @masked, @status, @validFrom, @validUntil, @at, @at)`,
      ),
      setBadgeStatus: db.prepare<[string, number, string]>(
        'UPDATE badges SET status = ?, updated_at = ? WHERE id = ?',
      ),
      getBadge: db.prepare<[string], BadgeRow>('SELECT * FROM badges WHERE id = ?'),
      badgeByHash: db.prepare<[string], BadgeRow>(
        `SELECT * FROM badges WHERE credential_hash = ?
         ORDER BY status = 'revoked', updated_at DESC, rowid DESC LIMIT 1`,
      ),
      listBadges: db.prepare<[{ personId: string | null; status: string | null }], BadgeRow>(
        `SELECT * FROM badges WHERE (@personId IS NULL OR person_id = @personId) AND (@status IS NULL OR status = @status)
         ORDER BY created_at, rowid`,
      ),
      insertPermission: db.prepare<[string, string, string, number]>(
        'INSERT INTO permissions (person_id, door_id, schedule_id, created_at) VALUES (?, ?, ?, ?)',
      ),
      deletePermission: db.prepare<[string, string, string]>(
        'DELETE FROM permissions WHERE person_id = ? AND door_id = ? AND schedule_id = ?',
      ),
      getPermission: db.prepare<[string, string, string], PermissionRow>(
        'SELECT * FROM permissions WHERE person_id = ? AND door_id = ? AND schedule_id = ?',
      ),
      permissionsFor: db.prepare<[string], PermissionRow>(
        'SELECT * FROM permissions WHERE person_id = ? ORDER BY door_id, schedule_id',
      ),
      insertVisitorBadge: db.prepare(
        `INSERT INTO visitor_badges (badge_id, person_id, host_id, purpose, equipment, doors, status, issued_at, issued_by)
         VALUES (@badgeId, @personId, @hostId, @purpose, @equipment, @doors, 'issued', @at, @actor)`,
      ),
      getVisitorBadge: db.prepare<[string], VisitorBadgeRow>(`${VISITOR_BADGE_SELECT} WHERE v.badge_id = ?`),
      listVisitorBadges: db.prepare<
        [{ status: string | null; unreturned: number; personId: string | null; hostId: string | null }],
        VisitorBadgeRow
      >(
        `${VISITOR_BADGE_SELECT}
         WHERE (@status IS NULL OR v.status = @status) AND (@unreturned = 0 OR v.status <> 'returned')
           AND (@personId IS NULL OR v.person_id = @personId) AND (@hostId IS NULL OR v.host_id = @hostId)
         ORDER BY v.issued_at, v.rowid`,
      ),
      setVisitorBadgeInUse: db.prepare<[number, string]>(
        "UPDATE visitor_badges SET status = 'in_use', in_use_at = ? WHERE badge_id = ?",
      ),
      setVisitorBadgeReturned: db.prepare<[number, string, string | null, string]>(
        "UPDATE visitor_badges SET status = 'returned', returned_at = ?, returned_by = ?, return_note = ? WHERE badge_id = ?",
      ),
      getEscort: db.prepare<[string], { person_id: string }>(
        'SELECT person_id FROM escorts WHERE person_id = ?',
      ),
      insertEscort: db.prepare<[string, number, string]>(
        'INSERT INTO escorts (person_id, granted_at, granted_by) VALUES (?, ?, ?)',
      ),
      deleteEscort: db.prepare<[string]>('DELETE FROM escorts WHERE person_id = ?'),
      listEscorts: db.prepare<[], { person_id: string }>('SELECT person_id FROM escorts ORDER BY person_id'),
    };
  }

  addPerson(input: NewPerson, actor: string, at: number): Person {
    const p = parse(NewPersonSchema, input, 'person');
    checkActorAt(actor, at);
    const person: Person = {
      id: newId('p'),
      displayId: p.displayId,
      name: p.name,
      category: p.category,
      validFrom: p.validFrom ?? null,
      validUntil: p.validUntil ?? null,
      active: true,
      lockdownOverride: p.lockdownOverride ?? false,
    };
    checkWindow(person.validFrom, person.validUntil);
    this.#journal.transaction(() => {
      this.#s.insertPerson.run({ ...toPersonParams(person), at });
      this.#journal.append({ type: 'person_added', at, person: person.id, actor, data: { ...person } });
    });
    return person;
  }

  /** Applies the patch; returns the person. A patch that changes nothing writes nothing. */
  updatePerson(id: string, patch: PersonPatch, actor: string, at: number): Person {
    const p = parse(PersonPatchSchema, patch, 'person patch');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const current = this.#requirePerson(id);
      const next: Person = { ...current };
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const field of PATCH_FIELDS) {
        const value = p[field];
        if (value === undefined || value === current[field]) continue;
        changes[field] = { from: current[field], to: value };
        (next as unknown as Record<string, unknown>)[field] = value;
      }
      if (Object.keys(changes).length === 0) return current;
      checkWindow(next.validFrom, next.validUntil);
      this.#s.updatePerson.run({ ...toPersonParams(next), at });
      this.#journal.append({ type: 'person_updated', at, person: id, actor, data: { id, changes } });
      return next;
    });
  }

  getPerson(id: string): Person | undefined {
    const row = this.#s.getPerson.get(id);
    return row ? toPerson(row) : undefined;
  }

  listPeople(): Person[] {
    return this.#s.listPeople.all().map(toPerson);
  }

  /** How many active people there are of each category (a count, not the rows: for metrics). */
  countActivePeople(): Record<string, number> {
    return Object.fromEntries(this.#s.countPeople.all().map((r) => [r.category, r.n]));
  }

  /** How many badges there are in each status. */
  countBadges(): Record<string, number> {
    return Object.fromEntries(this.#s.countBadges.all().map((r) => [r.status, r.n]));
  }

  /**
   * Active people whose name or display id contains `query` (case-insensitive for ASCII), by name,
   * at most `limit` (1–100), optionally only of some categories: for pickers, which must not load a
   * registry of 100,000 people into a page.
   */
  searchPeople(query: string, limit = 20, categories?: readonly PersonCategory[]): Person[] {
    const text = query.trim();
    if (text === '') return [];
    return this.pagePeople({
      text,
      active: true,
      ...(categories ? { categories } : {}),
      limit: Math.max(1, Math.min(100, Math.trunc(limit))),
    }).people;
  }

  /**
   * One page of people in the registry's order (name, then id), filtered, read forwards from
   * `after` or backwards from `before` (keyset paging: a page costs an index range, whatever its
   * depth). A text filter reads the table once (a substring has no index).
   */
  pagePeople(query: PeoplePageQuery): PeoplePage {
    const q = parse(PeoplePageQuerySchema, query, 'people query');
    if (q.after && q.before)
      throw new RegistryError('invalid_input', 'people query: after or before, not both');
    const key = q.after ?? q.before;
    const backwards = q.before !== undefined;
    const { where, params, shape } = peopleWhere(q);
    if (key) {
      where.push(`(name, id) ${backwards ? '<' : '>'} (:keyName, :keyId)`);
      params.keyName = key.name;
      params.keyId = key.id;
    }
    const cacheKey = `${shape}|${key ? (backwards ? 'b' : 'a') : '-'}`;
    let st = this.#peopleStatements.get(cacheKey);
    if (!st) {
      // Which way to read, where SQLite (without statistics) may guess wrong:
      // - a substring filter reads every row anyway: scan the table and sort the matches, rather
      //   than walk the name index and fetch each row it points at (3–5 times slower when few match);
      // - one category: its index, which holds `active` too, so with a status filter too a rare
      //   pair (active visitors) is an index range, not a walk of every active person.
      const categories = new Set(q.categories ?? []);
      const how =
        q.ids !== undefined
          ? ''
          : q.text !== undefined
            ? ' NOT INDEXED'
            : categories.size === 1
              ? ' INDEXED BY people_category_name'
              : '';
      const order = backwards ? 'name DESC, id DESC' : 'name, id';
      st = this.#db.prepare<Record<string, unknown>, PersonRow>(
        `SELECT * FROM people${how} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ${order} LIMIT :limit`,
      );
      this.#peopleStatements.set(cacheKey, st);
    }
    const rows = st.all({ ...params, limit: q.limit + 1 });
    const more = rows.length > q.limit;
    const people = rows.slice(0, q.limit).map(toPerson);
    if (backwards) people.reverse();
    return { people, more };
  }

  /** How many people match the filter (a count in SQL; with a text filter, one read of the table). */
  countPeople(filter: PeopleFilter = {}): number {
    const f = parse(PeopleFilterSchema, filter, 'people filter');
    const { where, params, shape } = peopleWhere(f);
    let st = this.#countStatements.get(shape);
    if (!st) {
      st = this.#db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM people ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      );
      this.#countStatements.set(shape, st);
    }
    return st.get(params)!.n;
  }

  /** The people with these ids that exist, by id: one query per 500 ids. */
  getPeople(ids: Iterable<string>): Map<string, Person> {
    return new Map(byIds(this.#s.getPeople, ids).map((r) => [r.id, toPerson(r)]));
  }

  /**
   * The people a typed identifier names exactly: their id, or their display id in any case (ASCII).
   * By name, at most `limit` (display ids need not be unique).
   */
  findPeopleById(identifier: string, limit = 50): Person[] {
    const s = identifier.trim();
    if (s === '') return [];
    return this.#s.peopleById
      .all({ id: s, displayId: s, limit: Math.max(1, Math.min(MAX_PEOPLE_PAGE, Math.trunc(limit))) })
      .map(toPerson);
  }

  /** The badges of these people, by person then enrolment: one query per 500 people. */
  badgesOf(personIds: Iterable<string>): Map<string, Badge[]> {
    return byPerson(byIds(this.#s.badgesOf, personIds).map(toBadge));
  }

  /** The door permissions of these people: one query per 500 people. */
  permissionsOf(personIds: Iterable<string>): Map<string, DoorPermission[]> {
    return byPerson(
      byIds(this.#s.permissionsOf, personIds).map((r) => ({
        personId: r.person_id,
        doorId: r.door_id,
        scheduleId: r.schedule_id,
      })),
    );
  }

  /** Which of these people may escort visitors: one query per 500 people. */
  escortsAmong(personIds: Iterable<string>): Set<string> {
    return new Set(byIds(this.#s.escortsAmong, personIds).map((r) => r.person_id));
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

  /**
   * Lost badges, and the people and badges expired or overdue at `now`: counted in SQL (one read
   * of each table), for the compliance view, instead of loading the registry.
   */
  attentionCounts(now: number): AttentionCounts {
    parse(Millis, now, 'now');
    const badges = this.#s.badgeAttention.get(now)!;
    return {
      lostBadges: badges.lost ?? 0,
      expiredPeople: this.#s.expiredPeople.get(now)!.n,
      expiredBadges: badges.expired ?? 0,
      overdueVisitors: this.#s.overdueVisitors.get(now)!.n,
    };
  }

  /**
   * Enrols a badge for a person. `credential` is the normalised credential from the reader; only
   * its keyed hash and masked form are kept. A credential already on a live badge is refused.
   */
  addBadge(input: NewBadge, actor: string, at: number): Badge {
    const b = parse(NewBadgeSchema, input, 'badge');
    checkActorAt(actor, at);
    const { credential } = b;
    checkCredential(credential, 'badge');
    const badge: Badge = {
      id: newId('b'),
      personId: b.personId,
      credentialHash: credentialHash(this.#hmacKey, credential),
      masked: maskCredential(credential),
      status: 'active',
      validFrom: b.validFrom ?? null,
      validUntil: b.validUntil ?? null,
    };
    checkWindow(badge.validFrom, badge.validUntil);
    this.#journal.transaction(() => {
      this.#requirePerson(badge.personId);
      this.#insertBadge(badge, actor, at);
    });
    return badge;
  }

  /** Inside a transaction: refuse a live duplicate, insert the badge and its `badge_added` row. */
  #insertBadge(badge: Badge, actor: string, at: number): void {
    const existing = this.#s.badgeByHash.get(badge.credentialHash);
    if (existing && existing.status !== 'revoked') {
      throw new RegistryError(
        'duplicate_credential',
        `credential ${badge.masked} is already enrolled as badge ${existing.id} (person ${existing.person_id}, ` +
          `${existing.status}); revoke that badge first`,
      );
    }
    this.#s.insertBadge.run({ ...badge, at });
    this.#journal.append({
      type: 'badge_added',
      at,
      person: badge.personId,
      actor,
      data: {
        badgeId: badge.id,
        personId: badge.personId,
        credentialHash: badge.credentialHash,
        masked: badge.masked,
        status: badge.status,
        validFrom: badge.validFrom,
        validUntil: badge.validUntil,
      },
    });
  }

  getBadge(id: string): Badge | undefined {
    const row = this.#s.getBadge.get(id);
    return row ? toBadge(row) : undefined;
  }

  /**
   * The badge for a normalised credential: the live one if any, else the latest revoked one (so
   * the door can say "revoked" rather than "unknown"). One index lookup on the keyed hash.
   */
  findBadgeByCredential(credential: string): Badge | undefined {
    return this.findBadgeByHash(credentialHash(this.#hmacKey, credential));
  }

  findBadgeByHash(hash: string): Badge | undefined {
    const row = this.#s.badgeByHash.get(hash);
    return row ? toBadge(row) : undefined;
  }

  /**
   * Marks a badge lost, revoked or active again (a found badge). Takes effect at once, needs no
   * approval. Revoked is final: issue a new badge instead. Setting the current status is a no-op.
   */
  setBadgeStatus(badgeId: string, status: BadgeStatus, actor: string, at: number, reason?: string): Badge {
    const parsedStatus = parse(BadgeStatus, status, 'status');
    const parsedReason = reason === undefined ? null : parse(z.string().max(500), reason, 'reason');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const row = this.#s.getBadge.get(badgeId);
      if (!row) throw new RegistryError('not_found', `no badge ${badgeId}`);
      if (row.status === parsedStatus) return toBadge(row);
      if (row.status === 'revoked') {
        throw new RegistryError('conflict', `badge ${badgeId} is revoked, which is final; issue a new badge`);
      }
      this.#s.setBadgeStatus.run(parsedStatus, at, badgeId);
      this.#journal.append({
        type: 'badge_status_changed',
        at,
        person: row.person_id,
        actor,
        data: {
          badgeId,
          personId: row.person_id,
          from: row.status,
          status: parsedStatus,
          reason: parsedReason,
        },
      });
      return { ...toBadge(row), status: parsedStatus };
    });
  }

  listBadges(filter: BadgeFilter = {}): Badge[] {
    const status = filter.status === undefined ? null : parse(BadgeStatus, filter.status, 'status');
    return this.#s.listBadges.all({ personId: filter.personId ?? null, status }).map(toBadge);
  }

  /** Allows a person through a door under a named schedule (ids from the config, checked by the caller). */
  grantDoor(personId: string, doorId: string, scheduleId: string, actor: string, at: number): DoorPermission {
    const ids = parsePermission(personId, doorId, scheduleId);
    checkActorAt(actor, at);
    this.#journal.transaction(() => {
      this.#requirePerson(personId);
      if (this.#s.getPermission.get(personId, doorId, scheduleId)) {
        throw new RegistryError('conflict', `${personId} already has ${doorId} under schedule ${scheduleId}`);
      }
      this.#s.insertPermission.run(personId, doorId, scheduleId, at);
      this.#journal.append({
        type: 'permission_granted',
        at,
        door: doorId,
        person: personId,
        actor,
        data: { ...ids },
      });
    });
    return ids;
  }

  /**
   * Withdraws a person's permission for a door: under every schedule, or only `scheduleId`.
   * One `permission_revoked` row per permission removed. Returns what was removed.
   */
  revokeDoor(
    personId: string,
    doorId: string,
    actor: string,
    at: number,
    scheduleId?: string,
  ): DoorPermission[] {
    parse(Id, personId, 'personId');
    parse(Id, doorId, 'doorId');
    if (scheduleId !== undefined) parse(Id, scheduleId, 'scheduleId');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const removed = this.permissionsFor(personId).filter(
        (p) => p.doorId === doorId && (scheduleId === undefined || p.scheduleId === scheduleId),
      );
      if (removed.length === 0) {
        const under = scheduleId === undefined ? '' : ` under schedule ${scheduleId}`;
        throw new RegistryError('not_found', `${personId} has no permission for ${doorId}${under}`);
      }
      for (const p of removed) {
        this.#s.deletePermission.run(p.personId, p.doorId, p.scheduleId);
        this.#journal.append({
          type: 'permission_revoked',
          at,
          door: doorId,
          person: personId,
          actor,
          data: { ...p },
        });
      }
      return removed;
    });
  }

  permissionsFor(personId: string): DoorPermission[] {
    return this.#s.permissionsFor
      .all(personId)
      .map((r) => ({ personId: r.person_id, doorId: r.door_id, scheduleId: r.schedule_id }));
  }

  // ---------------------------------------------------------------------------------------------
  // Visitor badges

  /**
   * Issues a visitor badge: a temporary badge on a visitor card with a validity window (default:
   * from now until the end of the day, see `RegistryOptions.visitorBadgeUntil`), a host (an active
   * staff member), a purpose, the equipment declared for carry-in and optionally the doors of the
   * visit. The visitor is a registered person of category `visitor` or is added with the badge.
   * Rows, in one transaction with the actor: [`person_added`], `badge_added`, `visitor_badge_issued`.
   */
  issueVisitorBadge(input: NewVisitorBadge, actor: string, at: number): VisitorBadge {
    const v = parse(NewVisitorBadgeSchema, input, 'visitor badge');
    checkActorAt(actor, at);
    checkCredential(v.credential, 'visitor badge');
    const validFrom = v.validFrom === undefined ? at : v.validFrom;
    const validUntil = v.validUntil ?? this.#visitorBadgeUntil(validFrom ?? at);
    if (validUntil <= at)
      throw new RegistryError('invalid_input', 'visitor badge.validUntil must be in the future');
    checkWindow(validFrom, validUntil);
    return this.#journal.transaction(() => {
      const host = this.#requirePerson(v.hostId);
      if (host.category !== 'staff') {
        throw new RegistryError(
          'invalid_input',
          `host ${host.id} is a ${host.category}; a visit's host must be staff`,
        );
      }
      if (!host.active) throw new RegistryError('conflict', `host ${host.id} is inactive`);
      let personId: string;
      if (v.personId !== undefined) {
        const visitor = this.#requirePerson(v.personId);
        if (visitor.category !== 'visitor') {
          throw new RegistryError(
            'invalid_input',
            `${visitor.id} is a ${visitor.category}; visitor badges are for people of category visitor`,
          );
        }
        if (!visitor.active) throw new RegistryError('conflict', `visitor ${visitor.id} is inactive`);
        personId = visitor.id;
      } else {
        const visitor: Person = {
          id: newId('p'),
          displayId: v.visitor!.displayId,
          name: v.visitor!.name,
          category: 'visitor',
          validFrom: null,
          validUntil: null,
          active: true,
          lockdownOverride: false,
        };
        this.#s.insertPerson.run({ ...toPersonParams(visitor), at });
        this.#journal.append({ type: 'person_added', at, person: visitor.id, actor, data: { ...visitor } });
        personId = visitor.id;
      }
      const badge: Badge = {
        id: newId('b'),
        personId,
        credentialHash: credentialHash(this.#hmacKey, v.credential),
        masked: maskCredential(v.credential),
        status: 'active',
        validFrom,
        validUntil,
      };
      this.#insertBadge(badge, actor, at);
      const equipment = v.equipment ?? [];
      const doors = [...new Set(v.doors ?? [])];
      this.#s.insertVisitorBadge.run({
        badgeId: badge.id,
        personId,
        hostId: host.id,
        purpose: v.purpose,
        equipment: JSON.stringify(equipment),
        doors: JSON.stringify(doors),
        at,
        actor,
      });
      this.#journal.append({
        type: 'visitor_badge_issued',
        at,
        person: personId,
        actor,
        data: {
          badgeId: badge.id,
          personId,
          hostId: host.id,
          purpose: v.purpose,
          equipment,
          doors,
          masked: badge.masked,
          validFrom,
          validUntil,
        },
      });
      return this.#requireVisitorBadge(badge.id);
    });
  }

  /**
   * Issued → in use: the visitor has the card (handed over at reception, or first used at a door —
   * the controller calls this with actor `controller`). Already in use: no change, no row.
   */
  markVisitorBadgeInUse(badgeId: string, actor: string, at: number): VisitorBadge {
    parse(Id, badgeId, 'badgeId');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const vb = this.#requireVisitorBadge(badgeId);
      if (vb.status === 'in_use') return vb;
      if (vb.status === 'returned')
        throw new RegistryError('conflict', `visitor badge ${badgeId} was returned`);
      this.#s.setVisitorBadgeInUse.run(at, badgeId);
      this.#journal.append({
        type: 'visitor_badge_in_use',
        at,
        person: vb.personId,
        actor,
        data: { badgeId, personId: vb.personId },
      });
      return this.#requireVisitorBadge(badgeId);
    });
  }

  /**
   * The visitor card came back (`actor` = who took it). The badge is revoked at once, so the card
   * opens nothing and can be issued again. Rows: `visitor_badge_returned` and, unless the badge was
   * already revoked, `badge_status_changed`. A returned badge cannot be returned again (`conflict`).
   */
  returnVisitorBadge(badgeId: string, actor: string, at: number, note?: string): VisitorBadge {
    parse(Id, badgeId, 'badgeId');
    const parsedNote = note === undefined ? null : parse(z.string().max(500), note, 'note');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const vb = this.#requireVisitorBadge(badgeId);
      if (vb.status === 'returned') {
        throw new RegistryError('conflict', `visitor badge ${badgeId} was already returned`);
      }
      this.#s.setVisitorBadgeReturned.run(at, actor, parsedNote, badgeId);
      this.#journal.append({
        type: 'visitor_badge_returned',
        at,
        person: vb.personId,
        actor,
        data: { badgeId, personId: vb.personId, note: parsedNote },
      });
      if (vb.badgeStatus !== 'revoked') {
        this.#s.setBadgeStatus.run('revoked', at, badgeId);
        this.#journal.append({
          type: 'badge_status_changed',
          at,
          person: vb.personId,
          actor,
          data: {
            badgeId,
            personId: vb.personId,
            from: vb.badgeStatus,
            status: 'revoked',
            reason: 'visitor badge returned',
          },
        });
      }
      return this.#requireVisitorBadge(badgeId);
    });
  }

  getVisitorBadge(badgeId: string): VisitorBadge | undefined {
    const row = this.#s.getVisitorBadge.get(badgeId);
    return row ? toVisitorBadge(row) : undefined;
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

  /** Visitor badges issued or in use, not returned yet: the cards still out. */
  listUnreturnedVisitorBadges(): VisitorBadge[] {
    return this.listVisitorBadges({ unreturned: true });
  }

  #requireVisitorBadge(badgeId: string): VisitorBadge {
    const row = this.#s.getVisitorBadge.get(badgeId);
    if (!row) throw new RegistryError('not_found', `no visitor badge ${badgeId}`);
    return toVisitorBadge(row);
  }

  // ---------------------------------------------------------------------------------------------
  // Who may escort visitors

  /**
   * Allows (or stops) a person to escort visitors (§7(1)②エ: staff permitted to enter). Only an
   * active staff member can be allowed; stopping always works. Setting the current value is a no-op
   * (no row); otherwise one `escort_permission_granted` / `escort_permission_revoked` row. Returns
   * the new value.
   */
  setMayEscort(personId: string, allowed: boolean, actor: string, at: number): boolean {
    parse(Id, personId, 'personId');
    parse(z.boolean(), allowed, 'allowed');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const person = this.#requirePerson(personId);
      const current = this.#s.getEscort.get(personId) !== undefined;
      if (current === allowed) return allowed;
      if (allowed) {
        if (person.category !== 'staff') {
          throw new RegistryError(
            'invalid_input',
            `${personId} is a ${person.category}; only staff may escort visitors`,
          );
        }
        if (!person.active) throw new RegistryError('conflict', `${personId} is inactive`);
        this.#s.insertEscort.run(personId, at, actor);
      } else {
        this.#s.deleteEscort.run(personId);
      }
      this.#journal.append({
        type: allowed ? 'escort_permission_granted' : 'escort_permission_revoked',
        at,
        person: personId,
        actor,
        data: { personId },
      });
      return allowed;
    });
  }

  /** Whether the person may escort visitors (the visit rules also require category staff). */
  mayEscort(personId: string): boolean {
    return this.#s.getEscort.get(personId) !== undefined;
  }

  /** The ids of everyone who may escort visitors. */
  listEscorts(): string[] {
    return this.#s.listEscorts.all().map((r) => r.person_id);
  }

  #requirePerson(id: string): Person {
    const row = this.#s.getPerson.get(id);
    if (!row) throw new RegistryError('not_found', `no person ${id}`);
    return toPerson(row);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw new RegistryError('invalid_input', `${path}: ${issue.message}`);
}

const PeopleFilterSchema = z.object({
  text: z.string().trim().min(1).max(100).optional(),
  categories: z.array(PersonCategory).min(1).max(PersonCategory.options.length).optional(),
  active: z.boolean().optional(),
  ids: z.array(Id).max(MAX_PEOPLE_PAGE).optional(),
});
const PeopleKeySchema = z.strictObject({ name: z.string().max(200), id: z.string().max(64) });
const PeoplePageQuerySchema = PeopleFilterSchema.extend({
  limit: z.number().int().min(1).max(MAX_PEOPLE_PAGE),
  after: PeopleKeySchema.optional(),
  before: PeopleKeySchema.optional(),
});

/**
 * The WHERE terms of a people filter, their parameters, and the filter's shape (which terms there
 * are: the statements are prepared once per shape). Equalities, so that SQLite can take the
 * category or active index in (name, id) order; a substring is a LIKE (ASCII case-insensitive).
 */
function peopleWhere(f: z.output<typeof PeopleFilterSchema>): {
  where: string[];
  params: Record<string, unknown>;
  shape: string;
} {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const shape: string[] = [];
  if (f.text !== undefined) {
    where.push("(name LIKE :text ESCAPE '\\' OR display_id LIKE :text ESCAPE '\\')");
    params.text = `%${f.text.replace(/[\\%_]/g, '\\$&')}%`;
    shape.push('t');
  }
  const categories = f.categories === undefined ? [] : [...new Set(f.categories)];
  if (categories.length > 0 && categories.length < PersonCategory.options.length) {
    where.push(
      categories.length === 1
        ? 'category = :c0'
        : `category IN (${categories.map((_, i) => `:c${i}`).join(', ')})`,
    );
    categories.forEach((c, i) => {
      params[`c${i}`] = c;
    });
    shape.push(`c${categories.length}`);
  }
  if (f.active !== undefined) {
    where.push('active = :active');
    params.active = f.active ? 1 : 0;
    shape.push('a');
  }
  if (f.ids !== undefined) {
    where.push('id IN (SELECT value FROM json_each(:ids))');
    params.ids = JSON.stringify(f.ids);
    shape.push('i');
  }
  return { where, params, shape: shape.join(',') };
}

/** Items grouped by their person, each group in the items' order. */
function byPerson<T extends { personId: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) {
    const of = out.get(x.personId);
    if (of) of.push(x);
    else out.set(x.personId, [x]);
  }
  return out;
}

/** A badge number as typed or pasted from its masked form (`••••3D4E`, `****3D4E`): the mask dropped. */
export function withoutMask(typed: string): string {
  return typed.replace(/^[•*]+/, '');
}

/** Runs a `… IN (SELECT value FROM json_each(?))` statement over distinct ids, 500 at a time. */
function byIds<R>(st: Database.Statement<[string], R>, ids: Iterable<string>): R[] {
  const list = [...new Set(ids)];
  const out: R[] = [];
  for (let i = 0; i < list.length; i += IDS_PER_QUERY)
    out.push(...st.all(JSON.stringify(list.slice(i, i + IDS_PER_QUERY))));
  return out;
}

function checkActorAt(actor: string, at: number): void {
  parse(Actor, actor, 'actor');
  parse(Millis, at, 'at');
}

function checkCredential(credential: string, what: string): void {
  if (credential.length === 0 || credential.length > 256 || credential.trim() !== credential) {
    throw new RegistryError(
      'invalid_input',
      `${what}.credential must be a normalised credential (1-256 characters, no surrounding spaces)`,
    );
  }
}

function checkWindow(from: number | null, until: number | null): void {
  if (from !== null && until !== null && until <= from) {
    throw new RegistryError('invalid_input', 'validUntil must be after validFrom');
  }
}

function parsePermission(personId: string, doorId: string, scheduleId: string): DoorPermission {
  return {
    personId: parse(Id, personId, 'personId'),
    doorId: parse(Id, doorId, 'doorId'),
    scheduleId: parse(Id, scheduleId, 'scheduleId'),
  };
}

function newId(prefix: 'p' | 'b'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

function toPersonParams(p: Person) {
  return {
    id: p.id,
    displayId: p.displayId,
    name: p.name,
    category: p.category,
    validFrom: p.validFrom,
    validUntil: p.validUntil,
    active: p.active ? 1 : 0,
    lockdownOverride: p.lockdownOverride ? 1 : 0,
  };
}

function toPerson(r: PersonRow): Person {
  return {
    id: r.id,
    displayId: r.display_id,
    name: r.name,
    category: r.category,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    active: r.active === 1,
    lockdownOverride: r.lockdown_override === 1,
  };
}

function toBadge(r: BadgeRow): Badge {
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

function toVisitorBadge(r: VisitorBadgeRow): VisitorBadge {
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
