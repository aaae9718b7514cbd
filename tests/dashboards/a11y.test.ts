/**
 * Keyboard and screen readers on the server's side (issue #18): every page, signed in or not, starts
 * with the skip link to a focusable main region, names its menu in the page's language and says its
 * language; a refused body field is named in the error (`field`) for the page to mark it; the
 * Alarms page's first page asks the live stream for its history (with its filter), a later page
 * does not. The browser's side is tests/browser/keyboard.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimBoard } from '../../hardware/index.js';
import { makeDash, type TestDash } from './helpers.js';

describe('pages for the keyboard and screen readers', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash();
  });
  afterAll(() => d.close());

  /** The body's first element, the menu's name, the page's language. */
  function shape(html: string) {
    const first = /<body[^>]*>\s*(<[^>]+>)/.exec(html)?.[1] ?? '';
    return {
      first,
      lang: /<html lang="(\w+)">/.exec(html)?.[1],
      nav: /<nav class="main-nav" aria-label="([^"]*)">/.exec(html)?.[1],
      main: /<main id="main" tabindex="-1">/.test(html),
    };
  }

  it('the skip link first, a focusable main, the menu named, lang as the page', async () => {
    const login = await d.app.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'en' } });
    expect(shape(login.body)).toMatchObject({
      first: '<a class="skip-link" href="#main">',
      lang: 'en',
      main: true,
    });
    expect(login.body).toContain('Skip to content</a>');
    const m = await d.login('manager1');
    for (const url of ['/', '/log', '/alarms', '/people', '/requests', '/reports']) {
      const page = await m.get(url);
      expect(page.statusCode, url).toBe(200);
      const s = shape(page.body);
      expect(s.first, url).toBe('<a class="skip-link" href="#main">');
      expect(s.lang, url).toBe('ja');
      expect(s.nav, url).toBe('メインメニュー');
      expect(s.main, url).toBe(true);
      expect(page.body, url).toContain('本文へ移動</a>');
    }
  });

  it('names the refused field of a body', async () => {
    (d.controller.board as SimBoard).simulate('machine-room.tamper', true);
    const id = d.controller.activeAlarms().find((a) => a.type === 'door_tamper')!.id;
    const m = await d.login('manager1');
    const res = await m.post(`/api/alarms/${id}/ack`, { comment: '   ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_request', field: 'comment' });
    // A query's or a path's fault names no form field.
    const q = await m.get('/api/alarms/history?limit=0');
    expect(q.statusCode).toBe(400);
    expect(q.json().error.field).toBeUndefined();
    (d.controller.board as SimBoard).simulate('machine-room.tamper', false);
  });

  it('the Alarms page follows its history live on its first page only, with its filter', async () => {
    const m = await d.login('manager1');
    const first = (await m.get('/alarms?type=door_tamper')).body;
    expect(first).toContain(
      'data-stream="/api/live?alarms=1&amp;history=1&amp;type=door_tamper&amp;limit=50"',
    );
    expect(first).toContain('id="alarm-history-live" data-live-history');
    const later = (await m.get('/alarms?cursor=1.1')).body;
    expect(later).toContain('data-stream="/api/live?alarms=1"');
  });
});
