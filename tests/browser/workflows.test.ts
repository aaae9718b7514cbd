/**
 * Issue #18's workflows in a real Chromium: a visitor request filed from the form's defaults (from
 * now), approved by another manager, amended by its applicant and approved again, then withdrawn
 * before its card is handed out; one's own request shows a note instead of buttons; a rejection
 * asks for its reason and a confirmation, and the applicant sees it; a lost card is reported with
 * where, said to be refused at once, then recorded found and stays revoked.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type TestDash } from '../dashboards/helpers.js';
import { loginAs, newContext, startBrowserDash, stopBrowserDash, watchErrors } from '../helpers/browser.js';

/** A time as the form's datetime-local field shows it in Tokyo. */
const local = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16);

describe('visitor requests, rejections and lost cards in Chromium', () => {
  let d: TestDash;
  let base: string;
  let browser: Browser;
  let host: { id: string };

  beforeAll(async () => {
    ({ d, base, browser } = await startBrowserDash());
    const r = d.controller.registry;
    host = r.addPerson(
      { displayId: 'S-3001', name: '受入 花子', category: 'staff' },
      'test',
      d.controller.now(),
    );
  });
  afterAll(() => stopBrowserDash({ d, browser }));

  async function pageFor(
    username: string,
    next: string,
    locale: 'ja-JP' | 'en-US' = 'ja-JP',
  ): Promise<{ page: Page; errors: string[] }> {
    const ctx = await newContext(browser, { locale });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    // Every confirmation asked on these pages is accepted (what is asked is checked where it matters).
    page.on('dialog', (dialog) => void dialog.accept());
    await loginAs(page, base, username, PASSWORD, next);
    return { page, errors };
  }

  /** Visitor requests in `status`, newest first (the store's table, read only). */
  const visitorRequests = (status: string) =>
    (
      d.controller.db
        .prepare(
          "SELECT id FROM dashboard_requests WHERE kind = 'visitor_badge' AND status = ? ORDER BY id DESC",
        )
        .all(status) as { id: number }[]
    ).map((r) => r.id);
  const dRequest = (id: number) =>
    d.controller.db.prepare('SELECT status, payload FROM dashboard_requests WHERE id = ?').get(id) as
      | { status: string; payload: string }
      | undefined;

  it('files a visitor request from its defaults (from now), amends it after approval, then withdraws it', async () => {
    const m1 = await pageFor('manager1', '/visitors');
    const form = m1.page.locator('#visitor-request');
    const before = local(Math.floor(Date.now() / 60_000) * 60_000);
    const from = await form.locator('input[name="payload.validFrom"]').inputValue();
    const after = local(Math.floor(Date.now() / 60_000) * 60_000);
    expect([before, after]).toContain(from);
    expect(await form.locator('input[name="payload.validUntil"]').inputValue()).not.toBe('');
    await form.locator('input[name="payload.name"]').fill('来訪 太郎');
    await form.locator('[data-person-find]').fill('受入');
    await expect.poll(() => m1.page.locator(`#visitor-host option[value="${host.id}"]`).count()).toBe(1);
    await form.locator('input[name="payload.purpose"]').fill('空調の点検');
    await form.locator('input[name="reason"]').fill('年次点検');
    await Promise.all([
      m1.page.waitForURL(`${base}/requests`),
      form.locator('button[type="submit"]').click(),
    ]);
    const id = visitorRequests('pending')[0]!;
    expect(id).toBeTypeOf('number');

    const m2 = await pageFor('manager2', '/requests');
    const row = m2.page.locator(`#pending-requests tr[data-request="${id}"]`);
    await Promise.all([
      m2.page.waitForLoadState('load'),
      row.locator('[data-approve] button.primary').click(),
    ]);
    await expect.poll(() => dRequest(id)?.status).toBe('approved');

    // The applicant asks for a longer visit: a new request, the original still approved meanwhile.
    await m1.page.goto(`${base}/visitors`);
    await m1.page.locator(`[data-amend-open="${id}"]`).click();
    const amend = m1.page.locator(`form[data-amend="${id}"]`);
    const until = Date.now() + 5 * 3_600_000;
    await amend.locator('input[name="payload.validUntil"]').fill(local(until));
    await amend.locator('input[name="reason"]').fill('作業が長引くため');
    await Promise.all([
      m1.page.waitForURL(`${base}/requests`),
      amend.locator('button[type="submit"]').click(),
    ]);
    const amendment = visitorRequests('pending')[0]!;
    expect(amendment).not.toBe(id);
    expect(JSON.parse(dRequest(amendment)!.payload)).toMatchObject({ amends: id, name: '来訪 太郎' });
    // Its applicant has no approve button on it, only a note.
    const own = m1.page.locator(`#pending-requests tr[data-request="${amendment}"]`);
    expect(await own.textContent()).toContain('自分の申請は承認できません');
    expect(await own.locator('[data-approve]').count()).toBe(0);

    await m2.page.goto(`${base}/requests`);
    const arow = m2.page.locator(`#pending-requests tr[data-request="${amendment}"]`);
    expect(await arow.textContent()).toContain(`申請 #${id} の変更`);
    await Promise.all([
      m2.page.waitForLoadState('load'),
      arow.locator('[data-approve] button.primary').click(),
    ]);
    await expect.poll(() => dRequest(amendment)?.status).toBe('approved');
    expect(dRequest(id)?.status).toBe('cancelled');

    // Plans change again: the applicant withdraws the approved request before the card is handed out.
    await m1.page.goto(`${base}/visitors`);
    const awaiting = m1.page.locator(`#awaiting tr[data-request="${amendment}"]`);
    await Promise.all([
      m1.page.waitForLoadState('load'),
      awaiting.locator(`[data-withdraw="${amendment}"]`).click(),
    ]);
    await expect.poll(() => dRequest(amendment)?.status).toBe('cancelled');
    await expect.poll(() => m1.page.locator(`#awaiting tr[data-request="${amendment}"]`).count()).toBe(0);
    expect(d.controller.journal.query({ types: ['request_withdrawn'], limit: 1 })[0]?.data).toMatchObject({
      requestId: amendment,
      afterApproval: true,
    });
    expect([...m1.errors, ...m2.errors]).toEqual([]);
    for (const p of [m1.page, m2.page]) await p.context().close();
  });

  it('a rejection asks for its reason and a confirmation; the applicant reads it', async () => {
    const now = d.controller.now();
    const filed = await (await d.login('manager1')).post('/api/requests', {
      kind: 'visitor_badge',
      payload: {
        name: 'Visitor Vera',
        hostPersonId: host.id,
        purpose: 'cabling',
        doorId: 'machine-room',
        validFrom: now,
        validUntil: now + 3_600_000,
      },
      reason: 'new cabling',
    });
    const id = filed.json().id as number;
    const m2 = await pageFor('manager2', '/requests', 'en-US');
    const confirms: string[] = [];
    m2.page.on('dialog', (dialog) => confirms.push(dialog.message()));
    const row = m2.page.locator(`#pending-requests tr[data-request="${id}"]`);
    await row.locator(`[data-reject-open="${id}"]`).click();
    const reject = row.locator(`form[data-reject="${id}"]`);
    // No reason: the browser holds the form back; nothing is asked, nothing is sent.
    await reject.locator('button.danger').click();
    expect(
      await reject
        .locator('textarea[name="note"]')
        .evaluate((el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing),
    ).toBe(true);
    expect(confirms).toEqual([]);
    expect(dRequest(id)?.status).toBe('pending');
    await reject.locator('textarea[name="note"]').fill('The host is away that day');
    await Promise.all([m2.page.waitForLoadState('load'), reject.locator('button.danger').click()]);
    await expect.poll(() => dRequest(id)?.status).toBe('rejected');
    expect(confirms).toEqual([`Reject request #${id}?`]);

    const m1 = await pageFor('manager1', '/requests', 'en-US');
    await expect
      .poll(() => m1.page.locator(`[data-reject-reason="${id}"]`).textContent())
      .toBe('Reason: The host is away that day');
    expect([...m1.errors, ...m2.errors]).toEqual([]);
    for (const p of [m1.page, m2.page]) await p.context().close();
  });

  it('a lost card is reported with where, refused at once and said so; found, it stays revoked', async () => {
    const r = d.controller.registry;
    const at = d.controller.now();
    const staff = r.addPerson({ displayId: 'S-3002', name: '紛失 次郎', category: 'staff' }, 'test', at);
    r.grantDoor(staff.id, 'machine-room', 'always', 'test', at);
    const badge = r.addBadge({ personId: staff.id, credential: '0A1B2C3D20' }, 'test', at);
    const op = await pageFor('operator1', `/people/${staff.id}`);
    const row = op.page.locator(`tr[data-badge="${badge.id}"]`);
    await row.locator('details.badge-act summary').click();
    await row.locator('input[name="reason"]').fill('3階の会議室で紛失');
    await Promise.all([op.page.waitForURL(/\?lost=/), row.locator('button[type="submit"]').click()]);
    await expect
      .poll(() => op.page.locator('#badge-done').textContent())
      .toContain('今からすべての扉で拒否されます');
    expect(d.controller.simulateBadge('entry', '0A1B2C3D20').decision.reason).toBe('badge_lost');

    const found = op.page.locator(`tr[data-badge="${badge.id}"]`);
    await found.locator('details.badge-act summary').click();
    expect(await found.textContent()).toContain('見つかったカードは有効に戻りません');
    await found.locator('input[name="note"]').fill('守衛室に届けられた');
    await Promise.all([op.page.waitForURL(/\?found=/), found.locator('button[type="submit"]').click()]);
    await expect.poll(() => op.page.locator('#badge-done').textContent()).toContain('失効のままです');
    await expect.poll(() => op.page.locator(`tr[data-badge="${badge.id}"]`).textContent()).toContain('失効');
    expect(d.controller.simulateBadge('entry', '0A1B2C3D20').decision.reason).toBe('badge_revoked');
    expect(op.errors).toEqual([]);
    await op.page.context().close();
  });
});
