/**
 * Escort rights: who may escort visitors (§7(1)②エ: staff permitted to enter). Each change commits
 * in one transaction with its `escort_permission_granted` / `escort_permission_revoked` row.
 */
import { z } from 'zod';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import { RegistryError } from './errors.js';
import type { People } from './people.js';
import { checkActorAt, Id, parse } from './validate.js';

export class Escorts {
  readonly #journal: Journal;
  readonly #people: People;
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal, people: People) {
    this.#journal = journal;
    this.#people = people;
    this.#s = {
      getEscort: db.prepare<[string], { person_id: string }>(
        'SELECT person_id FROM escorts WHERE person_id = ?',
      ),
      insertEscort: db.prepare<[string, number, string]>(
        'INSERT INTO escorts (person_id, granted_at, granted_by) VALUES (?, ?, ?)',
      ),
      deleteEscort: db.prepare<[string]>('DELETE FROM escorts WHERE person_id = ?'),
    };
  }

  /**
   * Allows (or stops) a person to escort visitors. Only an active staff member can be allowed;
   * stopping always works. Setting the current value is a no-op (no row); otherwise one
   * `escort_permission_granted` / `escort_permission_revoked` row. Returns the new value.
   */
  set(personId: string, allowed: boolean, actor: string, at: number): boolean {
    parse(Id, personId, 'personId');
    parse(z.boolean(), allowed, 'allowed');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const person = this.#people.require(personId);
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
  may(personId: string): boolean {
    return this.#s.getEscort.get(personId) !== undefined;
  }
}
