/**
 * Names and ID numbers through the HTTP API: every kind of refused character (control, lone
 * surrogate, bidirectional, invisible) gets a 400 naming the field and the character, with the
 * bilingual wording, and writes nothing; accepted names are stored NFC. A name written before the
 * rule (an old journal) is shown with the character made visible, never obeyed, on the log page and
 * in its CSV.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Person } from '../../controller/domain/index.js';
import { People } from '../../controller/registry/people.js';
import { BAD_CHARS } from '../helpers/bad-chars.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

let d: TestDash;
let manager: Client;
let admin: Client;

beforeAll(async () => {
  d = await makeDash();
  manager = await d.login('manager1');
  admin = await d.login('admin1');
});
afterAll(async () => {
  await d?.close();
});

const I18N: Record<string, [RegExp, RegExp]> = {
  text_control: [/制御文字/, /Control characters/],
  text_lone_surrogate: [/文字として読めない符号/, /not a character/],
  text_bidi: [/表示順を入れ替える/, /reorder the text on screen/],
  text_invisible: [/見えない文字/, /Invisible characters/],
};

/** A refusal as the API gives it: field, character and kind, in both languages, and nothing written. */
async function expectRefused(
  send: (headers: Record<string, string>) => Promise<LightMyRequestResponse>,
  field: string,
  ch: string,
  kind: string,
) {
  const head = d.controller.journal.head().seq;
  const people = d.controller.registry.listPeople().length;
  const ja = await send({});
  expect(ja.statusCode).toBe(400);
  const cp = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  expect(ja.json().error).toMatchObject({ code: 'invalid_request', detail: `text_${kind}` });
  expect(ja.json().error.message).toMatch(
    new RegExp(
      `^${field.replaceAll('.', '\\.')}: contains .*\\(${cp.replace('+', '\\+')} at character \\d+\\)$`,
    ),
  );
  expect(ja.json().error.text).toMatch(I18N[`text_${kind}`]![0]);
  const en = await send({ 'accept-language': 'en' });
  expect(en.json().error.text).toMatch(I18N[`text_${kind}`]![1]);
  expect(d.controller.journal.head().seq).toBe(head);
  expect(d.controller.registry.listPeople().length).toBe(people);
}

describe('names through the HTTP API', () => {
  it.each(BAD_CHARS)('POST /api/people refuses a name with %s', async (_label, ch, kind) => {
    await expectRefused(
      (headers) =>
        manager.req(
          'POST',
          '/api/people',
          { displayId: 'S-9001', name: `山田${ch}太郎`, category: 'staff' },
          headers,
        ),
      'body.name',
      ch,
      kind,
    );
  });

  it.each(BAD_CHARS.filter(([, , kind], i) => i % 3 === 0 || kind !== 'control'))(
    'POST /api/people refuses an ID number with %s',
    async (_label, ch, kind) => {
      await expectRefused(
        (headers) =>
          manager.req(
            'POST',
            '/api/people',
            { displayId: `S-${ch}1`, name: '山田 太郎', category: 'staff' },
            headers,
          ),
        'body.displayId',
        ch,
        kind,
      );
    },
  );

  it('PATCH /api/people/:id refuses it too, and the person keeps their name', async () => {
    const added = await manager.post('/api/people', {
      displayId: 'S-9100',
      name: '佐藤 花子',
      category: 'staff',
    });
    expect(added.statusCode).toBe(200);
    const id = added.json().id;
    await expectRefused(
      (headers) => manager.req('PATCH', `/api/people/${id}`, { name: '佐藤\u202e子花' }, headers),
      'body.name',
      '\u202e',
      'bidi',
    );
    expect(d.controller.registry.getPerson(id)!.name).toBe('佐藤 花子');
  });

  it('a visitor-badge request refuses a visitor name or organisation with such a character', async () => {
    const host = d.controller.registry.listPeople()[0]!;
    const payload = {
      name: 'Visitor Vera',
      organisation: 'ACME Systems',
      hostPersonId: host.id,
      purpose: 'UPS inspection',
      doorId: 'machine-room',
      validFrom: '2030-01-07T09:00',
      validUntil: '2030-01-07T17:00',
    };
    const file = (p: Record<string, unknown>) => (headers: Record<string, string>) =>
      manager.req(
        'POST',
        '/api/requests',
        { kind: 'visitor_badge', payload: { ...payload, ...p }, reason: 'visit' },
        headers,
      );
    await expectRefused(file({ name: 'Vera\u2067 Evil' }), 'body.payload.name', '\u2067', 'bidi');
    await expectRefused(
      file({ organisation: 'ACME\u0085' }),
      'body.payload.organisation',
      '\u0085',
      'control',
    );
    await expectRefused(file({ displayId: 'V-\u200b1' }), 'body.payload.displayId', '\u200b', 'invisible');
  });

  it('an account request refuses such a display name', async () => {
    await expectRefused(
      (headers) =>
        admin.req(
          'POST',
          '/api/requests',
          {
            kind: 'account_create',
            payload: { username: 'newbie', displayName: 'New\u202dbie', role: 'operator' },
            reason: 'new staff',
          },
          headers,
        ),
      'body.payload.displayName',
      '\u202d',
      'bidi',
    );
  });

  it('stores an accepted name NFC-normalised and trimmed', async () => {
    const r = await manager.post('/api/people', {
      displayId: ' S-9200 ',
      name: 'カ\u3099ス 太郎 ',
      category: 'staff',
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ name: 'ガス 太郎', displayId: 'S-9200' });
    expect(d.controller.registry.getPerson(r.json().id)).toMatchObject({ name: 'ガス 太郎' });
    // … and found by a query typed decomposed.
    const found = await manager.get(`/api/people/search?q=${encodeURIComponent('カ\u3099ス')}`);
    expect(found.statusCode).toBe(200);
    expect(found.json().people.map((p: { name: string }) => p.name)).toContain('ガス 太郎');
  });
});

describe('a name written before the rule', () => {
  it('is shown with the override visible, never obeyed, on the log page and in its CSV', async () => {
    // What an older version wrote: the person's row and its journal row, without the name check.
    const people = new People(d.controller.db, d.controller.journal);
    const person: Person = {
      id: 'p_oldrecord01',
      displayId: 'S-\u202e0042',
      name: 'Mallory\u202e yrotcerid\u202c',
      category: 'staff',
      validFrom: null,
      validUntil: null,
      active: true,
      lockdownOverride: false,
    };
    const at = d.controller.now();
    d.controller.journal.transaction(() => people.insert(person, 'test:old-version', at));
    d.controller.registry.addBadge({ personId: person.id, credential: '0A0B0C0D0E' }, 'test:old-version', at);
    d.controller.simulateBadge('entry', '0A0B0C0D0E');

    const page = await manager.get('/log');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<bdi>Mallory[U+202E] yrotcerid[U+202C]</bdi>');
    expect(page.body).toContain('<bdi>S-[U+202E]0042</bdi>');
    expect(page.body).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);

    const csv = await manager.get('/api/log.csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toContain('Mallory[U+202E] yrotcerid[U+202C]');
    expect(csv.body).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);

    const peoplePage = await manager.get('/people');
    expect(peoplePage.body).toContain('Mallory[U+202E] yrotcerid[U+202C]');
    expect(peoplePage.body).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  });
});
