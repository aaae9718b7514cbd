/**
 * The clock on the dashboard: the Live page's banner (Japanese and English) while the clock is not
 * known to be synchronised, with the restriction in force; the status API's `clock`; the refusal's
 * reason in the log. The sync state comes from the real code path (system.ts runs `timedatectl`
 * by name) with a stand-in `timedatectl` first on the PATH.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeTimedatectl } from '../helpers/clock.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('the clock on the Live page', () => {
  const sync = fakeTimedatectl('yes');
  const path = process.env.PATH;
  let d: TestDash;
  let m: Client;

  const live = async (lang: 'ja' | 'en') =>
    (await m.req('GET', '/', undefined, { cookie: `${m.cookie}; sekisho_lang=${lang}` })).body;
  const banner = (html: string) =>
    /<p class="notice[^"]*" id="clock-banner"[^>]*>(.*?)<\/p>/s.exec(html)?.[0];
  const clockRows = () => d.controller.journal.query({ types: ['clock_sync_changed'], limit: 10 });

  beforeAll(async () => {
    process.env.PATH = `${sync.dir}:${path}`;
    d = await makeDash({ config: { clock: { whenUnsynchronised: 'time_independent_only' } } });
    m = await d.login('manager1');
    await d.controller.pollClock();
  });
  afterAll(async () => {
    process.env.PATH = path;
    await d?.close();
  });

  it('synchronised: no banner, nothing restricted', async () => {
    expect(d.controller.clockState()).toEqual({
      synchronised: true,
      whenUnsynchronised: 'time_independent_only',
      restriction: null,
      steps: { count: 0, last: null },
    });
    expect(banner(await live('ja'))).toBeUndefined();
  });

  it('unsynchronised: the banner says what the doors do and what to do, in both languages', async () => {
    sync.set('no');
    await d.controller.pollClock();
    expect(clockRows()[0]?.data).toEqual({
      synchronised: false,
      previous: true,
      restriction: 'time_independent_only',
    });
    const ja = banner(await live('ja'))!;
    expect(ja).toContain('class="notice bad"');
    expect(ja).toContain('時刻が同期していません。');
    expect(ja).toContain('常時入室可の権限があり、有効期間の定めのない人のみ入室できます');
    expect(ja).toContain('時刻の同期と時刻のずれ');
    const en = banner(await live('en'))!;
    expect(en).toContain('The clock is not synchronised.');
    expect(en).toContain('only people with an every-time permission and no validity dates may enter');
    const status = (await m.get('/api/status')).json();
    expect(status.clock).toEqual({
      synchronised: false,
      whenUnsynchronised: 'time_independent_only',
      restriction: 'time_independent_only',
      steps: { count: 0, last: null },
    });
  });

  it('a refusal by the policy is shown with its reason in the log', async () => {
    const c = d.controller;
    const p = c.registry.addPerson(
      { name: '佐藤 花子', displayId: 'S-2', category: 'staff' },
      'test',
      c.now(),
    );
    c.registry.addBadge({ personId: p.id, credential: '0A0B0C0D0E' }, 'test', c.now());
    c.registry.grantDoor(p.id, 'machine-room', 'office-hours', 'test', c.now());
    expect(c.simulateBadge('entry', '0A0B0C0D0E').decision).toEqual({
      granted: false,
      reason: 'clock_unsynchronised',
    });
    const log = (await m.req('GET', '/log', undefined, { cookie: `${m.cookie}; sekisho_lang=ja` })).body;
    expect(log).toContain('時刻未同期のため制限');
  });

  it('state unknown, policy normal: a warning that schedules run on a clock that may be wrong', async () => {
    const d2 = await makeDash({});
    try {
      sync.set('fail');
      await d2.controller.pollClock();
      expect(d2.controller.clockState()).toEqual({
        synchronised: null,
        whenUnsynchronised: 'normal',
        restriction: null,
        steps: { count: 0, last: null },
      });
      const m2 = await d2.login('manager1');
      const html = (await m2.req('GET', '/', undefined, { cookie: `${m2.cookie}; sekisho_lang=en` })).body;
      const b = banner(html)!;
      expect(b).toContain('class="notice warn"');
      expect(b).toContain('The clock’s synchronisation cannot be confirmed.');
      expect(b).toContain('Schedules and validity dates are being decided on a clock that may be wrong.');
    } finally {
      await d2.close();
    }
  });

  it('synchronised again: the banner goes', async () => {
    sync.set('yes');
    await d.controller.pollClock();
    expect(clockRows()[0]?.data).toMatchObject({ synchronised: true, restriction: null });
    expect(banner(await live('en'))).toBeUndefined();
  });
});

describe('the Live page after the clock stepped back', () => {
  let d: TestDash;
  afterAll(async () => {
    await d?.close();
  });

  it('lists the latest badges in the order they happened, not by their (earlier) times', async () => {
    d = await makeDash({ clock: true });
    const m = await d.login('manager1');
    const c = d.controller;
    const p = c.registry.addPerson(
      { name: '山田 太郎', displayId: 'S-1', category: 'staff' },
      'test',
      c.now(),
    );
    c.registry.addBadge({ personId: p.id, credential: '0A1B2C3D4E' }, 'test', c.now());
    c.registry.grantDoor(p.id, 'machine-room', 'always', 'test', c.now());
    const before = c.simulateBadge('entry', '0A1B2C3D4E').row!.seq;
    d.clock.now -= 3_600_000;
    const after = c.simulateBadge('exit', '0A1B2C3D4E').row!;
    expect(after.at).toBeLessThan(c.journal.get(before)!.at);
    const html = (await m.get('/')).body;
    const recent = /<ul class="recent"[^>]*>.*?<\/ul>/s.exec(html)![0];
    const seqs = [...recent.matchAll(/data-seq="(\d+)"/g)].map((x) => Number(x[1]));
    expect(seqs).toEqual([after.seq, before]);
  });
});
