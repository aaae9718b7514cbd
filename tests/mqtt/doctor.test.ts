/**
 * `sekisho doctor`'s MQTT checks against a real Mosquitto: a real connection attempt (under another
 * client id), unusable settings, and the outbox backlog.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import { runChecks } from '../../controller/doctor.js';
import { doorConfig, tempDir } from '../helpers/controller.js';
import { freePort, type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { outboxSeqs, startMqttController } from './consumer.js';

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto({ users: { sekisho: 'pw-for-doctor-test' } });
});
afterAll(async () => {
  await broker.kill();
});

function loaded(dir: string, mqtt: Record<string, unknown>) {
  const cfg = doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }], { mqtt });
  return {
    config: parseConfig(stringify(cfg)),
    file: join(dir, 'config.yaml'),
    storageDir: join(dir, 'data'),
  };
}

const mqttChecks = async (l: ReturnType<typeof loaded>) =>
  (await runChecks(l)).filter((c) => c.what.startsWith('mqtt'));

describe('doctor: mqtt', () => {
  it('reports a broker that accepts the connection, and one that refuses it', async () => {
    const ok = await mqttChecks(loaded(tempDir(), { url: broker.url }));
    expect(ok).toEqual([
      { verdict: 'OK', what: 'mqtt transport', detail: 'plain mqtt:// to 127.0.0.1, this device (loopback)' },
      { verdict: 'OK', what: 'mqtt broker', detail: `127.0.0.1:${broker.port} accepted the connection` },
    ]);
    const dir = tempDir();
    writeFileSync(join(dir, 'pw'), 'wrong', { mode: 0o600 });
    const refused = await mqttChecks(
      loaded(dir, {
        url: `mqtt://127.0.0.1:${broker.authPort}`,
        username: 'sekisho',
        passwordFile: join(dir, 'pw'),
      }),
    );
    expect(refused.find((c) => c.what === 'mqtt broker')).toMatchObject({
      verdict: 'FAIL',
      what: 'mqtt broker',
      detail: expect.stringMatching(/Not authorized/),
    });
    const down = await mqttChecks(loaded(tempDir(), { url: `mqtt://127.0.0.1:${await freePort()}` }));
    expect(down.find((c) => c.what === 'mqtt broker')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it('names an unusable password file, and shows the backlog of an existing journal', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pw'), 'secret', { mode: 0o644 });
    const bad = await mqttChecks(
      loaded(dir, { url: broker.url, username: 'sekisho', passwordFile: join(dir, 'pw') }),
    );
    expect(bad.find((c) => c.what === 'mqtt.passwordFile')).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringMatching(/readable by others \(mode 0644\); chmod 640/),
    });
    // The broker is not tried with a file the controller would refuse.
    expect(bad.some((c) => c.what === 'mqtt broker')).toBe(false);

    const cdir = tempDir();
    const url = `mqtt://127.0.0.1:${await freePort()}`; // nothing listens: rows stay queued
    const ctx = await startMqttController({ url }, { dir: cdir });
    ctx.c.simulateBadge('entry', 'AB12345678');
    await ctx.c.stop('test');
    const queued = outboxSeqs(join(cdir, 'data', 'journal.db')).length;
    expect(queued).toBeGreaterThan(3);
    const checks = await mqttChecks(loaded(cdir, { url }));
    expect(checks.find((c) => c.what === 'mqtt backlog')).toEqual({
      verdict: 'OK',
      what: 'mqtt backlog',
      detail: `${queued} journal rows waiting to be published (0 % of mqtt.maxBacklog 1000000)`,
    });
  });
});
