/**
 * Names written before the server refused unsafe characters, in the pickers that app.js fills from
 * the JSON API, in a real Chromium: the request form's person picker and the presence correction
 * dialog (its option, and the row it adds) show a right-to-left override as "[U+202E]", never obey
 * it. And app.js's display helper agrees with the server's (controller/domain/text.ts, as
 * dashboards/html.ts uses it) on every character that matters.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Person, visibleText } from '../../controller/domain/index.js';
import { People } from '../../controller/registry/people.js';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

/** Any bidirectional formatting character, as raw text. */
const RAW_BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe('old names in the pickers, in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let mallory: Person;
  let eve: Person;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    // What an older version wrote, without the name check: the registry row and its journal row.
    const people = new People(d.controller.db, d.controller.journal);
    const old = (p: Pick<Person, 'id' | 'displayId' | 'name' | 'category'>): Person => {
      const person: Person = {
        ...p,
        validFrom: null,
        validUntil: null,
        active: true,
        lockdownOverride: false,
      };
      d.controller.journal.transaction(() => people.insert(person, 'test:old-version', d.controller.now()));
      return person;
    };
    // On screen, obeyed, the override would make it read "Mallory directory".
    mallory = old({
      id: 'p_oldpicker01',
      displayId: 'S-\u202e0042',
      name: 'Mallory\u202e yrotcerid\u202c',
      category: 'staff',
    });
    // An isolate, a C1 control and a zero-width space. (Half of a surrogate pair does not survive
    // SQLite: it is read back as U+FFFD; the helper's own test below covers it.)
    eve = old({
      id: 'p_oldpicker02',
      displayId: 'V-0043\u200b',
      name: 'Eve\u2067 Visitor\u0085',
      category: 'visitor',
    });
    expect(d.controller.registry.getPerson(mallory.id)?.name).toBe('Mallory\u202e yrotcerid\u202c');
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(username: string, next: string) {
    const ctx = await newContext(browser, { locale: 'ja-JP' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, username, PASSWORD, next);
    return { page, errors };
  }

  const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

  it("the request form's person picker shows the override, never obeys it", async () => {
    const { page, errors } = await pageFor('manager1', '/requests');
    const form = page.locator('#new-access-request');
    await form.locator('xpath=..').locator('summary').click();
    await form.locator('[data-person-find]').fill('Mallory');
    const option = `#access-person option[value="${mallory.id}"]`;
    await expect.poll(() => page.locator(option).count()).toBe(1);
    const shown = await text(page, option);
    expect(shown).toBe('Mallory[U+202E] yrotcerid[U+202C] [S-[U+202E]0042]');
    expect(shown).not.toMatch(RAW_BIDI);
    // The one match is chosen, and the id sent is the person's, whatever the name shows.
    expect(await page.locator('#access-person').inputValue()).toBe(mallory.id);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('the presence dialog shows them inert in its option and in the row it adds', async () => {
    const { page, errors } = await pageFor('manager1', '/');
    await page.locator('#presence-open-machine-room').click();
    const dialog = page.locator('#presence-dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);

    await dialog.locator('input[name="find"]').fill('Eve');
    const option = `#presence-dialog select[name="add"] option[value="${eve.id}"]`;
    await expect.poll(() => page.locator(option).count()).toBe(1);
    const shown = await text(page, option);
    expect(shown).toBe('Eve[U+2067] Visitor[U+0085] (V-0043[U+200B])');
    expect(shown).not.toMatch(RAW_BIDI);

    await dialog.locator('input[name="find"]').fill('Mallory');
    const malloryOption = `#presence-dialog select[name="add"] option[value="${mallory.id}"]`;
    await expect.poll(() => page.locator(malloryOption).count()).toBe(1);
    expect(await text(page, malloryOption)).toBe('Mallory[U+202E] yrotcerid[U+202C] (S-[U+202E]0042)');
    await dialog.locator('select[name="add"]').selectOption(mallory.id);
    await dialog.locator('[data-presence-add]').click();
    const row = dialog.locator(`tr[data-person="${mallory.id}"]`);
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toMatch(/^Mallory\[U\+202E\] yrotcerid\[U\+202C\] /);
    expect(cells[2]).toBe('S-[U+202E]0042');
    expect(await row.locator('input[name="inside"]').getAttribute('aria-label')).toBe(
      'Mallory[U+202E] yrotcerid[U+202C]',
    );
    expect(await row.innerHTML()).not.toMatch(RAW_BIDI);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("app.js shows every character as the server's pages do", async () => {
    const { page, errors } = await pageFor('auditor1', '/');
    // As UTF-16 code units: the protocol to the browser would not carry a lone surrogate intact.
    const inputs: number[][] = [];
    for (let cp = 0; cp <= 0x3000; cp++) inputs.push([cp]);
    for (let cp = 0xd7f0; cp <= 0xe010; cp++) inputs.push([cp]);
    for (const cp of [0xfeff, 0xfffd, 0xfffe, 0xffff]) inputs.push([cp]);
    for (let cp = 0xdfff0; cp <= 0xe0090; cp++) {
      const s = String.fromCodePoint(cp);
      inputs.push([s.charCodeAt(0), s.charCodeAt(1)]);
    }
    inputs.push(
      [0xd83d, 0xde00], // a pair: one character, kept
      [0xde00, 0xd83d], // reversed: two lone halves
      [0x61, 0xd800, 0x62, 0x09, 0x0a, 0x0d, 0x202e, 0x63],
      [...'山田\u202e太郎'].map((c) => c.charCodeAt(0)),
    );
    // The page's own module (the same instance, not run again), asked through the page: an
    // expression, because the test runner would rewrite an import() inside a function.
    const fromBrowser: string[] = await page.evaluate(
      `import('/static/app.js').then((app) => ${JSON.stringify(inputs)}.map((u) => app.visible(String.fromCharCode(...u))))`,
    );
    const fromServer = inputs.map((u) => visibleText(String.fromCharCode(...u), { keepLayout: true }));
    expect(fromBrowser.length).toBe(inputs.length);
    const differ = inputs.filter((_u, i) => fromBrowser[i] !== fromServer[i]);
    expect(differ).toEqual([]);
    // The comparison covers what is made visible, not only what is kept.
    expect(fromBrowser.filter((s) => s.startsWith('[U+')).length).toBeGreaterThan(200);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
