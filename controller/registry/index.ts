/**
 * The registry: people, badges and door permissions, visitor badges and who may escort, in ordinary
 * tables over the journal's database. Every change commits in one transaction with the journal
 * row(s) that record it and its actor, so the journal can never lack a change nor record one that
 * did not happen.
 *
 * Badge credentials are stored only as keyed hashes (HMAC-SHA-256 with the device secret) and a
 * masked suffix; the plain credential is never written to any table, journal row or error.
 *
 * One module per aggregate holds its writes and its lookups (those on the door's path among them);
 * `views/` holds the dashboard's read models (pages, search, counts). `Registry` is the facade the
 * callers use.
 */
import { endOfLocalDay } from '../domain/local-day.js';
import type { Badge, BadgeStatus, DoorPermission, Person, PersonCategory } from '../domain/types.js';
import { foundBadgeStatus } from '../domain/visitor-requests.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import { Badges, type NewBadge, type SealedBadgeInput } from './badges.js';
import { RegistryError } from './errors.js';
import { Escorts } from './escorts.js';
import { type NewPerson, People, type PersonPatch } from './people.js';
import { Permissions } from './permissions.js';
import type { VisitorBadge } from './rows.js';
import { type AttentionCounts, CountsView } from './views/counts.js';
import {
  type BadgeFilter,
  type BadgeMatch,
  HoldingsView,
  type VisitorBadgeFilter,
} from './views/holdings.js';
import { type PeopleFilter, type PeoplePage, type PeoplePageQuery, PeopleView } from './views/people.js';
import { type NewVisitorBadge, VisitorBadges } from './visitor-badges.js';

export type { NewBadge, SealedBadgeInput } from './badges.js';
export { RegistryError, type RegistryErrorCode } from './errors.js';
export type { NewPerson, PersonPatch } from './people.js';
export { REGISTRY_RECORD_TYPES, type RegistryRecordType } from './record-types.js';
export type { VisitorBadge } from './rows.js';
export type { AttentionCounts } from './views/counts.js';
export { type BadgeFilter, type BadgeMatch, type VisitorBadgeFilter, withoutMask } from './views/holdings.js';
export {
  MAX_PEOPLE_PAGE,
  type PeopleFilter,
  type PeopleKey,
  type PeoplePage,
  type PeoplePageQuery,
} from './views/people.js';
export type { NewVisitorBadge } from './visitor-badges.js';

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

/** The registry's one surface: each method is its aggregate's or its view's (documented there). */
export class Registry {
  readonly #people: People;
  readonly #badges: Badges;
  readonly #permissions: Permissions;
  readonly #visitorBadges: VisitorBadges;
  readonly #escorts: Escorts;
  readonly #peopleView: PeopleView;
  readonly #holdings: HoldingsView;
  readonly #counts: CountsView;
  readonly #journal: Journal;

  constructor(db: SqliteDatabase, journal: Journal, options: RegistryOptions) {
    this.#journal = journal;
    if (!Buffer.isBuffer(options?.hmacKey) || options.hmacKey.length < 32) {
      throw new Error('Registry needs the device HMAC key (at least 32 bytes)');
    }
    const timeZone = options.timeZone ?? 'Asia/Tokyo';
    const visitorBadgeUntil = options.visitorBadgeUntil ?? ((at: number) => endOfLocalDay(at, timeZone));
    this.#people = new People(db, journal);
    this.#badges = new Badges(db, journal, options.hmacKey, this.#people);
    this.#permissions = new Permissions(db, journal, this.#people);
    this.#visitorBadges = new VisitorBadges(db, journal, this.#people, this.#badges, visitorBadgeUntil);
    this.#escorts = new Escorts(db, journal, this.#people);
    this.#peopleView = new PeopleView(db);
    this.#holdings = new HoldingsView(db);
    this.#counts = new CountsView(db);
  }

  // People

  addPerson(input: NewPerson, actor: string, at: number): Person {
    return this.#people.add(input, actor, at);
  }

  updatePerson(id: string, patch: PersonPatch, actor: string, at: number): Person {
    return this.#people.update(id, patch, actor, at);
  }

  getPerson(id: string): Person | undefined {
    return this.#people.get(id);
  }

  // Badges

  addBadge(input: NewBadge, actor: string, at: number): Badge {
    return this.#badges.add(input, actor, at);
  }

  /** The keyed hash and masked suffix of a credential, for a badge enrolment request. */
  sealCredential(credential: string): { credentialHash: string; masked: string } {
    return this.#badges.seal(credential);
  }

  /** Enrols a badge from a sealed credential (an approved enrolment request). */
  addSealedBadge(input: SealedBadgeInput, actor: string, at: number): Badge {
    return this.#badges.addHashed(input, actor, at);
  }

  getBadge(id: string): Badge | undefined {
    return this.#badges.get(id);
  }

  findBadgeByCredential(credential: string): Badge | undefined {
    return this.#badges.findByCredential(credential);
  }

  findBadgeByHash(hash: string): Badge | undefined {
    return this.#badges.findByHash(hash);
  }

  setBadgeStatus(badgeId: string, status: BadgeStatus, actor: string, at: number, reason?: string): Badge {
    return this.#badges.setStatus(badgeId, status, actor, at, reason);
  }

