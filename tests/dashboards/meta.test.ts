/** The OpenAPI document, the two languages' dictionaries, and the HTML escaping everything relies on. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../controller/accounts/roles.js';
import { RequestKind, RequestStatus } from '../../controller/approvals/requests.js';
import {
  AlarmSeverity,
  AlarmType,
  BadgeStatus,
  DecisionReason,
  Direction,
  DoorMode,
  PersonCategory,
} from '../../controller/domain/index.js';
import { escapeHtml, html, raw } from '../../dashboards/html.js';
import { pickLang, STRINGS, translator } from '../../dashboards/i18n.js';
import { AccessResult } from '../../dashboards/vocabulary.js';
import { ROOT } from '../helpers/controller.js';
import { makeDash, type TestDash } from './helpers.js';

describe('OpenAPI', () => {
  let d: TestDash;
  beforeAll(async () => {
    d = await makeDash();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('documents every API route with its right, parameters and body schema', async () => {
    const c = await d.login('operator1');
    const res = await c.get('/api/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const apiDefs = d.app.sekishoDefs.filter((x) => x.url.startsWith('/api/') && x.kind !== 'page');
    expect(apiDefs.length).toBeGreaterThan(40);
    for (const def of apiDefs) {
      const path = def.url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[def.method.toLowerCase()];
      expect(op, `${def.method} ${path}`).toBeDefined();
      expect(op['x-permission']).toBe(def.auth);
      for (const name of [...def.url.matchAll(/:(\w+)/g)].map((m) => m[1]))
        expect(
          op.parameters.some((p: { name: string; in: string }) => p.name === name && p.in === 'path'),
        ).toBe(true);
      if (def.body) expect(op.requestBody.content['application/json'].schema).toBeTypeOf('object');
      if (def.auth !== 'public') expect(op.responses['401']).toBeDefined();
    }
    const login = doc.paths['/api/session'].post;
    expect(login.security).toEqual([]);
    expect(login.requestBody.content['application/json'].schema.required).toEqual(['username', 'password']);
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p as object)) as {
      operationId: string;
    }[];
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    expect((await d.app.inject({ method: 'GET', url: '/api/openapi.json' })).statusCode).toBe(401);
  });

  it('docs/api.md lists every API route with its right', () => {
    const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    const apiDefs = d.app.sekishoDefs.filter((x) => x.url.startsWith('/api/'));
    expect(apiDefs.length).toBeGreaterThan(40);
    for (const def of apiDefs)
      expect(doc, `${def.method} ${def.url}`).toContain(`| \`${def.method} ${def.url}\` | \`${def.auth}\` |`);
  });
});

describe('languages', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );

  it('every key the pages use exists in Japanese and English', () => {
    const used = new Set<string>();
    for (const f of files(join(ROOT, 'dashboards'))) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/\bt\('([a-z0-9_]+)'/g)) used.add(m[1]!);
      for (const m of src.matchAll(/\b(?:label|requirement|perm): '([a-z0-9_]+)'/g)) used.add(m[1]!);
      for (const m of src.matchAll(/\['(cmp_ev_[a-z0-9_]+)'/g)) used.add(m[1]!);
      for (const m of src.matchAll(/'(cmp_[a-z]+)'/g)) used.add(m[1]!);
    }
    const dynamic = [
      ...ROLES.map((r) => `role_${r}`),
      ...PersonCategory.options.map((c) => `cat_${c}`),
      ...AlarmType.options.map((a) => `alarm_${a}`),
      ...AlarmSeverity.options.map((s) => `sev_${s}`),
      ...DecisionReason.options.map((r) => `reason_${r}`),
      ...RequestKind.options.map((k) => `kind_${k}`),
      ...RequestStatus.options,
      'contact_open',
      'contact_closed',
      'contact_unknown',
      ...DoorMode.options.map((m) => `mode_${m}`),
      ...BadgeStatus.options.map((b) => `badge_status_${b}`),
      ...Direction.options,
      ...AccessResult.options,
      'ok',
      'attention',
    ];
    const missing = [...used, ...dynamic].filter(
      (k) => !k.startsWith('perm') && !['users.read'].includes(k) && !STRINGS[k],
    );
    expect(missing.filter((k) => !k.includes('.'))).toEqual([]);
    expect(used.size).toBeGreaterThan(150);
    for (const [k, [ja, en]] of Object.entries(STRINGS)) {
      expect(ja.trim(), k).not.toBe('');
      expect(en.trim(), k).not.toBe('');
    }
  });

  it('picks Japanese unless English is preferred; the cookie wins', () => {
    expect(pickLang(undefined, undefined)).toBe('ja');
    expect(pickLang(undefined, 'ja,en-US;q=0.9')).toBe('ja');
    expect(pickLang(undefined, 'en-US,en;q=0.9,ja;q=0.8')).toBe('en');
    expect(pickLang(undefined, 'fr-FR,en;q=0.5,ja;q=0.7')).toBe('ja');
    expect(pickLang(undefined, 'de')).toBe('ja');
    expect(pickLang('en', 'ja')).toBe('en');
    expect(pickLang('xx', 'en')).toBe('en');
    expect(translator('en')('escort_of', { name: 'A' })).toBe('Escort: A');
    expect(translator('ja')('no_such_key')).toBe('no_such_key');
  });

  it('HTML escapes every value unless it is itself HTML', () => {
    const name = '<img src=x onerror=alert(1)> "\'&';
    expect(html`<td title="${name}">${name}</td>`.value).toBe(
      `<td title="${escapeHtml(name)}">${escapeHtml(name)}</td>`,
    );
    expect(html`${[html`<b>${'<'}</b>`, '<']}`.value).toBe('<b>&lt;</b>&lt;');
    expect(html`${raw('<br>')}${null}${undefined}${false}${0}`.value).toBe('<br>0');
  });
});
