/**
 * Degraded entry in a real Chromium (docs/operations.md, "When the controller cannot decide"): the
 * door's inside reader — a Wiegand bridge on a real pseudo-terminal whose board never speaks — goes
 * offline, a recorded outage. A manager finds the blank paper ledger from the entry log, transcribes
 * a line of it on the Requests page (the dashboard's form of `sekisho record-manual-entry`); their own
 * approval is refused; a different manager approves it, and only then is it journaled as
 * `manual_entry_recorded`, inside the reader-offline outage, and shown in the log as transcribed.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Person } from '../../controller/domain/index.js';
import { formatLocal } from '../../controller/time.js';
import { makeDash, PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { launchChromium, loginAs, newContext, watchErrors } from '../helpers/browser.js';
import { tempDir, until } from '../helpers/controller.js';
import { makePtyPair, type PtyPair } from '../helpers/pty.js';

describe('key and paper, transcribed on the dashboard and approved by another person', () => {
  let d: TestDash | undefined;
  let base: string;
  let browser: Browser | undefined;
  let pty: PtyPair | undefined;
  let yamada: Person;
  /** The reader_offline row of the inside reader. */
  let offlineAt = 0;

  beforeAll(async () => {
    const dir = tempDir('sekisho-manual-browser-');
    pty = await makePtyPair(join(dir, 'pty'));
    d = await makeDash({
      server: { loginLimits: { clientFreeFailures: 1000 } },
      config: {
        readers: [
          { id: 'entry', path: 'sim', protocol: 'rdm6300' },
          // A bridge board sends heartbeats: this one never does, so the reader goes offline.
          { id: 'exit', path: pty.b, protocol: 'wiegand-bridge', offlineAfterMs: 500 },
        ],
      },
    });
    base = await d.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    const at = d.controller.now();
    yamada = d.controller.registry.addPerson(
      { displayId: 'S-1001', name: '山田 太郎', category: 'staff' },
      'test',
      at,
    );
    d.controller.registry.grantDoor(yamada.id, 'machine-room', 'always', 'test', at);
    const offline = await until(
      () => d!.controller.journal.query({ types: ['reader_offline'], door: 'machine-room', limit: 1 })[0],
      'the inside reader offline',
      30_000,
    );
    offlineAt = offline.at;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await d?.close();
    await pty?.stop();
  });

  async function pageFor(username: string, locale: 'ja-JP' | 'en-US', next: string) {
    const ctx = await newContext(browser!, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, username, PASSWORD, next);
    return { page, errors };
  }

  const recorded = () => d!.controller.journal.query({ types: ['manual_entry_recorded'], limit: 10 });

  it('the ledger is found from the log; the line is filed; the filer cannot approve it; another can', async () => {
    // The paper ledger, printed in advance: its columns are what the transcription asks.
    const { page, errors } = await pageFor('manager1', 'ja-JP', '/log');
    await Promise.all([page.waitForURL(`${base}/log/paper-form`), page.click('a#paper-form')]);
    expect(await page.locator('#paper-form h1').textContent()).toBe('入退室管理簿（紙・障害時用）');
    expect(await page.locator('#paper-form th[data-column]').count()).toBe(12);
    expect(await page.locator('#paper-form tbody tr').count()).toBe(15);

    // A line of it: 山田 entered with the key at the minute the reader went offline, line 1-3.
    const tz = d!.controller.config.timeZone;
    const paperAt = formatLocal(offlineAt, tz).slice(0, 16);
    await page.goto(`${base}/requests`);
    const form = page.locator('#new-manual-entry');
    await form.locator('xpath=..').locator('summary').click();
    await form.locator('[data-person-find]').first().fill('S-1001');
    await expect.poll(() => page.locator(`#manual-person option[value="${yamada.id}"]`).count()).toBe(1);
    await page.selectOption('#manual-person', yamada.id);
    await form.locator('select[name="payload.direction"]').selectOption('in');
    await form.locator('input[name="payload.paperAt"]').fill(paperAt.replace(' ', 'T'));
    await form.locator('input[name="payload.paperRef"]').fill('1-3');
    await form.locator('input[name="reason"]').fill('出口側カードリーダー故障のため、鍵で入室');
    await Promise.all([page.waitForLoadState('load'), form.locator('button[type="submit"]').click()]);
    const pending = page.locator('#pending-requests tr[data-request]');
    await expect.poll(() => pending.count()).toBe(1);
    const line = (await pending.first().textContent()) ?? '';
    expect(line).toContain('紙の入退室管理簿から転記');
    expect(line).toContain('山田 太郎');
    expect(line).toContain('1-3');
    expect(recorded()).toEqual([]);

    // The filer cannot approve it: no approve button, a plain note (the server refuses it too,
    // tests/dashboards/requests.test.ts); nothing is journaled, the request stays pending.
    await expect
      .poll(() => pending.first().locator(`[data-own-request]`).textContent())
      .toBe('自分の申請は承認できません。');
    expect(await pending.first().locator('[data-approve]').count()).toBe(0);
    expect(recorded()).toEqual([]);
    await page.reload();
    await expect.poll(() => page.locator('#pending-requests tr[data-request]').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.context().close();

    // A different manager compares it with the paper and approves it.
    const other = await pageFor('manager2', 'en-US', '/requests');
    const row = other.page.locator('#pending-requests tr[data-request]').first();
    expect(await row.textContent()).toContain('transcribed from the paper ledger');
    // Approve reloads the page (data-then="reload"): wait for that load, or a later goto races it.
    await Promise.all([
      other.page.waitForEvent('load'),
      row.locator('[data-approve] button[type="submit"]').click(),
    ]);
    const [entry] = await until(() => (recorded().length === 1 ? recorded() : undefined), 'the record');
    expect(entry!.person).toBe(yamada.id);
    expect(entry!.door).toBe('machine-room');
    expect(entry!.data).toMatchObject({
      direction: 'in',
      paperRef: '1-3',
      personName: '山田 太郎',
      displayId: 'S-1001',
      permitted: true,
      outage: { kind: 'reader_offline', until: null },
    });
    const data = entry!.data as { transcribedBy: string; approvedBy: string; paperAt: number };
    expect(data.transcribedBy).toMatch(/manager1/);
    expect(data.approvedBy).toMatch(/manager2/);
    expect(formatLocal(data.paperAt, tz).slice(0, 16)).toBe(paperAt);
    // Never an access row, never a change of who is inside.
    expect(d!.controller.journal.query({ types: ['access'], limit: 1 })).toEqual([]);

    // The entry log shows it at the time on paper, marked as transcribed.
    await other.page.goto(`${base}/log`);
    await expect
      .poll(async () => (await other.page.locator('main').textContent()) ?? '')
      .toContain('transcribed from the paper ledger');
    expect(other.errors).toEqual([]);
    await other.page.context().close();
  });
});
