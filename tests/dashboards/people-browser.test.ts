/**
 * The People list and the request forms' person pickers in a real Chromium (Debian's, driven by
 * playwright-core, as in tests/browser): a registry larger than a page, filtered and paged; a
 * picker filled by what is typed, offering only who the form may name; a form that cannot be sent
 * before someone is chosen; the request filed with the chosen id. Japanese and English.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataFields } from '../../controller/domain/index.js';
import type { Person } from '../../controller/domain/types.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';
import { PASSWORD, type TestDash } from './helpers.js';

describe('people and person pickers in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let yamada: Person;
  let yamaguchi: Person;
  let yamamotoContractor: Person;
  let yamanakaVisitor: Person;
  let yamashitaGone: Person;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    // More people than a page of the list holds, none of whom the forms may carry.
    for (let i = 0; i < 240; i++)
      r.addPerson(
        { displayId: `B-${1000 + i}`, name: `Bulk ${String(i).padStart(3, '0')}`, category: 'staff' },
        'test',
        at,
      );
    yamada = r.addPerson({ displayId: 'S-1001', name: '山田 太郎', category: 'staff' }, 'test', at);
    yamaguchi = r.addPerson({ displayId: 'S-1002', name: '山口 花子', category: 'staff' }, 'test', at);
    yamamotoContractor = r.addPerson(
      { displayId: 'C-2001', name: '山本 業者', category: 'contractor' },
      'test',
      at,
    );
    yamanakaVisitor = r.addPerson(
      { displayId: 'V-3001', name: '山中 来訪', category: 'visitor' },
      'test',
      at,
    );
    yamashitaGone = r.addPerson({ displayId: 'S-1003', name: '山下 退職', category: 'staff' }, 'test', at);
    r.updatePerson(yamashitaGone.id, { active: false }, 'test', at);
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(username: string, locale: 'ja-JP' | 'en-US', next: string) {
    const ctx = await newContext(browser, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, username, PASSWORD, next);
    return { page, errors };
  }

  /** The latest request filed, once it is one of `kind` (the form answers, then the page reloads). */
  async function lastRequest(kind: string) {
    const latest = () => d.controller.journal.query({ types: ['request_created'], limit: 1 })[0];
    await expect
      .poll(() => {
        const row = latest();
        return row && dataFields(row).kind;
      })
      .toBe(kind);
    return latest()!;
  }

  const optionIds = (page: Page, select: string) =>
    page
      .locator(`${select} option`)
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));

  it('the People page: a page of 100, a filter, and the next page', async () => {
    const { page, errors } = await pageFor('auditor1', 'ja-JP', '/people');
    expect(await page.locator('#people-table tbody tr').count()).toBe(100);
    expect(await page.locator('#people-range').textContent()).toBe('全 245 人中 1–100 人目（氏名順）');
    await Promise.all([page.waitForURL(/cursor=/), page.click('#people-next')]);
    expect(await page.locator('#people-range').textContent()).toBe('全 245 人中 101–200 人目（氏名順）');
    expect(await page.locator('#people-table tbody tr').first().textContent()).toContain('Bulk 100');
    const second = page.url();
    await Promise.all([page.waitForURL((u) => u.href !== second), page.click('#people-prev')]);
    expect(await page.locator('#people-table tbody tr').first().textContent()).toContain('Bulk 000');

    // A badge that is neither an id nor four characters: the browser says so before asking.
    await page.fill('#people-filters input[name="badge"]', 'abc');
    expect(
      await page
        .locator('#people-filters input[name="badge"]')
        .evaluate(
          (i) => (i as unknown as { validity: { patternMismatch: boolean } }).validity.patternMismatch,
        ),
    ).toBe(true);
    await page.fill('#people-filters input[name="badge"]', '');
    await page.fill('#people-filters input[name="q"]', '山');
    await page.selectOption('#people-filters select[name="category"]', 'staff');
    await page.selectOption('#people-filters select[name="active"]', '1');
    await Promise.all([page.waitForURL(/q=/), page.click('#people-filters button[type="submit"]')]);
    const names = await page.locator('#people-table tbody tr td:first-child').allTextContents();
    expect(names.sort()).toEqual(['山口 花子', '山田 太郎'].sort());
    expect(await page.locator('#people-range').textContent()).toBe('該当 2 人中 1–2 人目（氏名順）');
    expect(await page.locator('#people-next').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('an access request: the picker offers active staff and contractors as typed; nothing is sent before a choice', async () => {
    const { page, errors } = await pageFor('manager1', 'ja-JP', '/requests');
    const form = page.locator('#new-access-request');
    await form.locator('xpath=..').locator('summary').click();
    const select = '#access-person';
    expect(await optionIds(page, select)).toEqual(['']); // the page carries nobody
    expect(await form.locator('legend').textContent()).toBe('人');

    // Nothing chosen: the browser does not send the form.
    await form.locator('input[name="reason"]').fill('保守作業のため');
    await form.locator('button[type="submit"]').click();
    expect(
      await page
        .locator(select)
        .evaluate((s) => (s as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing),
    ).toBe(true);
    expect(d.controller.journal.query({ types: ['request_created'], limit: 1 })).toEqual([]);

    await form.locator('[data-person-find]').fill('山');
    await expect
      .poll(() => optionIds(page, select).then((x) => x.slice(1).sort()))
      .toEqual([yamada.id, yamaguchi.id, yamamotoContractor.id].sort()); // no visitor, nobody inactive
    expect(await form.locator('[data-picker-status]').textContent()).toBe(
      '3 人が該当します。一覧から選んでください',
    );
    expect(await page.locator(select).inputValue()).toBe(''); // several: the user chooses
    expect(await page.locator(`${select} option[value="${yamada.id}"]`).textContent()).toBe(
      '山田 太郎 [S-1001]',
    );
    await form.locator('[data-person-find]').fill('S-1002');
    await expect.poll(() => page.locator(select).inputValue()).toBe(yamaguchi.id); // one match: chosen
    await form.locator('[data-person-find]').fill('存在しない人');
    await expect
      .poll(() => form.locator('[data-picker-status]').textContent())
      .toBe('該当する登録者はいません');
    expect(await page.locator(select).inputValue()).toBe('');
    await form.locator('[data-person-find]').fill('山本');
    await expect.poll(() => page.locator(select).inputValue()).toBe(yamamotoContractor.id);

    await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    const filed = await lastRequest('access_grant');
    expect(filed.actor).toBe('user:manager1');
    expect(filed.data).toMatchObject({
      kind: 'access_grant',
      payload: { personId: yamamotoContractor.id, doorId: 'machine-room', scheduleId: 'always' },
    });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('an equipment request and a visitor host, in English: each picker offers its own categories', async () => {
    const { page, errors } = await pageFor('operator1', 'en-US', '/requests');
    const form = page.locator('#new-equipment-request');
    await form.locator('xpath=..').locator('summary').click();
    const person = form.locator('fieldset', { has: page.locator('#equipment-person') });
    const witness = form.locator('fieldset', { has: page.locator('#equipment-witness') });
    expect(await witness.locator('legend').textContent()).toBe('Witness');
    expect(await person.locator('[data-person-find]').getAttribute('placeholder')).toBe(
      'Search by name or ID',
    );
    // The person may be anyone active (a visitor too); the witness only staff.
    await person.locator('[data-person-find]').fill('V-3001');
    await expect.poll(() => page.locator('#equipment-person').inputValue()).toBe(yamanakaVisitor.id);
    await witness.locator('[data-person-find]').fill('V-3001');
    await expect
      .poll(() => witness.locator('[data-picker-status]').textContent())
      .toBe('No enrolled person matches');
    await witness.locator('[data-person-find]').fill('bulk');
    await expect.poll(() => optionIds(page, '#equipment-witness').then((x) => x.length)).toBe(31);
    expect(await witness.locator('[data-picker-status]').textContent()).toBe(
      'The first 30 are shown; type more to narrow',
    );
    await witness.locator('[data-person-find]').fill('S-1001');
    await expect.poll(() => page.locator('#equipment-witness').inputValue()).toBe(yamada.id);
    await form.locator('input[name="payload.description"]').fill('laptop (asset 1234)');
    await form.locator('input[name="reason"]').fill('firmware update');
    // The form reloads the page when the request is filed.
    await Promise.all([page.waitForEvent('load'), form.locator('button[type="submit"]').click()]);
    const filed = await lastRequest('equipment');
    expect(filed.data).toMatchObject({
      kind: 'equipment',
      payload: { personId: yamanakaVisitor.id, witnessPersonId: yamada.id },
    });

    await page.goto(`${base}/visitors`);
    const visit = page.locator('#visitor-request');
    await visit.locator('[data-person-find]').fill('山');
    await expect
      .poll(() => optionIds(page, '#visitor-host').then((x) => x.slice(1).sort()))
      .toEqual([yamada.id, yamaguchi.id].sort()); // staff only
    await page.selectOption('#visitor-host', yamaguchi.id);
    await visit.locator('input[name="payload.name"]').fill('Visitor Vera');
    await visit.locator('input[name="payload.purpose"]').fill('UPS inspection');
    await visit.locator('input[name="reason"]').fill('annual inspection');
    await Promise.all([page.waitForURL(`${base}/requests`), visit.locator('button[type="submit"]').click()]);
    const visitRequest = await lastRequest('visitor_badge');
    expect(visitRequest.data).toMatchObject({
      kind: 'visitor_badge',
      payload: { hostPersonId: yamaguchi.id },
    });
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
