/**
 * Who a person is: one ID card number per person among staff and contractors, and the reading
 * (フリガナ) the people search finds them by, in kana or romaji.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, openDatabase } from '../../controller/journal/index.js';
import { Registry, RegistryError } from '../../controller/registry/index.js';
import { openJournal, T0, tempDir } from '../journal/helpers.js';

const HMAC = Buffer.alloc(32, 42);

function setup() {
  const { db, journal } = openJournal(join(tempDir(), 'journal.db'));
  return { db, journal, registry: new Registry(db, journal, { hmacKey: HMAC }) };
}

function refusal(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error('expected a RegistryError');
}

describe('ID card numbers', () => {
  it('refuses a second person with the same ID card number, naming who holds it', () => {
    const { journal, registry } = setup();
    registry.addPerson({ displayId: 'S-1001', name: '山田 太郎', category: 'staff' }, 'admin:a', T0);
    const rowsBefore = journal.head()?.seq;
    for (const displayId of ['S-1001', 's-1001']) {
      const err = refusal(() =>
        registry.addPerson({ displayId, name: '山田 太郎', category: 'contractor' }, 'admin:a', T0 + 1),
      );
      expect(err.code).toBe('duplicate_id_card');
      expect(err.message).toMatch(/ID card number .* is already held by 山田 太郎 \(S-1001, staff\)/);
      expect(err.vars).toEqual({ name: '山田 太郎', displayId: 'S-1001' });
    }
    expect(journal.head()?.seq).toBe(rowsBefore); // nothing written
    expect(registry.listPeople()).toHaveLength(1);
  });

  it('refuses an edit onto a number already held, also by an inactive person', () => {
    const { registry } = setup();
    const a = registry.addPerson({ displayId: 'S-1', name: '甲', category: 'staff' }, 'admin:a', T0);
    const b = registry.addPerson({ displayId: 'S-2', name: '乙', category: 'staff' }, 'admin:a', T0);
    registry.updatePerson(a.id, { active: false }, 'admin:a', T0 + 1);
    const err = refusal(() => registry.updatePerson(b.id, { displayId: 'S-1' }, 'admin:a', T0 + 2));
    expect(err.message).toMatch(/already held by 甲 \(S-1, staff, inactive\)/);
    // Keeping one's own number, or changing other fields, is no duplicate.
    expect(registry.updatePerson(b.id, { displayId: 'S-2', name: '乙二' }, 'admin:a', T0 + 3).name).toBe(
      '乙二',
    );
  });

  it('leaves visitors out: a pass number may be used again', () => {
    const { registry } = setup();
    const host = registry.addPerson({ displayId: 'S-1', name: '受入', category: 'staff' }, 'admin:a', T0);
    for (const [i, credential] of ['AA00000001', 'AA00000002'].entries())
      registry.issueVisitorBadge(
        {
          credential,
          hostId: host.id,
          purpose: 'maintenance',
          visitor: { displayId: 'V-01', name: `来訪 ${i}` },
        },
        'admin:a',
        T0 + i,
      );
    expect(registry.findPeopleById('V-01')).toHaveLength(2);
  });

  it('keeps duplicates of an older registry: start does not fail, edits of other fields work', () => {
    const dir = tempDir();
    const file = join(dir, 'journal.db');
    const old = openDatabase(file, { migrations: MIGRATIONS.slice(0, 7) });
    // Before this rule nothing stopped two (rows as the old code wrote them).
    const insert = old.prepare(
      `INSERT INTO people (id, display_id, name, category, active, lockdown_override, created_at, updated_at)
       VALUES (?, 'S-9', ?, 'staff', 1, 0, ?, ?)`,
    );
    insert.run('p_000000000001', '一', T0, T0);
    insert.run('p_000000000002', '二', T0, T0);
    old.close();
    const { registry } = (() => {
      const { db, journal } = openJournal(file);
      return { registry: new Registry(db, journal, { hmacKey: HMAC }) };
    })();
    expect(registry.findPeopleById('S-9')).toHaveLength(2);
    expect(registry.getPerson('p_000000000002')?.reading).toBeUndefined();
    expect(registry.updatePerson('p_000000000002', { reading: 'ニ' }, 'admin:a', T0 + 1).reading).toBe('ニ');
  });
});

describe('readings (フリガナ) and the people search', () => {
  function seeded() {
    const s = setup();
    const add = (displayId: string, name: string, reading?: string) =>
      s.registry.addPerson(
        { displayId, name, category: 'staff', ...(reading ? { reading } : {}) },
        'admin:a',
        T0,
      );
    return {
      ...s,
      sato: add('S-1002', '佐藤 花子', 'さとう　はなこ'),
      saito: add('S-1004', '斎藤 一', 'サイトウ ハジメ'),
      ono: add('S-1005', '大野 翔', 'オオノ ショウ'),
      none: add('S-1006', '田中 次郎'),
    };
  }
  const names = (r: Registry, q: string) => r.searchPeople(q).map((p) => p.name);

  it('stores the reading in katakana and journals it', () => {
    const { registry, journal, sato } = seeded();
    expect(sato.reading).toBe('サトウ ハナコ');
    expect(registry.getPerson(sato.id)?.reading).toBe('サトウ ハナコ');
    const added = [...journal.iterate()].find((r) => r.type === 'person_added' && r.person === sato.id)!;
    expect(JSON.parse(added.bytes).data.reading).toBe('サトウ ハナコ');
    registry.updatePerson(sato.id, { reading: null }, 'admin:a', T0 + 1);
    expect(registry.getPerson(sato.id)?.reading).toBeUndefined();
    const updated = [...journal.iterate()].at(-1)!;
    expect(JSON.parse(updated.bytes).data.changes).toEqual({ reading: { from: 'サトウ ハナコ', to: null } });
  });

  it('refuses a reading that is not kana', () => {
    const { registry } = setup();
    const err = refusal(() =>
      registry.addPerson(
        { displayId: 'S-1', name: '佐藤', category: 'staff', reading: 'Sato' },
        'admin:a',
        T0,
      ),
    );
    expect(err.message).toMatch(/reading: expected the reading in kana/);
  });

  it('finds by kanji, hiragana, katakana and romaji however spelt', () => {
    const { registry } = seeded();
    for (const q of [
      '佐藤',
      'さとう',
      'サトウ',
      'ｻﾄｳ',
      'sato',
      'satou',
      'satoh',
      'Satō',
      'hanako',
      'sato hanako',
    ])
      expect(names(registry, q), q).toEqual(['佐藤 花子']);
    expect(names(registry, 'saito')).toEqual(['斎藤 一']);
    expect(names(registry, 'ono')).toEqual(['大野 翔']);
    expect(names(registry, 'ōno')).toEqual(['大野 翔']);
    expect(names(registry, 'syou')).toEqual(['大野 翔']);
    expect(names(registry, 'S-1006')).toEqual(['田中 次郎']);
    expect(names(registry, 'yamada')).toEqual([]);
    expect(registry.countPeople({ text: 'さと' })).toBe(1);
  });

  it('treats LIKE wildcards in a kana query as text', () => {
    const { registry } = seeded();
    expect(names(registry, 'サ%')).toEqual([]);
  });
});
