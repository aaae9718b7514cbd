/** doctor's MQTT checks. */
import type { LoadedConfig } from '../config/index.js';
import { isLoopbackHost, plainPasswordHost } from '../config/index.js';
import { brokerAddress, brokerSettings, probeBroker } from '../mqtt/index.js';
import { groupText, inspectSecretFile, modeText, secretFileMessage, userText } from '../secret-files.js';
import type { Storage } from '../storage.js';
import type { Add } from './check.js';
import { whoAmI } from './check.js';

export /**
 * MQTT: the transport (a password in clear text to another host), the password file and client
 * key under the same secret-file rule the controller reads them by, a real connection (under
 * another client id, so a running controller is not disturbed), and the outbox backlog of the
 * storage doctor opened.
 */
async function mqttChecks(
  loaded: LoadedConfig,
  add: Add,
  storage: Storage | undefined,
  storageError: string | undefined,
): Promise<void> {
  const { config } = loaded;
  if (!config.mqtt) add('OK', 'mqtt', 'not configured');
  else {
    const m = config.mqtt;
    const { host, port, tls } = brokerAddress(m.url);
    const exposedTo = plainPasswordHost(m);
    if (exposedTo !== null)
      add(
        'WARN',
        'mqtt transport',
        `the broker password goes in clear text to ${exposedTo} (mqtt://, allowed by mqtt.allowPlainPassword): ` +
          'anyone on the network path can read it and log in as Sekisho — use mqtts://',
      );
    else if (!tls && !isLoopbackHost(host))
      add(
        'WARN',
        'mqtt transport',
        `alarms and status go in clear text to ${host} (mqtt://): anyone on the network path can read or forge them — use mqtts://`,
      );
    else
      add(
        'OK',
        'mqtt transport',
        tls ? `TLS to ${host}` : `plain mqtt:// to ${host}, this device (loopback)`,
      );
    let filesOk = true;
    for (const [key, file] of [
      ['mqtt.passwordFile', m.passwordFile],
      ['mqtt.key', tls ? m.key : undefined],
    ] as const) {
      if (file === undefined) continue;
      const r = inspectSecretFile(file, { access: 'group' });
      if ('problem' in r) {
        filesOk = false;
        add('FAIL', key, `${secretFileMessage(r.problem, file, key, 'group')} (as ${whoAmI()})`);
      } else {
        add(
          'OK',
          key,
          `${file}: owner ${userText(r.stat.uid)}, group ${groupText(r.stat.gid)}, mode ${modeText(r.stat.mode, true)}`,
        );
      }
    }
    if (filesOk) {
      try {
        brokerSettings(m, config.controller.id);
        const err = await probeBroker(m, config.controller.id);
        add(
          err ? 'FAIL' : 'OK',
          'mqtt broker',
          err
            ? `${host}:${port}${tls ? ' (TLS)' : ''} refused or unreachable: ${err} — alarms stay queued until it is fixed`
            : `${host}:${port}${tls ? ' (TLS)' : ''} accepted the connection${m.username ? ` as ${m.username}` : ''}`,
        );
      } catch (err) {
        add('FAIL', 'mqtt settings', (err as Error).message);
      }
    }
    if (storageError !== undefined) add('WARN', 'mqtt backlog', `cannot read the outbox: ${storageError}`);
    else if (storage) {
      try {
        const n = (storage.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
        const pct = Math.round((n / m.maxBacklog) * 100);
        add(
          pct >= 50 ? 'WARN' : 'OK',
          'mqtt backlog',
          `${n} journal rows waiting to be published (${pct} % of mqtt.maxBacklog ${m.maxBacklog})`,
        );
      } catch (err) {
        add('WARN', 'mqtt backlog', `cannot read the outbox: ${(err as Error).message}`);
      }
    }
  }
}
