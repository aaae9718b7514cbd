/**
 * Issue #15 case 5, the attacker's way: `sekisho start` with a real Mosquitto, stopped; the newest
 * rows deleted with the sqlite3 shell (triggers dropped first); started again. The controller must
 * not append silently: a critical `journal_truncated` alarm on MQTT and on the dashboard, the next
 * row's seq above every seq that existed, a fresh checkpoint, and `sekisho verify` names the
 * declared gap. Then root who also deletes the local checkpoints and snapshots: only the head
 * published on MQTT is left, read back after the start (an async check).
 */
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
  until,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { sqlite } from '../helpers/util.js';
import { Consumer } from '../mqtt/consumer.js';

interface Alarm {
  id: number;
  type: string;
  severity: string;
  detail: string;
}

describe('a controller started on a truncated journal', () => {
  const dir = tempDir('sekisho-truncation-');
  const storage = join(dir, 'data');
  const file = join(storage, 'journal.db');
  const base = 'sekisho/test-ctl';
  let broker: Mosquitto;
  let ctl: Running | undefined;
  const consumers: Consumer[] = [];
  afterAll(async () => {
    await ctl?.kill9();
    for (const c of consumers) await c.end();
    await broker?.kill();
  });

  const head = () => {
    const db = new Database(file, { readonly: true });
    try {
      return {
        seq: db.prepare<[], { m: number }>('SELECT MAX(seq) AS m FROM journal').get()!.m,
        checkpoint: db.prepare<[], { m: number }>('SELECT MAX(seq) AS m FROM checkpoints').get()!.m,
        gaps: db
          .prepare<[], { seq: number; bytes: string }>(
            "SELECT seq, bytes FROM journal WHERE type = 'journal_truncated' ORDER BY seq",
          )
          .all()
          .map((r) => ({ seq: r.seq, data: JSON.parse(r.bytes).data })),
      };
    } finally {
      db.close();
    }
  };
  const badges = async (n: number, from: number) => {
    for (let i = 0; i < n; i++)
      await ctl!.api('POST', '/api/sim/badge', {
        reader: 'entry',
        credential: `FA${String(from + i).padStart(8, '0')}`,
      });
  };

  it('case 5: newest rows deleted, controller started: alarm on MQTT and the dashboard, no seq reused, verify shows the gap', async () => {
    broker = await startMosquitto();
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, simReaders(), { mqtt: { url: broker.url, reconnectS: 1 } }),
    );
    const sub = await Consumer.connect(broker.url, [`${base}/#`]);
    consumers.push(sub);

    ctl = await startController(cfgFile, storage);
    await badges(20, 0);
    expect(await ctl.stop()).toBe(0);
    const before = head();
    expect(before.checkpoint).toBe(before.seq); // the clean stop signed its head

    // Root, with the controller stopped: the triggers, then the newest ten rows.
    const cut = before.seq - 10;
    sqlite(file, `DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq > ${cut};`);
    expect(cli(['verify', '--config', cfgFile]).status).toBe(1); // the checkpoint beyond the head

    ctl = await startController(cfgFile, storage);
    const after = head();
    expect(after.gaps).toEqual([
      {
        seq: before.seq + 1,
        data: expect.objectContaining({ lostFrom: cut + 1, lostThrough: before.seq, evidence: 'checkpoint' }),
      },
    ]);
    expect(after.checkpoint).toBeGreaterThan(before.seq + 1); // the start's fresh checkpoint, after the gap

    // On the dashboard and on MQTT.
    const alarms = (await ctl.api<{ alarms: Alarm[] }>('GET', '/api/alarms')).body.alarms;
    const alarm = alarms.find((a) => a.type === 'journal_truncated');
    expect(alarm).toMatchObject({ severity: 'critical' });
    expect(alarm!.detail).toContain(`rows ${cut + 1} to ${before.seq} are gone`);
    await sub.waitFor(
      () =>
        sub
          .on(`${base}/alarms`)
          .find((m) => m.text.includes('journal_truncated') && m.text.includes('critical')),
      'the journal_truncated alarm on MQTT',
    );

    // The declared gap verifies and is printed; the next rows continue above it.
    await badges(2, 100);
    expect(head().seq).toBeGreaterThan(before.seq + 1);
    expect(await ctl.stop()).toBe(0);
    const v = cli(['verify', '--config', cfgFile]);
    // The chain verifies with its declared gap; the triggers the attacker dropped stay reported (exit 3).
    expect(v.stdout).toMatch(/PROTECTIONS MISSING: the hash chain verifies/);
    expect(v.stdout).not.toMatch(/JOURNAL NOT INTACT/);
    expect(v.stdout).toContain(`declared gap at seq ${before.seq + 1} (journal_truncated, `);
    expect(v.stdout).toContain(`rows ${cut + 1} to ${before.seq} are missing`);
    expect(v.status).toBe(3);
  }, 180_000);

  it('root deletes the local checkpoints and snapshots too: the start reads the head published on MQTT first, and no seq the broker saw is reused', async () => {
    const cfgFile = join(dir, 'config.yaml');
    const before = head();
    // The retained checkpoint on the broker is the clean stop's.
    const cut = before.seq - 8;
    sqlite(
      file,
      `DROP TRIGGER IF EXISTS journal_no_delete; DROP TRIGGER checkpoints_no_delete;
       DELETE FROM journal WHERE seq > ${cut}; DELETE FROM checkpoints WHERE seq > ${cut}; DELETE FROM snapshots;`,
    );
    // Seen from outside: every seq the broker announced before the attack, with its hash.
    const sub = consumers[0]!;
    const events = () =>
      sub.on(`${base}/events`).map((m) => JSON.parse(m.text) as { seq: number; hash: string });
    await sub.waitFor(() => events().some((e) => e.seq === before.seq), 'the last event before the attack');
    const seen = new Map(events().map((e) => [e.seq, e.hash]));
    ctl = await startController(cfgFile, storage);
    const gap = head().gaps.at(-1)!;
    // The broker's head was read before the start's first row: the gap comes first and skips it all.
    expect(gap.seq).toBe(before.seq + 1);
    expect(gap.data).toMatchObject({ evidence: 'mqtt', lostFrom: cut + 1, lostThrough: before.seq });
    expect(gap.data.reused).toBeUndefined();
    const rows = rowsAbove(cut);
    expect(rows[0]).toMatchObject({ seq: before.seq + 1, type: 'journal_truncated' });
    // No row holds a seq the broker saw, with other content.
    for (const r of rows) expect(seen.has(r.seq) && seen.get(r.seq) !== r.hash).toBe(false);
    expect(rows.every((r) => r.seq > before.seq)).toBe(true);
    const started = rows.find((r) => r.type === 'controller_started')!;
    expect(started.data.publishedHead).toEqual({ result: 'behind', checked: true, seq: before.seq });
    const alarms = (await ctl.api<{ alarms: Alarm[] }>('GET', '/api/alarms')).body.alarms;
    expect(alarms.some((a) => a.type === 'journal_truncated' && a.detail.includes('published on MQTT'))).toBe(
      true,
    );
    expect(head().checkpoint).toBeGreaterThan(before.seq);
    expect(await ctl.stop()).toBe(0);
  }, 120_000);

  it('the broker cannot be reached in time: the start goes on, says the head was not checked, and checks it once the broker answers', async () => {
    const cfgFile = join(dir, 'config.yaml');
    const cfg = doorConfig(dir, simReaders(), { mqtt: { url: broker.url, reconnectS: 1, headWaitS: 1 } });
    writeConfig(dir, cfg);
    const before = head();
    await broker.stop();
    const cut = before.seq - 3;
    sqlite(
      file,
      `DROP TRIGGER IF EXISTS journal_no_delete; DROP TRIGGER IF EXISTS checkpoints_no_delete;
       DELETE FROM journal WHERE seq > ${cut}; DELETE FROM checkpoints WHERE seq > ${cut}; DELETE FROM snapshots;`,
    );
    ctl = await startController(cfgFile, storage);
    const started = rowsAbove(cut).find((r) => r.type === 'controller_started')!;
    // Nothing on the device reached further: the start's rows take the lost seqs, and say so.
    expect(started.seq).toBe(cut + 1);
    expect(started.data.publishedHead).toMatchObject({ result: 'unreachable', checked: false });
    expect(ctl.output()).toMatch(/the head published on MQTT was not read before the start/);
    // Once the broker is back, the later check names the contradiction.
    await broker.start();
    await until(
      async () => head().gaps.some((g) => g.seq > before.seq && g.data.reused === true),
      'the later MQTT check',
    );
    expect(await ctl.stop()).toBe(0);
  }, 120_000);

  const rowsAbove = (seq: number) => {
    const db = new Database(file, { readonly: true });
    try {
      return db
        .prepare<[number], { seq: number; type: string; hash: string; bytes: string }>(
          'SELECT seq, type, hash, bytes FROM journal WHERE seq > ? ORDER BY seq',
        )
        .all(seq)
        .map((r) => ({ ...r, data: JSON.parse(r.bytes).data }));
    } finally {
      db.close();
    }
  };
});
