/**
 * The NUT protocol client against a scripted in-process server: what upsd answers, and what it must
 * never be trusted to answer (garbage, overlong lines, unsolicited lines, silence).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NutConnection, NutError } from '../../controller/power/nut.js';

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A server that answers each request line with `answer(line)` (undefined: stays silent). */
async function fakeUpsd(answer: (line: string, socket: Socket) => string | undefined): Promise<number> {
  const seen: string[] = [];
  server = createServer((socket) => {
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        seen.push(line);
        const reply = answer(line, socket);
        if (reply !== undefined) socket.write(reply);
        nl = buf.indexOf('\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((res) => server!.listen(0, '127.0.0.1', res));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

const connect = (port: number, extra: Partial<ConstructorParameters<typeof NutConnection>[0]> = {}) =>
  new NutConnection({ host: '127.0.0.1', port, timeoutMs: 500, ...extra });

async function failure(p: Promise<unknown>): Promise<NutError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(NutError);
    return err as NutError;
  }
  throw new Error('expected a NutError');
}

describe('NutConnection', () => {
  it('logs in and reads a variable, unquoting it', async () => {
    const lines: string[] = [];
    const port = await fakeUpsd((line) => {
      lines.push(line);
      if (line.startsWith('USERNAME') || line.startsWith('PASSWORD')) return 'OK\n';
      if (line === 'GET VAR ups1 ups.status') return 'VAR ups1 ups.status "OB \\"LB\\""\r\n';
      return 'ERR UNKNOWN-COMMAND\n';
    });
    const c = connect(port, { username: 'sekisho', password: 'pa ss"w' });
    await c.open();
    expect(await c.getVar('ups1', 'ups.status')).toBe('OB "LB"');
    c.close();
    expect(lines.slice(0, 3)).toEqual([
      'USERNAME sekisho',
      'PASSWORD "pa ss\\"w"',
      'GET VAR ups1 ups.status',
    ]);
  });

  it('an ERR reply names upsd’s code', async () => {
    const port = await fakeUpsd((line) => (line.startsWith('GET') ? 'ERR DATA-STALE\n' : 'OK\n'));
    const c = connect(port);
    await c.open();
    const err = await failure(c.getVar('ups1', 'ups.status'));
    expect(err.code).toBe('DATA-STALE');
    expect(err.message).toContain('answered GET VAR ups.status with ERR DATA-STALE');
    c.close();
  });

  it('a refused login stops at the login', async () => {
    const port = await fakeUpsd((line) => (line.startsWith('PASSWORD') ? 'ERR ACCESS-DENIED\n' : 'OK\n'));
    const err = await failure(connect(port, { username: 'u', password: 'p' }).open());
    expect(err.code).toBe('ACCESS-DENIED');
    expect(err.message).not.toContain('"p"');
  });

  it('garbage, a wrong variable, control characters: a protocol error, shown safely', async () => {
    for (const reply of [
      '\u0000\u0001garbage\u001b[2J\n',
      'VAR other ups.status "OL"\n',
      'VAR ups1 ups.status OL\n',
    ]) {
      const port = await fakeUpsd(() => reply);
      const c = connect(port);
      await c.open();
      const err = await failure(c.getVar('ups1', 'ups.status'));
      expect(err.code).toBe('PROTOCOL');
      expect([...err.message].some((ch) => ch < ' ')).toBe(false);
      c.close();
      server!.close();
    }
  });

  it('an overlong line and an unsolicited line end the connection', async () => {
    const port = await fakeUpsd(() => 'X'.repeat(5000));
    const c = connect(port);
    await c.open();
    expect((await failure(c.getVar('ups1', 'ups.status'))).message).toContain('longer than 1024 bytes');
    server!.close();
    const port2 = await fakeUpsd(() => 'VAR ups1 ups.status "OL"\nVAR ups1 ups.status "OB"\n');
    const c2 = connect(port2);
    await c2.open();
    // The first line answers; the second was asked by nobody: the connection is dropped.
    expect(await c2.getVar('ups1', 'ups.status')).toBe('OL');
    expect((await failure(c2.getVar('ups1', 'ups.status'))).message).toContain('nobody asked for');
  });

  it('silence is a timeout; a closed port is a connect error', async () => {
    const port = await fakeUpsd(() => undefined);
    const c = connect(port);
    await c.open();
    const err = await failure(c.getVar('ups1', 'ups.status'));
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toContain('did not answer GET VAR ups.status within 500 ms');
    server!.close();
    const refused = await failure(connect(port).open());
    expect(refused.code).toBe('CONNECT');
    expect(refused.message).toMatch(/ECONNREFUSED/);
  });
});
