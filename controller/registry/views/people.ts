/**
 * The dashboard's read model of people: keyset pages in the registry's order (name, then id),
 * filters, search and counts, and the batch lookups a page needs. Reads only.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { readingQuery } from '../../domain/romaji.js';
import { type Person, PersonCategory } from '../../domain/types.js';
import type { SqliteDatabase } from '../../journal/index.js';
import { RegistryError } from '../errors.js';
import { byIds, type PersonRow, toPerson } from '../rows.js';
import { Id, parse } from '../validate.js';

/** The most people a page (or a `PeopleFilter.ids`) holds. */
export const MAX_PEOPLE_PAGE = 500;

/** Which people a list or a count is about; every field narrows it. */
export interface PeopleFilter {
  /**
   * Part of the name or display id (ASCII letters case-insensitively), or of the reading typed in
   * kana or romaji (domain/romaji.ts); at most 100 characters.
   */
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

export class PeopleView {
  readonly #db: SqliteDatabase;
  /** The people queries by the shape of their filter (a handful of shapes, each prepared once). */
  readonly #peopleStatements = new Map<string, Database.Statement<Record<string, unknown>, PersonRow>>();
  readonly #countStatements = new Map<string, Database.Statement<Record<string, unknown>, { n: number }>>();
  readonly #s;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#s = {
      listPeople: db.prepare<[], PersonRow>('SELECT * FROM people ORDER BY name, id'),
      getPeople: db.prepare<[string], PersonRow>(
        'SELECT * FROM people WHERE id IN (SELECT value FROM json_each(?))',
      ),
      peopleById: db.prepare<{ id: string; displayId: string; limit: number }, PersonRow>(
        `SELECT * FROM people WHERE id IN (
           SELECT id FROM people WHERE id = :id
           UNION SELECT id FROM people WHERE display_id = :displayId COLLATE NOCASE)
         ORDER BY name, id LIMIT :limit`,
      ),
    };
  }

  /** Everyone, by name then id. */
  list(): Person[] {
    return this.#s.listPeople.all().map(toPerson);
  }

  /**
   * Active people whose name or display id contains `query` (case-insensitive for ASCII), by name,
   * at most `limit` (1–100), optionally only of some categories: for pickers, which must not load a
   * registry of 100,000 people into a page.
   */
  search(query: string, limit = 20, categories?: readonly PersonCategory[]): Person[] {
    const text = query.trim();
    if (text === '') return [];
    return this.page({
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
  page(query: PeoplePageQuery): PeoplePage {
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
  count(filter: PeopleFilter = {}): number {
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
  getMany(ids: Iterable<string>): Map<string, Person> {
    return new Map(byIds(this.#s.getPeople, ids).map((r) => [r.id, toPerson(r)]));
  }

  /**
   * The people a typed identifier names exactly: their id, or their display id in any case (ASCII).
   * By name, at most `limit` (display ids need not be unique).
   */
  findById(identifier: string, limit = 50): Person[] {
    const s = identifier.trim();
    if (s === '') return [];
    return this.#s.peopleById
      .all({ id: s, displayId: s, limit: Math.max(1, Math.min(MAX_PEOPLE_PAGE, Math.trunc(limit))) })
      .map(toPerson);
  }
}

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
    where.push(
      "(name LIKE :text ESCAPE '\\' OR display_id LIKE :text ESCAPE '\\' OR reading LIKE :kana ESCAPE '\\' OR reading_key LIKE :key)",
    );
    // Names are stored NFC (domain/text.ts): a query typed decomposed still finds them.
    params.text = `%${escapeLike(f.text.normalize('NFC'))}%`;
    // Kana in either script finds the reading; kana or romaji (however spelt) its romaji key. A
    // query that is neither binds NULL, which matches nothing.
    const { kana, key } = readingQuery(f.text);
    params.kana = kana === null ? null : `%${escapeLike(kana)}%`;
    params.key = key === null ? null : `%${key}%`;
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

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
