/**
 * Every record type of the catalogue and every alarm type as a sentence in Japanese and in English
 * (dashboards/sentences.ts): a type without one, or a sentence that shows an internal id, an epoch
 * time or a JavaScript leftover ("undefined", "[object Object]"), fails here.
 *
 * The rows are made from each type's own zod schema (`sample` below), with the id-holding fields
 * filled with registry-shaped ids, so that a sentence printing a raw field shows up as an id.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AlarmType, RecordCatalogue } from '../../controller/domain/index.js';
import { type Lang, translator } from '../../dashboards/i18n.js';
import { alarmPage } from '../../dashboards/pages/alarms.js';
import {
  alarmSentence,
  alarmSentenceTypes,
  detailLines,
  emptyNames,
  hasSentence,
  type Names,
  recordSentence,
  referencedIds,
  type SentenceRow,
  sentenceTypes,
  showsInternalId,
} from '../../dashboards/sentences.js';

const VISITOR = 'p_0a1b2c3d4e5f';
const ESCORT = 'p_9f8e7d6c5b4a';
const BADGE = 'b_112233445566';
const T = Date.UTC(2026, 11, 7, 5, 30);

const names: Names = {
  people: new Map([
    [VISITOR, { name: 'Tanaka Ichiro', displayId: 'V-1', category: 'visitor' }],
    [ESCORT, { name: 'Yamada Taro', displayId: 'S-1001', category: 'staff' }],
  ]),
  badges: new Map([[BADGE, '••••3D4E']]),
  doors: [{ id: 'server-room', name: 'Server room', entryReader: 'sr-in', exitReader: 'sr-out' }],
  schedules: new Map([['office-hours', 'Office hours']]),
  actors: new Map([['user:tanaka', 'Tanaka (tanaka)']]),
  tz: 'Asia/Tokyo',
};

type Def = { type: string } & Record<string, unknown>;
const defOf = (s: unknown) => (s as { _zod: { def: Def } })._zod.def;

/** A value for a field, chosen by its name: ids where a field holds an id, times where it holds one. */
function leaf(key: string, def: Def): unknown {
  switch (def.type) {
    case 'string':
      if (/^(person|personId|escort|hostId|from|to)$/.test(key)) return ESCORT;
      if (/^(badge|badgeId)$/.test(key)) return BADGE;
      if (key === 'masked') return '••••3D4E';
      if (key === 'reader') return 'sr-in';
      if (/^(doorId|door)$/.test(key)) return 'server-room';
      if (key === 'scheduleId') return 'office-hours';
      if (/^(by|requestedBy|approvedBy|transcribedBy|usedBy|reviewer)$/.test(key)) return 'user:tanaka';
      if (key === 'username') return 'tanaka';
      return 'words';
    case 'number':
    case 'int':
      return /(^at$|^since$|^until$|At$|Until$|From$|Since$)/.test(key) ? T : 3;
    case 'boolean':
      return false;
    case 'literal':
      return (def.values as unknown[])[0];
    case 'enum':
      return Object.values(def.entries as Record<string, string>)[0];
    case 'unknown':
      return 'x';
    default:
      return null;
  }
}

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
    case 'array': {
      const el = defOf(def.element);
      // Lists of people: a visitor and their escort.
      if (el.type === 'string' && /visitors|persons|added|removed|entering|visitorsInside/.test(key))
        return [VISITOR, ESCORT];
      return [sample(def.element, key)];
    }
    case 'record':
      return { a: 1 };
    case 'union':
      return sample((def.options as unknown[])[0], key);
    default:
      return leaf(key, def);
  }
}

/** Fields whose name means something else in one type (a role, not a person). */
const OVERRIDES: Record<string, Record<string, unknown>> = { user_role_changed: { from: 'operator' } };

