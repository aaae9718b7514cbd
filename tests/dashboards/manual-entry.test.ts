/**
 * Degraded entry (issue #16): an entry with the mechanical key, written on the paper ledger while
 * the controller was down, transcribed with `sekisho record-manual-entry` and approved by a
 * different person on the dashboard. Through the command line (`main`, as the installed command
 * runs it, under sudo as a person) and the HTTP API, against a real controller whose journal holds
 * a real stop and start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { HELP, main } from '../../controller/cli.js';
import { parseConfig } from '../../controller/config/index.js';
import { presenceView } from '../../controller/domain/index.js';
import { silentLogger } from '../../controller/log.js';
import { Controller } from '../../controller/runtime/index.js';
import { formatLocal } from '../../controller/time.js';
import { SimBoard } from '../../hardware/index.js';
import { doorConfig, simReaders, tempDir } from '../helpers/controller.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('record-manual-entry: key and paper, transcribed, approved by another person', () => {
  const dir = tempDir('sekisho-manual-');
  const file = join(dir, 'config.yaml');
  let d: TestDash;
  let m1: Client;
  let m2: Client;
  let aud: Client;
  let staff: { id: string; displayId: string };
  let visitor: { id: string };
  /** The controller was stopped from `down` until `up` (a real controller_stopped / controller_started). */
  let down = 0;
  let up = 0;
  /** A minute inside the outage, as written on paper (`YYYY-MM-DD HH:MM` in the site's zone). */
  let onPaper = '';

  beforeAll(async () => {
    const cfg = doorConfig(dir, simReaders());
    writeFileSync(file, stringify(cfg));
    const loaded = { config: parseConfig(stringify(cfg)), file, storageDir: join(dir, 'data') };
    const first = await Controller.start({ loaded, board: new SimBoard(), log: silentLogger });
    await first.stop('storage maintenance');
    d = await makeDash({ loaded });
    const lifecycle = d.controller.journal.query({
      types: ['controller_stopped', 'controller_started'],
      limit: 3,
    });
    expect(lifecycle.map((r) => r.type)).toEqual([
      'controller_started',
      'controller_stopped',
      'controller_started',
    ]);
    up = lifecycle[0]!.at;
    down = lifecycle[1]!.at;
    onPaper = formatLocal(down, d.controller.config.timeZone).slice(0, 16);
    m1 = await d.login('manager1');
    m2 = await d.login('manager2');
    aud = await d.login('auditor1');
    staff = (
      await m1.post('/api/people', { name: '山田 太郎', displayId: 'S-1001', category: 'staff' })
    ).json();
    // A visitor is added with their visitor badge (the Visitors page); here straight into the registry.
    visitor = d.controller.registry.addPerson(
      { name: '来訪 花子', displayId: 'V-77', category: 'visitor' },
      'test:setup',
      d.controller.now(),
    );
  });
  afterAll(async () => {
    delete process.env.SUDO_USER;
    await d?.close();
  });

  /** `sekisho …` in this process, through sudo as `sudo`: exit code, stdout, stderr. */
  async function run(args: string[], sudo = 'manager1') {
    const out: string[] = [];
    const err: string[] = [];
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
    process.env.SUDO_USER = sudo;
    try {
      const status = await main([...args, '--config', file]);
      return { status, stdout: out.join(''), stderr: err.join('') };
    } finally {
      delete process.env.SUDO_USER;
      o.mockRestore();
      e.mockRestore();
    }
  }

  const recorded = () => d.controller.journal.query({ types: ['manual_entry_recorded'], limit: 100 });
  const pending = async () =>
    (await m2.get('/api/requests?status=pending&kind=manual_entry&limit=50')).json().requests as {
      id: number;
      payload: Record<string, unknown>;
      requestedBy: string;
      requestedAt: number;
    }[];

  it('files a request from the paper line; the filer cannot approve it; a different person can, and only then is it journaled', async () => {
    expect(HELP).toContain('record-manual-entry --person ID|CARD_ID');
    // As the operator runs it (the ID on the card names the person).
    const filed = await run([
      'record-manual-entry',
      '--person',
      'S-1001',
      '--direction',
      'in',
      '--at',
      onPaper,
      '--paper-ref',
      '1-1',
      '--reason',
      'controller stopped for storage maintenance; entered with the key to replace the card',
    ]);
    expect(filed.status, filed.stderr).toBe(0);
    expect(filed.stdout).toMatch(
      /filed request #\d+ \(manual_entry\): IN {2}山田 太郎 \[S-1001\] at machine-room/,
    );
    expect(filed.stdout).toContain('during: controller_down from');
    expect(filed.stdout).toContain('a different person approves it');
    const [req] = await pending();
    expect(req).toMatchObject({
      payload: {
        personId: staff.id,
        doorId: 'machine-room',
        direction: 'in',
        paperRef: '1-1',
        outsideOutage: false,
      },
      requestedBy: expect.stringMatching(/^cli:manager1\//),
    });
    expect(recorded()).toHaveLength(0);

    // The same person on the dashboard: refused and recorded, nothing journaled as an entry.
    const self = await m1.post(`/api/requests/${req!.id}/approve`, {});
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    expect(recorded()).toHaveLength(0);
    expect(d.controller.journal.query({ types: ['self_approval_refused'], limit: 5 })[0]?.data).toMatchObject(
      {
        requestId: req!.id,
        kind: 'manual_entry',
      },
    );

    const accessBefore = d.controller.journal.query({ types: ['access'], limit: 100 }).length;
    const ok = await m2.post(`/api/requests/${req!.id}/approve`, { note: 'checked against page 1' });
    expect(ok.statusCode, ok.body).toBe(200);
    const rows = recorded();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ door: 'machine-room', person: staff.id, actor: 'user:manager2' });
    expect(row.data).toEqual({
      requestId: req!.id,
      direction: 'in',
      paperAt: expect.any(Number),
      paperRef: '1-1',
      transcribedBy: req!.requestedBy,
      transcribedAt: req!.requestedAt,
      approvedBy: 'user:manager2',
      reason: 'controller stopped for storage maintenance; entered with the key to replace the card',
      personName: '山田 太郎',
      displayId: 'S-1001',
      category: 'staff',
      escort: null,
      escortName: null,
      outage: { kind: 'controller_down', from: down, until: up, seq: expect.any(Number) },
      permitted: false,
    });
    expect(Math.abs((row.data as { paperAt: number }).paperAt - down)).toBeLessThan(60_000);
    expect(row.at).toBeGreaterThanOrEqual(up);
    // Never an access row, never someone inside by surprise.
    expect(d.controller.journal.query({ types: ['access'], limit: 100 })).toHaveLength(accessBefore);
    expect(presenceView(d.controller.derived, 'machine-room')).toEqual([]);
  });

  it('shows in the log, the CSV, the printed ledger and `sekisho log` as transcribed from paper', async () => {
    const api = (await aud.get(`/api/log?person=S-1001`)).json();
    expect(api.rows).toHaveLength(1);
    expect(api.rows[0]).toMatchObject({
      source: 'paper',
      result: 'manual',
      reason: 'manual_entry',
      direction: 'in',
      personId: staff.id,
      masked: null,
      paper: { ref: '1-1', approvedBy: 'user:manager2', outage: 'controller_down' },
    });
    expect(api.rows[0].time).toBe(`${onPaper}:00`);

    const ja = (await aud.req('GET', '/log', undefined, { cookie: `${aud.cookie}; sekisho_lang=ja` })).body;
    expect(ja).toMatch(/data-transcribed="1-1"/);
    expect(ja).toContain('紙の入退室管理簿から転記');
    const en = (await aud.req('GET', '/log', undefined, { cookie: `${aud.cookie}; sekisho_lang=en` })).body;
    expect(en).toContain('transcribed from the paper ledger');
    const month = onPaper.slice(0, 7);
    const print = (
      await aud.req('GET', `/log/print?month=${month}`, undefined, {
        cookie: `${aud.cookie}; sekisho_lang=ja`,
      })
    ).body;
    expect(print).toMatch(/<tr class="manual [^"]*" data-seq="\d+" data-transcribed="1-1">/);
    expect(print).toContain('紙の入退室管理簿から転記');
    const csv = (await m1.get('/api/log.csv?reason=manual_entry')).body;
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(2);
    expect(csv).toContain('(1-1)');

    const log = await run(['log', '--type', 'manual_entry_recorded']);
    expect(log.status).toBe(0);
    expect(log.stdout).toMatch(/IN {2}TRANSCRIBED FROM PAPER \(紙の入退室管理簿から転記\) 1-1 at /);
    expect(log.stdout).toContain('approved by user:manager2');
  });

  it('refuses an unknown person, a time in the future, a visitor without an escort, a duplicate and break-glass, with clear errors', async () => {
    const base = [
      'record-manual-entry',
      '--direction',
      'out',
      '--paper-ref',
      '1-2',
      '--reason',
      'left by the key',
    ];
    const unknown = await run([...base, '--person', 'S-9999', '--at', onPaper]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(
      '--person: no person "S-9999" (neither an internal id nor the ID on a card)',
    );

    const future = formatLocal(Date.now() + 2 * 3_600_000, d.controller.config.timeZone).slice(0, 16);
    const ahead = await run([...base, '--person', 'S-1001', '--at', future]);
    expect(ahead.status).toBe(1);
    expect(ahead.stderr).toMatch(/the time on paper \(.*\) is in the future/);

    const dateOnly = await run([...base, '--person', 'S-1001', '--at', onPaper.slice(0, 10)]);
    expect(dateOnly.status).toBe(2);
    expect(dateOnly.stderr).toContain('--at: the date and the time written on paper');

    const alone = await run([...base, '--person', 'V-77', '--at', onPaper]);
    expect(alone.status).toBe(1);
    expect(alone.stderr).toContain('a visitor entered with an escort: name the escort written on paper');
    const staffEscorted = await run([...base, '--person', 'S-1001', '--escort', 'S-1001', '--at', onPaper]);
    expect(staffEscorted.status).toBe(1);
    expect(staffEscorted.stderr).toContain('an escort is recorded for a visitor only');

    const again = await run([
      ...base.slice(0, 2),
      'in',
      '--paper-ref',
      '1-9',
      '--reason',
      'x',
      '--person',
      'S-1001',
      '--at',
      onPaper,
    ]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/the same entry is already recorded \(journal row \d+\)/);
    const sameLine = await run([
      ...base.slice(0, 2),
      'out',
      '--paper-ref',
      '1-1',
      '--reason',
      'x',
      '--person',
      'S-1001',
      '--at',
      onPaper,
    ]);
    expect(sameLine.status).toBe(1);
    expect(sameLine.stderr).toContain('paper line "1-1" is already recorded');

    const bg = await run([
      ...base,
      '--person',
      'S-1001',
      '--at',
      onPaper,
      '--break-glass',
      'nobody else is here tonight, sorry',
    ]);
    expect(bg.status).toBe(2);
    expect(bg.stderr).toContain('--break-glass: a manual entry is history, never urgent');

    // The API's break-glass path is refused too: one person never writes an entry alone.
    const api = await m1.post('/api/requests', {
      kind: 'manual_entry',
      payload: {
        personId: staff.id,
        doorId: 'machine-room',
        direction: 'out',
        paperAt: onPaper,
        paperRef: '1-3',
      },
      reason: 'left by the key',
      breakGlass: { reason: 'nobody else is here tonight, sorry' },
    });
    expect(api.statusCode).toBe(403);
    expect(api.json().error.message).toContain('never takes the break-glass path');
    expect(recorded()).toHaveLength(1);
    expect(await pending()).toHaveLength(0);
  });

  it('a time outside every recorded outage is refused, unless filed deliberately: then it is flagged', async () => {
    const before = formatLocal(down - 3 * 3_600_000, d.controller.config.timeZone).slice(0, 16);
    const args = [
      'record-manual-entry',
      '--person',
      'V-77',
      '--escort',
      'S-1001',
      '--direction',
      'in',
      '--at',
      before,
      '--paper-ref',
      '2-1',
      '--reason',
      'the lock jammed; let in by the key with her escort',
    ];
    const refused = await run(args);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('falls in no recorded outage of machine-room');
    expect(refused.stderr).toContain('--outside-outage');
    expect(await pending()).toHaveLength(0);

    const flagged = await run([...args, '--outside-outage']);
    expect(flagged.status, flagged.stderr).toBe(0);
    expect(flagged.stdout).toContain('FLAGGED: outside every recorded outage');
    const [req] = await pending();
    expect(req!.payload).toMatchObject({ escortId: staff.id, outsideOutage: true });
    const page = (await m2.req('GET', '/requests', undefined, { cookie: `${m2.cookie}; sekisho_lang=ja` }))
      .body;
    expect(page).toContain(`data-request="${req!.id}"`);
    expect(page).toContain('data-outside-outage');
    // The form to file one on the dashboard, its fields those of the API.
    for (const name of [
      'payload.personId',
      'payload.paperAt',
      'payload.paperRef',
      'payload.escortId',
      'payload.outsideOutage',
    ])
      expect(page).toContain(`name="${name}"`);
    expect(page).toContain('id="new-manual-entry"');
    expect((await m2.post(`/api/requests/${req!.id}/approve`, {})).statusCode).toBe(200);
    const row = recorded()[0]!;
    expect(row.person).toBe(visitor.id);
    expect(row.data).toMatchObject({
      outage: null,
      escort: staff.id,
      escortName: '山田 太郎',
      category: 'visitor',
    });
    const log = (await aud.get('/api/log?person=V-77')).json();
    expect(log.rows[0]).toMatchObject({ source: 'paper', escortName: '山田 太郎', paper: { outage: null } });
  });

  it('files through the HTTP API with the time as written (a local date-time), approved by another', async () => {
    const filed = await m2.post('/api/requests', {
      kind: 'manual_entry',
      payload: {
        personId: staff.id,
        doorId: 'machine-room',
        direction: 'out',
        paperAt: onPaper,
        paperRef: '1-2',
      },
      reason: 'left by the key after replacing the card',
    });
    expect(filed.statusCode, filed.body).toBe(200);
    const self = await m2.post(`/api/requests/${filed.json().id}/approve`, {});
    expect(self.statusCode).toBe(403);
    const ok = await m1.post(`/api/requests/${filed.json().id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().result).toMatchObject({ outage: 'controller_down' });
    const row = recorded()[0]!;
    expect(row).toMatchObject({
      actor: 'user:manager1',
      data: { direction: 'out', transcribedBy: 'user:manager2' },
    });
    const bad = await m2.post('/api/requests', {
      kind: 'manual_entry',
      payload: {
        personId: 'p_nobody',
        doorId: 'machine-room',
        direction: 'out',
        paperAt: onPaper,
        paperRef: '1-4',
      },
      reason: 'x',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('no person "p_nobody"');
    expect(presenceView(d.controller.derived, 'machine-room')).toEqual([]);
  });

  it('a storage fault is an outage too: from its alarm until its condition cleared', async () => {
    const c = d.controller;
    // A fault that began after the controller's restart (the latest outage is the one named): the
    // restart of an earlier test may be less than a second old.
    const t0 = c.now();
    c.raiseAlarm('storage_fault', 'critical', null, 'the journal cannot be written (test)', t0);
    c.clearAlarmCondition('storage_fault', null, t0 + 1_000);
    const filed = await m1.post('/api/requests', {
      kind: 'manual_entry',
      payload: {
        personId: staff.id,
        doorId: 'machine-room',
        direction: 'in',
        paperAt: t0 + 30_000,
        paperRef: '3-1',
      },
      reason: 'storage fault; entered by the key',
    });
    expect(filed.statusCode, filed.body).toBe(200);
    const ok = await m2.post(`/api/requests/${filed.json().id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(recorded()[0]!.data).toMatchObject({
      paperRef: '3-1',
      outage: { kind: 'storage_fault', from: t0, until: t0 + 1_000 },
    });
  });

  it('an operator files one but approves none; an auditor and an API token do neither', async () => {
    const op = await d.login('operator1');
    const body = (paperRef: string) => ({
      kind: 'manual_entry',
      payload: {
        personId: visitor.id,
        escortId: staff.id,
        doorId: 'machine-room',
        direction: 'out',
        paperAt: onPaper,
        paperRef,
      },
      reason: 'left by the key, written by the operator on duty',
    });
    expect((await aud.post('/api/requests', body('4-1'))).statusCode).toBe(403);
    const token = await d.app.inject({
      method: 'POST',
      url: '/api/requests',
      headers: d.bearer('read'),
      payload: body('4-1'),
    });
    expect(token.statusCode).toBe(403);
    const filed = await op.post('/api/requests', body('4-1'));
    expect(filed.statusCode, filed.body).toBe(200);
    const id = filed.json().id as number;
    expect((await op.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(403);
    expect((await aud.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(403);
    expect(recorded().some((r) => (r.data as { paperRef: string }).paperRef === '4-1')).toBe(false);
    expect((await m1.post(`/api/requests/${id}/approve`, {})).statusCode).toBe(200);
    expect(recorded()[0]).toMatchObject({
      actor: 'user:manager1',
      data: { transcribedBy: 'user:operator1', paperRef: '4-1' },
    });
  });

  it('prints a blank paper ledger whose columns are what the command asks', async () => {
    const ja = (
      await aud.req('GET', '/log/paper-form', undefined, { cookie: `${aud.cookie}; sekisho_lang=ja` })
    ).body;
    for (const c of [
      'paper_date_time',
      'paper_in_out',
      'paper_id_card',
      'paper_escort',
      'paper_reason',
      'paper_line',
    ])
      expect(ja).toContain(`data-column="${c}"`);
    expect(ja).toContain('入退室管理簿（紙・障害時用）');
    const en = (
      await aud.req('GET', '/log/paper-form', undefined, { cookie: `${aud.cookie}; sekisho_lang=en` })
    ).body;
    expect(en).toContain('Entry/exit ledger (paper, for outages)');
  });
});
