/**
 * No single insider (issue #14, paths 1–4): enrolling a badge, extending an expired person's
 * validity and setting the lockdown override no longer take effect at once — they are requests a
 * different *person* approves; a credential of no person (the API token) can neither file nor
 * approve; approvals compare people, not credentials; and the one break-glass path acts alone with
 * a reason, a critical alarm and a review by somebody else. Through the HTTP API, as a user would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserStore } from '../../controller/accounts/users.js';
import { RequestStore } from '../../controller/approvals/requests.js';
import { type Client, FAST_SCRYPT, makeDash, TEST_TOKENS, type TestDash, type TestToken } from './helpers.js';

describe('separation of duties on people and badges', () => {
  let d: TestDash;
  let m1: Client;
  let m2: Client;
  let op: Client;
  let a1: Client;
  let staff: { id: string };
  const CARD = '0A1B2C3D4E';

  beforeAll(async () => {
    d = await makeDash();
    m1 = await d.login('manager1');
    m2 = await d.login('manager2');
    op = await d.login('operator1');
    a1 = await d.login('admin1');
    staff = (await m1.post('/api/people', { name: '山田 太郎', displayId: 'S-1', category: 'staff' })).json();
    // Already allowed into the machine room (through an approved grant, here set up directly).
    d.controller.registry.grantDoor(staff.id, 'machine-room', 'always', 'test', d.controller.now());
  });
  afterAll(async () => {
    await d?.close();
  });

  const journal = (type: string) => d.controller.journal.query({ types: [type], limit: 50 });
  const door = (card: string) => d.controller.simulateBadge('entry', card).decision;
  /** A call with each API token the dashboard has: every one of them stands for no person. */
  const tokens = Object.keys(TEST_TOKENS) as TestToken[];
  const token = (name: TestToken, method: 'GET' | 'POST', url: string, payload?: object) =>
    d.app.inject({ method, url, headers: d.bearer(name), ...(payload ? { payload } : {}) });
  const compliance = async () =>
    (await m2.get('/api/compliance')).json().items as {
      clause: string;
      requirement: string;
      status: string;
      evidence: [string, string | number][];
    }[];
  const row = async (requirement: string) => (await compliance()).find((i) => i.requirement === requirement)!;

  it('path 1: a card enrolled on someone with access opens nothing until a different person approves it', async () => {
    const filed = await m1.post(`/api/people/${staff.id}/badges`, {
      number: CARD,
      reason: 'replacement card',
    });
    expect(filed.statusCode).toBe(200);
    const r = filed.json().request;
    expect(r).toMatchObject({ kind: 'badge_enrol', status: 'pending', requestedBy: 'user:manager1' });
    expect(r.payload.masked).toBe('••••3D4E');
    // Never the number itself: neither the request nor the journal holds it.
    expect(JSON.stringify(r)).not.toContain(CARD);
    const rows = d.controller.db.prepare('SELECT bytes FROM journal').all() as { bytes: string }[];
    expect(rows.some((x) => x.bytes.includes(CARD))).toBe(false);
    expect(door(CARD)).toEqual({ granted: false, reason: 'unknown_badge' });

    const self = await m1.post(`/api/requests/${r.id}/approve`, {});
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    expect(journal('self_approval_refused')[0]).toMatchObject({
      actor: 'user:manager1',
      data: { requestId: r.id, kind: 'badge_enrol' },
    });
    expect(door(CARD).granted).toBe(false);

    const ok = await m2.post(`/api/requests/${r.id}/approve`, { note: 'old card destroyed' });
    expect(ok.statusCode).toBe(200);
    expect(door(CARD).granted).toBe(true);
    expect(journal('badge_added')[0]).toMatchObject({ actor: 'user:manager2' });
  });

  it('path 2: extending an expired person waits for another person; shortening is immediate', async () => {
    const p = (
      await m1.post('/api/people', {
        name: '期限 切れ',
        displayId: 'S-2',
        category: 'staff',
        validUntil: '2020-03-31',
      })
    ).json();
    d.controller.registry.grantDoor(p.id, 'machine-room', 'always', 'test', d.controller.now());
    d.controller.registry.addBadge({ personId: p.id, credential: '0A1B2C3D01' }, 'test', d.controller.now());
    expect(door('0A1B2C3D01').granted).toBe(false);

    const ext = await m1.req('PATCH', `/api/people/${p.id}`, {
      validUntil: '2099-03-31',
      name: '期限 延長',
      reason: 'contract renewed',
    });
    expect(ext.statusCode).toBe(200);
    // The name applied at once; the validity became a request.
    expect(ext.json()).toMatchObject({ name: '期限 延長', expired: true });
    expect(ext.json().requests).toEqual([
      expect.objectContaining({ kind: 'validity_change', status: 'pending' }),
    ]);
    expect(door('0A1B2C3D01').granted).toBe(false);
    const id = ext.json().requests[0].id;
    expect((await m1.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(403);
    expect((await m2.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(200);
    expect(door('0A1B2C3D01').granted).toBe(true);

    // Shortening and deactivation never wait.
    const short = await m1.req('PATCH', `/api/people/${p.id}`, { validUntil: '2020-01-01' });
    expect(short.json()).toMatchObject({ expired: true, requests: [] });
    expect(door('0A1B2C3D01').granted).toBe(false);
    // Removing the end date altogether is a widening too.
    const open = await m1.req('PATCH', `/api/people/${p.id}`, { validUntil: null });
    expect(open.json().requests[0].kind).toBe('validity_change');
    expect(open.json().validUntil).not.toBeNull();
    expect(d.controller.registry.getPerson(p.id)!.validUntil).not.toBeNull();
  });

  it('path 2: re-activating a person is a request; deactivating is immediate', async () => {
    expect((await m1.req('PATCH', `/api/people/${staff.id}`, { active: false })).json()).toMatchObject({
      active: false,
      requests: [],
    });
    expect(door(CARD).granted).toBe(false);
    const back = (await m1.req('PATCH', `/api/people/${staff.id}`, { active: true })).json();
    expect(back.active).toBe(false);
    expect(back.requests[0]).toMatchObject({ kind: 'validity_change' });
    expect(door(CARD).granted).toBe(false);
    expect((await m2.post(`/api/requests/${back.requests[0].id}/approve`, {})).statusCode).toBe(200);
    expect(door(CARD).granted).toBe(true);
  });

  it('path 3: the lockdown override waits for another person; removing it is immediate', async () => {
    const set = (await m1.req('PATCH', `/api/people/${staff.id}`, { lockdownOverride: true })).json();
    expect(set.lockdownOverride).toBe(false);
    expect(set.requests[0]).toMatchObject({ kind: 'lockdown_override', status: 'pending' });
    // Adding a person with the override files the same request.
    const added = (
      await m1.post('/api/people', {
        name: '新規 職員',
        displayId: 'S-3',
        category: 'staff',
        lockdownOverride: true,
      })
    ).json();
    expect(added.lockdownOverride).toBe(false);
    expect(added.requests[0]).toMatchObject({ kind: 'lockdown_override', status: 'pending' });
    expect((await m1.post(`/api/requests/${set.requests[0].id}/approve`, {})).statusCode).toBe(403);
    expect((await m2.post(`/api/requests/${set.requests[0].id}/approve`, {})).statusCode).toBe(200);
    expect(d.controller.registry.getPerson(staff.id)!.lockdownOverride).toBe(true);
    const off = (await m1.req('PATCH', `/api/people/${staff.id}`, { lockdownOverride: false })).json();
    expect(off).toMatchObject({ lockdownOverride: false, requests: [] });
  });

  it('path 4: a token is no person — it can neither file nor approve, and the refusal is journaled', async () => {
    const grant = {
      kind: 'access_grant',
      payload: { personId: staff.id, doorId: 'machine-room', scheduleId: 'office-hours' },
      reason: 'filed with the token',
    };
    const pending = (await m1.post('/api/requests', { ...grant, reason: 'filed by a person' })).json();
    for (const name of tokens) {
      const filed = await token(name, 'POST', '/api/requests', grant);
      expect(filed.statusCode, name).toBe(403);
      expect(['no_person', 'forbidden']).toContain(filed.json().error.code);
      const approve = await token(name, 'POST', `/api/requests/${pending.id}/approve`, {});
      expect(approve.statusCode, name).toBe(403);
    }
    expect((await m1.get(`/api/requests/${pending.id}`)).json().status).toBe('pending');
    await m1.post(`/api/requests/${pending.id}/withdraw`);

    // The store itself refuses no person, whatever rights the credential's account has.
    const store = new RequestStore({
      db: d.controller.db,
      journal: d.controller.journal,
      registry: d.controller.registry,
      users: new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT }),
      config: d.controller.config,
    });
    for (const actor of ['token:api', 'cli:root', 'cli:sekisho', 'system']) {
      expect(() =>
        store.create(
          {
            kind: 'escort_permission',
            payload: { personId: staff.id },
            reason: 'no person behind this',
          },
          { actor, user: { id: 'x', username: 'x', role: 'admin' } },
          d.controller.now(),
        ),
      ).toThrow(/stands for no person/);
    }
    expect(journal('request_refused')[0]).toMatchObject({
      actor: 'system',
      data: { action: 'create', kind: 'escort_permission', why: 'no_person' },
    });
  });

  it('approvals compare people: the same person through the CLI and a session is refused', async () => {
    const store = new RequestStore({
      db: d.controller.db,
      journal: d.controller.journal,
      registry: d.controller.registry,
      users: new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT }),
      config: d.controller.config,
    });
    // manager1 files on the device, through sudo as themselves…
    const r = store.create(
      { kind: 'escort_permission', payload: { personId: staff.id }, reason: 'on call' },
      { actor: 'cli:manager1/root', user: { id: 'cli', username: 'manager1', role: 'manager' } },
      d.controller.now(),
    );
    // …and cannot approve it in the dashboard, nor reject it as if it were someone else's.
    const self = await m1.post(`/api/requests/${r.id}/approve`, {});
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    expect((await m1.post(`/api/requests/${r.id}/reject`, {})).json().error.code).toBe('own_request');
    // The same person may withdraw it from the dashboard.
    expect((await m1.post(`/api/requests/${r.id}/withdraw`)).statusCode).toBe(200);
  });

  it('the §4(3) row counts by person and flags approvals no person answers for', async () => {
    expect((await row('cmp_sod')).status).toBe('ok');
    const insert = d.controller.db.prepare(
      `INSERT INTO dashboard_requests (kind, status, requested_by, requested_at, payload, reason, decided_by, decided_at, result)
       VALUES ('escort_permission', 'approved', ?, 0, '{}', 'r', ?, 0, '{}')`,
    );
    // As an older controller could have stored them: one person under two credentials.
    insert.run('cli:manager2/root', 'user:manager2');
    let sod = await row('cmp_sod');
    expect(sod.status).toBe('attention');
    expect(Object.fromEntries(sod.evidence).cmp_ev_self_approved).toBe(1);
    insert.run('token:api', 'user:manager2');
    sod = await row('cmp_sod');
    expect(Object.fromEntries(sod.evidence).cmp_ev_unattributed).toBe(1);
    d.controller.db.prepare("DELETE FROM dashboard_requests WHERE reason = 'r'").run();
    expect((await row('cmp_sod')).status).toBe('ok');
  });

  it('break-glass: alone, with a reason, at once; a critical alarm; reviewed by someone else', async () => {
    const body = (reason: string) => ({
      kind: 'badge_enrol',
      payload: { personId: staff.id, number: '0A1B2C3D77' },
      reason: 'night call-out, card broken',
      breakGlass: { reason },
    });
    // The reason is mandatory and not a formality; operators and tokens may not act alone.
    const short = await m1.post('/api/requests', body('   urgent   '));
    expect(short.statusCode).toBe(400);
    expect(short.json().error.message).toMatch(/at least 20 characters/);
    // A reason that would reorder the Requests page's text is refused.
    const bidi = await m1.post('/api/requests', body('urgent night call-out \u202e tuo-llac'));
    expect(bidi.statusCode).toBe(400);
    expect((await op.post('/api/requests', body('the duty desk acting alone tonight'))).statusCode).toBe(403);
    for (const name of tokens)
      expect(
        (await token(name, 'POST', '/api/requests', body('a token acting alone tonight'))).statusCode,
      ).toBe(403);
    expect(door('0A1B2C3D77').granted).toBe(false);
    const account = await a1.post('/api/requests', {
      kind: 'account_create',
      payload: { username: 'night', displayName: 'Night', role: 'admin' },
      reason: 'emergency account',
      breakGlass: { reason: 'nobody else is awake to approve this' },
    });
    expect(account.statusCode).toBe(403);

    const used = await m1.post('/api/requests', body('UPS alarm at 02:10, card of the on-call broken'));
    expect(used.statusCode).toBe(200);
    const r = used.json();
    expect(r).toMatchObject({ status: 'approved', requestedBy: 'user:manager1', decidedBy: 'user:manager1' });
    expect(r.breakGlass).toMatchObject({ reviewedAt: null });
    expect(door('0A1B2C3D77').granted).toBe(true);
    expect(journal('break_glass_used')[0]).toMatchObject({
      actor: 'user:manager1',
      person: staff.id,
      data: {
        requestId: r.id,
        kind: 'badge_enrol',
        reason: 'UPS alarm at 02:10, card of the on-call broken',
      },
    });
    expect(String((journal('break_glass_used')[0]!.data as { summary?: string }).summary)).toContain(
      '••••3D77',
    );
    const alarm = d.controller.activeAlarms().find((a) => a.type === 'break_glass')!;
    expect(alarm).toMatchObject({ severity: 'critical', conditionCleared: false });
    // Counted on its own, not as a self-approval; attention until reviewed.
    expect((await row('cmp_sod')).status).toBe('ok');
    const bg = await row('cmp_break_glass');
    expect(bg.status).toBe('attention');
    expect(Object.fromEntries(bg.evidence)).toMatchObject({
      cmp_ev_break_glass_uses: 1,
      cmp_ev_break_glass_pending: 1,
    });
    expect((await m2.get('/requests')).body).toContain(`data-review="${r.id}"`);

    const self = await m1.post(`/api/break-glass/${r.id}/review`, { note: 'I checked it myself' });
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    expect(journal('self_approval_refused')[0]).toMatchObject({
      actor: 'user:manager1',
      data: { requestId: r.id },
    });
    expect((await m2.post(`/api/break-glass/${r.id}/review`, { note: ' ' })).statusCode).toBe(400);
    const reviewed = await m2.post(`/api/break-glass/${r.id}/review`, {
      note: 'confirmed with the on-call log',
    });
    expect(reviewed.statusCode).toBe(200);
    expect(reviewed.json().breakGlass).toMatchObject({ reviewedBy: 'user:manager2' });
    expect(journal('break_glass_reviewed')[0]).toMatchObject({
      actor: 'user:manager2',
      data: { requestId: r.id, usedBy: 'user:manager1', note: 'confirmed with the on-call log' },
    });
    expect(d.controller.activeAlarms().find((a) => a.id === alarm.id)!.conditionCleared).toBe(true);
    expect((await row('cmp_break_glass')).status).toBe('ok');
    expect((await m2.post(`/api/break-glass/${r.id}/review`, { note: 'again, twice' })).statusCode).toBe(409);
    const list = (await m2.get('/api/break-glass')).json();
    expect(list).toMatchObject({ total: 1, pendingReviews: 0 });
  });

  it('the people page says that these changes are requests, in both languages', async () => {
    const page = await m1.req('GET', `/people/${staff.id}`, undefined, {
      cookie: `${m1.cookie}; sekisho_lang=en`,
    });
    expect(page.body).toContain('take effect when a different person approves them');
    expect(page.body).toContain('name="breakGlass.reason"');
    const ja = await m1.req('GET', `/people/${staff.id}`, undefined, {
      cookie: `${m1.cookie}; sekisho_lang=ja`,
    });
    expect(ja.body).toContain('別の人が承認した時点で有効になります');
  });
});
