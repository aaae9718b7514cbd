/**
 * The People page in a real Chromium: finding a person by their reading typed in kana or romaji (in
 * the list and in a request form's picker), and the add form refusing an ID card number another
 * person holds with a message naming them, in Japanese.
 */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Person } from '../../controller/domain/index.js';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

describe('people search by kana and romaji, and the duplicate ID refusal, in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let sato: Person;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    sato = r.addPerson(
      { displayId: 'S-2002', name: '佐藤 花子', reading: 'サトウ ハナコ', category: 'staff' },
      'test',
      at,
    );
    r.addPerson(
      { displayId: 'S-2003', name: '斎藤 一', reading: 'サイトウ ハジメ', category: 'staff' },
      'test',
      at,
    );
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(next: string) {
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, 'manager1', PASSWORD, next);
    return { page, errors };
  }

  it('finds 佐藤 花子 by さとう and by satoh in the list', async () => {
    const { page, errors } = await pageFor('/people');
    for (const q of ['さとう', 'satoh']) {
      await page.locator('#people-filters input[name="q"]').fill(q);
      await page.locator('#people-filters button[type="submit"]').click();
      await page.waitForURL((u) => u.searchParams.get('q') === q);
      const names = await page.locator('#people-table tbody tr td:first-child a').allTextContents();
      expect(names, q).toEqual(['佐藤 花子']);
      expect(await page.locator(`#people-table tr[data-person="${sato.id}"] .reading`).textContent()).toBe(
        'サトウ ハナコ',
      );
    }
    expect(errors).toEqual([]);
  });

  it("finds her by romaji in a request form's person picker", async () => {
    const { page, errors } = await pageFor('/requests');
    const form = page.locator('#new-access-request');
    await form.locator('xpath=..').locator('summary').click();
    await form.locator('[data-person-find]').fill('sato');
    await expect.poll(() => page.locator(`#access-person option[value="${sato.id}"]`).count()).toBe(1);
    // The prompt, then the one match (斎藤 is "saito": not found by "sato").
    expect((await page.locator('#access-person option').allTextContents()).slice(1)).toEqual([
      '佐藤 花子 [S-2002]',
    ]);
    expect(errors).toEqual([]);
  });

  it('says, in Japanese, what it assumed of a card number typed as 10 decimal digits', async () => {
    const { page, errors } = await pageFor(`/people/${sato.id}`);
    const form = page.locator('#enrol-badge');
    await form.locator('input[name="number"]').fill('1234567890');
    await form.locator('input[name="reason"]').fill('新しいカード');
    const messages: string[] = [];
    page.on('dialog', (dialog) => {
      messages.push(dialog.message());
      void dialog.accept();
    });
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]).toBe(
      '1234567890 を16進数10桁として登録しました。カードに印字された10進数の番号であれば、カードの番号全体ではありません。カードをカードリーダーにかざして確かめてください。',
    );
    await expect.poll(() => page.locator('#person-pending li').count()).toBe(1);
    expect(errors).toEqual([]);
  });

  it('refuses to add a second person with her ID, naming her, and adds nothing', async () => {
    const { page } = await pageFor('/people');
    const form = page.locator('#add-person');
    await form.locator('input[name="name"]').fill('佐藤 花子');
    await form.locator('input[name="reading"]').fill('さとう はなこ');
    await form.locator('input[name="displayId"]').fill('S-2002');
    await form.locator('button[type="submit"]').click();
    const error = form.locator('.form-error');
    await expect.poll(() => error.isVisible()).toBe(true);
    expect(await error.textContent()).toBe(
      'ID S-2002 は既に 佐藤 花子 に登録されています。同じIDを二人に登録することはできません。',
    );
    expect(new URL(page.url()).pathname).toBe('/people');
    expect(d.controller.registry.findPeopleById('S-2002')).toHaveLength(1);
  });
});
