/**
 * The wall screen's `monitor` role over HTTP (issue #18): read-only Live and Alarms and nothing else,
 * bound to its screen's address (a login or a session from elsewhere is refused and journaled),
 * no idle timeout but an absolute lifetime, names masked when its account says so (pages and JSON),
 * revocable by an administrator, never an approver; the accounts migration that makes the role.
 * Also the active alarms' order: by severity, then newest first.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT_MIGRATIONS, migrateAccounts } from '../../controller/accounts/schema.js';
import { openDatabase, runMigrations, versionTable } from '../../controller/journal/index.js';
import type { SimBoard } from '../../hardware/index.js';
import { tempDir } from '../helpers/controller.js';
import { type Client, makeDash, PASSWORD, type TestDash } from './helpers.js';

const FAR = '10.9.9.9';

describe('the monitor role', () => {
  let d: TestDash;
  let admin: Client;
  let manager: Client;
  let monitorId: string;
  let personId: string;

  beforeAll(async () => {
    d = await makeDash({ clock: true });
    monitorId = d.controller.db
      .prepare<[], { id: string }>("SELECT id FROM dashboard_users WHERE username = 'monitor1'")
      .get()!.id;
    const r = d.controller.registry;
    const at = d.controller.now();
    const p = r.addPerson({ displayId: 'S-7001', name: '監視 花子', category: 'staff' }, 'test', at);
    r.addBadge({ personId: p.id, credential: '0A1B2C7001' }, 'test', at);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    personId = p.id;
  });
  afterAll(async () => {
    await d?.close();
  });
  // Fresh sessions for each test: some tests move the clock past the idle timeout.
  beforeEach(async () => {
    admin = await d.login('admin1');
    manager = await d.login('manager1');
  });

  /** The rows of a type, newest first. */
  const rows = (type: string) => d.controller.journal.query({ types: [type as 'logout'], limit: 50 });
  const loginFrom = (ip: string, username = 'monitor1') =>
    d.app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { username, password: PASSWORD },
      remoteAddress: ip,
    });

  it('reads Live and Alarms only: every other page, acknowledging and every change are refused', async () => {
    const mon = await d.login('monitor1');
    expect((await mon.get('/')).statusCode).toBe(200);
    expect((await mon.get('/alarms')).statusCode).toBe(200);
    expect((await mon.get('/api/status')).statusCode).toBe(200);
    expect((await mon.get('/api/alarms')).statusCode).toBe(200);
    for (const url of [
      '/log',
      '/people',
      '/requests',
      '/visitors',
      '/integrity',
      '/reports',
      '/users',
      '/sim',
    ])
      expect((await mon.get(url)).statusCode, url).toBe(403);
    const board = d.controller.board as SimBoard;
    board.simulate('machine-room.contact', true);
    board.simulate('machine-room.contact', false);
    const alarm = (await mon.get('/api/alarms')).json().alarms[0];
    expect(alarm.type).toBe('forced_open');
    const ack = await mon.post(`/api/alarms/${alarm.id}/ack`, { comment: 'seen on the wall' });
    expect(ack.statusCode).toBe(403);
    expect(d.controller.activeAlarms().find((a) => a.id === alarm.id)?.acknowledged).toBeNull();
    // The page offers no acknowledgement either, and the menu has Live and Alarms only.
    const page = (await mon.get('/alarms')).body;
    expect(page).not.toContain(`/api/alarms/${alarm.id}/ack`);
    expect([...page.matchAll(/data-nav="(\w+)"/g)].map((m) => m[1])).toEqual(['live', 'alarms']);
    for (const [method, url] of [
      ['POST', '/api/doors/machine-room/mode'],
      ['POST', '/api/requests'],
      ['POST', '/api/people'],
      ['POST', `/api/users/${monitorId}/monitor`],
    ] as const)
      expect((await mon.req(method, url, {})).statusCode, url).toBe(403);
    await admin.post(`/api/alarms/${alarm.id}/ack`, { comment: 'checked' });
  });

  it('lists the active alarms by severity, then newest first (page and API)', async () => {
    // Clear what earlier tests left, then: a major (older), a critical, a major (newest).
    for (const a of d.controller.activeAlarms())
      if (!a.acknowledged) await admin.post(`/api/alarms/${a.id}/ack`, { comment: 'reset' });
    const board = d.controller.board as SimBoard;
    board.simulate('machine-room.tamper', true);
    d.clock.now += 1000;
    board.simulate('machine-room.contact', true);
    board.simulate('machine-room.contact', false);
    d.clock.now += 1000;
    board.simulate('machine-room.tamper', false);
    board.simulate('machine-room.tamper', true);
    const active = (await manager.get('/api/alarms')).json().alarms as {
      id: number;
      type: string;
      severity: string;
      raisedAt: number;
      acknowledged: unknown;
    }[];
    const fresh = active.filter((a) => !a.acknowledged);
    expect(fresh.length).toBeGreaterThanOrEqual(2);
    expect(fresh.map((a) => a.severity)).toEqual(['critical', ...fresh.slice(1).map(() => 'major')]);
    expect(fresh[0]!.type).toBe('forced_open');
    const majors = active.filter((a) => a.severity === 'major');
    for (let i = 1; i < majors.length; i++)
      expect(majors[i - 1]!.raisedAt).toBeGreaterThanOrEqual(majors[i]!.raisedAt);
    const sev = ['critical', 'major', 'minor', 'warning'];
    for (let i = 1; i < active.length; i++)
      expect(sev.indexOf(active[i - 1]!.severity)).toBeLessThanOrEqual(sev.indexOf(active[i]!.severity));
    const status = (await manager.get('/api/status')).json();
    expect(status.alarms.map((a: { id: number }) => a.id)).toEqual(active.map((a) => a.id));
    const page = (await manager.get('/alarms')).body;
    board.simulate('machine-room.tamper', false);
    const listed = [...page.matchAll(/<li class="alarm[^"]*" data-alarm="(\d+)"/g)].map((m) => Number(m[1]));
    expect(listed).toEqual(active.map((a) => a.id));
  });
  it('can neither file nor approve a request (separation of duties)', async () => {
    const mon = await d.login('monitor1');
    const filed = await manager.post('/api/requests', {
      kind: 'escort_permission',
      payload: { personId },
      reason: 'visitor escort for the audit',
    });
    expect(filed.statusCode).toBe(200);
    const id = filed.json().id as number;
    const approve = await mon.post(`/api/requests/${id}/approve`, { note: 'looks fine' });
    expect(approve.statusCode).toBe(403);
    expect(approve.json().error.code).toBe('forbidden');
    const reject = await mon.post(`/api/requests/${id}/reject`, { note: 'no' });
    expect(reject.statusCode).toBe(403);
    expect((await manager.get('/api/requests?status=pending')).body).toContain(`"id":${id}`);
    expect(rows('request_approved').some((r) => (r.data as { requestId: number }).requestId === id)).toBe(
      false,
    );
  });

  it('is refused from any other address, at login and for a copied session cookie; both journaled', async () => {
    const before = rows('monitor_refused').length;
    const far = await loginFrom(FAR);
    expect(far.statusCode).toBe(403);
    expect(far.json().error.code).toBe('monitor_wrong_address');
    expect(far.headers['set-cookie']).toBeUndefined();
    const refused = rows('monitor_refused');
    expect(refused).toHaveLength(before + 1);
    expect(refused[0]!.data).toMatchObject({
      username: 'monitor1',
      ip: FAR,
      boundAddress: '127.0.0.1',
      why: 'address',
      during: 'login',
    });
    // The screen's own session, its cookie replayed from elsewhere: refused; the screen keeps it.
    d.clock.now += 61_000;
    const mon = await d.login('monitor1');
    const stolen = (url: string) =>
      d.app.inject({ method: 'GET', url, headers: { cookie: mon.cookie }, remoteAddress: FAR });
    const r1 = await stolen('/api/status');
    expect(r1.statusCode).toBe(403);
    expect(r1.json().error.code).toBe('monitor_wrong_address');
    expect((await stolen('/')).statusCode).toBe(403);
    expect((await stolen('/api/live')).statusCode).toBe(403);
    const after = rows('monitor_refused');
    // One row a minute per account: the next ones are counted on the next row.
    expect(after).toHaveLength(before + 2);
    expect(after[0]!.data).toMatchObject({ during: 'session', ip: FAR, suppressed: 0 });
    expect((await mon.get('/api/status')).statusCode).toBe(200);
    d.clock.now += 61_000;
    await stolen('/api/status');
    expect(rows('monitor_refused')[0]!.data).toMatchObject({ suppressed: 2 });
    // An IPv4-mapped form of the screen's address is the screen.
    expect((await loginFrom('::ffff:127.0.0.1')).statusCode).toBe(200);
  });

  it('has no idle timeout, but its absolute lifetime holds; other sessions still end when idle', async () => {
    const mon = await d.login('monitor1');
    const op = await d.login('operator1');
    d.clock.now += 16 * 60_000;
    expect((await op.get('/api/status')).statusCode).toBe(401);
    expect((await mon.get('/api/status')).statusCode).toBe(200);
    const state = (await mon.get('/api/session/state')).json();
    expect(state.idleExpiresAt).toBeNull();
    expect(state.expiresAt - state.now).toBeGreaterThan(29 * 86_400_000);
    const page = (await mon.get('/')).body;
    expect(page).not.toContain('data-idle-ms');
    d.clock.now += 30 * 86_400_000;
    expect((await mon.get('/api/status')).statusCode).toBe(401);
    // An operator's state says when its idle end comes, and asking does not push it back.
    const fresh = await d.login('operator1');
    const s1 = (await fresh.get('/api/session/state')).json();
    // (The test clock runs on between the login and the question.)
    expect(s1.idleExpiresAt - s1.now).toBeGreaterThan(15 * 60_000 - 5_000);
    expect(s1.idleExpiresAt - s1.now).toBeLessThanOrEqual(15 * 60_000);
    expect(s1.warnMs).toBe(120_000);
    d.clock.now += 60_000;
    const s2 = (await fresh.get('/api/session/state')).json();
    expect(s2.idleExpiresAt).toBe(s1.idleExpiresAt);
    expect((await fresh.get('/')).body).toContain(`data-idle-ms="${15 * 60_000}" data-warn-ms="120000"`);
  });

  it('masks names in pages and JSON when its account says so; the binding is journaled', async () => {
    const set = await admin.post(`/api/users/${monitorId}/monitor`, {
      address: '127.0.0.1',
      maskNames: true,
    });
    expect(set.statusCode).toBe(200);
    expect(set.json().monitor).toEqual({ address: '127.0.0.1', maskNames: true });
    expect(rows('monitor_bound')[0]).toMatchObject({
      actor: 'user:admin1',
      data: { username: 'monitor1', address: '127.0.0.1', maskNames: true },
    });
    expect(d.controller.simulateBadge('entry', '0A1B2C7001').decision.granted).toBe(true);
    (d.controller.board as SimBoard).simulate('machine-room.tamper', true);
    const mon = await d.login('monitor1');
    const live = (await mon.get('/')).body;
    expect(live).not.toContain('監視 花子');
    expect(live).not.toContain('S-7001');
    expect(live).toContain('（非表示）');
    const status = (await mon.get('/api/status')).json();
    expect(JSON.stringify(status)).not.toContain('監視 花子');
    expect(status.doors[0].occupants[0].personId).toBe('');
    expect(status.alarms.every((a: { detail: string }) => a.detail === '')).toBe(true);
    const tamper = d.controller.activeAlarms().find((a) => a.type === 'door_tamper' && !a.acknowledged)!;
    await admin.post(`/api/alarms/${tamper.id}/ack`, { comment: '監視 花子 さんが点検中' });
    const alarms = (await mon.get('/api/alarms')).json().alarms;
    expect(JSON.stringify(alarms)).not.toContain('監視 花子');
    expect((await mon.get('/alarms')).body).not.toContain('監視 花子');
    expect(JSON.stringify((await mon.get('/api/alarms/history')).json())).not.toContain('監視 花子');
    const detail = (await mon.get(`/api/alarms/${alarms[0].id}`)).json();
    expect(JSON.stringify(detail)).not.toContain('監視 花子');
    // A manager still sees the name.
    expect((await manager.get('/')).body).toContain('監視 花子');
    // Shown again.
    await admin.post(`/api/users/${monitorId}/monitor`, { address: '127.0.0.1', maskNames: false });
    expect((await (await d.login('monitor1')).get('/')).body).toContain('監視 花子');
    (d.controller.board as SimBoard).simulate('machine-room.tamper', false);
  });

  it('an administrator revokes its sessions at once; a new address ends them too; journaled', async () => {
    // The Accounts page shows the screen's binding; only administrators get the form and the button.
    const page = (await admin.get('/users')).body;
    expect(page).toContain('data-monitor="monitor1"');
    expect(page).toContain(`data-api="/api/users/${monitorId}/monitor"`);
    expect(page).toContain(`data-api="/api/users/${monitorId}/revoke"`);
    expect(page).toContain('アドレス 127.0.0.1 からのみ利用可');
    const seenByManager = (await manager.get('/users')).body;
    expect(seenByManager).toContain('data-monitor="monitor1"');
    expect(seenByManager).not.toContain(`/api/users/${monitorId}/revoke`);
    const mon = await d.login('monitor1');
    const mon2 = await d.login('monitor1');
    expect((await manager.post(`/api/users/${monitorId}/revoke`)).statusCode).toBe(403);
    const r = await admin.post(`/api/users/${monitorId}/revoke`);
    expect(r.statusCode).toBe(200);
    expect(r.json().sessions).toBeGreaterThanOrEqual(2);
    expect((await mon.get('/api/status')).statusCode).toBe(401);
    expect((await mon2.get('/api/status')).statusCode).toBe(401);
    expect(rows('monitor_revoked')[0]).toMatchObject({
      actor: 'user:admin1',
      data: { username: 'monitor1' },
    });
    // Only a monitor can be revoked or bound this way.
    const other = d.controller.db
      .prepare<[], { id: string }>("SELECT id FROM dashboard_users WHERE username = 'operator1'")
      .get()!.id;
    expect((await admin.post(`/api/users/${other}/revoke`)).statusCode).toBe(409);
    expect(
      (await admin.post(`/api/users/${other}/monitor`, { address: '10.0.0.5', maskNames: false })).statusCode,
    ).toBe(409);
    expect(
      (await admin.post(`/api/users/${monitorId}/monitor`, { address: 'screen.local', maskNames: false }))
        .statusCode,
    ).toBe(400);
    const mon3 = await d.login('monitor1');
    await admin.post(`/api/users/${monitorId}/monitor`, { address: '10.0.0.5', maskNames: false });
    expect((await mon3.get('/api/status')).statusCode).toBe(401);
    expect((await loginFrom('127.0.0.1')).statusCode).toBe(403);
    expect((await loginFrom('10.0.0.5')).statusCode).toBe(200);
    await admin.post(`/api/users/${monitorId}/monitor`, { address: '127.0.0.1', maskNames: false });
    // A logout is journaled as any other.
    const mon4 = await d.login('monitor1');
    expect((await mon4.req('DELETE', '/api/session')).statusCode).toBe(200);
    expect(rows('logout')[0]).toMatchObject({ actor: 'user:monitor1' });
  });

  it('an account made a monitor by a role change cannot log in until an address is bound', async () => {
    const users = d.controller.db;
    const aud = users
      .prepare<[], { id: string }>("SELECT id FROM dashboard_users WHERE username = 'auditor1'")
      .get()!.id;
    const filed = await admin.post('/api/requests', {
      kind: 'role_change',
      payload: { userId: aud, role: 'monitor' },
      reason: 'the auditor’s old PC becomes the wall screen',
    });
    expect(filed.statusCode).toBe(200);
    const ok = await d.login('admin2');
    expect((await ok.post(`/api/requests/${filed.json().id}/approve`, { note: 'ok' })).statusCode).toBe(200);
    const refused = await loginFrom('127.0.0.1', 'auditor1');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('monitor_unbound');
    expect(rows('monitor_refused')[0]!.data).toMatchObject({ username: 'auditor1', why: 'unbound' });
    await admin.post(`/api/users/${aud}/monitor`, { address: '127.0.0.1', maskNames: true });
    expect((await loginFrom('127.0.0.1', 'auditor1')).statusCode).toBe(200);
  });
});

