/**
 * Door permissions: a person may pass a door under a named schedule (ids from the config, checked by
 * the caller). Each change commits in one transaction with its `permission_granted` /
 * `permission_revoked` row and actor. A person's permissions are read on the door's path.
 */
import type { DoorPermission } from '../domain/types.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import { RegistryError } from './errors.js';
import type { People } from './people.js';
import type { PermissionRow } from './rows.js';
import { checkActorAt, Id, parse, parsePermission } from './validate.js';

export class Permissions {
  readonly #journal: Journal;
  readonly #people: People;
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal, people: People) {
    this.#journal = journal;
    this.#people = people;
    this.#s = {
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

  /** Allows a person through a door under a named schedule. */
  grant(personId: string, doorId: string, scheduleId: string, actor: string, at: number): DoorPermission {
    const ids = parsePermission(personId, doorId, scheduleId);
    checkActorAt(actor, at);
    this.#journal.transaction(() => {
      this.#people.require(personId);
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
  revoke(personId: string, doorId: string, actor: string, at: number, scheduleId?: string): DoorPermission[] {
    parse(Id, personId, 'personId');
    parse(Id, doorId, 'doorId');
    if (scheduleId !== undefined) parse(Id, scheduleId, 'scheduleId');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const removed = this.of(personId).filter(
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

  /** A person's permissions, by door then schedule: one index range. */
  of(personId: string): DoorPermission[] {
    return this.#s.permissionsFor
      .all(personId)
      .map((r) => ({ personId: r.person_id, doorId: r.door_id, scheduleId: r.schedule_id }));
  }
}
