/** doctor names the ID card numbers an older registry gave to more than one person. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registryChecks } from '../../controller/doctor/registry.js';
import type { Storage } from '../../controller/storage.js';
import { openJournal, T0, tempDir } from '../journal/helpers.js';

function run(db: Storage['db']) {
  const out: [string, string, string][] = [];
  registryChecks({ db } as Storage, (verdict, what, detail) => out.push([verdict, what, detail]));
  return out;
}

describe('doctor: ID card numbers', () => {
  it('is OK when each number has one holder, and warns, naming them, when one has two', () => {
    const { db } = openJournal(join(tempDir(), 'journal.db'));
    const insert = db.prepare(
      `INSERT INTO people (id, display_id, name, category, active, lockdown_override, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, 0, ?, ?)`,
    );
    insert.run('p_000000000001', 'S-1001', '山田 太郎', 'staff', T0, T0);
    insert.run('p_000000000002', 'V-01', '来訪 一', 'visitor', T0, T0);
    insert.run('p_000000000003', 'V-01', '来訪 二', 'visitor', T0, T0);
    expect(run(db)).toEqual([['OK', 'ID card numbers', 'each held by one person']]);
    // As an older version let it happen (and root can, writing the table).
    insert.run('p_000000000004', 's-1001', '山田 太郎', 'contractor', T0, T0);
    const [[verdict, , detail]] = run(db) as [[string, string, string]];
    expect(verdict).toBe('WARN');
    expect(detail).toMatch(/^1 held by more than one person: S-1001 \(2: 山田 太郎、山田 太郎\)/);
    expect(detail).toMatch(/docs\/operations\.md, "People and cards"/);
  });
});
