/**
 * People a page at a time: the registry's keyset queries (real SQLite), the People page and
 * GET /api/people (paging both ways, filters, counts, a clear 400 on a bad parameter), the pickers'
 * search, the request forms' checks of the id a picker sends, and that none of the dashboard's
 * routes loads the whole registry any more.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Person } from '../../controller/domain/types.js';
import { RegistryError } from '../../controller/registry/index.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

/** The registry's order: name, then id, as SQLite compares them (bytes of UTF-8). */
function byKey(a: Person, b: Person): number {
  const x = Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
  return x !== 0 ? x : Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
}

const ids = (people: readonly { id: string }[]) => people.map((p) => p.id);

describe('people a page at a time', () => {
  let d: TestDash;
  let m1: Client;
  let m2: Client;
  let aud: Client;
  /** Everyone enrolled, in the registry's order: the oracle the pages are checked against. */
  let all: Person[];
  let sameName: Person[];
  let inactiveStaff: Person;
  let visitor: Person;
  let badgeHolder: Person;
  let badge: { id: string; masked: string };

  beforeAll(async () => {
    d = await makeDash();
    [m1, m2, aud] = await Promise.all([d.login('manager1'), d.login('manager2'), d.login('auditor1')]);
    const r = d.controller.registry;
    const at = d.controller.now();
    const add = (displayId: string, name: string, category: Person['category']) =>
      r.addPerson({ displayId, name, category }, 'test', at);
    for (let i = 0; i < 150; i++) add(`S-${1000 + i}`, `Staff ${String(i).padStart(3, '0')}`, 'staff');
    for (let i = 0; i < 80; i++)
      add(`C-${2000 + i}`, `Contractor ${String(i).padStart(3, '0')}`, 'contractor');
    for (let i = 0; i < 20; i++) add(`V-${3000 + i}`, `Visitor ${String(i).padStart(3, '0')}`, 'visitor');
    // Same names: the id breaks the tie, so the order is total and a page boundary can fall between them.
    sameName = [0, 1, 2, 3, 4].map((i) => add(`S-DUP-${i}`, 'Same Name', 'staff')).sort(byKey);
    add('S-9001', 'Percent 100% Corp', 'contractor');
    add('S-9002', 'Under_score', 'contractor');
    add('s-mixed-case', '山田 太郎', 'staff');
    inactiveStaff = add('S-9100', 'Gone Staff', 'staff');
    r.updatePerson(inactiveStaff.id, { active: false }, 'test', at);
    visitor = add('V-9200', 'Visitor Vera', 'visitor');
    badgeHolder = add('S-9300', 'Badge Holder', 'staff');
    const b = r.addBadge({ personId: badgeHolder.id, credential: '0A1B2C3D4E' }, 'test', at);
    badge = { id: b.id, masked: b.masked };
    r.addBadge({ personId: badgeHolder.id, credential: 'FFFFFF9A9B' }, 'test', at);
    r.grantDoor(badgeHolder.id, 'machine-room', 'always', 'test', at);
    r.setMayEscort(badgeHolder.id, true, 'test', at);
    // The test may read the whole registry: it is the oracle.
    all = r.listPeople();
    expect(all.length).toBe(261);
    expect(ids([...all].sort(byKey))).toEqual(ids(all));
  });
  afterAll(async () => {
    await d?.close();
  });

  const activeCounts = () => {
    const n = { staff: 0, contractor: 0, visitor: 0 };
    for (const p of all) if (p.active) n[p.category]++;
    return n;
  };

  describe('registry queries', () => {
    it('walks every person once, in order, forwards and backwards, across same-name boundaries', () => {
      const r = d.controller.registry;
      for (const limit of [1, 3, 7, 100, 500]) {
        const forwards: Person[] = [];
        let page = r.pagePeople({ limit });
        for (;;) {
          expect(page.people.length).toBeLessThanOrEqual(limit);
          forwards.push(...page.people);
          if (!page.more) break;
          const last = page.people.at(-1)!;
          page = r.pagePeople({ limit, after: { name: last.name, id: last.id } });
        }
        expect(ids(forwards), `limit ${limit}`).toEqual(ids(all));

        const end = all.at(-1)!;
        const backwards: Person[] = [end];
        page = r.pagePeople({ limit, before: { name: end.name, id: end.id } });
        for (;;) {
          backwards.unshift(...page.people);
          if (!page.more) break;
          const first = page.people[0]!;
          page = r.pagePeople({ limit, before: { name: first.name, id: first.id } });
        }
        expect(ids(backwards), `limit ${limit}`).toEqual(ids(all));
      }
      // A page can end in the middle of the same-name people: the next starts right after.
      const [a, b, c] = sameName;
      expect(ids(r.pagePeople({ limit: 2, after: { name: a!.name, id: a!.id } }).people)).toEqual(
        ids([b!, c!]),
      );
      expect(ids(r.pagePeople({ limit: 1, before: { name: c!.name, id: c!.id } }).people)).toEqual([b!.id]);
    });

    it('filters by text, category, status and ids, and counts the same people in SQL', () => {
      const r = d.controller.registry;
      const cases: [Parameters<typeof r.countPeople>[0], (p: Person) => boolean][] = [
        [{}, () => true],
        [{ active: true }, (p) => p.active],
        [{ active: false }, (p) => !p.active],
        [{ categories: ['visitor'] }, (p) => p.category === 'visitor'],
        [{ categories: ['staff'], active: false }, (p) => p.category === 'staff' && !p.active],
        [{ categories: ['staff', 'contractor'], active: true }, (p) => p.category !== 'visitor' && p.active],
        // ASCII letters in any case; the name or the ID card.
        [{ text: 'STAFF 01' }, (p) => p.name.startsWith('Staff 01')],
        [{ text: 's-10' }, (p) => p.displayId.startsWith('S-10')],
        [{ text: '山田' }, (p) => p.name === '山田 太郎'],
        [{ text: 'visitor', active: true }, (p) => p.category === 'visitor' && p.active],
        // LIKE's wildcards are plain characters here.
        [{ text: '100%' }, (p) => p.name === 'Percent 100% Corp'],
        [{ text: '_' }, (p) => p.name.includes('_')],
        [{ text: '%' }, (p) => p.name.includes('%')],
        [{ text: 'nobody-like-this' }, () => false],
        [
          { ids: [visitor.id, badgeHolder.id, 'p_nobody'] },
          (p) => p.id === visitor.id || p.id === badgeHolder.id,
        ],
        [{ ids: [] }, () => false],
      ];
      for (const [filter, match] of cases) {
        const expected = all.filter(match);
        const label = JSON.stringify(filter);
        expect(ids(r.pagePeople({ ...filter, limit: 500 }).people), label).toEqual(ids(expected));
        expect(r.countPeople(filter), label).toBe(expected.length);
      }
      expect(r.countActivePeople()).toEqual(activeCounts());
    });

    it('refuses a page it cannot answer', () => {
      const r = d.controller.registry;
      const code = (f: () => unknown) => {
        try {
          f();
        } catch (err) {
          return err instanceof RegistryError ? err.code : String(err);
        }
        return 'no error';
      };
      expect(code(() => r.pagePeople({ limit: 0 }))).toBe('invalid_input');
      expect(code(() => r.pagePeople({ limit: 501 }))).toBe('invalid_input');
      const key = { name: 'a', id: 'b' };
      expect(code(() => r.pagePeople({ limit: 5, after: key, before: key }))).toBe('invalid_input');
      expect(code(() => r.findBadges({ last4: 'ABC' }))).toBe('invalid_input');
    });

    it('looks up only the ids asked for, in batches, and badges by id or last four', () => {
      const r = d.controller.registry;
      // More ids than one statement takes (500), some unknown.
      const asked = [...ids(all), ...Array.from({ length: 300 }, (_, i) => `p_unknown${i}`)];
      const found = r.getPeople(asked);
      expect(found.size).toBe(all.length);
      expect(found.get(visitor.id)).toEqual(visitor);
      expect(r.getPeople([]).size).toBe(0);

      expect(ids(r.findPeopleById('S-MIXED-CASE'))).toEqual(ids(all.filter((p) => p.name === '山田 太郎')));
      expect(ids(r.findPeopleById(visitor.id))).toEqual([visitor.id]);
      expect(r.findPeopleById('S-10')).toEqual([]); // exact only

      expect(r.findBadges({ last4: '3d4e' }).map((b) => b.id)).toEqual([badge.id]);
      expect(r.findBadges({ id: badge.id }).map((b) => b.masked)).toEqual(['••••3D4E']);
      expect(r.findBadges({ last4: '0000' })).toEqual([]);

      const page = ids(all.slice(0, 40)).concat(badgeHolder.id);
      expect(
        r
          .badgesOf(page)
          .get(badgeHolder.id)
          ?.map((b) => b.masked),
      ).toEqual(['••••3D4E', '••••9A9B']);
      expect(r.badgesOf(page).size).toBe(1);
      expect(r.permissionsOf(page).get(badgeHolder.id)).toEqual([
        { personId: badgeHolder.id, doorId: 'machine-room', scheduleId: 'always' },
      ]);
      expect([...r.escortsAmong(page)]).toEqual([badgeHolder.id]);
    });

    it('counts what the compliance view needs in SQL', async () => {
      const r = d.controller.registry;
      const now = d.controller.now();
      expect(r.attentionCounts(now)).toEqual({
        lostBadges: 0,
        expiredPeople: 0,
        expiredBadges: 0,
        overdueVisitors: 0,
      });
      // Each count on a registry of its own (this one is the other tests' oracle), beside what it must not count.
      const other = await makeDash();
      try {
        const o = other.controller.registry;
        const at = other.controller.now();
        const past = { validUntil: at - 1000 };
        const future = { validUntil: at + 3_600_000 };
        o.addPerson({ displayId: 'S-1', name: 'Expired Staff', category: 'staff', ...past }, 'test', at);
        o.addPerson({ displayId: 'S-2', name: 'Valid Staff', category: 'staff', ...future }, 'test', at);
        const gone = o.addPerson(
          { displayId: 'S-3', name: 'Expired Gone', category: 'staff', ...past },
          'test',
          at,
        );
        o.updatePerson(gone.id, { active: false }, 'test', at);
        const holder = o.addPerson({ displayId: 'S-4', name: 'Holder', category: 'staff' }, 'test', at);
        const lost = o.addBadge({ personId: holder.id, credential: '1111111111' }, 'test', at);
        o.setBadgeStatus(lost.id, 'lost', 'test', at);
        o.addBadge({ personId: holder.id, credential: '2222222222', ...past }, 'test', at);
        o.addBadge({ personId: holder.id, credential: '3333333333', ...future }, 'test', at);
        const overdue = o.addPerson(
          { displayId: 'V-1', name: 'Overdue', category: 'visitor', ...past },
          'test',
          at,
        );
        o.addBadge({ personId: overdue.id, credential: '4444444444' }, 'test', at);
        // A visitor past their time who holds no badge any more is not overdue.
        o.addPerson({ displayId: 'V-2', name: 'Left', category: 'visitor', ...past }, 'test', at);
        expect(o.attentionCounts(at)).toEqual({
          lostBadges: 1,
          expiredPeople: 3, // Expired Staff, Overdue, Left
          expiredBadges: 1,
          overdueVisitors: 1,
        });
      } finally {
        await other.close();
      }
    });

    it('searches active people for the pickers, of the categories asked', () => {
      const r = d.controller.registry;
      expect(r.searchPeople('gone', 20)).toEqual([]);
      expect(r.searchPeople('visitor', 100).map((p) => p.category)).toEqual(Array(21).fill('visitor'));
      expect(r.searchPeople('visitor', 100, ['staff', 'contractor'])).toEqual([]);
      expect(r.searchPeople('S-9', 100, ['contractor']).map((p) => p.displayId)).toEqual([
        'S-9001',
        'S-9002',
      ]);
      expect(r.searchPeople('   ')).toEqual([]);
    });
  });

  describe('GET /api/people', () => {
    type Answer = {
      people: (Person & { badges: { masked: string }[]; permissions: unknown[]; mayEscort: boolean })[];
      total: number;
      offset: number;
      limit: number;
      next: string | null;
      prev: string | null;
    };
    const get = async (query = '', client = aud): Promise<Answer> => {
      const res = await client.get(`/api/people${query ? `?${query}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };

    it('answers a page of 100 by default with the count, and pages both ways without gaps or repeats', async () => {
      const first = await get();
      expect(first.people).toHaveLength(100);
      expect(first).toMatchObject({ total: all.length, offset: 0, limit: 100, prev: null });
      expect(first.next).toMatch(/^[A-Za-z0-9_-]+$/);

      const pages: Answer[] = [first];
      while (pages.at(-1)!.next) pages.push(await get(`cursor=${pages.at(-1)!.next}`));
      expect(pages.map((p) => p.people.length)).toEqual([100, 100, 61]);
      expect(pages.map((p) => p.offset)).toEqual([0, 100, 200]);
      expect(pages.flatMap((p) => ids(p.people))).toEqual(ids(all));

      // Back from the last page: exactly the pages before it.
      const back = await get(`cursor=${pages[2]!.prev}`);
      expect(ids(back.people)).toEqual(ids(pages[1]!.people));
      expect(back.offset).toBe(100);
      const front = await get(`cursor=${back.prev}`);
      expect(ids(front.people)).toEqual(ids(pages[0]!.people));
      expect(front).toMatchObject({ offset: 0, prev: null });
      expect(ids((await get(`cursor=${front.next}`)).people)).toEqual(ids(pages[1]!.people));

      // limit up to 500: everyone in one page.
      const one = await get('limit=500');
      expect(ids(one.people)).toEqual(ids(all));
      expect(one).toMatchObject({ next: null, prev: null, total: all.length });
    });

    it('carries each person’s badges (masked), door access and escort permission, as before', async () => {
      const page = await get(`q=${encodeURIComponent('Badge Holder')}`);
      expect(page.people).toHaveLength(1);
      expect(page.people[0]).toMatchObject({
        id: badgeHolder.id,
        mayEscort: true,
        expired: false,
        badges: [{ masked: '••••3D4E', status: 'active' }, { masked: '••••9A9B' }],
        permissions: [{ doorId: 'machine-room', scheduleId: 'always' }],
      });
      expect(JSON.stringify(page)).not.toContain('0A1B2C3D4E');
    });

    it('filters by name or ID, badge, category and status; total counts the matches', async () => {
      const activeStaff = all.filter((p) => p.category === 'staff' && p.active);
      const staffPages = [await get('category=staff&active=1&limit=50')];
      while (staffPages.at(-1)!.next)
        staffPages.push(await get(`category=staff&active=1&limit=50&cursor=${staffPages.at(-1)!.next}`));
      expect(staffPages.map((p) => p.total)).toEqual(staffPages.map(() => activeStaff.length));
      expect(staffPages.flatMap((p) => ids(p.people))).toEqual(ids(activeStaff));
      expect((await get('active=0')).people.map((p) => p.name)).toEqual(['Gone Staff']);
      expect((await get('q=staff+01')).total).toBe(10);
      expect((await get('q=C-201')).people.map((p) => p.displayId)).toEqual(
        Array.from({ length: 10 }, (_, i) => `C-${2010 + i}`),
      );
      for (const b of ['3D4E', '3d4e', '••••3D4E', badge.id]) {
        const found = await get(`badge=${encodeURIComponent(b)}`);
        expect(ids(found.people), b).toEqual([badgeHolder.id]);
        expect(found.total).toBe(1);
      }
      expect((await get('badge=0000')).people).toEqual([]);
      expect((await get('q=nobody-like-this')).total).toBe(0);
      expect((await get('q=')).total).toBe(all.length); // an empty field is no filter
    });

    it('refuses a bad parameter with a 400 that names it', async () => {
      for (const [query, field] of [
        ['limit=0', 'query.limit'],
        ['limit=501', 'query.limit'],
        ['limit=ten', 'query.limit'],
        ['category=alien', 'query.category'],
        ['active=yes', 'query.active'],
        ['cursor=not%20a%20cursor', 'query.cursor'],
        [`cursor=${Buffer.from('{"x":1}').toString('base64url')}`, 'query.cursor'],
        [`cursor=${Buffer.from('nonsense').toString('base64url')}`, 'query.cursor'],
        ['badge=abc', 'query.badge'],
        [`q=${'x'.repeat(101)}`, 'query.q'],
        ['sort=name', 'query'],
      ] as const) {
        const res = await aud.get(`/api/people?${query}`);
        expect(res.statusCode, query).toBe(400);
        expect(res.json().error.code, query).toBe('invalid_request');
        expect(res.json().error.message, query).toContain(field);
      }
      expect((await aud.get('/people?limit=0')).statusCode).toBe(400);
      expect((await d.app.inject({ method: 'GET', url: '/api/people' })).statusCode).toBe(401);
    });
  });

  describe('the People page', () => {
    it('shows one page with the range, the active counts and the way on, in Japanese and English', async () => {
      const ja = await aud.get('/people');
      expect(ja.statusCode).toBe(200);
      const rows = (body: string) => [...body.matchAll(/<tr data-person="([^"]+)"/g)].map((x) => x[1]);
      expect(rows(ja.body)).toEqual(ids(all.slice(0, 100)));
      expect(ja.body).toContain(`全 ${all.length} 人中 1–100 人目（氏名順）`);
      const n = activeCounts();
      expect(ja.body).toContain(
        `有効な登録者：職員 ${n.staff} 人・委託事業者 ${n.contractor} 人・来訪者 ${n.visitor} 人`,
      );
      expect(ja.body).toContain('id="people-filters"');
      expect(ja.body).not.toContain('id="people-prev"');
      const next = /href="(\/people\?[^"]*cursor=[^"]+)" id="people-next"/.exec(ja.body);
      expect(next?.[1]).toBeDefined();
      const second = await aud.get(next![1]!.replaceAll('&amp;', '&'));
      expect(rows(second.body)).toEqual(ids(all.slice(100, 200)));
      expect(second.body).toContain('101–200');
      expect(second.body).toContain('id="people-prev"');
      expect(second.body).toContain('id="people-first"');

      const en = await aud.req('GET', '/people?category=visitor&q=vera', undefined, {
        'accept-language': 'en-US,en;q=0.9',
      });
      expect(rows(en.body)).toEqual([visitor.id]);
      expect(en.body).toContain('1–1 of 1 matching, by name');
      expect(en.body).toContain(
        `Active: ${n.staff} staff, ${n.contractor} contractors, ${n.visitor} visitors`,
      );
      expect(en.body).toContain('value="vera"');
      expect(en.body).toContain('<option value="visitor" selected>');
      const none = await aud.req('GET', '/people?q=nobody-like-this', undefined, {
        'accept-language': 'en-US,en;q=0.9',
      });
      expect(none.body).toContain('Nobody matches.');
    });
  });

  describe('pickers instead of the registry in the request forms', () => {
    it('the request and visitor pages carry no list of people, only search pickers', async () => {
      for (const url of ['/requests', '/visitors']) {
        const res = await m1.get(url);
        expect(res.statusCode).toBe(200);
        expect(res.body, url).not.toContain('Staff 000');
        expect(res.body, url).not.toContain('Badge Holder');
        expect(res.body, url).toContain('data-person-picker');
      }
      const requests = (await m1.get('/requests')).body;
      expect(requests).toContain('data-category="staff,contractor"');
      expect(requests).toMatch(
        /<select name="payload\.personId" id="access-person" required[^>]*><option value="">[^<]*<\/option><\/select>/,
      );
      expect(requests).toMatch(/<select name="payload\.witnessPersonId" id="equipment-witness" required/);
      expect((await m1.get('/visitors')).body).toMatch(
        /<select name="payload\.hostPersonId" id="visitor-host" required/,
      );
    });

    it('the search takes the categories a picker asks for', async () => {
      const search = async (q: string) => {
        const res = await m1.get(`/api/people/search?${q}`);
        expect(res.statusCode, res.body).toBe(200);
        return res.json().people as { id: string; category: string }[];
      };
      expect((await search('q=V-9200')).map((p) => p.id)).toEqual([visitor.id]);
      expect(await search('q=V-9200&category=staff,contractor')).toEqual([]);
      expect((await search('q=S-9&category=contractor&limit=100')).map((p) => p.category)).toEqual([
        'contractor',
        'contractor',
      ]);
      for (const bad of ['staff,alien', 'staff,', ',staff', 'STAFF'])
        expect((await m1.get(`/api/people/search?q=a&category=${bad}`)).statusCode, bad).toBe(400);
    });

    it('the server still checks the id a picker sends: exists, active, of the right category', async () => {
      const file = (kind: string, payload: Record<string, unknown>) =>
        m1.post('/api/requests', { kind, payload, reason: 'picker test' });
      const grant = (personId: string) =>
        file('access_grant', { personId, doorId: 'machine-room', scheduleId: 'always' });
      const equipment = (personId: string, witnessPersonId: string) =>
        file('equipment', {
          personId,
          witnessPersonId,
          direction: 'in',
          description: 'laptop',
          doorId: 'machine-room',
        });
      const staff = all.find((p) => p.name === 'Staff 000')!;
      const contractor = all.find((p) => p.name === 'Contractor 000')!;
      for (const [res, message] of [
        [await grant('p_nobody'), 'no person'],
        [await grant(inactiveStaff.id), 'inactive'],
        [await grant(visitor.id), 'visitor'],
        [await equipment(inactiveStaff.id, staff.id), 'inactive'],
        [await equipment(staff.id, inactiveStaff.id), 'witness'],
        [await equipment(staff.id, contractor.id), 'witness'],
      ] as const) {
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().error.message).toContain(message);
      }
      const ok = await grant(contractor.id);
      expect(ok.statusCode, ok.body).toBe(200);
      expect((await equipment(visitor.id, staff.id)).statusCode).toBe(200);
      // Approval checks again: deactivated since it was filed, the grant is refused.
      d.controller.registry.updatePerson(contractor.id, { active: false }, 'test', d.controller.now());
      const approve = await m2.post(`/api/requests/${ok.json().id}/approve`, {});
      expect(approve.statusCode).toBe(400);
      expect(d.controller.registry.permissionsFor(contractor.id)).toEqual([]);
      d.controller.registry.updatePerson(contractor.id, { active: true }, 'test', d.controller.now());
    });
  });

  it('no dashboard route loads the whole registry', async () => {
    const r = d.controller.registry;
    const listPeople = vi.spyOn(r, 'listPeople');
    const listBadges = vi.spyOn(r, 'listBadges');
    try {
      // Traffic for the log and the reports: the badge holder in and out.
      expect(d.controller.simulateBadge('entry', '0A1B2C3D4E').decision.granted).toBe(true);
      expect(d.controller.simulateBadge('exit', '0A1B2C3D4E').decision.granted).toBe(true);
      const month = new Date(d.controller.now() + 9 * 3_600_000).toISOString().slice(0, 7);
      for (const url of [
        '/people',
        '/people?q=staff&category=staff&active=1',
        '/people?badge=3D4E',
        '/api/people',
        '/api/people?limit=500&q=a',
        '/requests',
        '/visitors',
        '/log?person=Badge',
        '/api/log?person=S-9300',
        '/api/log?person=badge+holder',
        '/api/log?badge=3D4E',
        '/api/log.csv?person=Badge',
        `/log/print?month=${month}`,
        '/reports',
        '/api/reports',
        '/compliance',
        '/api/compliance',
        `/people/${badgeHolder.id}`,
        `/api/people/${badgeHolder.id}`,
      ]) {
        const res = await m1.get(url);
        expect(res.statusCode, url).toBe(200);
      }
      expect(listPeople).not.toHaveBeenCalled();
      // A person's own badges only (their page), never every badge.
      for (const [filter] of listBadges.mock.calls) expect(filter?.personId).toBeTypeOf('string');
      // …and the log's person and badge filters found the badge holder through SQL lookups.
      const rows = (await m1.get('/api/log?person=badge+holder')).json().rows as { personId: string }[];
      expect(rows.map((x) => x.personId)).toEqual([badgeHolder.id, badgeHolder.id]);
      const byBadge = (await m1.get('/api/log?badge=%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A23D4E')).json().rows;
      expect(byBadge).toHaveLength(2);
    } finally {
      listPeople.mockRestore();
      listBadges.mockRestore();
    }
  });
});
