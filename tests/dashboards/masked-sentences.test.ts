/**
 * A wall screen with names hidden (the monitor role, `maskNames`): its sentences say who by their
 * role — 職員（氏名非表示）, 来訪者（氏名非表示）, "a staff member (name hidden)" — read naturally
 * (a refused staff member is not "an unregistered badge"), and never show a name, an ID card, a
 * card number or free text: for every record type of the catalogue, in both languages, with every
 * text field of the row holding a name; and on the real pages a masked monitor opens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { RecordCatalogue } from '../../controller/domain/index.js';
import {
  alarmSentence,
  detailLines,
  maskForSentences,
  type Names,
  recordSentence,
  type SentenceRow,
  showsInternalId,
} from '../../dashboards/sentences.js';
import type { SimBoard } from '../../hardware/index.js';
import { makeDash, type TestDash } from './helpers.js';

const STAFF = 'p_9f8e7d6c5b4a';
const VISITOR = 'p_0a1b2c3d4e5f';
const BADGE = 'b_112233445566';
/** What no masked sentence may show: the people's names and IDs, the card, free text. */
const SECRET = ['Himitsu', '隠田', 'S-4242', 'V-4343', '3D4E', 'Kakushi'];
const T = Date.UTC(2026, 11, 7, 5, 30);

const real: Names = {
  people: new Map([
    [STAFF, { name: '隠田 花子 Himitsu', displayId: 'S-4242', category: 'staff' }],
    [VISITOR, { name: '隠田 太郎 Kakushi', displayId: 'V-4343', category: 'visitor' }],
  ]),
  badges: new Map([[BADGE, '••••3D4E']]),
  doors: [{ id: 'server-room', name: 'Server room', entryReader: 'sr-in', exitReader: 'sr-out' }],
  schedules: new Map(),
  actors: new Map([['user:chief', 'Chief (chief)']]),
  tz: 'Asia/Tokyo',
};
/** A masked screen's names: even given the register's, a sentence must not use them. */
const masked: Names = { ...real, masked: true };
const categoryOf = (id: string) => real.people.get(id)?.category;

type Def = { type: string } & Record<string, unknown>;
const defOf = (s: unknown) => (s as { _zod: { def: Def } })._zod.def;

/** Every text field that is not an id or a code word holds a name, as free text may. */
function sample(schema: unknown, key = ''): unknown {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const shape = (schema as z.ZodObject).shape as Record<string, unknown>;
      return Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, sample(v, k)]));
    }
    case 'optional':
    case 'nullable':
    case 'default':
      return sample(def.innerType, key);
    case 'array':
      if (defOf(def.element).type === 'string' && /visitors|persons|added|removed|entering/i.test(key))
        return [VISITOR, STAFF];
      return [sample(def.element, key)];
    case 'record':
      return { a: '隠田 花子 Himitsu' };
    case 'union':
      return sample((def.options as unknown[])[0], key);
    case 'string':
      if (/^(person|personId|escort|hostId|from|to)$/.test(key)) return STAFF;
      if (/^(badge|badgeId)$/.test(key)) return BADGE;
      if (key === 'masked') return '••••3D4E';
      if (key === 'reader') return 'sr-in';
      if (/^(doorId|door)$/.test(key)) return 'server-room';
      if (key === 'displayId') return 'S-4242';
      return '隠田 花子 Himitsu';
    case 'number':
    case 'int':
      return T;
    case 'boolean':
      return false;
    case 'literal':
      return (def.values as unknown[])[0];
    case 'enum':
      return Object.values(def.entries as Record<string, string>)[0];
    default:
      return null;
  }
}

function clean(text: string, what: string) {
  for (const s of SECRET) expect(text, `${what}: ${text}`).not.toContain(s);
  expect(showsInternalId(text), `${what}: ${text}`).toBe(false);
  expect(text, `${what}: ${text}`).not.toContain('masked:');
}

function access(data: Record<string, unknown>, person: string | null): SentenceRow {
  return {
    type: 'access',
    at: T,
    door: 'server-room',
    person,
    actor: null,
    data: {
      reader: 'sr-in',
      direction: 'in',
      badge: BADGE,
      masked: '••••3D4E',
      format: 'em4100',
      personName: person ? '隠田 花子 Himitsu' : null,
      ...data,
    },
  };
}

const say = (row: SentenceRow, lang: 'ja' | 'en') =>
  recordSentence(maskForSentences(row, categoryOf), masked, lang);

