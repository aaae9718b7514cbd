/**
 * Correcting who is inside from the Live page, in a real Chromium: the exit button (through the
 * simulation API) makes presence uncertain; a manager unticks who left, adds a visitor with their
 * escort, is told when the room changed under the open dialog, and records the correction with a
 * note. The journal and the Live page (without a reload) show the corrected presence. Roles without
 * `doors.mode` do not get the control.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataFields, presenceView } from '../../controller/domain/index.js';
import type { Person } from '../../controller/domain/types.js';
import { type Client, PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

describe('correcting presence in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let sim: Client;
  let aoki: Person;
  let baba: Person;
  let chiba: Person;
  let visitor: Person;

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    const at = d.controller.now();
    const staff = (displayId: string, name: string, credential: string) => {
      const p = r.addPerson({ displayId, name, category: 'staff' }, 'test', at);
      r.addBadge({ personId: p.id, credential }, 'test', at);
      r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
      return p;
    };
    aoki = staff('S-3001', '青木 花子', '0A0A0A0A0A');
    baba = staff('S-3002', '馬場 次郎', '0B0B0B0B0B');
    chiba = staff('S-3003', '千葉 三郎', '0C0C0C0C0C');
    r.setMayEscort(aoki.id, true, 'test', at);
    visitor = r.addPerson({ displayId: 'V-0042', name: '来訪 太郎', category: 'visitor' }, 'test', at);
    sim = await d.login('operator1');
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(username: string, locale: 'ja-JP' | 'en-US' = 'ja-JP') {
    const ctx = await newContext(browser, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await loginAs(page, base, username, PASSWORD, '/');
    return { page, errors };
  }

  const inside = () => presenceView(d.controller.derived, 'machine-room');

  /** A badge at a simulated reader, through the simulation API (as the Simulation page does). */
  async function badge(reader: 'entry' | 'exit', credential: string) {
    const res = await sim.post('/api/sim/badge', { reader, credential });
    expect(res.statusCode).toBe(200);
    return res.json() as { granted: boolean; reason: string };
  }

  const names = (page: Page) =>
    page.locator('section.door[data-door="machine-room"] table.inside tbody tr').allTextContents();

  it('a manager unticks who left and adds a visitor with their escort; the journal and the Live page follow', async () => {
    expect((await badge('entry', '0A0A0A0A0A')).granted).toBe(true);
    expect((await badge('entry', '0B0B0B0B0B')).granted).toBe(true);
    // Someone leaves by the exit button: nobody knows who, so both are marked "may have left".
    expect((await sim.post('/api/sim/doors/machine-room/exit-button')).statusCode).toBe(200);
    await expect.poll(() => inside().map((p) => p.uncertain)).toEqual([true, true]);

    const { page, errors } = await pageFor('manager1');
    await expect.poll(() => page.locator('#live-indicator').getAttribute('class')).toContain('on');
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await expect.poll(() => page.locator('section.door table.inside .tag.warn').count()).toBe(2);
    const open = page.locator('#presence-open-machine-room');
    expect(await open.textContent()).toBe('在室者を訂正');
    await open.click();
    const dialog = page.locator('#presence-dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.locator('h2').textContent()).toContain('在室者の訂正');
    const rows = dialog.locator('tbody tr[data-person]');
    expect(await rows.count()).toBe(2);
    expect(await dialog.locator(`tr[data-person="${aoki.id}"]`).textContent()).toContain('退室不明');
    expect(await dialog.locator(`tr[data-person="${baba.id}"]`).textContent()).toContain('退室不明');

    // While the dialog is open, 千葉 badges in: the dialog says the room changed, and the server
    // refuses a correction made on the outdated view.
    expect((await badge('entry', '0C0C0C0C0C')).granted).toBe(true);
    await expect.poll(() => dialog.locator('[data-field="stale"]').isVisible()).toBe(true);
    await dialog.locator(`tr[data-person="${baba.id}"] input[name="inside"]`).uncheck();
    await dialog.locator('textarea[name="note"]').fill('馬場は退室ボタンで退室（防犯カメラで確認）');
    const before = d.controller.journal.head().seq;
    await dialog.locator('button[type="submit"]').click();
    await expect.poll(() => dialog.locator('.form-error').textContent()).toContain('在室者が変わったため');
    expect(await dialog.isVisible()).toBe(true);
    expect(d.controller.journal.query({ types: ['presence_reconciled'], limit: 1 })).toEqual([]);
    expect(d.controller.journal.head().seq).toBe(before);
    await dialog.locator('[data-presence-cancel]').click();
    await expect.poll(() => dialog.isVisible()).toBe(false);

    // Open it again: three people now, 千葉 certain.
    await open.click();
    await expect.poll(() => rows.count()).toBe(3);
    expect(await dialog.locator('[data-field="stale"]').isVisible()).toBe(false);
    expect(await dialog.locator(`tr[data-person="${chiba.id}"]`).textContent()).not.toContain('退室不明');
    await dialog.locator(`tr[data-person="${baba.id}"] input[name="inside"]`).uncheck();
    // The visitor is inside too (came in with 青木 through the door 馬場 held open): add them.
    // The page carries no list of the registry: the picker is filled from a search of what is typed.
    expect(await dialog.locator('select[name="add"] option').count()).toBe(1);
    await dialog.locator('input[name="find"]').fill('来訪');
    await expect
      .poll(() => dialog.locator(`select[name="add"] option[value="${visitor.id}"]`).count())
      .toBe(1);
    await dialog.locator('select[name="add"]').selectOption(visitor.id);
    await dialog.locator('[data-presence-add]').click();
    const added = dialog.locator(`tr[data-person="${visitor.id}"]`);
    expect(await added.textContent()).toContain('来訪者');
    // A visitor needs their escort: the browser does not submit without one.
    await dialog
      .locator('textarea[name="note"]')
      .fill('馬場は退室ボタンで退室、来訪者は青木と入室（防犯カメラで確認）');
    await dialog.locator('button[type="submit"]').click();
    expect(
      await added
        .locator('select[name="escort"]')
        .evaluate((s) => (s as unknown as { validity: { valid: boolean } }).validity.valid),
    ).toBe(false);
    expect(d.controller.journal.query({ types: ['presence_reconciled'], limit: 1 })).toEqual([]);
    await added.locator('select[name="escort"]').selectOption(aoki.id);
    await dialog.locator('button[type="submit"]').click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator('#presence-done').isVisible()).toBe(true);
    expect(await page.locator('#presence-done').textContent()).toBe('在室者の訂正を記録しました。');

    // The journal: who corrected it, why, who was removed and added.
    const row = d.controller.journal.query({ types: ['presence_reconciled'], limit: 1 })[0]!;
    expect(row.actor).toBe('user:manager1');
    expect(row.door).toBe('machine-room');
    expect(row.data).toMatchObject({
      note: '馬場は退室ボタンで退室、来訪者は青木と入室（防犯カメラで確認）',
      removed: [baba.id],
      added: [visitor.id],
    });
    expect(dataFields(row).present).toEqual(
      expect.arrayContaining([
        { personId: aoki.id, category: 'staff' },
        { personId: chiba.id, category: 'staff' },
        { personId: visitor.id, category: 'visitor', escort: aoki.id },
      ]),
    );
    expect(
      inside()
        .map((p) => [p.personId, p.uncertain, p.escort])
        .sort(),
    ).toEqual(
      [
        [aoki.id, false, null],
        [chiba.id, false, null],
        [visitor.id, false, aoki.id],
      ].sort(),
    );

    // The Live page follows without a reload: three inside, none uncertain, 馬場 gone, the visitor
    // shown with their escort.
    await expect.poll(() => page.locator('[data-field="occupancy"]').textContent()).toBe('3');
    await expect.poll(() => page.locator('section.door table.inside .tag.warn').count()).toBe(0);
    const shown = (await names(page)).join('\n');
    expect(shown).toContain('青木 花子');
    expect(shown).toContain('千葉 三郎');
    expect(shown).not.toContain('馬場 次郎');
    expect(await page.locator(`section.door tr[data-person="${visitor.id}"]`).textContent()).toContain(
      '青木 花子',
    );
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows the API error when the journal cannot be written', async () => {
    const { page, errors } = await pageFor('manager1', 'en-US');
    const open = page.locator('#presence-open-machine-room');
    expect(await open.textContent()).toBe('Correct presence');
    await open.click();
    const dialog = page.locator('#presence-dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await dialog.locator(`tr[data-person="${chiba.id}"] input[name="inside"]`).uncheck();
    await dialog.locator('textarea[name="note"]').fill('Chiba left by the exit button (checked on camera)');
    // A real refusal from SQLite: the connection may no longer write.
    d.controller.db.pragma('query_only = ON');
    try {
      await dialog.locator('button[type="submit"]').click();
      await expect.poll(() => dialog.locator('.form-error').textContent()).toContain('storage fault');
      expect(await dialog.isVisible()).toBe(true);
    } finally {
      d.controller.db.pragma('query_only = OFF');
    }
    // The queued correction is written and applied once storage recovers.
    await expect
      .poll(
        () =>
          inside()
            .map((p) => p.personId)
            .includes(chiba.id),
        { timeout: 8000 },
      )
      .toBe(false);
    await expect.poll(() => page.locator('[data-field="occupancy"]').textContent()).toBe('2');
    expect(errors.filter((e) => !/status of 503/.test(e))).toEqual([]);
    await page.context().close();
  });

  it('roles without doors.mode do not see the control', async () => {
    const before = inside().map((p) => p.personId);
    for (const username of ['operator1', 'auditor1']) {
      const { page, errors } = await pageFor(username);
      await expect.poll(() => page.locator('[data-field="occupancy"]').count()).toBe(1);
      expect(await page.locator('[data-presence-open]').count(), username).toBe(0);
      expect(await page.locator('#presence-dialog').count(), username).toBe(0);
      expect(await page.locator('template[data-presence-rows]').count(), username).toBe(0);
      // …and the server refuses them anyway.
      const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content')) ?? '';
      const res = await page.request.post(`${base}/api/doors/machine-room/presence`, {
        headers: { 'x-csrf-token': csrf },
        data: { present: [], note: 'empty it' },
      });
      expect(res.status(), username).toBe(403);
      expect(errors, username).toEqual([]);
      await page.context().close();
    }
    expect(inside().map((p) => p.personId)).toEqual(before);
  });
});
