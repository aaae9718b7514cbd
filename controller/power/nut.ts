/**
 * A client of NUT's network protocol (upsd, TCP port 3493; docs/net-protocol in NUT): one line per
 * request, one line per reply. Sekisho asks only `GET VAR <ups> ups.status`. With a user configured
 * it first logs in as upsmon does (`USERNAME`, `PASSWORD`, `LOGIN <ups>`): upsd checks the password
 * only at LOGIN (it needs `upsmon secondary` in upsd.users), so a wrong one is found at once, and
 * upsd counts the controller among the UPS's clients (NUMLOGINS) while the connection lasts.
 *
 * Every reply is checked: an `ERR <code>` becomes a NutError with that code, anything else that is
 * not the expected answer (garbage, an overlong line, a reply nobody asked for) is a protocol
 * error, and the connection is dropped. Nothing here throws outside a returned promise.
 */
import { Socket } from 'node:net';

export class NutError extends Error {
  constructor(
    message: string,
    /** upsd's error code (ACCESS-DENIED, UNKNOWN-UPS, DATA-STALE, …), or `PROTOCOL`, `TIMEOUT`, `CONNECT`. */
    readonly code: string,
  ) {
    super(message);
  }
}

export interface NutClientOptions {
  host: string;
  port: number;
  timeoutMs: number;
  username?: string;
  password?: string;
  /** The UPS to `LOGIN` to after the password (with a username only). */
  ups?: string;
}

/** Longest reply line accepted: a status line is ~50 bytes; upsd's longest are well under this. */
const MAX_LINE = 1024;

interface Pending {
  resolve: (line: string) => void;
  reject: (err: Error) => void;
}

/** One connection to upsd. `close()` any time; a failed connection is not reused. */
export class NutConnection {
  #socket: Socket | null = null;
  #buffer = '';
  #pending: Pending[] = [];
  #failed: Error | null = null;

  constructor(private readonly o: NutClientOptions) {}

  get server(): string {
    return `${this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host}:${this.o.port}`;
  }

  /** Connects and logs in (when a user is configured). */
  async open(): Promise<void> {
    const socket = new Socket();
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.#data(chunk));
    socket.on('error', (err) =>
      this.#fail(
        new NutError(
          `upsd at ${this.server}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
          'CONNECT',
        ),
      ),
    );
    socket.on('close', () =>
      this.#fail(new NutError(`upsd at ${this.server} closed the connection`, 'CONNECT')),
    );
    await this.#within(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        this.#pending.push({ resolve: () => undefined, reject });
        socket.connect(this.o.port, this.o.host);
      }).finally(() => this.#pending.shift()),
      'connecting',
    );
    if (this.o.username !== undefined) {
      await this.#expectOk(`USERNAME ${this.o.username}`, 'USERNAME');
      await this.#expectOk(`PASSWORD ${quote(this.o.password ?? '')}`, 'PASSWORD');
      if (this.o.ups !== undefined) await this.#login(this.o.username, this.o.ups);
    }
  }

  /** `GET VAR <ups> <name>`: the value, unquoted. */
  async getVar(ups: string, name: string): Promise<string> {
    const line = await this.#request(`GET VAR ${ups} ${name}`, `GET VAR ${name}`);
    const prefix = `VAR ${ups} ${name} `;
    if (!line.startsWith(prefix)) throw this.#protocol(`GET VAR ${name}: unexpected reply "${shown(line)}"`);
    const value = unquote(line.slice(prefix.length));
    if (value === null) throw this.#protocol(`GET VAR ${name}: malformed value "${shown(line)}"`);
    return value;
  }

  close(): void {
    if (this.#socket && !this.#socket.destroyed) {
      // LOGOUT is a courtesy; the socket is closed either way.
      this.#socket.end('LOGOUT\n');
      this.#socket.destroySoon();
    }
    this.#fail(new NutError('connection closed', 'CONNECT'));
  }

  /** `LOGIN <ups>`: a refusal says what upsd needs, never the password. */
  async #login(username: string, ups: string): Promise<void> {
    try {
      await this.#expectOk(`LOGIN ${ups}`, 'LOGIN');
    } catch (err) {
      if (err instanceof NutError && err.code === 'ACCESS-DENIED')
        throw new NutError(
          `upsd at ${this.server} refused the login of user "${username}" to UPS "${ups}" (ERR ACCESS-DENIED): ` +
            'the password in power.nut.passwordFile is wrong, or the user lacks "upsmon secondary" in upsd.users',
          err.code,
        );
      throw err;
    }
  }

  async #expectOk(command: string, what: string): Promise<void> {
    const line = await this.#request(command, what);
    if (!/^OK\b/.test(line)) throw this.#protocol(`${what}: unexpected reply "${shown(line)}"`);
  }

  async #request(command: string, what: string): Promise<string> {
    if (this.#failed) throw this.#failed;
    const reply = new Promise<string>((resolve, reject) => this.#pending.push({ resolve, reject }));
    this.#socket!.write(`${command}\n`);
    const line = await this.#within(reply, what);
    const err = /^ERR (\S+)(?: (.*))?$/.exec(line);
    if (err)
      throw new NutError(`upsd at ${this.server} answered ${what} with ERR ${shown(err[1]!)}`, err[1]!);
    return line;
  }

  #data(chunk: string): void {
    this.#buffer += chunk;
    let nl = this.#buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      const waiting = this.#pending.shift();
      if (!waiting) {
        this.#fail(this.#protocol(`a reply nobody asked for: "${shown(line)}"`));
        return;
      }
      waiting.resolve(line);
      nl = this.#buffer.indexOf('\n');
    }
    if (this.#buffer.length > MAX_LINE)
      this.#fail(this.#protocol(`a reply line longer than ${MAX_LINE} bytes`));
  }

  #protocol(message: string): NutError {
    return new NutError(`upsd at ${this.server}: protocol error: ${message}`, 'PROTOCOL');
  }

  #fail(err: Error): void {
    if (!this.#failed) this.#failed = err;
    for (const p of this.#pending.splice(0)) p.reject(this.#failed);
    if (this.#socket && !this.#socket.destroyed) this.#socket.destroy();
  }

  async #within<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new NutError(
          `upsd at ${this.server} did not answer ${what} within ${this.o.timeoutMs} ms`,
          'TIMEOUT',
        );
        this.#fail(err);
        reject(err);
      }, this.o.timeoutMs);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A reply shown in a message: printable, short. */
function shown(text: string): string {
  const clean = [...text].map((c) => (c < ' ' || c > '~' ? '?' : c)).join('');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}

/** A NUT quoted string: "…" with \" and \\ escapes. */
function unquote(text: string): string | null {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : null;
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}
