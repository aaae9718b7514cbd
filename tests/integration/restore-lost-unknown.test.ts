/**
 * Restoring when nothing says which rows were lost (issue #15): the card is dead, no `--lost-through`,
 * no `--checkpoint`. `sekisho restore` refuses, naming the options, unless `--lost-unknown` is given;
 * then the next start must read the head published on MQTT before its first row — it refuses to
 * start while the broker cannot be reached, and once it can, no seq the broker saw is used again.
 * Also: a restore is refused while a controller runs on the storage (the instance lock).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cli,
  doorConfig,
  type Running,
  simReaders,
  startController,
  tempDir,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';

describe('restore with an unknown lost range', () => {
  const dir = tempDir('sekisho-restore-unknown-');
  const storage = join(dir, 'data');
  const file = join(storage, 'journal.db');
  const backup = join(dir, 'b.sekisho-backup');
  let broker: Mosquitto;
  let cfg = '';
  let ctl: Running | undefined;
  afterAll(async () => {
    await ctl?.kill9();
    await broker?.kill();
  });
  const badges = async (n: number, from: number) => {
    for (let i = 0; i < n; i++)
      await ctl!.api('POST', '/api/sim/badge', {
        reader: 'entry',
        credential: `FC${String(from + i).padStart(8, '0')}`,
      });
  };
  const rows = () => {
    const db = new Database(file, { readonly: true });
    try {
      return db
        .prepare<[], { seq: number; type: string; bytes: string }>(
          'SELECT seq, type, bytes FROM journal ORDER BY seq',
        )
        .all()
        .map((r) => ({ seq: r.seq, type: r.type, data: JSON.parse(r.bytes).data }));
    } finally {
      db.close();
    }
  };

  it('a restore is refused while the controller runs on the storage', async () => {
    broker = await startMosquitto();
    cfg = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { mqtt: { url: broker.url, reconnectS: 1, headWaitS: 1 } }),
    );
    ctl = await startController(cfg, storage, 60_000);
    await badges(3, 0);
    expect(await ctl.stop()).toBe(0);
    expect(cli(['backup', '--config', cfg, '--to', backup], { sudo: 'manager-a' }).status).toBe(0);
    ctl = await startController(cfg, storage, 60_000);
    await badges(5, 10);
    const headBefore = rows().at(-1)!.seq;
    const r = cli(['restore', '--config', cfg, '--from', backup, '--force'], { sudo: 'manager-b' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/restore refused, nothing was changed: the controller .* is running on/);
    expect(r.stderr).toMatch(/Stop it first/);
    expect(rows().at(-1)!.seq).toBeGreaterThanOrEqual(headBefore);
    expect(rows().some((x) => x.type === 'journal_restored')).toBe(false);
    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
  }, 120_000);

  it('without a replaced journal, --lost-through or --checkpoint: refused, naming the options', () => {
    rmSync(storage, { recursive: true, force: true }); // the card died
    const r = cli(['restore', '--config', cfg, '--from', backup], { sudo: 'manager-b' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/there is no journal to replace, so which rows were lost is unknown/);
    for (const option of ['--lost-through SEQ', '--checkpoint FILE', '--lost-unknown'])
      expect(r.stderr).toContain(option);
    expect(existsSync(file)).toBe(false);

    // --lost-unknown needs MQTT: the next start could not check anything.
    const noMqtt = writeConfig(tempDir('sekisho-restore-nomqtt-'), doorConfig(dir, simReaders()));
    const r2 = cli(['restore', '--config', noMqtt, '--from', backup, '--lost-unknown'], {
      sudo: 'manager-b',
    });
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/--lost-unknown needs mqtt configured/);
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('--lost-unknown: the next start refuses without the broker, and with it skips every seq the broker saw', async () => {
    const retainedSeq = await retainedHead(broker.url);
    const r = cli(['restore', '--config', cfg, '--from', backup, '--lost-unknown'], { sudo: 'manager-b' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /how many is UNKNOWN \(--lost-unknown\): the next start must read the head published on MQTT/,
    );
    const restored = rows().find((x) => x.type === 'journal_restored')!;
    expect(restored.data).toMatchObject({ lostThrough: null, basis: 'unknown' });
    const restoredHead = rows().at(-1)!.seq;
    expect(restoredHead).toBeLessThan(retainedSeq);

    // The broker is down: the start refuses, doors secured, nothing written.
    await broker.stop();
    const refused = cli(['start', '--config', cfg]);
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(
      new RegExp(`the restore at seq ${restored.seq} did not know which rows were lost \\(--lost-unknown\\)`),
    );
    expect(rows().at(-1)!.seq).toBe(restoredHead);

    // The broker is back: the gap skips past its head before the start's rows.
    await broker.start();
    ctl = await startController(cfg, storage, 60_000);
    const after = rows().filter((x) => x.seq > restoredHead);
    expect(after[0]).toMatchObject({ seq: retainedSeq + 1, type: 'journal_truncated' });
    expect(after[0]!.data).toMatchObject({ evidence: 'mqtt', lostThrough: retainedSeq });
    expect(after.find((x) => x.type === 'controller_started')!.data.publishedHead).toEqual({
      result: 'behind',
      checked: true,
      seq: retainedSeq,
    });
    expect(await ctl.stop()).toBe(0);

    // The duty is done: a later start without the broker goes ahead (and says it did not check).
    await broker.stop();
    const head = rows().at(-1)!.seq;
    ctl = await startController(cfg, storage, 60_000);
    const started = rows().find((x) => x.seq > head && x.type === 'controller_started')!;
    expect(started.data.publishedHead).toMatchObject({ result: 'unreachable', checked: false });
    expect(await ctl.stop()).toBe(0);
    ctl = undefined;
  }, 180_000);
});

/** The seq of the checkpoint retained on the broker (what a subscriber sees). */
async function retainedHead(url: string): Promise<number> {
  const { connectAsync } = await import('mqtt');
  const client = await connectAsync(url);
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no retained checkpoint')), 10_000);
      client.on('message', (_t, payload) => {
        clearTimeout(timer);
        resolve((JSON.parse(payload.toString('utf8')) as { seq: number }).seq);
      });
      void client.subscribeAsync('sekisho/test-ctl/journal/checkpoint');
    });
  } finally {
    await client.endAsync();
  }
}
