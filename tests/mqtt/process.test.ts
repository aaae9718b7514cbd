/**
 * The real `sekisho start` process with a real Mosquitto: the retained last will after `kill -9`,
 * and outbox rows pending at a `kill -9` delivered after the restart (the outbox is in SQLite).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StatusPayload } from '../../controller/mqtt/index.js';
import type { ControllerStatus } from '../../controller/runtime/index.js';
import {
  doorConfig,
  type Running,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { Consumer, dedupedSeqs, isIncreasing, outboxSeqs } from './consumer.js';

describe('sekisho start with MQTT (kill -9)', () => {
  const dir = tempDir('sekisho-mqtt-proc-');
  const storage = join(dir, 'data');
  let broker: Mosquitto;
  let ctl: Running | undefined;
  const consumers: Consumer[] = [];
  const base = 'sekisho/test-ctl';

  afterAll(async () => {
    await ctl?.kill9();
    for (const c of consumers) await c.end();
    await broker?.kill();
  });

  const status = async () => (await ctl!.api<ControllerStatus>('GET', '/api/status')).body;
  const badge = (credential: string) => ctl!.api('POST', '/api/sim/badge', { reader: 'entry', credential });
  const contact = (open: boolean) => ctl!.api('POST', '/api/sim/doors/machine-room/contact', { open });

  it('the retained last will says offline after kill -9; rows pending at kill -9 are delivered after restart', async () => {
    broker = await startMosquitto();
    const cfgFile = writeConfig(
      dir,
      doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300', repeatSuppressMs: 0 }], {
        mqtt: { url: broker.url, reconnectS: 1 },
      }),
    );
    const sub = await Consumer.connect(broker.url, [`${base}/#`], { persistent: 'proc-consumer' });
    consumers.push(sub);
    const statuses = () => sub.json<{ state: string }>(`${base}/status`);

    // 1. Online, then killed: the broker publishes the retained will.
    ctl = await startController(cfgFile, storage);
    await sub.waitFor(() => statuses().some((s) => s.state === 'online'), 'status online');
    // The MQTT details of /healthz need credentials (the token); without, only up or degraded.
    expect(await fetch(`${ctl.base}/healthz`).then((r) => r.json())).toEqual({ status: 'ok' });
    const health = (await ctl.api<{ mqtt: unknown }>('GET', '/healthz')).body;
    expect(health.mqtt).toEqual({
      configured: true,
      connected: true,
      backlog: expect.any(Number),
      lastError: null,
    });
    await ctl.kill9();
    const will = await sub.waitFor(
      () => sub.on(`${base}/status`).find((m) => m.text.includes('offline')),
      'will',
    );
    expect(will.text).toBe('{"state":"offline"}');
    expect(StatusPayload.parse(will.json)).toEqual({ state: 'offline' });
    const late = await Consumer.connect(broker.url, [`${base}/status`]);
    consumers.push(late);
    const retained = await late.waitFor(() => late.on(`${base}/status`)[0], 'the retained status');
    expect([retained.retain, retained.text]).toEqual([true, '{"state":"offline"}']);

    // 2. Restarted, then the broker goes away: rows pile up in the outbox.
    ctl = await startController(cfgFile, storage);
    await sub.waitFor(() => statuses().filter((s) => s.state === 'online').length >= 2, 'online again');
    await broker.stop();
    await until(async () => !(await status()).mqtt.connected, 'the controller to notice');
    for (let i = 0; i < 30; i++) expect((await badge(`FA${String(i).padStart(8, '0')}`)).status).toBe(200);
    await contact(true); // forced open → alarm
    await contact(false);
    const st = await status();
    expect(st.mqtt.connected).toBe(false);
    expect(st.mqtt.backlog).toBeGreaterThanOrEqual(33);
    expect(st.alarms.some((a) => a.type === 'forced_open')).toBe(true);
    const healthDown = (await ctl.api('GET', '/healthz')).body;
    expect(healthDown).toMatchObject({
      status: 'ok',
      mqtt: { connected: false, lastError: expect.any(String) },
    });
    const pending = outboxSeqs(join(storage, 'journal.db'));
    expect(pending.length).toBeGreaterThanOrEqual(33);

    // 3. kill -9 with those rows pending; broker back; controller back: all of them arrive, in order.
    await ctl.kill9();
    await broker.start();
    ctl = await startController(cfgFile, storage);
    await sub.waitFor(
      () => {
        const got = new Set(sub.json<{ seq: number }>(`${base}/events`).map((e) => e.seq));
        return pending.every((s) => got.has(s));
      },
      'every pending row',
      20_000,
    );
    const order = dedupedSeqs(sub.json<{ seq: number }>(`${base}/events`));
    expect(isIncreasing(order)).toBe(true);
    const forced = sub.json<{ type: string; event: string; seq: number }>(`${base}/alarms`);
    expect(
      forced.some((a) => a.type === 'forced_open' && a.event === 'raised' && pending.includes(a.seq)),
    ).toBe(true);
    await until(async () => (await status()).mqtt.backlog === 0, 'an empty backlog');

    // 4. A clean stop says offline with a reason (no will).
    expect(await ctl.stop()).toBe(0);
    await sub.waitFor(() => statuses().at(-1)?.state === 'offline', 'offline after stop');
    expect(sub.last(`${base}/status`)).toMatchObject({ state: 'offline', reason: 'stopped' });
  });
});
