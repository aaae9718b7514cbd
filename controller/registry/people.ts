/**
 * People: who may hold badges, with their category, validity window and lockdown override. Each
 * change commits in one transaction with its `person_added` / `person_updated` row and actor.
 */
import { z } from 'zod';
import { type Person, PersonCategory } from '../domain/types.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import { RegistryError } from './errors.js';
import { type PersonRow, toPerson, toPersonParams } from './rows.js';
import { checkActorAt, checkWindow, Millis, Name, newId, parse, Reading } from './validate.js';

const NewPersonSchema = z.strictObject({
  displayId: Name,
  name: Name,
  category: PersonCategory,
  validFrom: Millis.nullable().optional(),
  validUntil: Millis.nullable().optional(),
  lockdownOverride: z.boolean().optional(),
  /** フリガナ; null or absent: none. */
  reading: Reading.nullable().optional(),
});
export type NewPerson = z.input<typeof NewPersonSchema>;

const PersonPatchSchema = z.strictObject({
  displayId: Name.optional(),
  name: Name.optional(),
  category: PersonCategory.optional(),
  validFrom: Millis.nullable().optional(),
  validUntil: Millis.nullable().optional(),
  active: z.boolean().optional(),
  lockdownOverride: z.boolean().optional(),
  /** フリガナ; null removes it. */
  reading: Reading.nullable().optional(),
});
export type PersonPatch = z.input<typeof PersonPatchSchema>;

const PATCH_FIELDS = [
  'displayId',
  'name',
  'category',
  'validFrom',
  'validUntil',
  'active',
  'lockdownOverride',
  'reading',
] as const;

export class People {
  readonly #journal: Journal;
  readonly #s;

  constructor(db: SqliteDatabase, journal: Journal) {
    this.#journal = journal;
    this.#s = {
      insertPerson: db.prepare(
        `INSERT INTO people (id, display_id, name, category, valid_from, valid_until, active, lockdown_override,
                             reading, reading_key, created_at, updated_at)
         VALUES (@id, @displayId, @name, @category, @validFrom, @validUntil, @active, @lockdownOverride,
                 @reading, @readingKey, @at, @at)`,
      ),
      updatePerson: db.prepare(
        `UPDATE people SET display_id = @displayId, name = @name, category = @category, valid_from = @validFrom,
           valid_until = @validUntil, active = @active, lockdown_override = @lockdownOverride,
           reading = @reading, reading_key = @readingKey, updated_at = @at
         WHERE id = @id`,
      ),
      getPerson: db.prepare<[string], PersonRow>('SELECT * FROM people WHERE id = ?'),
      // The index on display_id NOCASE; visitors' pass numbers are not ID card numbers.
      holderOf: db.prepare<[string, string], PersonRow>(
        `SELECT * FROM people WHERE display_id = ? COLLATE NOCASE AND category <> 'visitor' AND id <> ?
         ORDER BY active DESC, created_at LIMIT 1`,
      ),
    };
  }

  add(input: NewPerson, actor: string, at: number): Person {
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
      ...(p.reading ? { reading: p.reading } : {}),
    };
    checkWindow(person.validFrom, person.validUntil);
    this.#journal.transaction(() => this.insert(person, actor, at));
    return person;
  }

  /** Inside a transaction: insert the person and its `person_added` row. */
  insert(person: Person, actor: string, at: number): void {
    this.refuseDuplicateIdCard(person);
    this.#s.insertPerson.run({ ...toPersonParams(person), at });
    this.#journal.append({ type: 'person_added', at, person: person.id, actor, data: { ...person } });
  }

  /** Applies the patch; returns the person. A patch that changes nothing writes nothing. */
  update(id: string, patch: PersonPatch, actor: string, at: number): Person {
    const p = parse(PersonPatchSchema, patch, 'person patch');
    checkActorAt(actor, at);
    return this.#journal.transaction(() => {
      const current = this.require(id);
      const next: Person = { ...current };
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const field of PATCH_FIELDS) {
        const value = p[field];
        const was = current[field] ?? null; // a person without a reading has none: null
        if (value === undefined || value === was) continue;
        changes[field] = { from: was, to: value };
        if (value === null && field === 'reading') delete next.reading;
        else (next as unknown as Record<string, unknown>)[field] = value;
      }
      if (Object.keys(changes).length === 0) return current;
      if (changes.displayId || changes.category) this.refuseDuplicateIdCard(next);
      checkWindow(next.validFrom, next.validUntil);
      this.#s.updatePerson.run({ ...toPersonParams(next), at });
      this.#journal.append({ type: 'person_updated', at, person: id, actor, data: { id, changes } });
      return next;
    });
  }

  /**
   * Two staff members or contractors never share an ID card number (compared without regard to
   * ASCII case): the refusal names who holds it. Visitors are exempt (a pass number is reused).
   * Duplicates from before this rule stay as they are; `sekisho doctor` lists them.
   */
  refuseDuplicateIdCard(person: Person): void {
    if (person.category === 'visitor') return;
    const holder = this.#s.holderOf.get(person.displayId, person.id);
    if (!holder) return;
    const state = holder.active === 1 ? '' : ', inactive';
    throw new RegistryError(
      'duplicate_id_card',
      `ID card number ${person.displayId} is already held by ${holder.name} (${holder.display_id}, ` +
        `${holder.category}${state}); two people cannot share one ID card number`,
      { name: holder.name, displayId: holder.display_id },
    );
  }

  /** On the door's path: one primary-key read. */
  get(id: string): Person | undefined {
    const row = this.#s.getPerson.get(id);
    return row ? toPerson(row) : undefined;
  }

  /** The person, or `not_found`. */
  require(id: string): Person {
    const row = this.#s.getPerson.get(id);
    if (!row) throw new RegistryError('not_found', `no person ${id}`);
    return toPerson(row);
  }
}
