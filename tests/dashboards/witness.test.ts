/**
 * The Integrity page's witness check: a reviewer uploads a witness history and the pinned public key
 * and gets what `sekisho verify --witness` says, in Japanese or English, with the first altered row
 * named; the check runs in a child process and is journaled. An edited history, another key and an
 * upload over the limit are refused; an operator may not run it.
 */
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../../controller/journal/index.js';
import { ZERO_HASH } from '../../controller/witness/history.js';
import { WITNESS_UPLOAD_MAX } from '../../dashboards/witness-check.js';
import { witnessedHistory } from '../witness/helpers.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('the witness check on the Integrity page', () => {
  let d: TestDash;
  let aud: Client;
  let op: Client;
  let pem: string;
  let history: string;

  beforeAll(async () => {
    d = await makeDash();
    aud = await d.login('auditor1');
    op = await d.login('operator1');
    const { journal, secrets } = d.controller;
    pem = secrets.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    history = witnessedHistory(journal, secrets);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('shows the upload form to those who may verify, and not to an operator', async () => {
    expect((await aud.get('/integrity')).body).toContain('id="witness-form"');
    expect((await op.get('/integrity')).body).not.toContain('id="witness-form"');
    expect((await op.post('/api/integrity/witness', { history, publicKey: pem })).statusCode).toBe(403);
  });

  it('agrees with an untouched journal, and the check is journaled', async () => {
    const r = await aud.post('/api/integrity/witness', { history, publicKey: pem });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, refused: false, firstBadSeq: null });
    expect(r.json().message).toContain('立会人の記録と一致しています');
    const row = d.controller.journal.query({ types: ['witness_checked'], limit: 1 })[0]!;
    expect(row).toMatchObject({ actor: 'user:auditor1', data: { ok: true, refused: false } });
  });

  it('refuses an edited history and another key without a verdict on the journal', async () => {
    const edited = history.replace(
      /"hash":"([0-9a-f])/,
      (_m, c: string) => `"hash":"${c === '0' ? '1' : '0'}`,
    );
    const r = await aud.post('/api/integrity/witness', { history: edited, publicKey: pem });
    expect(r.json()).toMatchObject({ ok: false, refused: true });
    expect(r.json().problem).toContain('does not chain');
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const k = await aud.post('/api/integrity/witness', { history, publicKey: other });
    expect(k.json()).toMatchObject({ ok: false, refused: true });
    expect(k.json().problem).toContain('kept with public key');
    const big = await aud.post('/api/integrity/witness', {
      history: 'x'.repeat(WITNESS_UPLOAD_MAX + 1),
      publicKey: pem,
    });
    expect(big.statusCode).toBe(400);
    expect(big.json().error.message).toContain('sekisho verify --witness');
  });

  it('names the first row edited behind the controller, even with the chain re-hashed', async () => {
    const evil = new Database(d.controller.db.name);
    evil.exec('DROP TRIGGER journal_no_update');
    const rows = evil.prepare('SELECT seq, bytes FROM journal ORDER BY seq').all() as {
      seq: number;
      bytes: string;
    }[];
    const target = rows.find((r) => r.bytes.includes('unknown_badge')) ?? rows[Math.floor(rows.length / 2)]!;
    let prev = ZERO_HASH;
    const update = evil.prepare('UPDATE journal SET bytes = ?, hash = ? WHERE seq = ?');
    for (const r of rows) {
      const bytes = r.seq === target.seq ? r.bytes.replace('"at":', '"at":1') : r.bytes;
      prev = chainHash(prev, bytes);
      if (r.seq >= target.seq) update.run(bytes, prev, r.seq);
    }
    evil.close();
    const r = await aud.req(
      'POST',
      '/api/integrity/witness',
      { history, publicKey: pem },
      { cookie: `${aud.cookie}; sekisho_lang=en` },
    );
    expect(r.json()).toMatchObject({ ok: false, firstBadSeq: target.seq, kind: 'witnessed_altered' });
    expect(r.json().message).toBe(
      `A row the witness received was altered. First altered row: seq ${target.seq}`,
    );
  });
});
