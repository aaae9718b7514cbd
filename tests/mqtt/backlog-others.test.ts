/**
 * The MQTT backlog counts every outbox row, not only the controller's own: rows the CLI writes (a
 * separate process on the same journal) while the broker is down are shown on `/api/status`,
 * `/healthz` and in the `mqtt_connected` row once the broker is back. Real `sekisho start`, real CLI
 * processes, real Mosquitto, real SQLite.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../controller/runtime/index.js';
import {
  cli,
  doorConfig,
  type Running,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { outboxSeqs } from './consumer.js';

/** The outbox's rows with their journal row's type and actor, read from the database file. */
function outboxRows(dbFile: string): { seq: number; type: string; actor: string | null }[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db
      .prepare('SELECT j.seq, j.type, j.actor FROM outbox o JOIN journal j ON j.seq = o.seq ORDER BY o.seq')
      .all() as { seq: number; type: string; actor: string | null }[];
  } finally {
    db.close();
  }
}

/** The backlog the latest `mqtt_connected` row recorded. */
function lastConnected(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    const row = db
      .prepare("SELECT bytes FROM journal WHERE type = 'mqtt_connected' ORDER BY seq DESC LIMIT 1")
      .get() as { bytes: string };
    return (JSON.parse(row.bytes) as { data: { backlog: number } }).data.backlog;
  } finally {
    db.close();
  }
}

describe('the MQTT backlog counts what other processes put in the outbox', () => {
  const dir = tempDir('sekisho-mqtt-backlog-');
  const storage = join(dir, 'data');
  const dbFile = join(storage, 'journal.db');
  let broker: Mosquitto;
  let ctl: Running | undefined;

  afterAll(async () => {
    await ctl?.kill9();
    await broker?.kill();
  });

  it('shows the outbox count with CLI rows written while the broker is down', async () => {
    broker = await startMosquitto();
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 }], {
        mqtt: { url: broker.url, reconnectS: 1 },
      }),
    );
    ctl = await startController(cfgFile, storage, 60_000);
    const status = async () => (await ctl!.api<ControllerStatus>('GET', '/api/status')).body;
    await until(async () => (await status()).mqtt.connected, 'connected');
    await until(async () => (await status()).mqtt.backlog === 0, 'the start rows delivered');
    await broker.stop();
    await until(async () => !(await status()).mqtt.connected, 'the controller to notice');

    // The controller's own rows and the CLI's, interleaved.
    for (let i = 0; i < 3; i++) {
      expect(
        (await ctl.api('POST', '/api/sim/badge', { reader: 'entry', credential: `FB0000000${i}` })).status,
      ).toBe(200);
      const r = cli(
        [
          'person',
          'add',
          '--config',
          cfgFile,
          '--name',
          `試験 ${i}`,
          '--id',
          `BK-${i}`,
          '--category',
          'staff',
        ],
        { sudo: 'manager-a' },
      );
      expect(r.status, r.stderr).toBe(0);
    }
    const rows = outboxRows(dbFile);
    const cliRows = rows.filter((r) => r.type === 'person_added');
    expect(cliRows).toHaveLength(3);
    expect(rows.some((r) => r.type === 'access')).toBe(true);

    // Nothing else writes now: the shown backlog is the outbox's count, exactly.
    const shown = (await status()).mqtt.backlog;
    expect(shown).toBe(outboxSeqs(dbFile).length);
    const health = (await ctl.api<{ mqtt: { backlog: number } }>('GET', '/healthz')).body;
    expect(health.mqtt.backlog).toBe(outboxSeqs(dbFile).length);

    // The broker back: the `mqtt_connected` row counts the CLI's rows too (all waiting at the time).
    const waiting = outboxSeqs(dbFile).length;
    await broker.start();
    await until(async () => (await status()).mqtt.connected, 'connected again');
    await until(async () => (await status()).mqtt.backlog === 0, 'the backlog delivered');
    expect(outboxSeqs(dbFile)).toEqual([]);
    expect(lastConnected(dbFile)).toBeGreaterThanOrEqual(waiting);
  }, 120_000); // three CLI processes and a broker restart: slow on a loaded machine
});
