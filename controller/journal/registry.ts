/**
 * People, badges and door permissions: ordinary tables over the journal's database. Every change
 * commits in one transaction with the journal row that records it and its actor, so the journal
 * can never lack a change nor record one that did not happen.
 *
 * Badge credentials are stored only as keyed hashes (HMAC-SHA-256 with the device secret) and a
 * masked suffix; the plain credential is never written to any table, journal row or error.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  type Badge,
  BadgeStatus,
  type DoorPermission,
  type Person,
  PersonCategory,
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
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal, options: { hmacKey: Buffer }) {
    if (!Buffer.isBuffer(options?.hmacKey) || options.hmacKey.length < 32) {
      throw new Error('Registry needs the device HMAC key (at least 32 bytes)');
    }
    this.#journal = journal;
    this.#hmacKey = options.hmacKey;
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

  /**
   * Enrols a badge for a person. `credential` is the normalised credential from the reader; only
   * its keyed hash and masked form are kept. A credential already on a live badge is refused.
   */
  addBadge(input: NewBadge, actor: string, at: number): Badge {
    const b = parse(NewBadgeSchema, input, 'badge');
    checkActorAt(actor, at);
    const { credential } = b;
    if (credential.length === 0 || credential.length > 256 || credential.trim() !== credential) {
      throw new RegistryError(
        'invalid_input',
        'badge.credential must be a normalised credential (1-256 characters, no surrounding spaces)',
      );
    }
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
    });
    return badge;
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

function checkActorAt(actor: string, at: number): void {
  parse(Actor, actor, 'actor');
  parse(Millis, at, 'at');
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
