/**
 * Counts for the metrics and the compliance view, done in SQL instead of loading the registry.
 * Reads only.
 */
import type { SqliteDatabase } from '../../journal/index.js';
import { Millis, parse } from '../validate.js';

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

export class CountsView {
  readonly #s;

  constructor(db: SqliteDatabase) {
    this.#s = {
      // One index range per category (people_category_name holds `active`): no table scan.
      countPeople: db.prepare<[], { category: string; n: number }>(
        `SELECT category, COUNT(*) AS n FROM people
         WHERE category IN ('staff', 'contractor', 'visitor') AND active = 1 GROUP BY category`,
      ),
      countBadges: db.prepare<[], { status: string; n: number }>(
        'SELECT status, COUNT(*) AS n FROM badges GROUP BY status',
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
    };
  }

  /** How many active people there are of each category (a count, not the rows: for metrics). */
  activePeople(): Record<string, number> {
    return Object.fromEntries(this.#s.countPeople.all().map((r) => [r.category, r.n]));
  }

  /** How many badges there are in each status. */
  badges(): Record<string, number> {
    return Object.fromEntries(this.#s.countBadges.all().map((r) => [r.status, r.n]));
  }

  /**
   * Lost badges, and the people and badges expired or overdue at `now`: counted in SQL (one read
   * of each table), for the compliance view, instead of loading the registry.
   */
  attention(now: number): AttentionCounts {
    parse(Millis, now, 'now');
    const badges = this.#s.badgeAttention.get(now)!;
    return {
      lostBadges: badges.lost ?? 0,
      expiredPeople: this.#s.expiredPeople.get(now)!.n,
      expiredBadges: badges.expired ?? 0,
      overdueVisitors: this.#s.overdueVisitors.get(now)!.n,
    };
  }
}
