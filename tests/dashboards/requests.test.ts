/**
 * Separation of duties (§4(3)) and the acts that never wait: a lost badge is refused at the door
 * the moment the call returns; grants, schedule changes, visitor badges, equipment, accounts and
 * roles need a different approver, and self-approval is refused and journaled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, makeDash, PASSWORD, type TestDash } from './helpers.js';

describe('people, badges and requests', () => {
  let d: TestDash;
  let m1: Client;
  let m2: Client;
  let op: Client;
  let a1: Client;
  let a2: Client;
  let aud: Client;
  let staff: { id: string };
  let badgeId: string;

  beforeAll(async () => {
    d = await makeDash();
    m1 = await d.login('manager1');
    m2 = await d.login('manager2');
    op = await d.login('operator1');
    a1 = await d.login('admin1');
    a2 = await d.login('admin2');
    aud = await d.login('auditor1');
    staff = (
      await m1.post('/api/people', { name: '山田 太郎', displayId: 'S-1001', category: 'staff' })
    ).json();
    const b = await enrol(staff.id, '0a1b2c3d4e');
    badgeId = b.id;
    expect(b.masked).toBe('••••3D4E');
  });

  /** A badge is a request (badge_enrol): filed by manager1, approved by manager2. */
  async function enrol(personId: string, number: string) {
    const filed = await m1.post(`/api/people/${personId}/badges`, { number });
    expect(filed.statusCode, filed.body).toBe(200);
    const ok = await m2.post(`/api/requests/${filed.json().request.id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    return d.controller.registry.getBadge(ok.json().result.badgeId)!;
  }
  afterAll(async () => {
    await d?.close();
  });

  const journal = (type: string) => d.controller.journal.query({ types: [type], limit: 50 });

  it('badge numbers are checked and never stored or answered in clear', async () => {
    const bad = await m1.post(`/api/people/${staff.id}/badges`, { number: '12345' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_credential');
    const dup = await m1.post(`/api/people/${staff.id}/badges`, { number: '0A1B2C3D4E' });
    expect(dup.statusCode).toBe(409);
    const all = (await aud.get('/api/people')).body;
    expect(all).not.toContain('0A1B2C3D4E');
    const rows = d.controller.db.prepare('SELECT bytes FROM journal').all() as { bytes: string }[];
    expect(rows.some((r) => r.bytes.includes('0A1B2C3D4E'))).toBe(false);
  });

  it('a grant needs a different approver: self-approval is refused, journaled, and changes nothing', async () => {
    const filed = await m1.post('/api/requests', {
      kind: 'access_grant',
      payload: { personId: staff.id, doorId: 'machine-room', scheduleId: 'always' },
      reason: 'server maintenance',
    });
    expect(filed.statusCode).toBe(200);
    const id = filed.json().id;
    expect(filed.json()).toMatchObject({ status: 'pending', requestedBy: 'user:manager1' });
    expect(d.controller.simulateBadge('entry', '0A1B2C3D4E').decision.reason).toBe('door_not_permitted');

    const self = await m1.post(`/api/requests/${id}/approve`, { note: 'looks fine to me' });
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    const refused = journal('self_approval_refused')[0]!;
    expect(refused).toMatchObject({ actor: 'user:manager1', data: { requestId: id, kind: 'access_grant' } });
    expect((await m1.get(`/api/requests/${id}`)).json().status).toBe('pending');
    expect(d.controller.registry.permissionsFor(staff.id)).toEqual([]);
    // Neither the operator (no right) nor the auditor (read-only) may approve.
    expect((await op.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(403);
    expect((await aud.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(403);

    const ok = await m2.post(`/api/requests/${id}/approve`, { note: 'checked with the section head' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      status: 'approved',
      decidedBy: 'user:manager2',
      requestedBy: 'user:manager1',
    });
    expect(d.controller.simulateBadge('entry', '0A1B2C3D4E').decision.granted).toBe(true);
    // The grant and its approval are one transaction: adjacent rows, the approver as actor.
    const approved = journal('request_approved')[0]!;
    const grant = journal('permission_granted')[0]!;
    expect(approved.seq).toBe(grant.seq + 1);
    expect(grant.actor).toBe('user:manager2');
    // A decided request cannot be decided again.
    expect((await m2.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(409);
  });

  it('a lost badge is refused at the door as soon as the call returns — no approval, by the operator', async () => {
    expect(d.controller.simulateBadge('exit', '0A1B2C3D4E').decision.granted).toBe(true);
    const res = await op.post(`/api/badges/${badgeId}/lost`, { reason: 'reported lost by phone' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'lost' });
    const at = d.controller.simulateBadge('entry', '0A1B2C3D4E');
    expect(at.decision).toEqual({ granted: false, reason: 'badge_lost' });
    // Through the reader simulation over HTTP too.
    const sim = await d.app.inject({
      method: 'POST',
      url: '/api/sim/badge',
      headers: d.bearer('sim'),
      payload: { reader: 'entry', credential: '0A1B2C3D4E' },
    });
    expect(sim.json()).toMatchObject({ granted: false, reason: 'badge_lost' });
    expect(journal('badge_status_changed')[0]).toMatchObject({
      actor: 'user:operator1',
      data: { badgeId, status: 'lost', reason: 'reported lost by phone' },
    });
    // The operator may not revoke (final) — that is for a manager.
    expect((await op.post(`/api/badges/${badgeId}/revoke`, {})).statusCode).toBe(403);
  });

  it('withdrawing door access takes effect at once (revocation never waits)', async () => {
    const b2 = await enrol(staff.id, '0A1B2C3D99');
    expect(d.controller.simulateBadge('entry', '0A1B2C3D99').decision.granted).toBe(true);
    const res = await m1.post(`/api/people/${staff.id}/revoke-door`, { doorId: 'machine-room' });
    expect(res.statusCode).toBe(200);
    expect(d.controller.simulateBadge('entry', '0A1B2C3D99').decision.reason).toBe('door_not_permitted');
    expect(b2.status).toBe('active');
  });

  it('a schedule change and an equipment carry-in are requests too; reject and withdraw work, on the right side', async () => {
    const g = (
      await m1.post('/api/requests', {
        kind: 'access_grant',
        payload: { personId: staff.id, doorId: 'machine-room', scheduleId: 'office-hours' },
        reason: 'back on duty',
      })
    ).json();
    await m2.post(`/api/requests/${g.id}/approve`, {});
    const change = (
      await op.post('/api/requests', {
        kind: 'schedule_change',
        payload: {
          personId: staff.id,
          doorId: 'machine-room',
          fromScheduleId: 'office-hours',
          toScheduleId: 'always',
        },
        reason: 'night shifts this month',
      })
    ).json();
    expect((await op.post(`/api/requests/${change.id}/reject`, { note: 'x' })).statusCode).toBe(403);
    expect((await m1.post(`/api/requests/${change.id}/withdraw`)).statusCode).toBe(403); // not theirs
    expect((await m1.post(`/api/requests/${change.id}/approve`, {})).statusCode).toBe(200);
    expect(d.controller.registry.permissionsFor(staff.id).map((p) => p.scheduleId)).toEqual(['always']);

    const eq = (
      await op.post('/api/requests', {
        kind: 'equipment',
        payload: {
          personId: staff.id,
          direction: 'in',
          description: 'laptop PC (asset 1234) for the firmware update',
          witnessPersonId: staff.id,
          doorId: 'machine-room',
        },
        reason: 'firmware update',
      })
    ).json();
    const own = await m1.post(`/api/requests/${eq.id}/reject`, { note: 'no' });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ status: 'rejected', decisionNote: 'no' });
    const w = (
      await m1.post('/api/requests', {
        kind: 'access_grant',
        payload: { personId: staff.id, doorId: 'machine-room', scheduleId: 'office-hours' },
        reason: 'x',
      })
    ).json();
    expect((await m1.post(`/api/requests/${w.id}/reject`, { note: 'x' })).json().error.code).toBe(
      'own_request',
    );
    expect((await m1.post(`/api/requests/${w.id}/withdraw`)).json().status).toBe('cancelled');
  });

  it('a request that can no longer be carried out is refused whole when approved', async () => {
    const p = (
      await m1.post('/api/people', { name: 'Temp', displayId: 'T-1', category: 'contractor' })
    ).json();
    const r1 = (
      await m1.post('/api/requests', {
        kind: 'access_grant',
        payload: { personId: p.id, doorId: 'machine-room', scheduleId: 'always' },
        reason: 'a',
      })
    ).json();
    const r2 = (
      await op.post('/api/requests', {
        kind: 'access_grant',
        payload: { personId: p.id, doorId: 'machine-room', scheduleId: 'always' },
        reason: 'b',
      })
    ).json();
    expect((await m2.post(`/api/requests/${r1.id}/approve`, {})).statusCode).toBe(200);
    const head = d.controller.journal.head().seq;
    const second = await m2.post(`/api/requests/${r2.id}/approve`, {});
    expect(second.statusCode).toBe(409);
    expect((await m2.get(`/api/requests/${r2.id}`)).json().status).toBe('pending');
    expect(d.controller.journal.head().seq).toBe(head);
    const bad = await m1.post('/api/requests', {
      kind: 'access_grant',
      payload: { personId: p.id, doorId: 'back-door', scheduleId: 'always' },
      reason: 'c',
    });
    expect(bad.statusCode).toBe(400);
  });

  it('accounts: an administrator other than the applicant approves; the new user activates it with both halves', async () => {
    const filed = await m1.post('/api/requests', {
      kind: 'account_create',
      payload: { username: 'tanaka', displayName: '田中 一郎', role: 'operator' },
      reason: 'new duty officer',
    });
    expect(filed.statusCode).toBe(200);
    const id = filed.json().id;
    const byOperator = await op.post('/api/requests', {
      kind: 'account_create',
      payload: { username: 'sato', displayName: '佐藤', role: 'admin' },
      reason: 'x',
    });
    expect(byOperator.json().error.code).toBe('forbidden');
    const twice = await m2.post('/api/requests', {
      kind: 'account_create',
      payload: { username: 'Tanaka', displayName: '田中', role: 'admin' },
      reason: 'x',
    });
    expect(twice.statusCode).toBe(409);
    expect((await m2.post(`/api/requests/${id}/approve`, {})).json().error.code).toBe('forbidden');
    const ok = await a1.post(`/api/requests/${id}/approve`, {});
    expect(ok.statusCode).toBe(200);
    const approverHalf = ok.json().activationHalf as string;
    expect(approverHalf.length).toBeGreaterThanOrEqual(20);
    expect((await a1.get(`/api/requests/${id}`)).body).not.toContain(approverHalf);
    const applicantHalf = (await m1.post(`/api/requests/${id}/activation-half`)).json().activationHalf;
    const activated = await d.app.inject({
      method: 'POST',
      url: '/api/activate',
      payload: { username: 'tanaka', applicantHalf, approverHalf, password: PASSWORD },
    });
    expect(activated.statusCode, activated.body).toBe(200);
    const tanaka = await d.login('tanaka', PASSWORD);
    expect((await tanaka.get('/api/status')).statusCode).toBe(200);
    expect(journal('user_added')[0]).toMatchObject({
      actor: 'user:admin1',
      data: { username: 'tanaka', requestId: id },
    });
  });

  it('role changes: the applicant cannot approve, nor can the person whose role it is', async () => {
    const r = (
      await a1.post('/api/requests', {
        kind: 'role_change',
        payload: { userId: a2.user.id, role: 'manager' },
        reason: 'moves to the IT policy section',
      })
    ).json();
    expect((await a1.post(`/api/requests/${r.id}/approve`, {})).json().error.code).toBe(
      'self_approval_refused',
    );
    expect((await a2.post(`/api/requests/${r.id}/approve`, {})).json().error.code).toBe(
      'self_approval_refused',
    );
    expect(
      journal('self_approval_refused')
        .slice(0, 2)
        .map((x) => x.actor)
        .sort(),
    ).toEqual(['user:admin1', 'user:admin2']);
    expect((await a1.post(`/api/requests/${r.id}/withdraw`)).statusCode).toBe(200);
  });

  it('escorting visitors is a permission granted by request; withdrawing it is immediate', async () => {
    const host = (
      await m1.post('/api/people', { name: '佐藤 花子', displayId: 'S-1002', category: 'staff' })
    ).json();
    await enrol(host.id, '0A1B2C3D4F');
    d.controller.registry.grantDoor(host.id, 'machine-room', 'always', 'test', d.controller.now());
    const r = (
      await m1.post('/api/requests', {
        kind: 'escort_permission',
        payload: { personId: host.id },
        reason: 'hosts vendors',
      })
    ).json();
    expect((await m1.post(`/api/requests/${r.id}/approve`, {})).json().error.code).toBe(
      'self_approval_refused',
    );
    expect((await m2.post(`/api/requests/${r.id}/approve`, {})).statusCode).toBe(200);
    expect(d.controller.registry.mayEscort(host.id)).toBe(true);
    expect((await aud.get(`/api/people/${host.id}`)).json().mayEscort).toBe(true);
    const contractor = (
      await m1.post('/api/people', { name: 'C', displayId: 'C-9', category: 'contractor' })
    ).json();
    const bad = await m1.post('/api/requests', {
      kind: 'escort_permission',
      payload: { personId: contractor.id },
      reason: 'x',
    });
    expect(bad.statusCode).toBe(400);
  });

  it('a visitor badge: requested, approved by someone else, handed out, escorted in, returned', async () => {
    const host = d.controller.registry.listPeople().find((p) => p.displayId === 'S-1002')!;
    const today = new Date(d.controller.now() + 9 * 3_600_000).toISOString().slice(0, 10);
    const filed = await op.post('/api/requests', {
      kind: 'visitor_badge',
      payload: {
        name: 'Visitor Vera',
        organisation: 'ACME Systems',
        hostPersonId: host.id,
        purpose: 'UPS inspection',
        doorId: 'machine-room',
        validFrom: `${today}T00:00`,
        validUntil: `${today}T23:59`,
        equipment: 'multimeter\nlaptop (asset 77)',
      },
      reason: 'annual UPS inspection',
    });
    expect(filed.statusCode).toBe(200);
    const id = filed.json().id;
    expect(filed.json().payload.validFrom).toBeTypeOf('number');
    expect((await op.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(403);
    const ok = await m1.post(`/api/requests/${id}/approve`, {});
    expect(ok.statusCode).toBe(200);
    // Approved, but no card yet: nothing opens.
    expect((await op.get('/api/visitors')).json().awaiting.map((r: { id: number }) => r.id)).toContain(id);
    const issued = await op.post(`/api/requests/${id}/issue-badge`, { number: 'AABBCCDDEE' });
    expect(issued.statusCode).toBe(200);
    const { badgeId, personId } = issued.json();
    expect((await op.post(`/api/requests/${id}/issue-badge`, { number: 'AABBCCDDEF' })).statusCode).toBe(409);
    expect(d.controller.registry.getVisitorBadge(badgeId)).toMatchObject({
      hostId: host.id,
      purpose: 'UPS inspection',
      equipment: ['multimeter', 'laptop (asset 77)'],
      doors: ['machine-room'],
      status: 'in_use',
    });
    expect(d.controller.registry.getPerson(personId)).toMatchObject({
      category: 'visitor',
      name: 'Visitor Vera (ACME Systems)',
      displayId: `V-${id}`,
    });
    // Alone the visitor is refused; with the host as escort they enter, and the log names the escort.
    expect(d.controller.simulateBadge('entry', 'AABBCCDDEE').decision.reason).toBe('escort_required');
    d.controller.simulateBadge('entry', '0A1B2C3D4F');
    const visitorsIn = (await m1.get('/api/log?visitors=1&result=granted')).json().rows;
    expect(visitorsIn[0]).toMatchObject({ personId, escort: host.id, escortName: '佐藤 花子' });
    const live = (await m1.get('/')).body;
    expect(live).toContain('Visitor Vera (ACME Systems)');
    const state = (await op.get('/api/visitors')).json();
    expect(state.awaiting).toHaveLength(0);
    expect(state.unreturned).toMatchObject([{ badgeId, personId, inside: true, hostName: '佐藤 花子' }]);
    expect(d.controller.simulateBadge('exit', 'AABBCCDDEE').decision.granted).toBe(true);
    const ret = await op.post(`/api/visitors/${badgeId}/return`, { note: 'returned at reception' });
    expect(ret.statusCode).toBe(200);
    expect(ret.json()).toMatchObject({ status: 'returned', returnedBy: 'user:operator1' });
    expect((await op.get('/api/visitors')).json().unreturned).toHaveLength(0);
    expect(d.controller.simulateBadge('entry', 'AABBCCDDEE').decision.reason).toBe('badge_revoked');
    expect((await aud.get('/visitors')).statusCode).toBe(200);
  });
});
