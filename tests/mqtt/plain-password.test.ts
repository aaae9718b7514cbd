/**
 * A broker password allowed over plain mqtt:// to another host (`mqtt.allowPlainPassword: true`)
 * is still warned about: at every start, in the log, and by `sekisho doctor`. The broker is a real
 * Mosquitto on 127.0.0.1, reached as 0.0.0.0 — on Linux that address reaches this host, but it is
 * not a loopback name, so it stands for "another host" here.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/index.js';
import { runChecks } from '../../controller/doctor.js';
import { doorConfig, tempDir, until } from '../helpers/controller.js';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { startMqttController } from './consumer.js';

const PASSWORD = 'plain-text-password-under-test';
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto({ users: { sekisho: PASSWORD } });
});
afterAll(async () => {
  await broker.kill();
});

function passwordFile(): string {
  const file = join(tempDir('sekisho-pw-'), 'pw');
  writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
  return file;
}

describe('mqtt.allowPlainPassword', () => {
  it('the controller warns at start, without the password, and connects', async () => {
    const ctx = await startMqttController({
      url: `mqtt://0.0.0.0:${broker.authPort}`,
      username: 'sekisho',
      passwordFile: passwordFile(),
      allowPlainPassword: true,
    });
    try {
      await until(() => ctx.c.status().mqtt.connected, 'the connection');
      const warning = ctx.logLines.find((l) => l.includes('mqtt password sent in clear text'));
      expect(warning).toMatch(/WARN/);
      expect(warning).toContain('0.0.0.0');
      expect(ctx.logLines.join('\n')).not.toContain(PASSWORD);
    } finally {
      await ctx.c.stop('test end');
    }
  });

  it('doctor warns about the transport: the password, or else everything, in clear text to another host', async () => {
    const check = async (mqtt: Record<string, unknown>) => {
      const dir = tempDir();
      const cfg = doorConfig(dir, [{ id: 'entry', path: 'sim', protocol: 'rdm6300' }], { mqtt });
      const checks = await runChecks({
        config: parseConfig(stringify(cfg)),
        file: join(dir, 'config.yaml'),
        storageDir: join(dir, 'data'),
      });
      return checks.find((c) => c.what === 'mqtt transport');
    };
    const url = `mqtt://0.0.0.0:${broker.authPort}`;
    expect(
      await check({ url, username: 'sekisho', passwordFile: passwordFile(), allowPlainPassword: true }),
    ).toEqual({
      verdict: 'WARN',
      what: 'mqtt transport',
      detail:
        'the broker password goes in clear text to 0.0.0.0 (mqtt://, allowed by mqtt.allowPlainPassword): ' +
        'anyone on the network path can read it and log in as Sekisho — use mqtts://',
    });
    expect(await check({ url: `mqtt://0.0.0.0:${broker.port}` })).toMatchObject({
      verdict: 'WARN',
      detail: expect.stringMatching(/^alarms and status go in clear text to 0\.0\.0\.0 \(mqtt:\/\/\)/),
    });
    expect(await check({ url: broker.url })).toMatchObject({ verdict: 'OK' });
  });
});
