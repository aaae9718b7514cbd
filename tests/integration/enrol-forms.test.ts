/**
 * A card enrolled from the command line in any documented form (docs/bridge-frame.md, "Credential
 * normalisation") is granted when it is presented: a bridge board (Wiegand) and a line reader on
 * real socat ptys, wired to the real `sekisho start`. Also the CLI's side of a person's identity:
 * the reading, and the refusal of an ID card number another person holds.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBridgeFrame, wiegandBits } from '../../firmware-bridge/index.js';
import {
  cli,
  cliJson,
  doorConfig,
  type Running,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { makePtyPair, type PtyPair } from '../helpers/pty.js';

const asA = { sudo: 'manager-a' };
const ALONE = 'enrolment test at commissioning, nobody else on site';

describe('enrolment forms → a real reader → granted', () => {
  const dir = tempDir('sekisho-enrol-');
  const storage = join(dir, 'data');
  let bridgePty: PtyPair;
  let linePty: PtyPair;
  let cfg: string;
  let ctl: Running | undefined;
  let db: Database.Database | undefined;
  let personId = '';

  beforeAll(async () => {
    bridgePty = await makePtyPair(join(dir, 'bridge'));
    linePty = await makePtyPair(join(dir, 'line'));
    cfg = writeConfig(
      dir,
      doorConfig(dir, [
        { id: 'entry', path: bridgePty.b, protocol: 'wiegand-bridge', baudRate: 115200, offlineAfterMs: 0 },
        { id: 'exit', path: linePty.b, protocol: 'line', repeatSuppressMs: 0 },
      ]),
    );
  });

  afterAll(async () => {
    db?.close();
    await ctl?.kill9();
    await bridgePty?.stop();
    await linePty?.stop();
  });

  it('adds a person with a reading, and refuses a second one with the same ID card number', () => {
    const p = cliJson<{ id: string; reading: string }>(
      [
        'person',
        'add',
        '--config',
        cfg,
        '--name',
        '佐藤 花子',
        '--reading',
        'さとう はなこ',
        '--id',
        'S-2001',
        '--category',
        'staff',
      ],
      asA,
    );
    personId = p.id;
    expect(p.reading).toBe('サトウ ハナコ');
    const again = cli(
      ['person', 'add', '--config', cfg, '--name', '佐藤 花子', '--id', 's-2001', '--category', 'contractor'],
      asA,
    );
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/ID card number s-2001 is already held by 佐藤 花子 \(S-2001, staff\)/);
    const bad = cli(
      [
        'person',
        'add',
        '--config',
        cfg,
        '--name',
        '某',
        '--reading',
        'Sato',
        '--id',
        'S-2002',
        '--category',
        'staff',
      ],
      asA,
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/reading: expected the reading in kana/);
    const people = cliJson<{ displayId: string }[]>(['person', 'list', '--config', cfg]);
    expect(people.map((x) => x.displayId)).toEqual(['S-2001']);
  }, 120_000);

  const forms = ['12:3456', '13,3456', '014/03456', 'W34:1234:56789', 'deadbeef'];

  it('enrols a card typed in each documented form, saying what it assumed', () => {
    const grant = cli(
      ['person', 'grant', personId, '--config', cfg, '--door', 'machine-room', '--break-glass', ALONE],
      asA,
    );
    expect(grant.status, grant.stderr).toBe(0);
    for (const number of forms) {
      const r = cli(
        ['badge', 'add', '--config', cfg, '--person', personId, '--number', number, '--break-glass', ALONE],
        asA,
      );
      expect(r.status, `${number}: ${r.stderr}`).toBe(0);
      if (number === '12:3456')
        expect(r.stderr).toMatch(/warning: --number: 12:3456 was taken as W26:12:3456/);
    }
    // The same card typed another way is the same card: refused as already enrolled.
    const same = cli(
      [
        'badge',
        'add',
        '--config',
        cfg,
        '--person',
        personId,
        '--number',
        'W26:12:3456',
        '--break-glass',
        ALONE,
      ],
      asA,
    );
    expect(same.status).toBe(1);
    expect(same.stderr).toMatch(/already enrolled/);
    // Not a card number (a person's ID typed in the wrong field): refused, saying what is expected.
    const em = cli(['badge', 'add', '--config', cfg, '--person', personId, '--number', 'S-2001'], asA);
    expect(em.status).toBe(2);
    expect(em.stderr).toMatch(/not a card number the readers here produce/);
    expect(cliJson<unknown[]>(['badge', 'list', '--config', cfg])).toHaveLength(forms.length);
  }, 240_000);

  it('grants each of those cards at the readers', async () => {
    ctl = await startController(cfg, storage);
    db = new Database(join(storage, 'journal.db'), { readonly: true });
    const head = () =>
      (db!.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM journal').get() as { s: number }).s;
    const accessAfter = (seq: number) =>
      (
        db!.prepare("SELECT bytes FROM journal WHERE type = 'access' AND seq > ? ORDER BY seq").all(seq) as {
          bytes: string;
        }[]
      ).map(
        (r) => JSON.parse(r.bytes).data as { result: string; reason: string; reader: string; masked: string },
      );
    const bridge = openSync(bridgePty.a, 'w');
    const line = openSync(linePty.a, 'w');
    try {
      const presented: [number, Buffer, string][] = [
        [
          bridge,
          encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', 12, 3456) }),
          'W26 12/3456',
        ],
        [
          bridge,
          encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', 13, 3456) }),
          'W26 13/3456',
        ],
        [
          bridge,
          encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', 14, 3456) }),
          'W26 14/3456',
        ],
        [bridge, encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand34', 1234, 56789) }), 'W34'],
        [line, Buffer.from('DeadBeef\r\n'), 'line'],
      ];
      for (const [fd, bytes, what] of presented) {
        const before = head();
        writeSync(fd, bytes);
        const [row] = await until(() => {
          const rows = accessAfter(before);
          return rows.length > 0 ? rows : null;
        }, `the decision for ${what}`);
        expect(row, what).toMatchObject({ result: 'granted' });
      }
      // A card that was not enrolled, for contrast.
      const before = head();
      writeSync(bridge, encodeBridgeFrame({ type: 'card', bits: wiegandBits('wiegand26', 15, 3456) }));
      const [unknown] = await until(() => {
        const rows = accessAfter(before);
        return rows.length > 0 ? rows : null;
      }, 'the decision for an unknown card');
      expect(unknown).toMatchObject({ result: 'denied', reason: 'unknown_badge' });
    } finally {
      closeSync(bridge);
      closeSync(line);
    }
    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
  }, 120_000);
});
