/** Exit-button exits make presence uncertain; a manager reconciles it, journaled with their name. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presenceView } from '../../controller/domain/index.js';
import type { SimBoard } from '../../hardware/index.js';
import { type Client, makeDash, type TestDash } from './helpers.js';

describe('presence reconciliation', () => {
  let d: TestDash;
  let manager: Client;
  let operator: Client;
  beforeAll(async () => {
    d = await makeDash();
    manager = await d.login('manager1');
    operator = await d.login('operator1');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('an exit by the button makes presence uncertain; the manager states who is inside', async () => {
    const c = d.controller;
    const a = c.registry.addPerson({ displayId: 'S-9', name: 'Aoki', category: 'staff' }, 'test', c.now());
    c.registry.addBadge({ personId: a.id, credential: '0A0A0A0A0A' }, 'test', c.now());
    c.registry.grantDoor(a.id, 'machine-room', 'always', 'test', c.now());
    const b = c.registry.addPerson({ displayId: 'S-10', name: 'Baba', category: 'staff' }, 'test', c.now());
    c.registry.addBadge({ personId: b.id, credential: '0B0B0B0B0B' }, 'test', c.now());
    c.registry.grantDoor(b.id, 'machine-room', 'always', 'test', c.now());
    expect(c.simulateBadge('entry', '0A0A0A0A0A').decision.granted).toBe(true);
    expect(c.simulateBadge('entry', '0B0B0B0B0B').decision.granted).toBe(true);
    const board = c.board as SimBoard;
    board.simulate('machine-room.exitButton', true);
    board.simulate('machine-room.exitButton', false);
    const view = presenceView(c.derived, 'machine-room');
    expect(view.map((p) => p.uncertain)).toEqual([true, true]);

    const body = { present: [{ personId: a.id }], note: 'Baba left by the exit button (checked on camera)' };
    const denied = await operator.post('/api/doors/machine-room/presence', body);
    expect(denied.statusCode).toBe(403);
    const bad = await manager.post('/api/doors/machine-room/presence', {
      present: [{ personId: 'p_nobody' }],
      note: 'x',
    });
    expect(bad.statusCode).toBe(400);
    const res = await manager.post('/api/doors/machine-room/presence', body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ door: 'machine-room', inside: 1 });
    const after = presenceView(c.derived, 'machine-room');
    expect(after.map((p) => [p.personId, p.uncertain])).toEqual([[a.id, false]]);
    const row = c.journal.query({ types: ['presence_reconciled'], limit: 1 })[0]!;
    expect(row.actor).toBe('user:manager1');
    expect(row.data).toMatchObject({ note: body.note });
  });

  it('checks escorts, refuses a correction made on an outdated view, and says so when storage fails', async () => {
    const c = d.controller;
    const at = c.now();
    const staff = c.registry.addPerson({ displayId: 'S-20', name: 'Chiba', category: 'staff' }, 'test', at);
    c.registry.setMayEscort(staff.id, true, 'test', at);
    const other = c.registry.addPerson({ displayId: 'S-21', name: 'Doi', category: 'staff' }, 'test', at);
    const visitor = c.registry.addPerson({ displayId: 'V-1', name: 'Endo', category: 'visitor' }, 'test', at);
    const inside = () => presenceView(c.derived, 'machine-room').map((p) => p.personId);
    const seen = inside();
    const url = '/api/doors/machine-room/presence';
    const note = 'checked on site';

    // Only someone who may escort can be named as a visitor's escort.
    for (const escort of [other.id, visitor.id, 'p_nobody']) {
      const res = await manager.post(url, { present: [{ personId: visitor.id, escort }], note, seen });
      expect(res.statusCode, escort).toBe(400);
      expect(res.json().error.message).toContain('may not escort');
    }
    // The room changed since the caller looked: nothing is recorded.
    const heads = c.journal.head().seq;
    const stale = await manager.post(url, { present: [{ personId: staff.id }], note, seen: [] });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('presence_changed');
    expect(c.journal.head().seq).toBe(heads);

    // A real refusal from SQLite: the answer says the record is queued, and it is applied on recovery.
    c.db.pragma('query_only = ON');
    try {
      const res = await manager.post(url, {
        present: [
          { personId: staff.id, escort: null },
          { personId: visitor.id, escort: staff.id },
        ],
        note,
        seen,
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({ code: 'storage_unavailable' });
      expect(res.json().error.text).toContain('復旧後に書き込まれます');
    } finally {
      c.db.pragma('query_only = OFF');
    }
    await expect.poll(() => inside().sort(), { timeout: 5000 }).toEqual([staff.id, visitor.id].sort());
    const row = c.journal.query({ types: ['presence_reconciled'], limit: 1 })[0]!;
    expect(row.actor).toBe('user:manager1');
    expect(presenceView(c.derived, 'machine-room').find((p) => p.personId === visitor.id)).toMatchObject({
      escort: staff.id,
      escorted: true,
    });
  });

  it('the Live page offers the correction to the roles that may make it, and only to them', async () => {
    for (const [username, offered] of [
      ['manager1', true],
      ['admin1', true],
      ['operator1', false],
      ['auditor1', false],
    ] as const) {
      const client = await d.login(username);
      const page = await client.get('/');
      expect(page.statusCode).toBe(200);
      expect(page.body.includes('data-presence-open="machine-room"'), username).toBe(offered);
      expect(page.body.includes('id="presence-dialog"'), username).toBe(offered);
    }
  });

  it('the Live page carries no list of the registry; its picker searches it, bounded', async () => {
    const c = d.controller;
    const at = c.now();
    for (let i = 0; i < 300; i++)
      c.registry.addPerson(
        { displayId: `B-${1000 + i}`, name: `Bulk Person ${i}`, category: 'contractor' },
        'test',
        at,
      );
    const gone = c.registry.addPerson(
      { displayId: 'B-GONE', name: 'Bulk Gone', category: 'staff' },
      'test',
      at,
    );
    c.registry.updatePerson(gone.id, { active: false }, 'test', at);

    const live = await manager.get('/');
    expect(live.statusCode).toBe(200);
    expect(live.body).toContain('presence-dialog');
    expect(live.body).not.toContain('Bulk Person');

    const search = async (q: string, limit?: number) => {
      const res = await manager.get(
        `/api/people/search?q=${encodeURIComponent(q)}${limit === undefined ? '' : `&limit=${limit}`}`,
      );
      expect(res.statusCode).toBe(200);
      return (res.json() as { people: { id: string; name: string; displayId: string; category: string }[] })
        .people;
    };
    expect(await search('bulk person')).toHaveLength(20); // the default bound, case-insensitive
    expect(await search('Bulk', 100)).toHaveLength(100);
    expect((await search('b-1042')).map((p) => p.name)).toEqual(['Bulk Person 42']);
    expect(await search('Bulk Gone')).toEqual([]); // inactive people are not offered
    expect((await manager.get('/api/people/search?q=')).statusCode).toBe(400);
    expect((await manager.get('/api/people/search?q=x&limit=1000')).statusCode).toBe(400);
    expect((await operator.get('/api/people/search?q=Bulk')).statusCode).toBe(200); // people.read
    const anonymous = await d.app.inject({ method: 'GET', url: '/api/people/search?q=Bulk' });
    expect(anonymous.statusCode).toBe(401);
  });
});
