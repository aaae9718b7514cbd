/**
 * Badges: a person's credentials, stored only as a keyed hash (HMAC-SHA-256 with the device secret)
 * and a masked suffix. Each change commits in one transaction with its `badge_added` /
 * `badge_status_changed` row and actor. The lookup by credential is on the door's path.
 */
import { z } from 'zod';
import { type Badge, BadgeStatus } from '../domain/types.js';
import { badgeStatusChange } from '../domain/visitor-requests.js';
import { credentialHash, type Journal, maskCredential, type SqliteDatabase } from '../journal/index.js';
import { RegistryError } from './errors.js';
import type { People } from './people.js';
import { type BadgeRow, toBadge } from './rows.js';
import { checkActorAt, checkCredential, checkWindow, Id, Millis, newId, parse } from './validate.js';

const NewBadgeSchema = z.strictObject({
  personId: Id,
  credential: z.string(),
  validFrom: Millis.nullable().optional(),
  validUntil: Millis.nullable().optional(),
});
export type NewBadge = z.input<typeof NewBadgeSchema>;

/** A badge to enrol from a sealed credential: its keyed hash and masked suffix, never the number. */
export interface SealedBadgeInput {
  personId: string;
  credentialHash: string;
  masked: string;
  validFrom: number | null;
  validUntil: number | null;
}

export class Badges {
  readonly #journal: Journal;
  readonly #hmacKey: Buffer;
  readonly #people: People;
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal, hmacKey: Buffer, people: People) {
    this.#journal = journal;
    this.#hmacKey = hmacKey;
    this.#people = people;
    this.#s = {
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
    };
  }

  /**
   * Enrols a badge for a person. `credential` is the normalised credential from the reader; only
   * its keyed hash and masked form are kept. A credential already on a live badge is refused.
   */
  add(input: NewBadge, actor: string, at: number): Badge {
    const b = parse(NewBadgeSchema, input, 'badge');
    checkActorAt(actor, at);
    const { credential } = b;
    checkCredential(credential, 'badge');
    const badge = this.newBadge(b.personId, credential, b.validFrom ?? null, b.validUntil ?? null);
    checkWindow(badge.validFrom, badge.validUntil);
    this.#journal.transaction(() => {
      this.#people.require(badge.personId);
      this.insert(badge, actor, at);
    });
    return badge;
  }

  /**
   * What a badge enrolment request carries instead of the card number (which is never stored): the
   * keyed hash and masked suffix of a checked credential, for `addHashed` once it is approved.
   */
  seal(credential: string): { credentialHash: string; masked: string } {
    checkCredential(credential, 'badge');
    return { credentialHash: credentialHash(this.#hmacKey, credential), masked: maskCredential(credential) };
  }

  /** Enrols a badge from a sealed credential (see `seal`), as `add` does. */
  addHashed(input: SealedBadgeInput, actor: string, at: number): Badge {
    checkActorAt(actor, at);
    if (!/^[0-9a-f]{64}$/.test(input.credentialHash))
      throw new RegistryError('invalid_input', 'badge.credentialHash must be a keyed hash (64 hex digits)');
    const badge: Badge = {
      id: newId('b'),
      personId: input.personId,
      credentialHash: input.credentialHash,
      masked: input.masked,
      status: 'active',
      validFrom: input.validFrom,
      validUntil: input.validUntil,
    };
    checkWindow(badge.validFrom, badge.validUntil);
    this.#journal.transaction(() => {
      this.#people.require(badge.personId);
      this.insert(badge, actor, at);
    });
    return badge;
  }

  /** A new active badge (not yet stored) for a checked credential. */
  newBadge(personId: string, credential: string, validFrom: number | null, validUntil: number | null): Badge {
    return {
      id: newId('b'),
      personId,
      credentialHash: credentialHash(this.#hmacKey, credential),
      masked: maskCredential(credential),
      status: 'active',
      validFrom,
      validUntil,
    };
  }

  /** Inside a transaction: refuse a live duplicate, insert the badge and its `badge_added` row. */
  insert(badge: Badge, actor: string, at: number): void {
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

  get(id: string): Badge | undefined {
    const row = this.#s.getBadge.get(id);
    return row ? toBadge(row) : undefined;
  }

  /**
   * The badge for a normalised credential: the live one if any, else the latest revoked one (so
   * the door can say "revoked" rather than "unknown"). One index lookup on the keyed hash.
   */
  findByCredential(credential: string): Badge | undefined {
    return this.findByHash(credentialHash(this.#hmacKey, credential));
  }

  findByHash(hash: string): Badge | undefined {
    const row = this.#s.badgeByHash.get(hash);
    return row ? toBadge(row) : undefined;
  }

  /**
   * Marks a badge lost or revoked. Takes effect at once, needs no approval. Revoked is final: issue a
   * new badge instead. A lost badge is never made active again here (a found card is `found`, then
   * enrolled again through a request). Setting the current status is a no-op.
   */
  setStatus(badgeId: string, status: BadgeStatus, actor: string, at: number, reason?: string): Badge {
    const parsedStatus = parse(BadgeStatus, status, 'status');
    const parsedReason = reason === undefined ? null : parse(z.string().max(500), reason, 'reason');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const row = this.#s.getBadge.get(badgeId);
      if (!row) throw new RegistryError('not_found', `no badge ${badgeId}`);
      const change = badgeStatusChange(row.status, parsedStatus);
      if (change === 'noop') return toBadge(row);
      if (change === 'final') {
        throw new RegistryError('conflict', `badge ${badgeId} is revoked, which is final; issue a new badge`);
      }
      if (change === 'not_silently') {
        throw new RegistryError(
          'conflict',
          `badge ${badgeId} is lost: a found card never becomes valid by itself; mark it found, then enrol the card again (a request another person approves)`,
        );
      }
      this.changeStatus(badgeId, row.person_id, row.status, parsedStatus, parsedReason, actor, at);
      return { ...toBadge(row), status: parsedStatus };
    });
  }

  /** Inside a transaction: set the status and write its `badge_status_changed` row. */
  changeStatus(
    badgeId: string,
    personId: string,
    from: BadgeStatus,
    status: BadgeStatus,
    reason: string | null,
    actor: string,
    at: number,
  ): void {
    this.#s.setBadgeStatus.run(status, at, badgeId);
    this.#journal.append({
      type: 'badge_status_changed',
      at,
      person: personId,
      actor,
      data: { badgeId, personId, from, status, reason },
    });
  }
}
