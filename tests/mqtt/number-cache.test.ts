/**
 * The controller's MQTT client does not build mqtt-packet's table of 65,536 two-byte Buffers (about
 * 7 MB of heap) when it publishes: `writeCache: false` in broker.ts. A file of its own, since the
 * table is one per process and any other client with the default options (the tests' consumers)
 * would build it.
 */
import { createRequire } from 'node:module';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { startMqttController } from './consumer.js';

// The module mqtt.js writes packets with, as mqtt.js itself resolves it.
const mqttRequire = createRequire(createRequire(import.meta.url).resolve('mqtt'));
const numbers = mqttRequire('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };
const packets = mqttRequire('mqtt-packet') as { writeToStream: { cacheNumbers: boolean } };
const cached = () => Object.keys(numbers.cache).length;

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker.kill();
});

describe("the controller's MQTT client", () => {
  it('publishes rows without building the number cache; a default client would build it', async () => {
    const { c, board } = await startMqttController({ url: broker.url }, { id: 'numcache' });
    try {
      await until(() => c.status().mqtt.connected, 'the controller to connect');
      board.simulate('machine-room.contact', true); // forced open: an alarm row to publish
      await until(
        () => c.status().mqtt.backlog === 0 && c.status().alarms.length > 0,
        'the alarm published and the outbox drained',
      );
      expect(cached()).toBe(0);
    } finally {
      await c.stop('test end');
    }

    // The control: the probe sees the table once it is on (mqtt-packet's default, which the setting
    // turns off for the whole process) and a client writes a packet.
    packets.writeToStream.cacheNumbers = true;
    const plain = connect(broker.url, { reconnectPeriod: 0 });
    try {
      await new Promise<void>((resolve, reject) => {
        plain.once('connect', () => resolve());
        plain.once('error', reject);
      });
      await plain.publishAsync('numcache/probe', 'x', { qos: 1 });
      expect(cached()).toBe(65_536);
    } finally {
      await plain.endAsync();
    }
  });
});
