/**
 * Every state-changing route and every `sekisho` command is classified (controller/approvals/
 * duties.ts) — a new one that is not fails here — and every `second-person` one is proven by a real
 * call: the person who filed it cannot make it take effect alone, through any credential they hold
 * (a session, or the CLI through sudo under the same name). Issue #14.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_DUTIES, ROUTE_DUTIES } from '../../controller/approvals/duties.js';
import { HELP, main } from '../../controller/cli.js';
import { formatLocal } from '../../controller/time.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

/** The commands `sekisho help` lists: `cmd` or `cmd sub`, from each line of the table. */
function helpCommands(): string[] {
  const out = new Set<string>();
  for (const line of HELP.split('\n')) {
    if (!/^ {2}[a-z]/.test(line)) continue;
    // The syntax, before the description (two or more spaces); several commands are split by " | ".
    const syntax = line.trim().split(/ {2,}/)[0]!;
    for (const part of syntax.split(' | ')) {
      const [cmd, sub] = part.split(/\s+/);
      out.add(sub && /^[a-z][a-z-]*$/.test(sub) ? `${cmd} ${sub}` : cmd!);
    }
  }
  return [...out].sort();
}

describe('every state-changing route and command is classified, and second-person ones are proven', () => {
  let d: TestDash;
  let m1: Client;
  let m2: Client;
  let a1: Client;
  let staff: { id: string };
  let config = '';

  beforeAll(async () => {
    d = await makeDash();
    m1 = await d.login('manager1');
    m2 = await d.login('manager2');
    a1 = await d.login('admin1');
    config = join(d.dir, 'config.yaml');
    staff = (await m1.post('/api/people', { name: '山田 太郎', displayId: 'S-1', category: 'staff' })).json();
  });
  afterAll(async () => {
    delete process.env.SUDO_USER;
    await d?.close();
  });

  it('classifies exactly the routes fastify registered that change state', () => {
    const changing = d.app.sekishoRoutes
      .filter((r) => r.method !== 'GET')
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    expect(changing.length).toBeGreaterThan(20);
    for (const r of changing) expect(ROUTE_DUTIES[r], `${r} is not classified in duties.ts`).toBeDefined();
    expect(Object.keys(ROUTE_DUTIES).sort()).toEqual(changing);
  });

  it('classifies exactly the commands `sekisho help` lists', () => {
    const commands = helpCommands();
    expect(commands).toContain('person grant');
    expect(commands).toContain('user disable');
    expect(Object.keys(CLI_DUTIES).sort()).toEqual(commands);
  });

  /** The filer (manager1) tries to approve; refused, and nothing took effect. */
  async function filerCannotApprove(id: number, effect: () => boolean) {
    const self = await m1.post(`/api/requests/${id}/approve`, {});
    expect(self.statusCode, `request ${id}`).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    expect(effect()).toBe(false);
    const r = (await m2.get(`/api/requests/${id}`)).json();
    expect(r.status).toBe('pending');
    await m1.post(`/api/requests/${id}/withdraw`);
  }

  const person = () => d.controller.registry.getPerson(staff.id)!;
  const doors = () => d.controller.registry.permissionsFor(staff.id).length > 0;

  const ROUTE_PROOFS: Record<string, () => Promise<void>> = {
    'POST /api/people': async () => {
      const r = await m1.post('/api/people', {
        name: '新規',
        displayId: 'S-9',
        category: 'staff',
        lockdownOverride: true,
      });
      const added = r.json();
      await filerCannotApprove(
        added.requests[0].id,
        () => d.controller.registry.getPerson(added.id)!.lockdownOverride,
      );
    },
    'PATCH /api/people/:id': async () => {
      const o = (await m1.req('PATCH', `/api/people/${staff.id}`, { lockdownOverride: true })).json();
      await filerCannotApprove(o.requests[0].id, () => person().lockdownOverride);
    },
    'POST /api/people/:id/badges': async () => {
      const r = (await m1.post(`/api/people/${staff.id}/badges`, { number: '0A1B2C3D4E' })).json();
      await filerCannotApprove(
        r.request.id,
        () => d.controller.registry.findBadgeByCredential('0A1B2C3D4E') !== undefined,
      );
    },
    'POST /api/requests': async () => {
      const r = (
        await m1.post('/api/requests', {
          kind: 'access_grant',
          payload: { personId: staff.id, doorId: 'machine-room', scheduleId: 'always' },
          reason: 'proof',
        })
      ).json();
      await filerCannotApprove(r.id, doors);
    },
    'POST /api/requests/:id/approve': async () => {
      const r = (
        await m1.post('/api/requests', {
          kind: 'escort_permission',
          payload: { personId: staff.id },
          reason: 'proof',
        })
      ).json();
      await filerCannotApprove(r.id, () => d.controller.registry.mayEscort(staff.id));
    },
    'POST /api/requests/:id/issue-badge': async () => {
      const now = d.controller.now();
      const r = (
        await m1.post('/api/requests', {
          kind: 'visitor_badge',
          payload: {
            name: 'V',
            hostPersonId: staff.id,
            purpose: 'proof',
            doorId: 'machine-room',
            validFrom: now,
            validUntil: now + 3_600_000,
          },
          reason: 'proof',
        })
      ).json();
      const early = await m1.post(`/api/requests/${r.id}/issue-badge`, { number: '5566778899' });
      expect(early.statusCode).toBe(409);
      await filerCannotApprove(
        r.id,
        () => d.controller.registry.findBadgeByCredential('5566778899') !== undefined,
      );
    },
  };

  /** admin1 files an account request for `username`; admin1 cannot approve it, nor get a half. */
  async function accountRequestAlone(username: string): Promise<number> {
    const r = await a1.post('/api/requests', {
      kind: 'account_create',
      payload: { username, displayName: username, role: 'admin' },
      reason: 'proof',
    });
    expect(r.statusCode).toBe(200);
    const id = r.json().id as number;
    const self = await a1.post(`/api/requests/${id}/approve`, {});
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('self_approval_refused');
    const half = await a1.post(`/api/requests/${id}/activation-half`);
    expect(half.statusCode).not.toBe(200);
    return id;
  }
  const accountExists = (username: string) =>
    d.controller.db.prepare('SELECT 1 FROM dashboard_users WHERE username = ?').get(username) !== undefined;

  Object.assign(ROUTE_PROOFS, {
    'POST /api/requests/:id/activation-half': async () => {
      const id = await accountRequestAlone('puppet1');
      expect(accountExists('puppet1')).toBe(false);
      await a1.post(`/api/requests/${id}/withdraw`);
    },
    'POST /api/activate': async () => {
      // Without both halves of an approved request nobody activates anything, whatever they type.
      const id = await accountRequestAlone('puppet2');
      const res = await d.app.inject({
        method: 'POST',
        url: '/api/activate',
        headers: { origin: 'http://localhost', host: 'localhost' },
        payload: {
          username: 'puppet2',
          applicantHalf: 'AAAAA-AAAAA-AAAAA-AAAAA',
          approverHalf: 'BBBBB-BBBBB-BBBBB-BBBBB',
          password: 'quiet-harbour-lanterns-7',
        },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('invalid_activation');
      expect(accountExists('puppet2')).toBe(false);
      await a1.post(`/api/requests/${id}/withdraw`);
    },
  } satisfies Record<string, () => Promise<void>>);

  it('each second-person route: the filer alone cannot make it take effect', async () => {
    const second = Object.entries(ROUTE_DUTIES).filter(([, x]) => x.class === 'second-person');
    expect(Object.keys(ROUTE_PROOFS).sort()).toEqual(second.map(([r]) => r).sort());
    for (const [route] of second) await ROUTE_PROOFS[route]!();
  });

  /** Runs `sekisho …` in this process as manager1 through sudo; answers the newest pending request. */
  async function cliAsFiler(args: string[]): Promise<{ id: number } | undefined> {
    process.env.SUDO_USER = 'manager1';
    try {
      expect(await main([...args, '--config', config])).toBe(0);
    } finally {
      delete process.env.SUDO_USER;
    }
    return (await m2.get('/api/requests?status=pending&limit=1')).json().requests[0];
  }

  const CLI_PROOFS: Record<string, () => Promise<void>> = {
    'person add': async () => {
      const r = await cliAsFiler([
        'person',
        'add',
        '--name',
        'CLI',
        '--id',
        'S-8',
        '--category',
        'staff',
        '--lockdown-override',
      ]);
      const added = d.controller.registry.searchPeople('S-8', 1)[0]!;
      await filerCannotApprove(r!.id, () => d.controller.registry.getPerson(added.id)!.lockdownOverride);
    },
    'person grant': async () => {
      const r = await cliAsFiler(['person', 'grant', staff.id, '--door', 'machine-room']);
      await filerCannotApprove(r!.id, doors);
    },
    'person may-escort': async () => {
      const r = await cliAsFiler(['person', 'may-escort', staff.id]);
      await filerCannotApprove(r!.id, () => d.controller.registry.mayEscort(staff.id));
    },
    'badge add': async () => {
      const r = await cliAsFiler(['badge', 'add', '--person', staff.id, '--number', '0A1B2C3D5F']);
      await filerCannotApprove(
        r!.id,
        () => d.controller.registry.findBadgeByCredential('0A1B2C3D5F') !== undefined,
      );
    },
    'visitor issue': async () => {
      const r = await cliAsFiler([
        'visitor',
        'issue',
        '--host',
        staff.id,
        '--name',
        'V2',
        '--purpose',
        'proof',
      ]);
      expect(r).toMatchObject({
        kind: 'visitor_badge',
        requestedBy: expect.stringMatching(/^cli:manager1\//),
      });
      await filerCannotApprove(r!.id, () => d.controller.registry.listVisitorBadges({}).length > 0);
    },
    'record-manual-entry': async () => {
      const at = formatLocal(d.controller.now() - 3_600_000, d.controller.config.timeZone).slice(0, 16);
      const r = await cliAsFiler([
        'record-manual-entry',
        '--person',
        staff.id,
        '--direction',
        'in',
        '--at',
        at,
        '--paper-ref',
        '1-1',
        '--reason',
        'proof',
        '--outside-outage',
      ]);
      expect(r).toMatchObject({
        kind: 'manual_entry',
        requestedBy: expect.stringMatching(/^cli:manager1\//),
      });
      await filerCannotApprove(
        r!.id,
        () => d.controller.journal.query({ types: ['manual_entry_recorded'], limit: 1 }).length > 0,
      );
    },
  };

  /** Runs `sekisho …` as admin1 through sudo; answers its exit code. */
  async function cliAsAdmin(args: string[]): Promise<number> {
    process.env.SUDO_USER = 'admin1';
    try {
      return await main([...args, '--config', config]);
    } finally {
      delete process.env.SUDO_USER;
    }
  }

  Object.assign(CLI_PROOFS, {
    'user add': async () => {
      // Two administrators are active: the device makes no account, whoever runs it.
      expect(
        await cliAsAdmin(['user', 'add', '--username', 'puppet3', '--role', 'admin', '--generate']),
      ).toBe(1);
      expect(accountExists('puppet3')).toBe(false);
    },
    'user passwd': async () => {
      const before = (await a1.get('/api/requests?status=pending&limit=1')).json().requests[0]?.id ?? 0;
      expect(await cliAsAdmin(['user', 'passwd', 'operator1', '--reason', 'proof'])).toBe(0);
      const r = (await a1.get('/api/requests?status=pending&limit=1')).json().requests[0];
      expect(r).toMatchObject({
        kind: 'password_reset',
        requestedBy: expect.stringMatching(/^cli:admin1\//),
      });
      expect(r.id).toBeGreaterThan(before);
      const self = await a1.post(`/api/requests/${r.id}/approve`, {});
      expect(self.statusCode).toBe(403);
      expect(self.json().error.code).toBe('self_approval_refused');
      await a1.post(`/api/requests/${r.id}/withdraw`);
    },
    'user half': async () => {
      // No half of a request that no different administrator approved.
      const id = await accountRequestAlone('puppet4');
      expect(await cliAsAdmin(['user', 'half', String(id)])).not.toBe(0);
      expect(accountExists('puppet4')).toBe(false);
      await a1.post(`/api/requests/${id}/withdraw`);
    },
  } satisfies Record<string, () => Promise<void>>);

  it('each second-person command: the same person cannot approve it in the dashboard', async () => {
    const second = Object.entries(CLI_DUTIES).filter(([, x]) => x.class === 'second-person');
    expect(Object.keys(CLI_PROOFS).sort()).toEqual(second.map(([c]) => c).sort());
    for (const [command] of second) await CLI_PROOFS[command]!();
  });
});
