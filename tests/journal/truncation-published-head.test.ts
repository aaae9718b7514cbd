/**
 * What the start records of the broker's retained head (`controller_started.publishedHead`, read
 * before the first row): `none` on a fresh broker, `matched` after a clean stop, `invalid` for a
 * retained checkpoint that does not verify with the device key (a forgery with broker rights: logged,
 * ignored), `skipped` with `mqtt.headWaitS: 0`. In-process controllers on one storage, a real Mosquitto.
 */
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { startMqttController } from '../mqtt/consumer.js';

describe('the start records the broker head it read', { timeout: 120_000 }, () => {
  const dir = tempDir('sekisho-published-head-');
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.kill();
  });

  const run = async (mqtt: Record<string, unknown> = {}) => {
    const ctx = await startMqttController({ url: broker.url, headWaitS: 10, ...mqtt }, { id: 'head', dir });
    const started = ctx.c.journal.query({ types: ['controller_started'], limit: 1 })[0]!;
    const lines = ctx.logLines.join('\n');
    await ctx.c.stop('test');
    return { head: (started.data as { publishedHead?: unknown }).publishedHead, lines };
  };

  it('none, then matched, then invalid for a forged retained checkpoint, then skipped', async () => {
    expect((await run()).head).toEqual({ result: 'none', checked: true });
    const matched = await run();
    expect(matched.head).toMatchObject({ result: 'matched', checked: true, seq: expect.any(Number) });

    // Someone with broker rights retains a checkpoint the device key did not sign.
    const forger = await connectAsync(broker.url);
    const forged = {
      v: 1,
      seq: 999_999,
      hash: 'ab'.repeat(32),
      at: Date.now(),
      time: '',
      controller: 'head',
      signature: 'AAAA',
      keyId: '0'.repeat(16),
    };
    await forger.publishAsync('sekisho/head/journal/checkpoint', JSON.stringify(forged), {
      qos: 1,
      retain: true,
    });
    await forger.endAsync();
    const invalid = await run();
    expect(invalid.head).toMatchObject({ result: 'invalid', checked: true });
    expect(JSON.stringify(invalid.head)).toMatch(/signature does not verify/);
    expect(invalid.lines).toMatch(/the checkpoint retained on MQTT cannot be used for the start check/);

    expect((await run({ headWaitS: 0 })).head).toEqual({ result: 'skipped', checked: false });
  });
});