function rowOf(type: string): SentenceRow {
  const data = sample((RecordCatalogue as Record<string, unknown>)[type]) as Record<string, unknown>;
  return {
    type,
    at: T,
    door: 'server-room',
    person: VISITOR,
    actor: 'user:tanaka',
    data: { ...data, ...OVERRIDES[type] },
  };
}

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;
const LEFTOVERS = /undefined|\[object|NaN|\bnull\b|\{[a-z]+\}/;

function checkText(text: string, lang: Lang, what: string) {
  expect(text.length, what).toBeGreaterThan(5);
  expect(showsInternalId(text), `${what}: ${text}`).toBe(false);
  expect(text, what).not.toMatch(LEFTOVERS);
  // No epoch milliseconds: times are shown as the site's local time.
  expect(text, what).not.toMatch(/\b1\d{12}\b/);
  if (lang === 'ja') expect(text, `${what}: ${text}`).toMatch(JAPANESE);
  else expect(text, `${what}: ${text}`).not.toMatch(JAPANESE);
}

describe('every record type as a sentence', () => {
  const types = Object.keys(RecordCatalogue);

  it('has a sentence of its own for each type of the catalogue, and for nothing else', () => {
    const missing = types.filter((t) => !hasSentence(t));
    expect(missing).toEqual([]);
    expect(sentenceTypes().sort()).toEqual([...types].sort());
  });

  for (const type of types) {
    it(`${type}: ja and en, names not ids`, () => {
      const row = rowOf(type);
      for (const lang of ['ja', 'en'] as const) {
        checkText(recordSentence(row, names, lang), lang, `${type} ${lang}`);
        // With nothing resolvable (a person since deleted, a page given no names) still no id.
        const bare = recordSentence(row, emptyNames('Asia/Tokyo'), lang);
        expect(showsInternalId(bare), `${type} ${lang} unresolved: ${bare}`).toBe(false);
      }
    });
  }

  it('names the people, the card and the door of an access row', () => {
    const row: SentenceRow = {
      type: 'access',
      at: T,
      door: 'server-room',
      person: VISITOR,
      actor: null,
      data: {
        reader: 'sr-in',
        direction: 'in',
        result: 'granted',
        reason: 'granted',
        badge: BADGE,
        masked: '••••3D4E',
        format: 'em4100',
        personName: 'Tanaka Ichiro',
        category: 'visitor',
        escort: ESCORT,
        escortName: 'Yamada Taro',
      },
    };
    expect(recordSentence(row, names, 'ja')).toBe(
      '来訪者 Tanaka Ichiroがカード ••••3D4EでServer roomに入室しました（同行者：Yamada Taro）。',
    );
    expect(recordSentence(row, names, 'en')).toBe(
      'Visitor Tanaka Ichiro entered Server room with badge ••••3D4E (escorted by Yamada Taro).',
    );
    const denied = {
      ...row,
      person: null,
      data: {
        ...(row.data as object),
        result: 'denied',
        reason: 'unknown_badge',
        badge: null,
        personName: null,
        category: null,
        escort: undefined,
      },
    };
    expect(recordSentence(denied, names, 'ja')).toBe(
      `登録されていないカード ••••3D4EがServer roomで拒否されました（${translator('ja')('reason_unknown_badge')}）。`,
    );
    expect(recordSentence(denied, names, 'en')).toBe(
      'Unregistered badge ••••3D4E refused at Server room (unknown badge).',
    );
  });

  it('words a row that lacks fields (an older version wrote it) without leftovers', () => {
    for (const type of types) {
      for (const lang of ['ja', 'en'] as const) {
        const s = recordSentence({ ...rowOf(type), person: null, actor: null, data: {} }, names, lang);
        expect(s, `${type} ${lang}`).not.toMatch(LEFTOVERS);
        // No i18n key left untranslated (cat_…, com_outcome_…).
        expect(s, `${type} ${lang}`).not.toMatch(/\b(cat|com_outcome|badge_status|role|reason|kind)_/);
      }
    }
  });

  it('gives a row of a type it does not know a generic sentence, not a crash', () => {
    for (const lang of ['ja', 'en'] as const) {
      const s = recordSentence(
        { ...rowOf('access'), type: 'from_a_newer_version', data: { x: VISITOR } },
        names,
        lang,
      );
      checkText(s, lang, `unknown type ${lang}`);
    }
  });

  it('collects the ids a page must resolve', () => {
    const ids = referencedIds([rowOf('escort_left_unbadged'), rowOf('visitor_badge_in_use')]);
    expect([...ids.people].sort()).toEqual([ESCORT, VISITOR].sort());
    expect([...ids.badges]).toEqual([BADGE]);
  });

  it('shows the details with local times and names, never epoch ms or ids', () => {
    for (const type of types) {
      for (const { key, value } of detailLines(rowOf(type), names, 'en')) {
        expect(value, `${type}.${key}`).not.toMatch(/^1\d{12}$/);
        expect(showsInternalId(value), `${type}.${key}: ${value}`).toBe(false);
      }
    }
  });
});

describe('sentences on a page', () => {
  it('escapes a name with markup and shows a bidirectional override instead of obeying it', () => {
    const evil = 'p_00000000beef';
    const v = {
      lang: 'en' as const,
      t: translator('en'),
      user: {
        id: 'u_1',
        username: 'tanaka',
        displayName: 'Tanaka',
        role: 'admin' as const,
        mustChangePassword: false,
      },
      via: 'session' as const,
      csrf: 'c',
      actor: 'user:tanaka',
      siteName: 'Site',
      controllerId: 'ctl-1',
      timeZone: 'Asia/Tokyo',
      tz: 'Asia/Tokyo',
      simulated: false,
      doors: names.doors,
      unackedAlarms: 1,
      actors: names.actors,
      names: { ...names, people: new Map([[evil, { name: '<img src=x onerror=alert(1)>\u202Eevil' }]]) },
    };
    const entry = {
      id: 9,
      at: T,
      type: 'visitor_unescorted',
      severity: 'major',
      door: 'server-room',
      detail: `visitor ${evil} is inside without an escort`,
      ackedBy: null,
      ackedAt: null,
      ackComment: null,
      clearedAt: null,
    };
    const out = alarmPage(v, entry, [], { person: evil, source: null }).value;
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(out).not.toContain('<img');
    expect(out).not.toContain('\u202E');
    expect(out).toContain('[U+202E]');
    expect(showsInternalId(out.replace(/href="[^"]*"/g, ''))).toBe(false);
  });
});

describe('every alarm type as a sentence', () => {
  /** Details as the controller writes them (English, with ids): the sentence must not repeat them. */
  const DETAILS: Record<string, string> = {
    visitor_unescorted: `visitor ${VISITOR} is inside without their escort ${ESCORT}`,
    visitor_badge_not_returned: `visitor badge ••••3D4E of visitor ${VISITOR} (host ${ESCORT}) was due back at 2026-12-07T09:00:00.000Z`,
    held_open: 'door held open longer than 60 s',
    reader_offline: 'reader sr-in: no data',
    storage_low:
      '80 MiB free of 14000 MiB on the file system of /var/lib/sekisho, below the floor of 256 MiB (storage.lowSpaceMiB)',
    break_glass: 'break-glass: badge_enrol carried out alone (request 12); review by another person pending',
  };

  it('has a sentence for every alarm type', () => {
    expect(alarmSentenceTypes().sort()).toEqual([...AlarmType.options].sort());
  });

  for (const type of AlarmType.options) {
    it(`${type}: ja and en, names not ids`, () => {
      const alarm = {
        type,
        door: 'server-room',
        person: VISITOR,
        source: 'sr-in',
        detail: DETAILS[type] ?? `something about ${VISITOR}`,
      };
      for (const lang of ['ja', 'en'] as const) {
        checkText(alarmSentence(alarm, names, lang), lang, `${type} ${lang}`);
        expect(showsInternalId(alarmSentence(alarm, emptyNames(), lang))).toBe(false);
      }
    });
  }

  it('says who is unescorted and whose escort is missing', () => {
    const a = {
      type: 'visitor_unescorted',
      door: 'server-room',
      person: VISITOR,
      detail: DETAILS.visitor_unescorted!,
    };
    expect(alarmSentence(a, names, 'ja')).toBe(
      '来訪者 Tanaka Ichiro が、同行者 Yamada Taro のいないままServer roomの室内にいます。',
    );
    expect(alarmSentence(a, names, 'en')).toBe(
      'Visitor Tanaka Ichiro is inside Server room without their escort Yamada Taro.',
    );
  });
});
