/**
 * Alarms (acknowledge with comment, who and when; history; the rows around an alarm), the
 * integrity page's checks (verify now in a child process, catching a tampered row) and the signed
 * evidence export, checked offline; reports and the compliance view.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyFingerprint } from '../../controller/journal/index.js';
import { verifyEvidence } from '../../dashboards/integrity.js';
import type { SimBoard } from '../../hardware/index.js';
import { sqlite } from '../helpers/util.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('alarms', () => {
  let d: TestDash;
  let op: Client;
  let aud: Client;
  beforeAll(async () => {
    d = await makeDash();
    op = await d.login('operator1');
    aud = await d.login('auditor1');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('a forced door is latched until acknowledged with a comment; the journal says who and when', async () => {
    const board = d.controller.board as SimBoard;
    board.simulate('machine-room.contact', true);
    board.simulate('machine-room.contact', false);
    const active = (await aud.get('/api/alarms')).json().alarms;
    expect(active).toHaveLength(1);
    const id = active[0].id as number;
    expect(active[0]).toMatchObject({
      type: 'forced_open',
      severity: 'critical',
      conditionCleared: true,
      acknowledged: null,
    });
    expect((await aud.post(`/api/alarms/${id}/ack`, { comment: 'x' })).statusCode).toBe(403);
    const empty = await op.post(`/api/alarms/${id}/ack`, { comment: '   ' });
    expect(empty.statusCode).toBe(400);
    const ok = await op.post(`/api/alarms/${id}/ack`, { comment: '清掃員が押した。異常なし。' });
    expect(ok.statusCode).toBe(200);
    expect((await op.post(`/api/alarms/${id}/ack`, { comment: 'again' })).statusCode).toBe(404); // gone: acked and cleared
    expect((await aud.get('/api/alarms')).json().alarms).toHaveLength(0);
    const hist = (await aud.get('/api/alarms/history')).json();
    expect(hist.rows[0]).toMatchObject({
      id,
      type: 'forced_open',
      ackedBy: 'user:operator1',
      ackComment: '清掃員が押した。異常なし。',
    });
    expect(hist.rows[0].ackedAt).toBeGreaterThanOrEqual(hist.rows[0].at);
    expect(hist.rows[0].clearedAt).not.toBeNull();
    const detail = (await aud.get(`/api/alarms/${id}`)).json();
    expect(detail.context.map((r: { type: string }) => r.type)).toEqual(
      expect.arrayContaining(['door_opened', 'alarm_raised', 'door_closed']),
    );
    const page = await aud.get(`/alarms/${id}`);
    expect(page.body).toContain('class="highlight"');
  });

  it('an alarm still active stays listed, and acknowledging it does not clear its condition', async () => {
    const board = d.controller.board as SimBoard;
    board.simulate('machine-room.tamper', true);
    const a = (await op.get('/api/alarms')).json().alarms[0];
    expect(a).toMatchObject({ type: 'door_tamper', conditionCleared: false });
    await op.post(`/api/alarms/${a.id}/ack`, { comment: 'cover checked' });
    const still = (await op.get('/api/alarms')).json().alarms;
    expect(still).toHaveLength(1);
    expect(still[0].acknowledged).toMatchObject({ by: 'user:operator1', comment: 'cover checked' });
    board.simulate('machine-room.tamper', false);
    expect((await op.get('/api/alarms')).json().alarms).toHaveLength(0);
    const hist = (await op.get('/api/alarms/history?type=door_tamper')).json().rows;
    expect(hist).toHaveLength(1);
  });

  it("an alarm without a door shows its minutes' door records, never the account and login rows", async () => {
    // A failed login in the same minute as a door-less alarm.
    await d.app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { username: 'manager1', password: 'not the password!!' },
    });
    const c = d.controller;
    expect(c.journal.query({ types: ['login_failed'], limit: 1 })).toHaveLength(1);
    c.raiseAlarm('storage_fault', 'critical', null, 'test: a door-less alarm', c.now());
    const a = (await op.get('/api/alarms'))
      .json()
      .alarms.find((x: { type: string }) => x.type === 'storage_fault');
    const detail = (await op.get(`/api/alarms/${a.id}`)).json();
    const types = detail.context.map((r: { type: string }) => r.type);
    expect(types).toContain('alarm_raised');
    expect(types).not.toContain('login_failed');
  });
});

describe('integrity', () => {
  let d: TestDash;
  let aud: Client;
  beforeAll(async () => {
    d = await makeDash();
    aud = await d.login('auditor1');
    for (let i = 0; i < 20; i++) d.controller.simulateBadge('entry', `00000000${String(i).padStart(2, '0')}`);
    d.controller.checkpoint();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('shows the head and the last checkpoint with its signature checked', async () => {
    const s = (await aud.get('/api/integrity')).json();
    expect(s.head.seq).toBe(d.controller.journal.head().seq);
    expect(s.checkpoint).toMatchObject({ signatureValid: true, matchesJournal: true, rowsSince: 0 });
    expect(s.lastVerification).toBeNull();
    expect((await aud.get('/api/integrity/public-key')).body).toContain('BEGIN PUBLIC KEY');
  });

  it('exports signed evidence that verifies offline, and any change to it is caught', async () => {
    const to = d.controller.journal.head().seq;
    const res = await aud.get(`/api/integrity/export?fromSeq=3&toSeq=${to}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toContain(`sekisho-evidence-test-ctl-3-${to}.jsonl`);
    const text = res.body;
    const pem = d.controller.secrets.publicKeyPem;
    expect(verifyEvidence(text, pem)).toMatchObject({
      ok: true,
      rows: to - 2,
      keyId: d.controller.secrets.keyId,
      status: 'intact',
    });
    const lines = text.split('\n');
    const tampered = [...lines];
    const i = tampered.findIndex((l) => l.includes('unknown_badge'));
    tampered[i] = tampered[i]!.replace('unknown_badge', 'granted');
    expect(verifyEvidence(tampered.join('\n'), pem).ok).toBe(false);
    const dropped = [...lines];
    dropped.splice(4, 1);
    expect(verifyEvidence(dropped.join('\n'), pem).ok).toBe(false);
    // Re-signing with another key does not help when the verifier holds the device's key.
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifyEvidence(text, other)).toEqual({ ok: false, problem: 'the signature does not verify' });
    const byDate = await aud.get('/api/integrity/export?from=2000-01-01&to=2100-12-31');
    expect(verifyEvidence(byDate.body, pem).ok).toBe(true);
    expect(d.controller.journal.query({ types: ['evidence_exported'], limit: 1 })[0]!.actor).toBe(
      'user:auditor1',
    );
    expect((await aud.get('/api/integrity/export?from=1990-01-01&to=1990-01-02')).statusCode).toBe(404);
  });

  it('"verify now" walks the chain in a child process and records the outcome; a tampered row is named', async () => {
    const ok = await aud.post('/api/integrity/verify');
    expect(ok.statusCode).toBe(200);
    expect(ok.json().result).toMatchObject({ ok: true });
    expect(ok.json().result.rows).toBeGreaterThan(20);
    const recorded = d.controller.journal.query({ types: ['journal_verified'], limit: 1 })[0]!;
    expect(recorded).toMatchObject({ actor: 'user:auditor1', data: { ok: true } });
    // Someone with the database file edits a row behind the controller's back.
    const evil = new Database(d.controller.db.name);
    evil.exec('DROP TRIGGER journal_no_update');
    const { seq } = evil
      .prepare("SELECT min(seq) AS seq FROM journal WHERE type = 'access' AND bytes LIKE '%unknown_badge%'")
      .get() as { seq: number };
    evil
      .prepare("UPDATE journal SET bytes = replace(bytes, 'unknown_badge', 'granted') WHERE seq = ?")
      .run(seq);
    evil.close();
    const bad = await aud.post('/api/integrity/verify');
    expect(bad.json().result).toMatchObject({ ok: false, firstBadSeq: seq });
    const page = await aud.get('/integrity');
    expect(page.body).toContain('改ざんの疑い');
    expect(page.body).toContain(`seq ${seq}`);
  });
});

describe('integrity page: protective triggers and the key fingerprint', () => {
  let d: TestDash;
  let aud: Client;
  beforeAll(async () => {
    d = await makeDash();
    aud = await d.login('auditor1');
    for (let i = 0; i < 5; i++) d.controller.simulateBadge('entry', `00000000${String(i).padStart(2, '0')}`);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('shows the full key fingerprint, and green protections while the triggers are in place', async () => {
    const fp = publicKeyFingerprint(d.controller.secrets.publicKey);
    expect(fp).toMatch(/^SHA256:([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(fp.slice(7).replaceAll(' ', '').slice(0, 16)).toBe(d.controller.secrets.keyId);
    const page = (await aud.get('/integrity')).body;
    expect(page).toContain(`<dd class="mono full" id="key-fingerprint">${fp}</dd>`);
    expect(page).toContain('<span class="tag ok" id="protections">有効</span>');
    expect(page).not.toContain('protections-warning');
    expect((await aud.get('/api/integrity')).json()).toMatchObject({
      fingerprint: fp,
      protections: { intact: true },
    });
  });

  it('a trigger dropped and one weakened with the sqlite3 shell: the page warns in both languages, verify now records it', async () => {
    sqlite(
      d.controller.db.name,
      `DROP TRIGGER checkpoints_no_delete;
       DROP TRIGGER journal_no_update;
       CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal WHEN NEW.type = 'x'
       BEGIN SELECT RAISE(ABORT, 'journal rows are append-only: UPDATE refused'); END;`,
    );
    const ja = (await aud.get('/integrity')).body;
    expect(ja).toContain('id="protections-warning" role="alert"');
    expect(ja).toContain('警告：記録の変更・削除を拒否する仕組みが外されています');
    expect(ja).toContain(
      '<li>トリガー journal_no_update（テーブル journal）の定義が書き換えられています</li>',
    );
    expect(ja).toContain('<li>トリガー checkpoints_no_delete（テーブル checkpoints）が削除されています</li>');
    expect(ja).toContain('<span class="tag bad" id="protections">');
    const en = (await aud.req('GET', '/integrity', undefined, { cookie: `${aud.cookie}; sekisho_lang=en` }))
      .body;
    expect(en).toContain('Warning: the database no longer refuses changes to the journal');
    expect(en).toContain('trigger checkpoints_no_delete (table checkpoints) is missing');

    const r = (await aud.post('/api/integrity/verify')).json();
    expect(r.result).toMatchObject({ ok: true, protectionsIntact: false });
    expect(r.result.warnings).toEqual([
      expect.stringMatching(/^protective trigger journal_no_update is altered: .*WHEN NEW\.type = 'x'/),
      expect.stringMatching(/^protective trigger checkpoints_no_delete is missing/),
    ]);
    const recorded = d.controller.journal.query({ types: ['journal_verified'], limit: 1 })[0]!;
    expect(recorded.data).toMatchObject({ ok: true, protectionsIntact: false });
    const after = (await aud.get('/integrity')).body;
    expect(after).toContain('<span class="tag bad" id="verify-result">チェーンは正常・改ざん防止なし</span>');
    expect(after).not.toContain('class="tag ok" id="verify-result"');
    expect(after).toContain('id="verify-warnings"');
    const items = (await aud.get('/api/compliance')).json().items as { clause: string; status: string }[];
    expect(items.find((i) => i.clause === '§8(1)③')!.status).toBe('attention');
  });
});

describe('reports and compliance', () => {
  let d: TestDash;
  let m: Client;
  beforeAll(async () => {
    d = await makeDash({ clock: true });
    m = await d.login('manager1');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('counts after-hours entries, denials by reason and forced doors in a range', async () => {
    const r = d.controller.registry;
    const now = d.controller.now();
    const p = r.addPerson({ displayId: 'S-1', name: 'Night Owl', category: 'staff' }, 'test', now);
    r.addBadge({ personId: p.id, credential: '0A0A0A0A0A' }, 'test', now);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', now);
    d.clock.auto = false;
    const { parseLocal } = await import('../../controller/time.js');
    d.clock.now = parseLocal('2026-10-07 23:15', 'Asia/Tokyo'); // a Wednesday night
    d.controller.simulateBadge('entry', '0A0A0A0A0A');
    d.clock.now = parseLocal('2026-10-08 10:00', 'Asia/Tokyo'); // office hours
    d.controller.simulateBadge('entry', '0A0A0A0A0A');
    d.controller.simulateBadge('entry', 'FFFFFFFF01');
    d.controller.simulateBadge('entry', 'FFFFFFFF02');
    d.clock.auto = true;
    const rep = (await m.get('/api/reports?from=2026-10-01&to=2026-10-31')).json();
    expect(rep.afterHours).toHaveLength(1);
    expect(rep.afterHours[0]).toMatchObject({ name: 'Night Owl', displayId: 'S-1' });
    expect(rep.denials).toEqual([{ reason: 'unknown_badge', n: 2 }]);
    const page = await m.get('/reports?from=2026-10-01&to=2026-10-31');
    expect(page.body).toContain('Night Owl');
    expect((await m.get('/api/reports?from=2026-11-01')).json().afterHours).toHaveLength(0);
  });

  it('the compliance view goes clause by clause and flags what needs attention', async () => {
    const items = (await m.get('/api/compliance')).json().items as { clause: string; status: string }[];
    const by = Object.fromEntries(items.map((i) => [i.clause, i.status]));
    expect(by['§4(3)']).toBe('ok');
    expect(by['§8(1)③']).toBe('attention'); // never verified yet
    expect(Object.keys(by)).toEqual(
      expect.arrayContaining(['§7(1)②ア', '§5(2)⑪ウ', '§4(2)②', '§6(1)⑧', '§6(1)⑨', '§7(1)②エ', '§8(5)①']),
    );
    await m.post('/api/integrity/verify');
    const after = (await m.get('/api/compliance')).json().items as { clause: string; status: string }[];
    expect(after.find((i) => i.clause === '§8(1)③')!.status).toBe('ok');
    expect((await m.get('/compliance')).body).toContain('§4(3)');
  });
});
