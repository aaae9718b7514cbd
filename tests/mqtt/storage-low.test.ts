/**
 * `storage_low` on MQTT: raised at start by a floor above the file system's real free space, it is
 * published on `<base>/alarms` (door null, major) and retained on `<base>/alarms/active` at a real
 * Mosquitto; a restart with a sane floor publishes its `cleared`.
 */
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB } from '../../controller/domain/index.js';
import type { Controller } from '../../controller/runtime/index.js';
import { Recorder } from '../golden/transcript.js';
import { tempDir } from '../helpers/controller.js';
import { startInProcess } from '../helpers/in-process.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { until } from '../helpers/util.js';

describe('storage_low over MQTT', () => {
  let broker: Mosquitto;
  let c: Controller | undefined;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await c?.stop('test end');
    await broker.kill();
  });

  it('is published when raised, and its clearing too', async () => {
    const dir = tempDir('sekisho-space-mqtt-');
    const s = statfsSync(dir);
    const floor = Math.ceil((s.bavail * s.bsize) / MIB) + 1024;
    const rec = await Recorder.connect(broker.url, [
      'sekisho/test-ctl/alarms',
      'sekisho/test-ctl/alarms/active',
    ]);
    const mqtt = { url: broker.url, reconnectS: 1, homeAssistant: { enabled: false } };
    const storage = (lowSpaceMiB: number) => ({ path: join(dir, 'data'), lowSpaceMiB });
    try {
      c = (await startInProcess(dir, { extra: { storage: storage(floor), mqtt } })).c;
      await until(
        () => rec.json('sekisho/test-ctl/alarms').some((m) => m.type === 'storage_low'),
        'storage_low raised on <base>/alarms',
      );
      const raised = rec.json('sekisho/test-ctl/alarms').find((m) => m.type === 'storage_low')!;
      expect(raised).toMatchObject({ event: 'raised', severity: 'major', door: null });
      expect(String(raised.detail)).toContain(`below the floor of`);
      await until(
        () =>
          rec.json('sekisho/test-ctl/alarms/active').some((m) => JSON.stringify(m).includes('"storage_low"')),
        'storage_low retained on <base>/alarms/active',
      );
      await c.stop('restart');
      c = (await startInProcess(dir, { extra: { storage: storage(32), mqtt } })).c;
      await until(
        () =>
          rec
            .json('sekisho/test-ctl/alarms')
            .some((m) => m.type === 'storage_low' && m.event === 'cleared' && m.alarmId === raised.alarmId),
        'storage_low cleared on <base>/alarms',
      );
    } finally {
      await rec.end();
    }
  });
});
