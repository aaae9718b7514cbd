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
});
