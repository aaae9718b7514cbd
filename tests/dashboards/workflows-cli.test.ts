/**
 * The CLI's side of issue #18's lost/found and returned statuses, run in this process on a real
 * controller's storage: `sekisho badge found` keeps a lost card refused (revoked) and journals who
 * and where; `sekisho badge list` shows a visitor card that came back as `returned`, not `revoked`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../controller/cli.js';
import { makeDash, type TestDash } from './helpers.js';

describe('sekisho badge found / badge list', () => {
  let d: TestDash;
  let config = '';

  beforeAll(async () => {
    d = await makeDash();
    config = join(d.dir, 'config.yaml');
  });
  afterAll(async () => {
    delete process.env.SUDO_USER;
    await d?.close();
  });

  /** Runs `sekisho …` as manager1 through sudo: its exit code and what it printed. */
  async function sekisho(args: string[]): Promise<{ code: number; out: string }> {
    const chunks: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.env.SUDO_USER = 'manager1';
    try {
      const code = await main([...args, '--config', config]);
      return { code, out: chunks.join('') };
    } finally {
      delete process.env.SUDO_USER;
      write.mockRestore();
      err.mockRestore();
    }
  }

  it('a lost card found stays refused; found needs a note and a lost card', async () => {
    const r = d.controller.registry;
    const at = d.controller.now();
    const p = r.addPerson({ displayId: 'S-4001', name: '発見 三郎', category: 'staff' }, 'test', at);
    r.grantDoor(p.id, 'machine-room', 'always', 'test', at);
    const b = r.addBadge({ personId: p.id, credential: '0A1B2C3D30' }, 'test', at);
    expect((await sekisho(['badge', 'found', b.id, '--note', 'x'])).code).not.toBe(0); // not lost
    // A lost report says where and when, as on the dashboard: without it, a usage error (2).
    expect((await sekisho(['badge', 'lost', b.id])).code).toBe(2);
    expect(r.getBadge(b.id)?.status).toBe('active');
    expect((await sekisho(['badge', 'lost', b.id, '--reason', 'lost on the train'])).code).toBe(0);
    expect((await sekisho(['badge', 'found', b.id])).code).not.toBe(0); // no --note
    expect(r.getBadge(b.id)?.status).toBe('lost');
    const found = await sekisho(['badge', 'found', b.id, '--note', 'handed in at the gate']);
    expect(found.code).toBe(0);
    expect(found.out).toContain('stays refused (revoked)');
    expect(r.getBadge(b.id)?.status).toBe('revoked');
    expect(d.controller.simulateBadge('entry', '0A1B2C3D30').decision.reason).toBe('badge_revoked');
    expect(d.controller.journal.query({ types: ['badge_found'], limit: 1 })[0]).toMatchObject({
      actor: expect.stringMatching(/^cli:manager1\//),
      data: { badgeId: b.id, note: 'handed in at the gate', status: 'revoked' },
    });
  });

  it('badge list shows a returned visitor card as returned, a revoked card as revoked', async () => {
    const r = d.controller.registry;
    const at = d.controller.now();
    const host = r.addPerson({ displayId: 'S-4002', name: '受入 四郎', category: 'staff' }, 'test', at);
    const vb = r.issueVisitorBadge(
      {
        visitor: { displayId: 'V-1', name: 'Visitor' },
        credential: 'AABBCCDD40',
        hostId: host.id,
        purpose: 'x',
      },
      'test',
      at,
    );
    r.returnVisitorBadge(vb.badgeId, 'test', at);
    const other = r.addBadge({ personId: host.id, credential: '0A1B2C3D41' }, 'test', at);
    r.setBadgeStatus(other.id, 'revoked', 'test', at);
    const list = await sekisho(['badge', 'list', '--json']);
    expect(list.code).toBe(0);
    const badges = JSON.parse(list.out) as { id: string; status: string }[];
    expect(badges.find((x) => x.id === vb.badgeId)?.status).toBe('returned');
    expect(badges.find((x) => x.id === other.id)?.status).toBe('revoked');
    const text = await sekisho(['badge', 'list']);
    expect(text.out).toMatch(new RegExp(`${vb.badgeId}\\s+\\S+\\s+returned`));
  });
});
