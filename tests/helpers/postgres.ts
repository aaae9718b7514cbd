/**
 * A real PostgreSQL cluster for the collector's tests: `initdb` in a temporary folder and `postgres`
 * on a free port of 127.0.0.1, both run as an unprivileged user (PostgreSQL refuses to run as root:
 * the Debian package's `postgres` account when the tests run as root, else the current user). The
 * superuser `sekisho_test` logs in with a random password over TCP (scram-sha-256), as the collector
 * would. stop()/start() keep the data and the port; kill() is SIGKILL, for crash tests and afterAll.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { tempDir } from './controller.js';
import { freePort } from './mosquitto.js';

/** The newest server installed by Debian's packages (scripts/setup.sh --test installs one). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      'PostgreSQL is not installed (/usr/lib/postgresql/*/bin/postgres): run scripts/setup.sh --test',
    );
  return join(root, versions[0]!, 'bin');
}

interface RunAs {
  uid: number;
  gid: number;
  /** The argv prefix that runs a command as that user. */
  prefix: string[];
}

function runAs(): RunAs {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? 0, prefix: [] };
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const u = id('-u');
  const g = id('-g');
  // setpriv execs the command itself (no su in between), so signals reach postgres directly.
  return { uid: u, gid: g, prefix: ['setpriv', `--reuid=${u}`, `--regid=${g}`, '--clear-groups'] };
}

export class TestPostgres {
  readonly dir: string;
  readonly data: string;
  readonly socketDir: string;
  readonly user = 'sekisho_test';
  readonly password = randomBytes(18).toString('base64url');
  port = 0;
  #proc: ChildProcess | undefined;
  #log = '';
  readonly #as = runAs();
  readonly #bin = postgresBinDir();

  constructor() {
    this.dir = tempDir('sekisho-pg-');
    this.data = join(this.dir, 'data');
    this.socketDir = join(this.dir, 'sock');
    for (const d of [this.dir, this.socketDir]) {
      mkdirSync(d, { recursive: true });
      chownSync(d, this.#as.uid, this.#as.gid);
      chmodSync(d, 0o700);
    }
  }

  /** initdb (once) and start the server; resolves when it accepts connections. */
  async start(attempt = 0): Promise<void> {
    if (!existsSync(join(this.data, 'PG_VERSION'))) this.#initdb();
    if (this.port === 0) this.port = await freePort();
    this.#log = '';
    const [cmd, ...args] = [
      ...this.#as.prefix,
      join(this.#bin, 'postgres'),
      '-D',
      this.data,
      '-p',
      String(this.port),
      '-k',
      this.socketDir,
      '-c',
      'listen_addresses=127.0.0.1',
    ];
    const proc = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    const keep = (b: Buffer) => {
      this.#log = (this.#log + b.toString()).slice(-8000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) {
        // After a SIGKILL the old backends hold the shared memory for a moment: try again.
        if (/shared memory block is still in use/.test(this.#log) && attempt < 50) {
          await new Promise((r) => setTimeout(r, 200));
          return this.start(attempt + 1);
        }
        throw new Error(`postgres exited ${proc.exitCode}:\n${this.#log}`);
      }
      try {
        const c = this.client();
        await c.connect();
        await c.end();
        return;
      } catch (e) {
        if (Date.now() > deadline)
          throw new Error(`postgres did not start: ${(e as Error).message}\n${this.#log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  #initdb(): void {
    const pwfile = join(this.dir, 'pw');
    writeFileSync(pwfile, `${this.password}\n`, { mode: 0o600 });
    chownSync(pwfile, this.#as.uid, this.#as.gid);
    const [cmd, ...args] = [
      ...this.#as.prefix,
      join(this.#bin, 'initdb'),
      '-D',
      this.data,
      '-U',
      this.user,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ];
    execFileSync(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(pwfile);
  }

  /** Connection settings for the superuser (or another role and password). */
  connection(database = 'postgres', user = this.user, password = this.password): pg.ClientConfig {
    return { host: '127.0.0.1', port: this.port, user, password, database };
  }

  client(database = 'postgres'): pg.Client {
    return new pg.Client(this.connection(database));
  }

  /** Runs one statement as the superuser on `database`. */
  async sql(text: string, database = 'postgres'): Promise<pg.QueryResult> {
    const c = this.client(database);
    await c.connect();
    try {
      return await c.query(text);
    } finally {
      await c.end();
    }
  }

  /** A fresh database owned by the superuser. */
  async createDatabase(name: string): Promise<void> {
    await this.sql(`CREATE DATABASE ${name}`);
  }

  /** Fast shutdown (SIGINT): the data and the port stay for start(). */
  async stop(): Promise<void> {
    await this.#signal('SIGINT');
  }

  /** SIGKILL of the postmaster, as a crash (start() recovers from the WAL). */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  async #signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(sig);
    await exited;
  }

  /** Stops the server (SIGKILL if it must) and removes its files. */
  async destroy(): Promise<void> {
    await this.#signal('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
