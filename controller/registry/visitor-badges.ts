/**
 * Visitor badges: a temporary badge on a visitor card, with its visit (host, purpose, equipment,
 * doors) and its life: issued → in use → returned. Each change commits in one transaction with its
 * `visitor_badge_*` row (and the person and badge rows it implies) and actor.
 */
import { z } from 'zod';
import type { Person } from '../domain/types.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import type { Badges } from './badges.js';
import { RegistryError } from './errors.js';
import type { People } from './people.js';
import { toVisitorBadge, VISITOR_BADGE_SELECT, type VisitorBadge, type VisitorBadgeRow } from './rows.js';
import {
  checkActorAt,
  checkCredential,
  checkWindow,
  Id,
  Millis,
  Name,
  newId,
  parse,
  Text,
} from './validate.js';

const NewVisitorBadgeSchema = z
  .strictObject({
    /** A visitor already registered (category `visitor`) … */
    personId: Id.optional(),
    /** … or a new one, added with the badge. */
    visitor: z.strictObject({ displayId: Name, name: Name }).optional(),
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

export class VisitorBadges {
  readonly #journal: Journal;
  readonly #people: People;
  readonly #badges: Badges;
  readonly #visitorBadgeUntil: (validFrom: number) => number;
  readonly #s;

  constructor(
    db: SqliteDatabase,
    journal: Journal,
    people: People,
    badges: Badges,
    visitorBadgeUntil: (validFrom: number) => number,
  ) {
    this.#journal = journal;
    this.#people = people;
    this.#badges = badges;
    this.#visitorBadgeUntil = visitorBadgeUntil;
    this.#s = {
      insertVisitorBadge: db.prepare(
        `INSERT INTO visitor_badges (badge_id, person_id, host_id, purpose, equipment, doors, status, issued_at, issued_by)
         VALUES (@badgeId, @personId, @hostId, @purpose, @equipment, @doors, 'issued', @at, @actor)`,
      ),
      getVisitorBadge: db.prepare<[string], VisitorBadgeRow>(`${VISITOR_BADGE_SELECT} WHERE v.badge_id = ?`),
      setVisitorBadgeInUse: db.prepare<[number, string]>(
        "UPDATE visitor_badges SET status = 'in_use', in_use_at = ? WHERE badge_id = ?",
      ),
      setVisitorBadgeReturned: db.prepare<[number, string, string | null, string]>(
        "UPDATE visitor_badges SET status = 'returned', returned_at = ?, returned_by = ?, return_note = ? WHERE badge_id = ?",
      ),
    };
  }

  /**
   * Issues a visitor badge: a temporary badge on a visitor card with a validity window (default:
   * from now until the end of the day, see `RegistryOptions.visitorBadgeUntil`), a host (an active
   * staff member), a purpose, the equipment declared for carry-in and optionally the doors of the
   * visit. The visitor is a registered person of category `visitor` or is added with the badge.
   * Rows, in one transaction with the actor: [`person_added`], `badge_added`, `visitor_badge_issued`.
   */
  issue(input: NewVisitorBadge, actor: string, at: number): VisitorBadge {
    const v = parse(NewVisitorBadgeSchema, input, 'visitor badge');
    checkActorAt(actor, at);
    checkCredential(v.credential, 'visitor badge');
    const validFrom = v.validFrom === undefined ? at : v.validFrom;
    const validUntil = v.validUntil ?? this.#visitorBadgeUntil(validFrom ?? at);
    if (validUntil <= at)
      throw new RegistryError('invalid_input', 'visitor badge.validUntil must be in the future');
    checkWindow(validFrom, validUntil);
    return this.#journal.transaction(() => {
      const host = this.#people.require(v.hostId);
      if (host.category !== 'staff') {
        throw new RegistryError(
          'invalid_input',
          `host ${host.id} is a ${host.category}; a visit's host must be staff`,
        );
      }
      if (!host.active) throw new RegistryError('conflict', `host ${host.id} is inactive`);
      let personId: string;
      if (v.personId !== undefined) {
        const visitor = this.#people.require(v.personId);
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
        this.#people.insert(visitor, actor, at);
        personId = visitor.id;
      }
      const badge = this.#badges.newBadge(personId, v.credential, validFrom, validUntil);
      this.#badges.insert(badge, actor, at);
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
      return this.#require(badge.id);
    });
  }

  /**
   * Issued → in use: the visitor has the card (handed over at reception, or first used at a door —
   * the controller calls this with actor `controller`). Already in use: no change, no row.
   */
  markInUse(badgeId: string, actor: string, at: number): VisitorBadge {
    parse(Id, badgeId, 'badgeId');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const vb = this.#require(badgeId);
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
      return this.#require(badgeId);
    });
  }

  /**
   * The visitor card came back (`actor` = who took it). The badge is revoked at once, so the card
   * opens nothing and can be issued again. Rows: `visitor_badge_returned` and, unless the badge was
   * already revoked, `badge_status_changed`. A returned badge cannot be returned again (`conflict`).
   */
  returnBadge(badgeId: string, actor: string, at: number, note?: string): VisitorBadge {
    parse(Id, badgeId, 'badgeId');
    const parsedNote = note === undefined ? null : parse(z.string().max(500), note, 'note');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const vb = this.#require(badgeId);
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
        this.#badges.changeStatus(
          badgeId,
          vb.personId,
          vb.badgeStatus,
          'revoked',
          'visitor badge returned',
          actor,
          at,
        );
      }
      return this.#require(badgeId);
    });
  }

  get(badgeId: string): VisitorBadge | undefined {
    const row = this.#s.getVisitorBadge.get(badgeId);
    return row ? toVisitorBadge(row) : undefined;
  }

  #require(badgeId: string): VisitorBadge {
    const row = this.#s.getVisitorBadge.get(badgeId);
    if (!row) throw new RegistryError('not_found', `no visitor badge ${badgeId}`);
    return toVisitorBadge(row);
  }
}
