/**
 * Broker connection settings: the mqtt.js client options built from the `mqtt` config section, with
 * the password and TLS files read once, at start. The password is never logged, never put in an
 * error message and never journaled.
 */
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions } from 'mqtt';
import { type MqttConfig, plainPasswordHost } from '../config/index.js';
import { readSecretFile, secretFileMessage } from '../secret-files.js';
import { defaultBaseTopic } from './topics.js';

/** A setting that cannot be used (a file missing or too open). The message names the file, never its content. */
export class MqttSetupError extends Error {
  override name = 'MqttSetupError';
}

export interface BrokerSettings {
  url: string;
  /** `host:port`, for logs, status and journal rows. */
  broker: string;
  tls: boolean;
  clientId: string;
  baseTopic: string;
  options: IClientOptions;
}

/**
 * A password file or client key, provided by an administrator: under the secret-file rule with
 * group access (controller/secret-files.ts), so the install guide's `root:sekisho 0640` is read.
 */
function readSecret(file: string, what: string): string {
  return readSecretFile(file, {
    access: 'group',
    error: (problem) => new MqttSetupError(secretFileMessage(problem, file, what, 'group')),
  });
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MqttSetupError(
      `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** `host:port` of a broker URL, with the default port of its scheme. */
export function brokerAddress(url: string): { host: string; port: number; tls: boolean } {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:';
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (tls ? 8883 : 1883)), tls };
}

/**
 * The client options for the config. Throws MqttSetupError when a file cannot be used (the password
 * file and the client key under the secret-file rule), or when the password would go in clear text
 * to another host without `allowPlainPassword`.
 */
export function brokerSettings(
  cfg: MqttConfig,
  controllerId: string,
  will?: { topic: string; payload: string },
): BrokerSettings {
  const { host, port, tls } = brokerAddress(cfg.url);
  const clientId = cfg.clientId ?? `sekisho-${controllerId}`;
  const options: IClientOptions = {
    clientId,
    protocolVersion: 4,
    clean: true,
    keepalive: cfg.keepaliveS,
    reconnectPeriod: cfg.reconnectS * 1000,
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    queueQoSZero: false,
    resubscribe: false,
    // mqtt-packet otherwise builds a table of 65,536 two-byte Buffers for message ids and lengths on
    // the first packet: about 7 MB of the controller's heap, for a client that publishes a few rows.
    writeCache: false,
  };
  if (cfg.username !== undefined) options.username = cfg.username;
  const exposedTo = plainPasswordHost(cfg);
  if (exposedTo !== null && !cfg.allowPlainPassword)
    throw new MqttSetupError(
      `refusing to send the broker password in clear text to ${exposedTo} (mqtt://): use mqtts://, or set mqtt.allowPlainPassword: true`,
    );
  if (cfg.passwordFile !== undefined) {
    const password = readSecret(cfg.passwordFile, 'mqtt.passwordFile').split(/\r?\n/)[0] ?? '';
    if (password.length === 0) throw new MqttSetupError(`mqtt.passwordFile ${cfg.passwordFile} is empty`);
    options.password = password;
  }
  if (tls) {
    options.rejectUnauthorized = true;
    if (cfg.ca !== undefined) options.ca = readPem(cfg.ca, 'mqtt.ca');
    if (cfg.cert !== undefined) options.cert = readPem(cfg.cert, 'mqtt.cert');
    if (cfg.key !== undefined) options.key = Buffer.from(readSecret(cfg.key, 'mqtt.key'));
  }
  if (will) options.will = { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true };
  return {
    url: cfg.url,
    broker: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls,
    clientId,
    baseTopic: cfg.baseTopic ?? defaultBaseTopic(controllerId),
    options,
  };
}

/**
 * Connects once with the config's settings (under a different client id, so a running controller
 * is not disconnected), waits for the broker's answer and disconnects. For `sekisho doctor`.
 * Resolves null when the broker accepted the connection, or the reason it did not.
 */
export async function probeBroker(
  cfg: MqttConfig,
  controllerId: string,
  timeoutMs = 5000,
): Promise<string | null> {
  let settings: BrokerSettings;
  try {
    settings = brokerSettings(cfg, controllerId);
  } catch (err) {
    return (err as Error).message;
  }
  const client = connect(settings.url, {
    ...settings.options,
    clientId: `${settings.clientId}-doctor`.slice(0, 128),
    reconnectPeriod: 0,
    reconnectOnConnackError: false,
    connectTimeout: timeoutMs,
  });
  const result = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve(null);
    });
    client.on('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
    client.once('close', () => {
      clearTimeout(timer);
      resolve('connection closed by the broker');
    });
  });
  await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  return result;
}