describe('the accounts migration to the monitor role', () => {
  it('keeps every account, session and activation of the earlier schema, and accepts the role', () => {
    const db = openDatabase(join(tempDir('sekisho-monitor-mig-'), 'db.sqlite'));
    runMigrations(db, ACCOUNT_MIGRATIONS.slice(0, 3), versionTable('dashboard_schema'), 'test');
    db.exec(`INSERT INTO dashboard_users (id, username, display_name, role, password_hash, created_at, updated_at, password_changed_at)
      VALUES ('u_1', 'chief', 'Chief', 'admin', 'h', 1, 1, 1);
      INSERT INTO dashboard_sessions VALUES ('t1', 'u_1', 'c', 1, 2, 3);
      INSERT INTO dashboard_activations VALUES ('u_1', 'password_reset', 7, NULL, 'a', 1, 9);`);
    expect(() =>
      db
        .prepare(
          "INSERT INTO dashboard_users (id, username, display_name, role, password_hash, created_at, updated_at, password_changed_at) VALUES ('u_2', 'wall', 'Wall', 'monitor', 'h', 1, 1, 1)",
        )
        .run(),
    ).toThrow(/CHECK/);
    migrateAccounts(db);
    expect(
      db.prepare('SELECT id, username, role, monitor_address, mask_names FROM dashboard_users').all(),
    ).toEqual([{ id: 'u_1', username: 'chief', role: 'admin', monitor_address: null, mask_names: 0 }]);
    expect(db.prepare('SELECT * FROM dashboard_sessions').all()).toEqual([
      {
        token_hash: 't1',
        user_id: 'u_1',
        csrf_token: 'c',
        created_at: 1,
        last_seen: 2,
        expires_at: 3,
        idle_exempt: 0,
      },
    ]);
    expect(db.prepare('SELECT request_id FROM dashboard_activations').all()).toEqual([{ request_id: 7 }]);
    db.prepare(
      "INSERT INTO dashboard_users (id, username, display_name, role, password_hash, created_at, updated_at, password_changed_at, monitor_address) VALUES ('u_2', 'wall', 'Wall', 'monitor', 'h', 1, 1, 1, '10.0.0.5')",
    ).run();
    // Foreign keys still hold: a session of no account is refused.
    expect(() =>
      db.prepare("INSERT INTO dashboard_sessions VALUES ('t2', 'nobody', 'c', 1, 2, 3, 0)").run(),
    ).toThrow(/FOREIGN KEY/);
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
    db.close();
  });
});
