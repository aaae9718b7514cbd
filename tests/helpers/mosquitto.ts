/**
 * A real Mosquitto broker for the MQTT tests: `/usr/sbin/mosquitto -c <generated conf>` on free ports
 * of 127.0.0.1, with persistence (so a stop/start keeps retained messages and the queued messages of
 * persistent sessions, like a production broker). Optional listeners: TLS with a server certificate
 * from a test CA made here with the openssl CLI, TLS requiring a client certificate, and
 * username/password. stop()/start() reuse the same ports; kill() is for afterAll.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './controller.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface TestPki {
  dir: string;
  /** The test CA that signed the server and client certificates. */
  ca: string;
  /** Another CA, which signed nothing the broker uses. */
  wrongCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  /** Mode 0600. */
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA. */
export function makeTestPki(dir = tempDir('sekisho-pki-')): TestPki {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string, cn: string) =>
    openssl(dir, [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  const leaf = (name: string, cn: string, ext: string) => {
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ]);
    chmodSync(join(dir, `${name}.key`), 0o600);
  };
  ca('ca', 'Sekisho Test CA');
  ca('wrong-ca', 'Some Other CA');
  leaf(
    'server',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  leaf(
    'client',
    'sekisho-test-client',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  const p = (f: string) => join(dir, f);
  return {
    dir,
    ca: p('ca.pem'),
    wrongCa: p('wrong-ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface MosquittoOptions {
  /** Adds a TLS listener (server certificate from the PKI) and one that requires a client certificate. */
  pki?: TestPki;
  /** Adds a listener that requires one of these user names and passwords. */
  users?: Record<string, string>;
}

export interface Mosquitto {
  readonly dir: string;
  /** Plain, anonymous. */
  readonly port: number;
  readonly url: string;
  /** TLS, anonymous (with `pki`). */
  readonly tlsPort: number | null;
  /** TLS with a required client certificate (with `pki`). */
  readonly mtlsPort: number | null;
  /** Plain, username and password required (with `users`). */
  readonly authPort: number | null;
  running(): boolean;
  /** The broker's log (log_type all: connections, subscriptions, publishes). */
  log(): string;
  start(): Promise<void>;
  /** SIGTERM (the broker saves its persistence file) and wait for the exit. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL, for afterAll. */
  kill(): Promise<void>;
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = tempDir('sekisho-mosquitto-');
  const port = await freePort();
  const tlsPort = opts.pki ? await freePort() : null;
  const mtlsPort = opts.pki ? await freePort() : null;
  const authPort = opts.users ? await freePort() : null;
  const logFile = join(dir, 'mosquitto.log');
  const lines = [
    'per_listener_settings true',
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    `log_dest file ${logFile}`,
    'log_type all',
    'connection_messages true',
    'max_queued_messages 0',
    'max_inflight_messages 100',
  ];
  if (process.getuid?.() === 0) lines.push('user root');
  lines.push(`listener ${port} 127.0.0.1`, 'allow_anonymous true');
  if (opts.pki && tlsPort && mtlsPort) {
    const { ca, serverCert, serverKey } = opts.pki;
    lines.push(
      `listener ${tlsPort} 127.0.0.1`,
      'allow_anonymous true',
      `cafile ${ca}`,
      `certfile ${serverCert}`,
      `keyfile ${serverKey}`,
    );
    lines.push(
      `listener ${mtlsPort} 127.0.0.1`,
      'allow_anonymous true',
      `cafile ${ca}`,
      `certfile ${serverCert}`,
      `keyfile ${serverKey}`,
      'require_certificate true',
    );
  }
  if (opts.users && authPort) {
    const pw = join(dir, 'passwd');
    for (const [i, [user, pass]] of Object.entries(opts.users).entries()) {
      const args = i === 0 ? ['-c', '-b', pw, user, pass] : ['-b', pw, user, pass];
      execFileSync('mosquitto_passwd', args, { stdio: 'ignore' });
    }
    chmodSync(pw, 0o600);
    lines.push(`listener ${authPort} 127.0.0.1`, 'allow_anonymous false', `password_file ${pw}`);
  }
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);

  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  const ports = [port, tlsPort, mtlsPort, authPort].filter((p): p is number => p !== null);

  const broker: Mosquitto = {
    dir,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    tlsPort,
    mtlsPort,
    authPort,
    running: () => proc !== null,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr,
    async start() {
      if (proc) return;
      const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      proc = child;
      child.stderr!.on('data', (d) => (stderr += d));
      let dead = false;
      exited = new Promise<void>((resolve) =>
        child.once('exit', () => {
          dead = true;
          if (proc === child) proc = null;
          resolve();
        }),
      );
      const end = Date.now() + 10_000;
      for (;;) {
        if (dead) throw new Error(`mosquitto exited at start:\n${broker.log()}`);
        const ready = await Promise.all(ports.map(accepts));
        if (ready.every(Boolean)) return;
        if (Date.now() > end) throw new Error(`mosquitto did not accept connections:\n${broker.log()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      if (!proc) return;
      proc.kill('SIGTERM');
      await exited;
    },
    async restart() {
      await broker.stop();
      await broker.start();
    },
    async kill() {
      if (!proc) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
  await broker.start();
  return broker;
}