  /**
   * A lost badge was found (`note`: where, by whom). It is not valid again: it becomes revoked
   * (final) and its card opens nothing until enrolled again through a request; a visitor card is
   * taken back too. Rows in one transaction: `badge_status_changed` (or, for a visitor card,
   * `visitor_badge_returned` and `badge_status_changed`), then `badge_found`. Only a lost badge can
   * be found (`conflict` otherwise).
   */
  markBadgeFound(badgeId: string, note: string, actor: string, at: number): Badge {
    const text = note.trim();
    if (text === '' || text.length > 500)
      throw new RegistryError(
        'invalid_input',
        'found: say where and by whom the card was found (1–500 characters)',
      );
    return this.#journal.transaction(() => {
      const badge = this.#badges.get(badgeId);
      if (!badge) throw new RegistryError('not_found', `no badge ${badgeId}`);
      const to = foundBadgeStatus(badge.status);
      if (to === null)
        throw new RegistryError(
          'conflict',
          `badge ${badgeId} is ${badge.status}: only a lost badge can be found`,
        );
      const vb = this.#visitorBadges.get(badgeId);
      if (vb && vb.status !== 'returned')
        this.#visitorBadges.returnBadge(badgeId, actor, at, `found: ${text}`);
      else this.#badges.changeStatus(badgeId, badge.personId, badge.status, to, `found: ${text}`, actor, at);
      this.#journal.append({
        type: 'badge_found',
        at,
        person: badge.personId,
        actor,
        data: { badgeId, personId: badge.personId, note: text, status: to },
      });
      return this.#badges.get(badgeId)!;
    });
  }

  // Door permissions

  grantDoor(personId: string, doorId: string, scheduleId: string, actor: string, at: number): DoorPermission {
    return this.#permissions.grant(personId, doorId, scheduleId, actor, at);
  }

  revokeDoor(
    personId: string,
    doorId: string,
    actor: string,
    at: number,
    scheduleId?: string,
  ): DoorPermission[] {
    return this.#permissions.revoke(personId, doorId, actor, at, scheduleId);
  }

  permissionsFor(personId: string): DoorPermission[] {
    return this.#permissions.of(personId);
  }

  // Visitor badges

  issueVisitorBadge(input: NewVisitorBadge, actor: string, at: number): VisitorBadge {
    return this.#visitorBadges.issue(input, actor, at);
  }

  markVisitorBadgeInUse(badgeId: string, actor: string, at: number): VisitorBadge {
    return this.#visitorBadges.markInUse(badgeId, actor, at);
  }

  returnVisitorBadge(badgeId: string, actor: string, at: number, note?: string): VisitorBadge {
    return this.#visitorBadges.returnBadge(badgeId, actor, at, note);
  }

  getVisitorBadge(badgeId: string): VisitorBadge | undefined {
    return this.#visitorBadges.get(badgeId);
  }

  // Escort rights

  setMayEscort(personId: string, allowed: boolean, actor: string, at: number): boolean {
    return this.#escorts.set(personId, allowed, actor, at);
  }

  mayEscort(personId: string): boolean {
    return this.#escorts.may(personId);
  }

  // Read models: people

  listPeople(): Person[] {
    return this.#peopleView.list();
  }

  searchPeople(query: string, limit = 20, categories?: readonly PersonCategory[]): Person[] {
    return this.#peopleView.search(query, limit, categories);
  }

  pagePeople(query: PeoplePageQuery): PeoplePage {
    return this.#peopleView.page(query);
  }

  countPeople(filter: PeopleFilter = {}): number {
    return this.#peopleView.count(filter);
  }

  getPeople(ids: Iterable<string>): Map<string, Person> {
    return this.#peopleView.getMany(ids);
  }

  findPeopleById(identifier: string, limit = 50): Person[] {
    return this.#peopleView.findById(identifier, limit);
  }

  // Read models: what people hold

  listBadges(filter: BadgeFilter = {}): Badge[] {
    return this.#holdings.listBadges(filter);
  }

  findBadges(match: BadgeMatch, limit = 50): Badge[] {
    return this.#holdings.findBadges(match, limit);
  }

  findTypedBadges(typed: string, limit = 50): Badge[] {
    return this.#holdings.findTypedBadges(typed, limit);
  }

  badgesOf(personIds: Iterable<string>): Map<string, Badge[]> {
    return this.#holdings.badgesOf(personIds);
  }

  permissionsOf(personIds: Iterable<string>): Map<string, DoorPermission[]> {
    return this.#holdings.permissionsOf(personIds);
  }

  escortsAmong(personIds: Iterable<string>): Set<string> {
    return this.#holdings.escortsAmong(personIds);
  }

  listEscorts(): string[] {
    return this.#holdings.listEscorts();
  }

  listVisitorBadges(filter: VisitorBadgeFilter = {}): VisitorBadge[] {
    return this.#holdings.listVisitorBadges(filter);
  }

  /** Visitor badges issued or in use, not returned yet: the cards still out. */
  listUnreturnedVisitorBadges(): VisitorBadge[] {
    return this.#holdings.listVisitorBadges({ unreturned: true });
  }

  // Read models: counts

  countActivePeople(): Record<string, number> {
    return this.#counts.activePeople();
  }

  countBadges(): Record<string, number> {
    return this.#counts.badges();
  }

  attentionCounts(now: number): AttentionCounts {
    return this.#counts.attention(now);
  }
}
