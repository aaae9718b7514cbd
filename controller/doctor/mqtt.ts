/** doctor's MQTT checks. */
import type { LoadedConfig } from '../config/index.js';
import { brokerAddress, brokerSettings, probeBroker } from '../mqtt/index.js';
import type { Storage } from '../storage.js';
import type { Add } from './check.js';

export /**
 * MQTT: the settings (files and their modes), a real connection (under another client id, so a
 * running controller is not disturbed), and the outbox backlog of the storage doctor opened.
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
