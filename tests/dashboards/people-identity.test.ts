/**
 * The API's side of a person's identity and cards: the reading (フリガナ) and the search by kana and
 * romaji, the refusal of an ID card number another person holds (naming them, in the screen's
 * language), and a badge number accepted in exactly the forms the configured readers produce.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('people: readings, ID card numbers, badge number forms (API)', () => {
  let d: TestDash;
  let m1: Client;
  let m2: Client;
  let sato: { id: string; reading: string };

  beforeAll(async () => {
    d = await makeDash({
      config: {
        readers: [
          { id: 'entry', path: 'sim', protocol: 'wiegand-bridge' },
          { id: 'exit', path: 'sim', protocol: 'line' },
        ],
      },
    });
    [m1, m2] = await Promise.all([d.login('manager1'), d.login('manager2')]);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('adds a person with a reading typed in hiragana, stored and answered in katakana', async () => {
    const r = await m1.post('/api/people', {
      name: '佐藤 花子',
      reading: 'さとう　はなこ',
      displayId: 'S-1002',
      category: 'staff',
    });
    expect(r.statusCode, r.body).toBe(200);
    sato = r.json();
    expect(sato.reading).toBe('サトウ ハナコ');
    expect((await m1.get(`/api/people/${sato.id}`)).json().reading).toBe('サトウ ハナコ');
    const page = await m1.get(`/people/${sato.id}`);
    expect(page.body).toContain('サトウ ハナコ');
  });

  it('refuses a reading that is not kana, with a clear error', async () => {
    const r = await m1.post('/api/people', {
      name: '某',
      reading: 'Sato',
      displayId: 'S-1003',
      category: 'staff',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({
      code: 'invalid_reading',
      text: 'フリガナはカタカナかひらがなで入力してください。',
    });
  });

  it('finds by kanji, kana and romaji, in the list and in the pickers', async () => {
    await m1.post('/api/people', {
      name: '斎藤 一',
      reading: 'サイトウ ハジメ',
      displayId: 'S-1004',
      category: 'staff',
    });
    for (const q of ['佐藤', 'さとう', 'サトウ', 'sato', 'satou', 'satoh', 'Satō', 'hanako']) {
      const search = await m1.get(`/api/people/search?q=${encodeURIComponent(q)}`);
      expect(search.statusCode).toBe(200);
      expect(
        search.json().people.map((p: { name: string }) => p.name),
        q,
      ).toEqual(['佐藤 花子']);
      const list = await m1.get(`/api/people?q=${encodeURIComponent(q)}`);
      expect(list.json().total, q).toBe(1);
    }
    expect((await m1.get('/api/people/search?q=saito')).json().people).toMatchObject([{ name: '斎藤 一' }]);
  });

  it('refuses a second person with the same ID card number, naming the holder in the screen language', async () => {
    const body = { name: '佐藤 花子', displayId: 's-1002', category: 'contractor' };
    const ja = await m1.req('POST', '/api/people', body, { 'accept-language': 'ja' });
    expect(ja.statusCode).toBe(409);
    expect(ja.json().error).toMatchObject({
      code: 'duplicate_id_card',
      text: 'ID S-1002 は既に 佐藤 花子 に登録されています。同じIDを二人に登録することはできません。',
    });
    expect(ja.json().error.message).toMatch(/already held by 佐藤 花子 \(S-1002, staff\)/);
    const en = await m1.req('POST', '/api/people', body, { cookie: `${m1.cookie}; sekisho_lang=en` });
    expect(en.json().error.text).toBe(
      'The ID S-1002 is already registered to 佐藤 花子; two people cannot share one ID.',
    );
    // An edit onto a held number is refused the same way; the rest of a person's edits still work.
    const other = (
      await m1.post('/api/people', { name: '田中 次郎', displayId: 'S-1005', category: 'staff' })
    ).json();
    const edit = await m1.req('PATCH', `/api/people/${other.id}`, { displayId: 'S-1002' });
    expect(edit.statusCode).toBe(409);
    expect(edit.json().error.code).toBe('duplicate_id_card');
    const cleared = await m1.req('PATCH', `/api/people/${sato.id}`, { reading: null, name: '佐藤 花子' });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().reading).toBeUndefined();
  });

  it('takes a badge number in the forms these readers produce, with a warning where it assumed', async () => {
    const enrol = (number: string, extra: Record<string, unknown> = {}) =>
      m1.post(`/api/people/${sato.id}/badges`, { number, ...extra });
    const w = await enrol('12:3456');
    expect(w.statusCode, w.body).toBe(200);
    expect(w.json().warning).toMatch(/taken as W26:12:3456/);
    expect(w.json().warningText).toBe(
      '12:3456 は 26 ビットのカード（W26:12:3456）として登録しました。34 ビットのカードであれば W34:12:3456 と入力してください。',
    );
    expect(w.json().request).toMatchObject({ status: 'pending', payload: { masked: '••••3456' } });
    const line = await enrol('deadbeef');
    expect(line.statusCode, line.body).toBe(200);
    expect(line.json().warning).toBeUndefined();
    // No RDM6300 here: an EM4100-only form is refused, naming what would read it.
    const em = await enrol('0A:1B:2C:3D:4E');
    expect(em.statusCode).toBe(400);
    expect(em.json().error.code).toBe('invalid_credential');
    expect(em.json().error.message).toMatch(
      /rdm6300 reader would read it as 0A1B2C3D4E, but the config has none/,
    );
    const forced = await enrol('0A:1B:2C:3D:4E', { format: 'em4100' });
    expect(forced.statusCode, forced.body).toBe(200);
    expect(forced.json().warning).toMatch(/no reader in the config produces em4100 credentials/);
    // Approved, the badge is found by the credential the reader produces for that card.
    const ok = await m2.post(`/api/requests/${w.json().request.id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(d.controller.registry.findBadgeByCredential('W26:12:3456')?.personId).toBe(sato.id);
  });
});
