/**
 * The compliance view's commissioning (§8(3)①ウ), on a real controller and journal: a door never
 * commissioned, one commissioned and signed by this device, a record signed by another key, a
 * simulated commissioning of a real board's door, and wiring changed since. The records are written
 * as `sekisho commission` writes them (tests/integration/commission.test.ts runs the command itself).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { signCommissioning, type UnsignedCommissioning } from '../../controller/commission/record.js';
import { doorWiring } from '../../controller/domain/index.js';
import { makeDash, type TestDash } from './helpers.js';

interface Api {
  items: { clause: string; status: string; evidence: [string, string][] }[];
  commissioning: {
    door: string;
    state: string;
    latest?: { signatureValid: boolean; wiringUnchanged: boolean };
  }[];
}

describe('each door’s commissioning in the compliance view', () => {
  let d: TestDash | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  const unsigned = (dash: TestDash, over: Partial<UnsignedCommissioning> = {}): UnsignedCommissioning => {
    const { config, secrets } = dash.controller;
    const door = config.doors[0]!;
    const now = dash.controller.now();
    return {
      outcome: 'passed',
      board: 'sim',
      mode: 'interactive',
      startedAt: now - 60_000,
      finishedAt: now,
      steps: [{ id: 'lock_release', result: 'passed', reason: null, detail: null, answeredBy: 'installer' }],
      readers: [],
      wiring: doorWiring(door, config.readers),
      version: 'test',
      keyId: secrets.keyId,
      ...over,
    };
  };
  const write = (dash: TestDash, data: ReturnType<typeof signCommissioning>, actor = 'cli:tanaka/root') =>
    dash.controller.journal.append({
      type: 'door_commissioned',
      at: dash.controller.now(),
      door: 'machine-room',
      person: null,
      actor,
      data,
    });
  const compliance = async (dash: TestDash) => {
    const m = await dash.login('auditor1');
    const api = (await m.get('/api/compliance')).json() as Api;
    return { m, api, row: api.items.find((i) => i.clause === '§8(3)①ウ')! };
  };

  it('a door never commissioned: 未実施, and the clause needs attention', async () => {
    d = await makeDash();
    const { m, api, row } = await compliance(d);
    expect(api.commissioning).toEqual([
      { door: 'machine-room', name: 'マシン室', state: 'not_commissioned' },
    ]);
    expect(row.status).toBe('attention');
    expect(row.evidence).toEqual([['com_state_not_commissioned', 'マシン室']]);
    const page = (await m.get('/compliance')).body;
    expect(page).toContain('未実施');
    expect(page).toContain('data-state="not_commissioned"');
    // The Live page flags the door too.
    const live = (await m.get('/')).body;
    expect(live).toMatch(/data-field="commissioning">未実施</);
  });

  it('passed and signed by this device: ok; the same data under another key or actor is not', async () => {
    d = await makeDash();
    const { secrets } = d.controller;
    write(d, signCommissioning('machine-room', 'cli:tanaka/root', unsigned(d), secrets.signingKey));
    let c = await compliance(d);
    expect(c.api.commissioning[0]).toMatchObject({
      state: 'ok',
      latest: { signatureValid: true, wiringUnchanged: true },
    });
    expect(c.row.status).toBe('ok');
    const page = (await c.m.get('/compliance')).body;
    expect(page).toContain('試験済み');
    expect(page).toContain('電気錠の解錠');
    expect((await c.m.get('/')).body).not.toContain('data-field="commissioning"');

    // A record made elsewhere (another key) and copied in, or one re-attributed to someone else.
    const other = generateKeyPairSync('ed25519').privateKey;
    write(d, signCommissioning('machine-room', 'cli:tanaka/root', unsigned(d), other));
    c = await compliance(d);
    expect(c.api.commissioning[0]!.state).toBe('bad_signature');
    write(
      d,
      signCommissioning('machine-room', 'cli:tanaka/root', unsigned(d), secrets.signingKey),
      'cli:sato/root',
    );
    c = await compliance(d);
    expect(c.api.commissioning[0]!.state).toBe('bad_signature');
    expect(c.row.status).toBe('attention');
  });

  it('wiring changed since, or commissioned on the simulated board for a real board: attention', async () => {
    d = await makeDash();
    const { secrets, config } = d.controller;
    const moved = { ...doorWiring(config.doors[0]!, config.readers), contact: { pin: 5, activeLow: true } };
    write(
      d,
      signCommissioning(
        'machine-room',
        'cli:tanaka/root',
        unsigned(d, { wiring: moved }),
        secrets.signingKey,
      ),
    );
    expect((await compliance(d)).api.commissioning[0]!.state).toBe('wiring_changed');
    write(
      d,
      signCommissioning('machine-room', 'cli:tanaka/root', unsigned(d, { board: 'rpi' }), secrets.signingKey),
    );
    // The test controller's config says sim: a record of another board kind does not count.
    expect((await compliance(d)).api.commissioning[0]!.state).toBe('simulated');
    write(
      d,
      signCommissioning(
        'machine-room',
        'cli:tanaka/root',
        unsigned(d, { outcome: 'incomplete' }),
        secrets.signingKey,
      ),
    );
    expect((await compliance(d)).api.commissioning[0]!.state).toBe('not_passed');
  });
});
