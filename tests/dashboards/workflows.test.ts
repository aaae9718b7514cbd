/**
 * Issue #18's workflows through the API, on a real controller and SQLite journal: a visitor request
 * starts now and an ended window is refused; an approved request is withdrawn or amended by its
 * applicant only (the amendment approved by a different person, never alone); a rejection needs a
 * reason the applicant sees; a lost card found stays refused until enrolled again through a request;
 * a returned visitor card is `returned`, not revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, makeDash, type TestDash } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 18:59 in Tokyo on 10 March 2027: the time of the report. */
const AT_1859 = Date.UTC(2027, 2, 10, 9, 59);
const DAY = '2027-03-10';

describe('visitor requests, rejections, lost and found', () => {
  let d: TestDash;
  let m1: Client;
  let m2: Client;
  let a1: Client;
  let op: Client;
  let aud: Client;
  let host: { id: string };

  beforeAll(async () => {
    d = await makeDash({ clock: true });
    d.clock.now = AT_1859;
    m1 = await d.login('manager1');
    m2 = await d.login('manager2');
    a1 = await d.login('admin1');
    op = await d.login('operator1');
    aud = await d.login('auditor1');
    const r = d.controller.registry;
    host = r.addPerson(
      { displayId: 'S-2001', name: '佐藤 花子', category: 'staff' },
      'test',
      d.controller.now(),
    );
  });
  afterAll(async () => {
    await d?.close();
  });

  const rows = (type: string) => d.controller.journal.query({ types: [type], limit: 50 });
  const local = (ms: number) => new Date(ms + 9 * HOUR).toISOString().slice(0, 16);

  function visit(by: Client, from: number, until: number, extra: Record<string, unknown> = {}) {
    const { amends, breakGlass, ...payload } = extra;
    return by.post('/api/requests', {
      kind: 'visitor_badge',
      payload: {
        name: '来訪 一郎',
        organisation: 'ACME',
        hostPersonId: host.id,
        purpose: 'UPS inspection',
        doorId: 'machine-room',
        validFrom: local(from),
        validUntil: local(until),
        ...payload,
        ...(amends === undefined ? {} : { amends }),
      },
      reason: 'annual inspection',
      ...(breakGlass === undefined ? {} : { breakGlass }),
    });
  }

  /** Filed by `by`, approved by `approver`: the request's id. */
  async function approvedVisit(by: Client, approver: Client, until = d.controller.now() + 2 * HOUR) {
    const filed = await visit(by, d.controller.now(), until);
    expect(filed.statusCode, filed.body).toBe(200);
    const ok = await approver.post(`/api/requests/${filed.json().id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    return filed.json().id as number;
  }

  it('a request filed at 18:59 for 09:00–18:00 is refused plainly; the form offers a window from now', async () => {
    const before = rows('request_created').length;
    const late = await visit(m1, Date.UTC(2027, 2, 10, 0, 0), Date.UTC(2027, 2, 10, 9, 0));
    expect(late.statusCode).toBe(409);
    expect(late.json().error).toMatchObject({ code: 'visit_ended' });
    expect(late.json().error.message).toContain(`${DAY} 18:00`);
    expect(late.json().error.text).toContain('来訪の期間が既に終わっています');
    expect(rows('request_created')).toHaveLength(before);
    // The form's default: from now (18:59) to an hour later (the day's end, 19:00, is too near).
    const page = (await m1.get('/visitors')).body;
    expect(page).toContain(`name="payload.validFrom" required value="${DAY}T18:59"`);
    expect(page).toContain(`name="payload.validUntil" required value="${DAY}T19:59"`);
    expect(page).not.toContain(`${DAY}T09:00`);
  });

  it('an approved request is withdrawn by its applicant only, journaled, before the card is handed out', async () => {
    const id = await approvedVisit(m1, m2);
    const head = d.controller.journal.head().seq;
    // The approver, an operator and an administrator cannot withdraw someone else's request.
    for (const other of [m2, op, a1]) {
      const r = await other.post(`/api/requests/${id}/withdraw`);
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe('forbidden');
    }
    expect(d.controller.journal.head().seq).toBe(head);
    const w = await m1.post(`/api/requests/${id}/withdraw`);
    expect(w.statusCode, w.body).toBe(200);
    expect(w.json()).toMatchObject({ status: 'cancelled', decidedBy: 'user:manager2' });
    expect(w.json().result).toMatchObject({ withdrawnBy: 'user:manager1' });
    expect(rows('request_withdrawn')[0]).toMatchObject({
      actor: 'user:manager1',
      data: { requestId: id, kind: 'visitor_badge', afterApproval: true },
    });
    expect((await op.post(`/api/requests/${id}/issue-badge`, { number: 'AABBCCDD01' })).statusCode).toBe(409);
    expect((await op.get('/api/visitors')).json().awaiting.map((r: { id: number }) => r.id)).not.toContain(
      id,
    );
    expect((await m1.post(`/api/requests/${id}/withdraw`)).statusCode).toBe(409);

    // Once the card is out it is taken back, not withdrawn.
    const out = await approvedVisit(m1, m2);
    expect((await op.post(`/api/requests/${out}/issue-badge`, { number: 'AABBCCDD02' })).statusCode).toBe(
      200,
    );
    const late = await m1.post(`/api/requests/${out}/withdraw`);
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('handed_out');
  });

  it('an amendment is a request of the applicant that a different person approves; it replaces the original', async () => {
    const now = d.controller.now();
    const id = await approvedVisit(m1, m2, now + HOUR);
    // Someone else cannot amend it (they file their own request instead).
    const foreign = await visit(m2, now, now + 5 * HOUR, { amends: id });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('forbidden');
    // Nor can the applicant amend it alone (break-glass), which would widen it with no second person.
    const alone = await visit(m1, now, now + 5 * HOUR, {
      amends: id,
      breakGlass: { reason: 'the vendor arrives later than planned tonight' },
    });
    expect(alone.statusCode).toBe(403);
    expect(rows('request_refused')[0]).toMatchObject({
      actor: 'user:manager1',
      data: { action: 'break_glass', kind: 'visitor_badge', why: 'forbidden' },
    });
    const filed = await visit(m1, now, now + 5 * HOUR, {
      amends: id,
      purpose: 'UPS inspection and battery swap',
    });
    expect(filed.statusCode, filed.body).toBe(200);
    const amendment = filed.json().id as number;
    expect((await visit(m1, now, now + 4 * HOUR, { amends: id })).statusCode).toBe(409); // one at a time
    // Until the amendment is approved the original stands, as approved.
    expect((await m1.get(`/api/requests/${id}`)).json().status).toBe('approved');
    const self = await m1.post(`/api/requests/${amendment}/approve`, {});
    expect(self.json().error.code).toBe('self_approval_refused');
    expect(rows('self_approval_refused')[0]).toMatchObject({ data: { requestId: amendment } });

    const ok = await m2.post(`/api/requests/${amendment}/approve`, { note: 'longer visit agreed' });
    expect(ok.statusCode, ok.body).toBe(200);
    const original = (await m1.get(`/api/requests/${id}`)).json();
    expect(original).toMatchObject({ status: 'cancelled', result: { supersededBy: amendment } });
    const amended = rows('request_amended')[0]!;
    expect(amended).toMatchObject({
      actor: 'user:manager2',
      data: { requestId: id, amendment, requestedBy: 'user:manager1' },
    });
    expect(amended.seq).toBe(rows('request_approved')[0]!.seq + 1); // one transaction
    const awaiting = (await op.get('/api/visitors')).json().awaiting.map((r: { id: number }) => r.id);
    expect(awaiting).toContain(amendment);
    expect(awaiting).not.toContain(id);
    expect((await op.post(`/api/requests/${id}/issue-badge`, { number: 'AABBCCDD03' })).statusCode).toBe(409);
    const issued = await op.post(`/api/requests/${amendment}/issue-badge`, { number: 'AABBCCDD03' });
    expect(issued.statusCode, issued.body).toBe(200);
    expect(d.controller.registry.getVisitorBadge(issued.json().badgeId)).toMatchObject({
      purpose: 'UPS inspection and battery swap',
      validUntil: Math.floor((now + 5 * HOUR) / MIN) * MIN,
    });
  });

  it('an administrator cannot widen their own approved request without a second person', async () => {
    const now = d.controller.now();
    const id = await approvedVisit(a1, m1, now + HOUR);
    const filed = await visit(a1, now, now + 6 * 24 * HOUR, { amends: id });
    expect(filed.statusCode).toBe(200);
    const self = await a1.post(`/api/requests/${filed.json().id}/approve`, {});
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    expect((await a1.get(`/api/requests/${filed.json().id}`)).json().status).toBe('pending');
    expect((await a1.get(`/api/requests/${id}`)).json().status).toBe('approved');
  });

  it('a card handed out while its amendment waits: the amendment is refused at approval and stays pending', async () => {
    const now = d.controller.now();
    const id = await approvedVisit(m1, m2, now + HOUR);
    const amendment = (await visit(m1, now, now + 3 * HOUR, { amends: id })).json().id;
    expect((await op.post(`/api/requests/${id}/issue-badge`, { number: 'AABBCCDD04' })).statusCode).toBe(200);
    const head = d.controller.journal.head().seq;
    const late = await m2.post(`/api/requests/${amendment}/approve`, {});
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('handed_out');
    expect(d.controller.journal.head().seq).toBe(head);
    expect((await m2.get(`/api/requests/${amendment}`)).json().status).toBe('pending');
  });

  it('a rejection needs a reason, journaled and shown to the applicant', async () => {
    const now = d.controller.now();
    const id = (await visit(m1, now, now + HOUR)).json().id;
    for (const body of [{}, { note: '   ' }]) {
      const r = await m2.post(`/api/requests/${id}/reject`, body);
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'reason_required' });
      expect(r.json().error.text).toContain('却下の理由を入力してください');
    }
    expect((await m2.get(`/api/requests/${id}`)).json().status).toBe('pending');
    const own = await m1.post(`/api/requests/${id}/reject`, { note: 'never mind' });
    expect(own.json().error.code).toBe('own_request');
    const r = await m2.post(`/api/requests/${id}/reject`, { note: '受入担当がその日は不在です' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'rejected', decisionNote: '受入担当がその日は不在です' });
    expect(rows('request_rejected')[0]).toMatchObject({
      actor: 'user:manager2',
      data: { requestId: id, note: '受入担当がその日は不在です' },
    });
    const page = (await m1.get('/requests')).body;
    expect(page).toContain(`data-reject-reason="${id}">却下の理由: 受入担当がその日は不在です`);
  });

  it('one’s own pending request shows a plain note and no approve or reject; others see both', async () => {
    const now = d.controller.now();
    const id = (await visit(m1, now, now + HOUR)).json().id;
    const mine = (await m1.get('/requests')).body;
    expect(mine).toContain(`data-own-request="${id}">自分の申請は承認できません。`);
    expect(mine).not.toContain(`data-approve="${id}"`);
    expect(mine).not.toContain(`data-reject="${id}"`);
    expect(mine).toContain(`data-withdraw="${id}"`);
    const theirs = (await m2.get('/requests')).body;
    expect(theirs).toContain(`data-approve="${id}"`);
    expect(theirs).toContain(`data-reject="${id}"`);
    expect(theirs).not.toContain(`data-own-request="${id}"`);
    await m1.post(`/api/requests/${id}/withdraw`);
  });

  it('a lost card: a reason is required, it is refused at once, and the page says so', async () => {
    const r = d.controller.registry;
    const staff = r.addPerson(
      { displayId: 'S-2002', name: '鈴木 次郎', category: 'staff' },
      'test',
      d.controller.now(),
    );
    r.grantDoor(staff.id, 'machine-room', 'always', 'test', d.controller.now());
    const b = r.addBadge({ personId: staff.id, credential: '0A1B2C3D10' }, 'test', d.controller.now());
    expect((await op.post(`/api/badges/${b.id}/lost`, {})).statusCode).toBe(400);
    expect(r.getBadge(b.id)?.status).toBe('active');
    const lost = await op.post(`/api/badges/${b.id}/lost`, { reason: '3月10日夕方、庁舎1階で紛失' });
    expect(lost.statusCode).toBe(200);
    expect(d.controller.simulateBadge('entry', '0A1B2C3D10').decision.reason).toBe('badge_lost');
    expect(rows('badge_status_changed')[0]).toMatchObject({
      actor: 'user:operator1',
      data: { badgeId: b.id, status: 'lost', reason: '3月10日夕方、庁舎1階で紛失' },
    });
    const page = (await op.get(`/people/${staff.id}?lost=${b.id}`)).body;
    expect(page).toContain('id="badge-done"');
    expect(page).toContain('今からすべての扉で拒否されます');
    // The notice follows the card's state, not the URL: an active card's id says nothing.
    const other = r.addBadge({ personId: staff.id, credential: '0A1B2C3D11' }, 'test', d.controller.now());
    expect((await op.get(`/people/${staff.id}?lost=${other.id}`)).body).not.toContain('id="badge-done"');

    // Found: journaled, and still refused (revoked); found twice or an active card: 409.
    expect((await aud.post(`/api/badges/${b.id}/found`, { note: 'x' })).statusCode).toBe(403);
    expect((await op.post(`/api/badges/${b.id}/found`, {})).statusCode).toBe(400);
    expect((await op.post(`/api/badges/${other.id}/found`, { note: 'x' })).statusCode).toBe(409);
    const found = await op.post(`/api/badges/${b.id}/found`, { note: '守衛室に届けられた' });
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json()).toMatchObject({ status: 'revoked' });
    expect(rows('badge_found')[0]).toMatchObject({
      actor: 'user:operator1',
      data: { badgeId: b.id, note: '守衛室に届けられた', status: 'revoked' },
    });
    expect(d.controller.simulateBadge('entry', '0A1B2C3D10').decision.reason).toBe('badge_revoked');
    expect((await op.post(`/api/badges/${b.id}/found`, { note: 'again' })).statusCode).toBe(409);
    expect((await op.get(`/people/${staff.id}?found=${b.id}`)).body).toContain('失効のままです');
    // Using the card again: an enrolment request, which its filer cannot approve.
    const again = (await m1.post(`/api/people/${staff.id}/badges`, { number: '0A1B2C3D10' })).json();
    expect((await m1.post(`/api/requests/${again.request.id}/approve`, {})).statusCode).toBe(403);
    expect(d.controller.simulateBadge('entry', '0A1B2C3D10').decision.granted).toBe(false);
    expect((await m2.post(`/api/requests/${again.request.id}/approve`, {})).statusCode).toBe(200);
    expect(d.controller.simulateBadge('entry', '0A1B2C3D10').decision.granted).toBe(true);
  });

  it('a returned visitor card is "returned" in the API and on the page, never "revoked"; a lost one found is taken back', async () => {
    const id = await approvedVisit(m1, m2);
    const { badgeId, personId } = (
      await op.post(`/api/requests/${id}/issue-badge`, { number: 'AABBCCDD06' })
    ).json();
    expect((await op.post(`/api/visitors/${badgeId}/return`, {})).statusCode).toBe(200);
    const person = (await aud.get(`/api/people/${personId}`)).json();
    expect(person.badges).toMatchObject([{ id: badgeId, status: 'returned' }]);
    const page = (await aud.get(`/people/${personId}`)).body;
    expect(page).toContain('返却済み');
    expect(page).not.toContain('失効');

    const id2 = await approvedVisit(m1, m2);
    const vb = (await op.post(`/api/requests/${id2}/issue-badge`, { number: 'AABBCCDD07' })).json();
    expect(
      (await op.post(`/api/badges/${vb.badgeId}/lost`, { reason: 'lost in the corridor' })).statusCode,
    ).toBe(200);
    expect(
      (await op.post(`/api/badges/${vb.badgeId}/found`, { note: 'found at reception' })).statusCode,
    ).toBe(200);
    expect(d.controller.registry.getVisitorBadge(vb.badgeId)).toMatchObject({
      status: 'returned',
      badgeStatus: 'revoked',
      returnNote: 'found: found at reception',
    });
    expect(
      (await op.get('/api/visitors')).json().unreturned.map((x: { badgeId: string }) => x.badgeId),
    ).not.toContain(vb.badgeId);
  });

  it('a window that ended after approval is not handed out; an approved amendment is', async () => {
    const now = d.controller.now();
    const id = await approvedVisit(m1, m2, now + 30 * MIN);
    d.clock.now += HOUR;
    // An hour idle ends the sessions: log in again.
    m1 = await d.login('manager1');
    m2 = await d.login('manager2');
    op = await d.login('operator1');
    const late = await op.post(`/api/requests/${id}/issue-badge`, { number: 'AABBCCDD05' });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('visit_ended');
    expect(late.json().error.text).toContain('変更を申請するか取下げてください');
    expect((await op.get('/visitors')).body).toContain(`data-visit-ended="${id}"`);
    const later = d.controller.now();
    const amendment = (await visit(m1, later, later + 2 * HOUR, { amends: id })).json().id;
    expect((await m2.post(`/api/requests/${amendment}/approve`, {})).statusCode).toBe(200);
    expect(
      (await op.post(`/api/requests/${amendment}/issue-badge`, { number: 'AABBCCDD05' })).statusCode,
    ).toBe(200);
  });
});
