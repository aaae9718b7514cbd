/**
 * The pages as pure functions: plain view-models in, HTML out, with no server, database or
 * controller behind them. What the routes put into a view-model is covered by the other files here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActiveAlarm } from '../../controller/domain/index.js';
import { type Lang, translator } from '../../dashboards/i18n.js';
import { alarmsPage } from '../../dashboards/pages/alarms.js';
import type { Shell } from '../../dashboards/pages/layout.js';
import { type LogRowView, logPrintPage } from '../../dashboards/pages/log.js';
import { type PersonView, peoplePage, personPage } from '../../dashboards/pages/people.js';
import { ROOT } from '../helpers/util.js';

const T0 = Date.UTC(2026, 9, 8, 1, 0); // 2026-10-08 10:00 in Tokyo

function shell(over: Partial<Shell> & { role?: Shell['user']['role'] } = {}): Shell {
  const lang: Lang = over.lang ?? 'en';
  const { role = 'admin', ...rest } = over;
  return {
    lang,
    t: translator(lang),
    user: { id: 'u_1', username: 'tanaka', displayName: 'Tanaka', role, mustChangePassword: false },
    via: 'session',
    csrf: 'csrf-token-1',
    actor: 'user:tanaka',
    siteName: 'Test site',
    controllerId: 'ctl-1',
    timeZone: 'Asia/Tokyo',
    tz: 'Asia/Tokyo',
    simulated: false,
    doors: [{ id: 'machine-room', name: 'Machine room' }],
    unackedAlarms: 0,
    actors: new Map([['user:tanaka', 'Tanaka (tanaka)']]),
    ...rest,
    ...(over.lang ? { t: translator(over.lang) } : {}),
  };
}

function person(over: Partial<PersonView> = {}): PersonView {
  return {
    id: 'p_1',
    displayId: 'E-1',
    name: 'Sato',
    category: 'staff',
    validFrom: null,
    validUntil: null,
    active: true,
    lockdownOverride: false,
    mayEscort: false,
    expired: false,
    badges: [],
    permissions: [],
    ...over,
  };
}

function peopleList(people: PersonView[]) {
  return {
    query: { limit: 100 },
    defaultLimit: 100,
    list: { people, total: people.length, offset: 0, next: null, prev: null },
    activeCounts: { staff: people.length },
    schedules: [],
  };
}

describe('pages', () => {
  it('escapes what people typed: a name with <script> is text, in the list and on its own page', () => {
    const evil = person({ name: '<script>alert(1)</script>', displayId: '"><img src=x onerror=alert(2)>' });
    for (const out of [
      peoplePage(shell(), peopleList([evil])).value,
      personPage(shell(), { person: evil, schedules: [] }).value,
    ]) {
      expect(out).not.toContain('<script>alert');
      expect(out).not.toContain('<img src=x');
      expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(out).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    }
    // The edit form puts the name into an attribute: it must not break out of it.
    expect(personPage(shell(), { person: evil, schedules: [] }).value).toContain(
      'name="name" value="&lt;script&gt;alert(1)&lt;/script&gt;"',
    );
  });

  it('renders in Japanese and in English', () => {
    const ja = peoplePage(shell({ lang: 'ja' }), peopleList([])).value;
    const en = peoplePage(shell({ lang: 'en' }), peopleList([])).value;
    expect(ja).toMatch(/^<!doctype html>\n<html lang="ja">/);
    expect(en).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(ja).toContain('<h1>登録者とカード</h1>');
    expect(en).toContain('<h1>People and badges</h1>');
    expect(ja).toContain('Tanaka（管理者）');
    expect(en).not.toContain('登録者とカード');
    // The language switch offers the other language.
    expect(ja).toContain('data-lang-switch="en"');
    expect(en).toContain('data-lang-switch="ja"');
  });

  it('offers only what the viewer may do', () => {
    const p = person({
      badges: [
        {
          id: 'b_1',
          masked: '••••3D4E',
          status: 'active',
          validFrom: null,
          validUntil: null,
          expired: false,
        },
      ],
    });
    const admin = personPage(shell({ role: 'admin' }), { person: p, schedules: [] }).value;
    const auditor = personPage(shell({ role: 'auditor' }), { person: p, schedules: [] }).value;
    expect(admin).toContain('id="edit-person"');
    expect(admin).toContain('data-lost="b_1"');
    expect(auditor).not.toContain('id="edit-person"');
    expect(auditor).not.toContain('data-lost=');
    expect(auditor).toContain('••••3D4E');
    // The navigation follows the role (an operator has no accounts page) and the mode.
    const operator = personPage(shell({ role: 'operator' }), { person: p, schedules: [] }).value;
    expect(admin).toContain('data-nav="users"');
    expect(operator).not.toContain('data-nav="users"');
    expect(admin).not.toContain('data-nav="sim"');
    expect(personPage(shell({ simulated: true }), { person: p, schedules: [] }).value).toContain(
      'data-nav="sim"',
    );
  });

  it('names accounts by the labels the route gave, and falls back to the user name', () => {
    const alarm: ActiveAlarm = {
      id: 7,
      type: 'forced_open',
      severity: 'critical',
      door: 'machine-room',
      raisedAt: T0,
      detail: 'opened <without> a grant',
      conditionCleared: true,
      acknowledged: { by: 'user:suzuki', at: T0 + 60_000, comment: 'checked' },
    } as ActiveAlarm;
    const v = shell({ actors: new Map([['user:suzuki', 'Suzuki Ichiro (suzuki)']]), unackedAlarms: 3 });
    const out = alarmsPage(v, {
      active: [alarm],
      types: ['forced_open'],
      type: undefined,
      history: [],
      next: null,
    }).value;
    expect(out).toContain('Suzuki Ichiro (suzuki) at 2026-10-08 10:01:00');
    expect(out).toContain('Machine room · 2026-10-08 10:00:00');
    // The alarm as a sentence, not the controller's English detail.
    expect(out).toContain('Machine room was forced open');
    expect(out).not.toContain('without&gt; a grant');
    expect(out).toMatch(/<span class="count" id="nav-alarm-count"[^>]*>3<\/span>/);
    const unnamed = alarmsPage(shell(), {
      active: [alarm],
      types: [],
      type: undefined,
      history: [],
      next: null,
    }).value;
    expect(unnamed).toContain('suzuki at 2026-10-08 10:01:00');
  });

  it('the print view says who printed it, and when there are more rows than it shows', () => {
    const row: LogRowView = {
      seq: 1,
      time: '2026-10-08 10:00:00',
      doorName: 'Machine room',
      direction: 'in',
      result: 'granted',
      reason: 'granted',
      personName: 'Sato',
      displayId: 'E-1',
      category: 'staff',
      masked: '••••3D4E',
      escortName: null,
    };
    const print = (truncated: boolean) =>
      logPrintPage(shell(), {
        month: '2026-10',
        door: 'machine-room',
        rows: [row],
        truncated,
        now: T0,
        evidence: { headSeq: 7, headHash: 'ab'.repeat(32), fingerprint: `SHA256:${'0123 '.repeat(15)}4567` },
      }).value;
    expect(print(false)).toContain('Test site · Machine room · ');
    expect(print(false)).toContain('Tanaka (tanaka)');
    expect(print(false)).toContain('2026-10-08 10:00:00');
    expect(print(false)).not.toContain(' …</p>');
    expect(print(true)).toContain(' …</p>');
    // The head and the key's full fingerprint, for a reviewer to compare with the pinned key.
    expect(print(false)).toContain(`#7 <span class="mono">${'ab'.repeat(32)}</span>`);
    expect(print(false)).toContain(
      `<span class="mono" id="print-key">SHA256:${'0123 '.repeat(15)}4567</span>`,
    );
  });

  it('no page module reaches for the server, the stores or the controller', () => {
    const dir = join(ROOT, 'dashboards', 'pages');
    const forbidden =
      /from '(fastify|better-sqlite3|[^']*\/(context|service|views|http|server|runtime|requests)\.js|[^']*\/(routes|journal|auth\/(users|sessions))\/[^']*)'/;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const line of text.split('\n').filter((l) => l.startsWith('import ')))
        expect(line, `${file}: ${line}`).not.toMatch(forbidden);
      // Modules with stores behind them only lend their types.
      for (const line of text
        .split('\n')
        .filter((l) => /from '\.\.\/(integrity|reports|logindex)\.js'/.test(l)))
        expect(line, `${file}: ${line}`).toMatch(/^import type /);
    }
  });
});
