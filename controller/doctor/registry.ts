/** doctor's registry check: ID card numbers held by more than one person (from before the rule). */
import { visibleText } from '../domain/index.js';
import type { Storage } from '../storage.js';
import type { Add } from './check.js';

/** At most this many numbers are named; the rest are counted. */
const SHOWN = 10;

export /**
 * Two staff members or contractors with one ID card number (compared without regard to ASCII case)
 * were possible before the registry refused them. The controller starts with them; doctor names
 * them so that an administrator corrects one (People page, or the API's PATCH).
 */
function registryChecks(s: Storage, add: Add): void {
  try {
    const rows = s.db
      .prepare<[], { id_card: string; names: string; n: number }>(
        `SELECT MIN(display_id) AS id_card, group_concat(name, '、') AS names, COUNT(*) AS n
         FROM people WHERE category <> 'visitor'
         GROUP BY display_id COLLATE NOCASE HAVING COUNT(*) > 1 ORDER BY id_card`,
      )
      .all();
    if (rows.length === 0) {
      add('OK', 'ID card numbers', 'each held by one person');
      return;
    }
    const shown = rows.slice(0, SHOWN).map((r) => visibleText(`${r.id_card} (${r.n}: ${r.names})`));
    const more = rows.length > SHOWN ? ` and ${rows.length - SHOWN} more` : '';
    add(
      'WARN',
      'ID card numbers',
      `${rows.length} held by more than one person: ${shown.join('; ')}${more} — give each person their own ` +
        'ID on the People page; new duplicates are refused (docs/operations.md, "People and cards")',
    );
  } catch (err) {
    add('FAIL', 'ID card numbers', (err as Error).message);
  }
}
