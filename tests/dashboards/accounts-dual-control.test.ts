/**
 * Issue #14, paths 5 and 6, through the HTTP API as an insider would try them: no one administrator
 * can learn another account's secret. A new account or a password reset approved by one person
 * leaves the account without a usable password; its user sets one at /activate with two halves,
 * one shown to the approver and one to the applicant, each once. Neither alone can log in as it.
 */
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { UserStore } from '../../controller/accounts/users.js';
import { RequestStore } from '../../controller/approvals/requests.js';
import { fileReset, RefusedError, showHalf } from '../../controller/cli/users.js';
import { parseConfig } from '../../controller/config/index.js';
import { seedDemoAccounts } from '../../controller/demo.js';
import { silentLogger } from '../../controller/log.js';
import { startSekisho } from '../../controller/main.js';
import { SimBoard } from '../../hardware/index.js';
import { doorConfig, tempDir } from '../helpers/controller.js';
import { type Client, FAST_SCRYPT, makeDash, PASSWORD, type TestDash } from './helpers.js';

const NEW_PASSWORD = 'vermilion-lantern-harbour-42';

describe('dual control of account secrets', () => {
  let d: TestDash;
  let a1: Client;
  let a2: Client;
  let m1: Client;

  const login = (username: string, password: string, ip = '10.1.1.1'): Promise<LightMyRequestResponse> =>
    d.app.inject({ method: 'POST', url: '/api/session', payload: { username, password }, remoteAddress: ip });
  const activate = (body: Record<string, string>, ip = '10.2.2.2') =>
    d.app.inject({ method: 'POST', url: '/api/activate', payload: body, remoteAddress: ip });
  const journal = (type: string) => d.controller.journal.query({ types: [type], limit: 50 });
  /** Every byte the device stores: the journal and the accounts' tables. */
  const stored = () =>
    [
      ...(d.controller.db.prepare('SELECT bytes FROM journal').all() as { bytes: string }[]).map(
        (r) => r.bytes,
      ),
      JSON.stringify(d.controller.db.prepare('SELECT * FROM dashboard_users').all()),
      JSON.stringify(d.controller.db.prepare('SELECT * FROM dashboard_activations').all()),
      JSON.stringify(d.controller.db.prepare('SELECT * FROM dashboard_requests').all()),
    ].join('\n');

  beforeAll(async () => {
    d = await makeDash({ clock: true, server: { loginLimits: { clientFreeFailures: 1000 } } });
    a1 = await d.login('admin1');
    a2 = await d.login('admin2');
    m1 = await d.login('manager1');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('path 5: the approver of a new admin account never learns a secret that logs in as it', async () => {
    const filed = await m1.post('/api/requests', {
      kind: 'account_create',
      payload: { username: 'puppet', displayName: 'Puppet', role: 'admin' },
      reason: 'second administrator',
    });
    expect(filed.statusCode, filed.body).toBe(200);
    const id = filed.json().id as number;

    const approved = await a1.post(`/api/requests/${id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const body = approved.json();
    expect(body).not.toHaveProperty('initialPassword');
    const approverHalf = body.activationHalf as string;
    expect(approverHalf).toMatch(/^[A-Z2-9]{5}(-[A-Z2-9]{5}){3}$/);

    // The approver alone: the half is no password, and activation needs the other half too.
    expect((await login('puppet', approverHalf)).statusCode).toBe(401);
    const alone = await activate({
      username: 'puppet',
      applicantHalf: approverHalf,
      approverHalf,
      password: NEW_PASSWORD,
    });
    expect(alone.statusCode).toBe(400);
    expect(alone.json().error.code).toBe('invalid_activation');
    // Nor can the approver obtain the applicant's half.
    const grab = await a1.post(`/api/requests/${id}/activation-half`);
    expect(grab.statusCode).toBe(403);
    expect(grab.json().error.code).toBe('not_applicant');

    // Nor can the holder of an API token (no person): no half, and no account request of its own.
    const bearer = d.bearer('walk');
    const byToken = await d.app.inject({
      method: 'POST',
      url: `/api/requests/${id}/activation-half`,
      headers: bearer,
    });
    expect(byToken.statusCode).toBe(403);
    const tokenFiles = await d.app.inject({
      method: 'POST',
      url: '/api/requests',
      headers: bearer,
      payload: {
        kind: 'account_create',
        payload: { username: 'tokenmade', displayName: 'T', role: 'admin' },
        reason: 'x',
      },
    });
    expect(tokenFiles.statusCode).toBe(403);

    // The applicant is shown their half once.
    const shown = await m1.post(`/api/requests/${id}/activation-half`);
    expect(shown.statusCode, shown.body).toBe(200);
    const applicantHalf = shown.json().activationHalf as string;
    expect(applicantHalf).not.toBe(approverHalf);
    const again = await m1.post(`/api/requests/${id}/activation-half`);
    expect(again.statusCode).toBe(409);

    // The applicant alone cannot either.
    expect((await login('puppet', applicantHalf)).statusCode).toBe(401);
    const applicantOnly = await activate({
      username: 'puppet',
      applicantHalf,
      approverHalf: applicantHalf,
      password: NEW_PASSWORD,
    });
    expect(applicantOnly.json().error.code).toBe('invalid_activation');

    // No half is stored or journaled anywhere, and the request shows none.
    const all = stored();
    for (const h of [approverHalf, applicantHalf]) {
      expect(all).not.toContain(h);
      expect(all).not.toContain(h.replaceAll('-', ''));
      expect((await a1.get(`/api/requests/${id}`)).body).not.toContain(h);
    }
    const listed = (await a2.get('/api/users'))
      .json()
      .users.find((u: { username: string }) => u.username === 'puppet');
    expect(listed.activation).toMatchObject({
      purpose: 'account_create',
      requestId: id,
      applicantShown: true,
      expired: false,
    });

    // The new user, with both halves (as typed: lower case, spaces), sets their own password.
    const weak = await activate({ username: 'puppet', applicantHalf, approverHalf, password: 'password' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error.code).toBe('weak_password');
    const ok = await activate({
      username: 'puppet',
      applicantHalf: applicantHalf.toLowerCase().replaceAll('-', ' '),
      approverHalf,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const session = await login('puppet', NEW_PASSWORD);
    expect(session.statusCode).toBe(200);
    expect(session.json().user.mustChangePassword).toBe(false);
    // The halves are void once used.
    const reused = await activate({
      username: 'puppet',
      applicantHalf,
      approverHalf,
      password: NEW_PASSWORD,
    });
    expect(reused.json().error.code).toBe('invalid_activation');

    expect(journal('account_activated')[0]).toMatchObject({
      actor: 'user:puppet',
      data: { username: 'puppet', purpose: 'account_create', requestId: id },
    });
    expect(journal('activation_issued')[0]).toMatchObject({ actor: 'user:admin1', data: { requestId: id } });
    expect(journal('activation_half_shown')[0]).toMatchObject({
      actor: 'user:manager1',
      data: { requestId: id },
    });
    expect(journal('activation_failed').length).toBeGreaterThanOrEqual(3);
  });

  it('path 6: a reset never gives the resetter a usable secret; sessions end at filing, the old password at approval', async () => {
    const op = await d.login('operator1');
    expect((await op.get('/api/status')).statusCode).toBe(200);
    // The route that handed the resetter a one-time password is gone.
    expect((await a1.post(`/api/users/${op.user.id}/reset-password`)).statusCode).toBe(404);

    const filed = await a1.post('/api/requests', {
      kind: 'password_reset',
      payload: { userId: op.user.id },
      reason: 'forgot the password',
    });
    expect(filed.statusCode, filed.body).toBe(200);
    const id = filed.json().id as number;
    expect((await op.get('/api/status')).statusCode).toBe(401); // ended at once
    expect(journal('user_sessions_ended')[0]).toMatchObject({
      actor: 'user:admin1',
      data: { requestId: id },
    });
    // Until the approval the old password still works (the reset may be rejected).
    expect((await login('operator1', PASSWORD)).statusCode).toBe(200);

    // The applicant cannot approve it, nor can a manager (accounts are approved by administrators).
    expect((await a1.post(`/api/requests/${id}/approve`, {})).json().error.code).toBe(
      'self_approval_refused',
    );
    expect((await m1.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(403);
    const twice = await m1.post('/api/requests', {
      kind: 'password_reset',
      payload: { userId: op.user.id },
      reason: 'again',
    });
    expect(twice.statusCode).toBe(409);

    const approved = await a2.post(`/api/requests/${id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const approverHalf = approved.json().activationHalf as string;
    expect((await login('operator1', PASSWORD)).statusCode).toBe(401); // the old password stopped working

    const applicantHalf = (await a1.post(`/api/requests/${id}/activation-half`)).json()
      .activationHalf as string;
    expect(applicantHalf).toMatch(/^[A-Z2-9]{5}(-[A-Z2-9]{5}){3}$/);
    // The resetter holds one half: no login as the operator, no activation.
    for (const guess of [applicantHalf, approverHalf, PASSWORD])
      expect((await login('operator1', guess)).statusCode).toBe(401);
    const resetterAlone = await activate({
      username: 'operator1',
      applicantHalf,
      approverHalf: applicantHalf,
      password: 'resetter-chosen-secret-9',
    });
    expect(resetterAlone.json().error.code).toBe('invalid_activation');

    const ok = await activate({ username: 'operator1', applicantHalf, approverHalf, password: NEW_PASSWORD });
    expect(ok.statusCode, ok.body).toBe(200);
    const back = await login('operator1', NEW_PASSWORD);
    expect(back.statusCode).toBe(200);
    expect(journal('account_activated')[0]).toMatchObject({
      actor: 'user:operator1',
      data: { purpose: 'password_reset', requestId: id },
    });
  });

  it('the CLI files the two-half reset as the person who runs it, never as no person', async () => {
    const users = new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT });
    const requests = new RequestStore({
      db: d.controller.db,
      journal: d.controller.journal,
      registry: d.controller.registry,
      users,
      config: d.controller.config,
    });
    const now = d.controller.now();
    expect(() => fileReset(requests, users, 'cli:root', 'auditor1', 'forgot', now)).toThrow(RefusedError);
    expect(() => fileReset(requests, users, 'cli:sekisho', 'auditor1', 'forgot', now)).toThrow(/no person/);
    const aud = await d.login('auditor1');
    // Through sudo, by manager1: their person files it.
    const { requestId } = fileReset(requests, users, 'cli:manager1/root', 'auditor1', 'forgot', now);
    expect(requests.get(requestId)).toMatchObject({
      kind: 'password_reset',
      requestedBy: 'cli:manager1/root',
    });
    expect((await aud.get('/api/status')).statusCode).toBe(401);
    // Before the approval there is no half to show.
    expect(() => showHalf(requests, users, 'cli:manager1/root', requestId, now)).toThrow(/pending/);
    const approverHalf = (await a1.post(`/api/requests/${requestId}/approve`, {})).json()
      .activationHalf as string;
    expect(() => showHalf(requests, users, 'cli:admin1', requestId, now)).toThrow(/only the applicant/);
    const { half } = showHalf(requests, users, 'cli:manager1/root', requestId, d.controller.now());
    expect(() => showHalf(requests, users, 'cli:manager1/root', requestId, d.controller.now())).toThrow(
      /only once/,
    );
    const ok = await activate({
      username: 'auditor1',
      applicantHalf: half,
      approverHalf,
      password: NEW_PASSWORD,
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await login('auditor1', NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('a user changing their own password knowing the old one stays self-service', async () => {
    const c = await d.login('manager2');
    const r = await c.post('/api/me/password', { current: PASSWORD, next: NEW_PASSWORD });
    expect(r.statusCode).toBe(200);
    expect((await login('manager2', NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('unknown names and wrong halves get the same answer; an activation expires after 7 days', async () => {
    const unknown = await activate({
      username: 'nobody-here',
      applicantHalf: 'AAAAA-AAAAA-AAAAA-AAAAA',
      approverHalf: 'BBBBB-BBBBB-BBBBB-BBBBB',
      password: NEW_PASSWORD,
    });
    const wrong = await activate({
      username: 'auditor1',
      applicantHalf: 'AAAAA-AAAAA-AAAAA-AAAAA',
      approverHalf: 'BBBBB-BBBBB-BBBBB-BBBBB',
      password: NEW_PASSWORD,
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toEqual(wrong.json());
    expect(journal('activation_failed')[0]).toMatchObject({
      actor: null,
      data: { username: 'auditor1', why: 'wrong_halves' },
    });
    const odd = await activate({
      username: 'x\u202e\u0007',
      applicantHalf: 'A',
      approverHalf: 'B',
      password: NEW_PASSWORD,
    });
    expect(odd.json().error.code).toBe('invalid_activation');
    expect(journal('activation_failed')[0]!.data).toMatchObject({ username: '(not a user name)' });

    const filed = await m1.post('/api/requests', {
      kind: 'account_create',
      payload: { username: 'latecomer', displayName: 'Late', role: 'operator' },
      reason: 'new operator',
    });
    const id = filed.json().id as number;
    const approverHalf = (await a1.post(`/api/requests/${id}/approve`, {})).json().activationHalf as string;
    const applicantHalf = (await m1.post(`/api/requests/${id}/activation-half`)).json()
      .activationHalf as string;
    d.clock.now += 7 * 86_400_000 + 60_000;
    const late = await activate({
      username: 'latecomer',
      applicantHalf,
      approverHalf,
      password: NEW_PASSWORD,
    });
    expect(late.statusCode).toBe(410);
    expect(late.json().error.code).toBe('activation_expired');
    expect((await login('latecomer', applicantHalf)).statusCode).toBe(401);
    const a = await d.login('admin2');
    const listed = (await a.get('/api/users'))
      .json()
      .users.find((u: { username: string }) => u.username === 'latecomer');
    expect(listed.activation).toMatchObject({ expired: true });
    expect((await a.get('/users')).body).toContain('data-user="latecomer"');
  });

  it('unlocking is journaled with who did it and reveals no secret', async () => {
    const a = await d.login('admin1');
    const target = (await a.get('/api/users'))
      .json()
      .users.find((u: { username: string }) => u.username === 'auditor1');
    const r = await a.post(`/api/users/${target.id}/unlock`);
    expect(r.statusCode).toBe(200);
    expect(Object.keys(r.json())).not.toContain('initialPassword');
    expect(journal('user_unlocked')[0]).toMatchObject({
      actor: 'user:admin1',
      data: { username: 'auditor1' },
    });
  });

  it('the pages: the activation page, the login link to it, the applicant’s halves on /users', async () => {
    const page = await d.app.inject({
      method: 'GET',
      url: '/activate',
      headers: { 'accept-language': 'ja' },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('id="activate-form"');
    expect(page.body).toContain('申請者から受け取ったもの');
    expect((await d.app.inject({ method: 'GET', url: '/login' })).body).toContain('href="/activate"');

    const m = await d.login('manager1');
    const filed = await m.post('/api/requests', {
      kind: 'account_create',
      payload: { username: 'pagecheck', displayName: 'Page', role: 'auditor' },
      reason: 'audit',
    });
    const id = filed.json().id as number;
    // (The clock moved on a week: the sessions of beforeAll have expired.)
    expect((await (await d.login('admin2')).post(`/api/requests/${id}/approve`, {})).statusCode).toBe(200);
    expect((await m.get('/users')).body).toContain(`data-half="${id}"`);
    expect((await m.get('/requests')).body).toContain('href="/users#activation-halves"');
    // Only the applicant's page offers it.
    expect((await (await d.login('admin1')).get('/users')).body).not.toContain(`data-half="${id}"`);
  });
});

describe('the bootstrap window', () => {
  it('is closed by an active administrator, even one awaiting activation, until that activation expires', async () => {
    const d = await makeDash({ accounts: false });
    try {
      const users = new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT });
      const t0 = d.controller.now();
      expect(users.hasActiveAdmin(t0)).toBe(false);
      const unusableHash = await users.unusableHash();
      const u = users.createHashed(
        { username: 'pending', displayName: 'P', role: 'admin' },
        unusableHash,
        'test',
        t0,
      );
      users.issueActivation(
        u.id,
        { purpose: 'account_create', requestId: 1, approverHalf: 'AAAAA-AAAAA-AAAAA-AAAAA', unusableHash },
        'test',
        t0,
      );
      expect(users.hasActiveAdmin(t0 + 1000)).toBe(true);
      expect(users.hasActiveAdmin(t0 + users.activationMs + 1)).toBe(false);
      users.setActive(u.id, false, 'test', t0);
      expect(users.hasActiveAdmin(t0 + 1000)).toBe(false);
    } finally {
      await d.close();
    }
  });
});

describe('demo accounts', () => {
  it('must change their password at the first login', async () => {
    let printed = '';
    const d = await makeDash({
      accounts: false,
      demoAccounts: (s) => {
        printed += s;
      },
    });
    try {
      const m = /^\s+demo-admin\s+(\S+)\s+\(admin\)$/m.exec(printed);
      expect(m).not.toBeNull();
      const res = await d.app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { username: 'demo-admin', password: m![1] },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().user.mustChangePassword).toBe(true);
      const cookie = String(res.headers['set-cookie']).split(';')[0]!;
      const blocked = await d.app.inject({ method: 'GET', url: '/api/status', headers: { cookie } });
      expect(blocked.json().error.code).toBe('password_change_required');
    } finally {
      await d.close();
    }
  });

  it('are never made by the process root for a config naming a real board', async () => {
    const dir = tempDir('sekisho-realboard-');
    const cfg = doorConfig(dir, [{ id: 'entry', path: join(dir, 'no-such-tty'), protocol: 'rdm6300' }], {
      board: { kind: 'rpi', chipLabels: ['pinctrl-rp1'] },
    });
    const loaded = {
      config: parseConfig(stringify(cfg)),
      file: join(dir, 'c.yaml'),
      storageDir: join(dir, 'data'),
    };
    let printed = '';
    // The board itself is simulated (no GPIO here): only the config says "real".
    const s = await startSekisho({
      loaded,
      log: silentLogger,
      board: new SimBoard(),
      print: (t) => {
        printed += t;
      },
    });
    try {
      expect(printed).not.toContain('Demo dashboard accounts');
      expect(new UserStore(s.controller.db, s.controller.journal).count()).toBe(0);
      expect(s.controller.journal.query({ types: ['user_added'], limit: 5 })).toEqual([]);
    } finally {
      await s.stop('test end');
    }
  });

  it('are never made for a real board', async () => {
    const d = await makeDash({ accounts: false });
    try {
      const users = new UserStore(d.controller.db, d.controller.journal, { scrypt: FAST_SCRYPT });
      let printed = '';
      const made = await seedDemoAccounts(
        users,
        { board: { kind: 'rpi', chipLabels: [] } },
        Date.now,
        (s) => {
          printed += s;
        },
      );
      expect(made).toBe(false);
      expect(users.count()).toBe(0);
      expect(printed).toBe('');
    } finally {
      await d.close();
    }
  });
});