describe('sentences on a screen with names hidden', () => {
  it('say who by their role, in words that read naturally', () => {
    const granted = access({ result: 'granted', reason: 'granted', category: 'staff' }, STAFF);
    expect(say(granted, 'ja')).toBe('職員（氏名非表示）がカードでServer roomに入室しました。');
    expect(say(granted, 'en')).toBe('A staff member (name hidden) entered Server room with a badge.');
    // A refused person of the register stays a person, not an unregistered card.
    const refused = access({ result: 'denied', reason: 'expired', category: 'contractor' }, STAFF);
    expect(say(refused, 'ja')).toMatch(/^委託事業者（氏名非表示）のServer roomへの入室を拒否しました/);
    expect(say(refused, 'ja')).not.toContain('登録されていない');
    expect(say(refused, 'en')).toMatch(/^A contractor \(name hidden\)/);
    // A visitor and their escort, both by role.
    const visitor = access(
      {
        result: 'granted',
        reason: 'granted',
        category: 'visitor',
        escort: STAFF,
        escortName: '隠田 花子 Himitsu',
      },
      VISITOR,
    );
    expect(say(visitor, 'ja')).toBe(
      '来訪者（氏名非表示）がカードでServer roomに入室しました（同行者：職員（氏名非表示））。',
    );
    expect(say(visitor, 'en')).toBe(
      'A visitor (name hidden) entered Server room with a badge (escorted by a staff member (name hidden)).',
    );
    // An unknown card is still said to be one.
    const unknown = access({ result: 'denied', reason: 'unknown_badge', badge: null, category: null }, null);
    expect(say(unknown, 'ja')).toMatch(/^登録されていないカードがServer roomで拒否されました/);
    // Alarms about a visitor, whose person the screen is not sent.
    const alarm = { type: 'visitor_unescorted', door: 'server-room', person: null, detail: '' };
    expect(alarmSentence(alarm, masked, 'ja')).toBe(
      '来訪者（氏名非表示）が同行者なしでServer roomの室内にいます。',
    );
    expect(alarmSentence(alarm, masked, 'en')).toBe(
      'A visitor (name hidden) is inside Server room without an escort.',
    );
  });

  for (const type of Object.keys(RecordCatalogue)) {
    it(`${type}: no name, ID, card or free text in either language, nor in its details`, () => {
      // (A role change's `from` is a role, not a person.)
      const data = {
        ...(sample((RecordCatalogue as Record<string, unknown>)[type]) as object),
        ...(type === 'user_role_changed' ? { from: 'operator' } : {}),
      };
      const row: SentenceRow = {
        type,
        at: T,
        door: 'server-room',
        person: VISITOR,
        actor: 'user:chief',
        data,
      };
      const m = maskForSentences(row, categoryOf);
      for (const lang of ['ja', 'en'] as const) {
        clean(recordSentence(m, masked, lang), `${type} ${lang}`);
        for (const l of detailLines(m, masked, lang)) clean(`${l.key} ${l.value}`, `${type} ${lang} details`);
      }
    });
  }
});

describe('a masked monitor on the real pages', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash();
    const r = d.controller.registry;
    const at = d.controller.now();
    const p = r.addPerson({ displayId: 'S-4242', name: '隠田 花子', category: 'staff' }, 'test', at);
    r.addBadge({ personId: p.id, credential: '0A1B2C4242' }, 'test', at);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    const c = await d.login('admin1');
    const monitor = d.controller.db
      .prepare<[], { id: string }>("SELECT id FROM dashboard_users WHERE username = 'monitor1'")
      .get()!.id;
    expect(
      (await c.post(`/api/users/${monitor}/monitor`, { address: '127.0.0.1', maskNames: true })).statusCode,
    ).toBe(200);
  });
  afterAll(() => d.close());

  it('Live and an alarm page say 職員（氏名非表示）, never the name', async () => {
    const c = d.controller;
    expect(c.simulateBadge('entry', '0A1B2C4242').decision.granted).toBe(true);
    // A tamper alarm on the door, with the badge's row among the records around it.
    (c.board as SimBoard).simulate('machine-room.tamper', true);
    const mon = await d.login('monitor1');
    const live = (await mon.get('/')).body;
    expect(live).toContain('職員（氏名非表示）がカードでマシン室に入室しました');
    for (const s of ['隠田', 'S-4242', '4242']) expect(live).not.toContain(s);
    const forced = c.activeAlarms().find((a) => a.type === 'door_tamper')!;
    const page = (await mon.get(`/alarms/${forced.id}`)).body;
    expect(page).toContain('職員（氏名非表示）がカードでマシン室に入室しました');
    for (const s of ['隠田', 'S-4242', '4242']) expect(page).not.toContain(s);
    // The same page for a manager names her.
    expect((await (await d.login('manager1')).get(`/alarms/${forced.id}`)).body).toContain('隠田 花子');
  });
});
