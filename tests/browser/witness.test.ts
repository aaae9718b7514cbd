/**
 * The Integrity page's witness check in a real Chromium: the reviewer chooses the history and the
 * pinned key as files, the page reads them and shows the verdict — agreement, then the first altered
 * row once a row was edited and the chain re-hashed behind the controller — in Japanese and English,
 * without a script error.
 */
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../../controller/journal/index.js';
import { checkpointPayload } from '../../controller/mqtt/payloads.js';
import { ZERO_HASH } from '../../controller/witness/history.js';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';
import { witnessedHistory } from '../witness/helpers.js';

describe('the witness check in Chromium', { timeout: 180_000 }, () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let history: string;
  let pem: string;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const { journal, secrets } = d.controller;
    pem = secrets.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    history = witnessedHistory(journal, secrets);
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function check(locale: 'ja-JP' | 'en-US', upload = history) {
    const ctx = await newContext(browser, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, 'auditor1', PASSWORD, '/integrity');
    await page.setInputFiles('#witness-form input[name="history"]', {
      name: 'mr-door-1.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(upload),
    });
    await page.setInputFiles('#witness-form input[name="publicKey"]', {
      name: 'mr-door-1.pem',
      mimeType: 'application/x-pem-file',
      buffer: Buffer.from(pem),
    });
    await page.click('#witness-form button[type="submit"]');
    const result = page.locator('#witness-result');
    await result.waitFor({ state: 'visible', timeout: 30_000 });
    const out = {
      text: await result.textContent(),
      className: await result.getAttribute('class'),
      detail: await page.locator('#witness-detail').textContent(),
      errors,
    };
    await ctx.close();
    return out;
  }

  it('takes a bare checkpoints file as saved from MQTT, in both languages', async () => {
    const { journal, secrets } = d.controller;
    const cp = journal.checkpoint(Date.now(), secrets.signingKey, secrets.keyId);
    const saved = `${JSON.stringify(checkpointPayload(cp))}\n`;
    const ja = await check('ja-JP', saved);
    expect(ja.text).toContain(
      '保管されていたチェックポイントと一致しています（署名付きチェックポイント 1 件',
    );
    expect(ja.className).toBe('result good');
    const en = await check('en-US', saved);
    expect(en.text).toContain(
      `The journal agrees with the saved checkpoints (signed checkpoints: 1, the newest at seq ${cp.seq}`,
    );
    expect([...ja.errors, ...en.errors]).toEqual([]);
  });

  it('shows agreement, then names the first altered row, in both languages', async () => {
    const ok = await check('ja-JP');
    expect(ok.text).toContain('立会人の記録と一致しています');
    expect(ok.className).toBe('result good');
    expect(ok.errors).toEqual([]);

    const evil = new Database(d.controller.db.name);
    evil.exec('DROP TRIGGER journal_no_update');
    const rows = evil.prepare('SELECT seq, bytes FROM journal ORDER BY seq').all() as {
      seq: number;
      bytes: string;
    }[];
    const target = rows[Math.floor(rows.length / 2)]!;
    let prev = ZERO_HASH;
    const update = evil.prepare('UPDATE journal SET bytes = ?, hash = ? WHERE seq = ?');
    for (const r of rows) {
      const bytes = r.seq === target.seq ? r.bytes.replace('"data":{', '"data":{"x":1,') : r.bytes;
      prev = chainHash(prev, bytes);
      if (r.seq >= target.seq) update.run(bytes, prev, r.seq);
    }
    evil.close();

    const ja = await check('ja-JP');
    expect(ja.text).toBe(
      `立会人が受信した行が書き換えられています。最初に書き換えられた行：seq ${target.seq}`,
    );
    expect(ja.className).toBe('result bad');
    expect(ja.detail).toContain(`row ${target.seq}`);
    const en = await check('en-US');
    expect(en.text).toBe(`A row the witness received was altered. First altered row: seq ${target.seq}`);
    expect(en.errors).toEqual([]);
  });
});
