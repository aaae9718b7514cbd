/**
 * `sekisho commission` end to end, as a child process: the simulated board's wires are played over
 * its simulation channel (a Unix socket in the storage folder), the reader is a real pseudo-terminal
 * (socat) that presents a test card and is then unplugged and plugged back in. The record it writes
 * is read back from the journal file, its signature checked with the device's public key, and shown
 * by the compliance view.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commissioningSignatureValid } from '../../controller/commission/record.js';
import { SIM_CHANNEL_FILE } from '../../controller/commission/sim-channel.js';
import { loadConfig } from '../../controller/config/index.js';
import { DoorCommissionedRecord } from '../../controller/domain/index.js';
import { openStorage } from '../../controller/storage.js';
import { commissioningOf } from '../../dashboards/commissioning.js';
import { encodeRdm6300Frame } from '../../firmware-bridge/index.js';
import { makeDash } from '../dashboards/helpers.js';
import {
  BIN,
  cli,
  doorConfig,
  spawnController,
  startController,
  tempDir,
  until,
  writeConfig,
} from '../helpers/controller.js';
import { makePtyPair, type PtyPair } from '../helpers/pty.js';

interface Run {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  /** Writes answer lines to its stdin. */
  answer(text: string): void;
}

const runs: Run[] = [];

function commission(args: string[], opts: { sudo?: string | null } = {}): Run {
  const { SUDO_USER: _, ...env } = process.env;
  const sudo = opts.sudo === undefined ? 'installer' : opts.sudo;
  const proc = spawn(process.execPath, [BIN, 'commission', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...env, SEKISHO_LOG: 'warn', ...(sudo ? { SUDO_USER: sudo } : {}) },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) =>
    proc.once('exit', (code, signal) => res(code ?? (signal ? -1 : null))),
  );
  const run: Run = { proc, out: () => out, exited, answer: (text) => proc.stdin!.write(text) };
  runs.push(run);
  return run;
}

/** A client of the simulation channel: what the command said, and lines to send. */
class Wires {
  private lines: string[] = [];
  private constructor(private readonly socket: Socket) {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      this.lines.push(...parts);
    });
  }

  static async open(storage: string): Promise<Wires> {
    const path = join(storage, SIM_CHANNEL_FILE);
    // The command starts under tsx: on a loaded machine that takes a while.
    // A socket file left by an earlier, interrupted run refuses until the new command listens on it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      await until(() => existsSync(path), 'the simulation channel', 60_000);
      const socket = connect(path);
      const error = await new Promise<Error | undefined>((resolve) =>
        socket.once('connect', () => resolve(undefined)).once('error', resolve),
      );
      if (!error) return new Wires(socket);
      socket.destroy();
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  seen(line: string): boolean {
    return this.lines.includes(line);
  }

  /** Waits for a line (sent before or after this call). */
  async waitFor(line: string, timeoutMs = 15_000): Promise<void> {
    await until(
      () => this.seen(line),
      `"${line}" on the simulation channel (saw: ${this.lines.join(' | ')})`,
      timeoutMs,
    );
  }

  /** Every line sent so far. */
  all(): string[] {
    return [...this.lines];
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  close(): void {
    this.socket.destroy();
  }
}

// Each test runs the command (and some the controller) as child processes: generous on a busy machine.
describe('sekisho commission (simulated board, a real pty reader)', { timeout: 120_000 }, () => {
  const dir = tempDir('sekisho-commission-');
  const storage = join(dir, 'data');
  const ptyDir = join(dir, 'pty');
  let pty: PtyPair;
  let cfgFile: string;

  const records = () => {
    if (!existsSync(join(storage, 'journal.db'))) return [];
    const db = new Database(join(storage, 'journal.db'), { readonly: true });
    try {
      return (
        db
          .prepare(
            "SELECT seq, door, actor, bytes FROM journal WHERE type = 'door_commissioned' ORDER BY seq",
          )
          .all() as { seq: number; door: string; actor: string; bytes: string }[]
      ).map((r) => ({ ...r, data: DoorCommissionedRecord.parse(JSON.parse(r.bytes).data) }));
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    pty = await makePtyPair(ptyDir);
    cfgFile = writeConfig(
      dir,
      doorConfig(dir, [
        { id: 'entry', path: pty.b, protocol: 'rdm6300', reconnect: { initialMs: 100, maxMs: 500 } },
      ]),
    );
  });

  afterEach(async () => {
    // A failed test must not leave a run holding the doors for the next one.
    for (const run of runs.splice(0)) {
      if (run.proc.exitCode === null && run.proc.signalCode === null) run.proc.kill('SIGKILL');
      await run.exited;
    }
  });

  afterAll(async () => {
    await pty?.stop();
  });

  it('refuses to run for no person (root without sudo): the record names who tested', () => {
    const r = cli(['commission', '--config', cfgFile]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/stands for no person/);
  });

  it('walks every step; all pass → a signed record, and the compliance view shows it', async () => {
    const run = commission(['--config', cfgFile, '--timeout', '20', '--lang', 'en']);
    const wires = await Wires.open(storage);
    try {
      // The relay: released, confirmed, secured again.
      await wires.waitFor('output machine-room.lock 1');
      run.answer('y\n');
      await wires.waitFor('waiting lock_relock');
      const lines = wires.all();
      expect(lines.lastIndexOf('output machine-room.lock 0')).toBeGreaterThan(
        lines.indexOf('output machine-room.lock 1'),
      );
      run.answer('y\n');
      await wires.waitFor('waiting buzzer');
      run.answer('yes\n');

      await wires.waitFor('waiting contact_open');
      wires.send('input machine-room.contact 1');
      await wires.waitFor('waiting contact_closed');
      wires.send('input machine-room.contact 0');
      await wires.waitFor('waiting exit_button');
      wires.send('input machine-room.exitButton 1');
      await until(() => run.out().includes('Press the exit button'), 'the exit button prompt');
      wires.send('input machine-room.exitButton 0');
      await wires.waitFor('waiting tamper');
      wires.send('input machine-room.tamper 1');
      wires.send('input machine-room.tamper 0');

      // The reader: a real frame on the pty, then the device goes away and comes back.
      await wires.waitFor('waiting reader_card:entry');
      await until(() => run.out().includes('Present a test card'), 'the card prompt');
      writeFileSync(pty.a, encodeRdm6300Frame('0A1B2C3D4E'));
      await wires.waitFor('waiting reader_unplugged:entry');
      await pty.stop();
      await until(() => run.out().includes('Plug it back in'), `the unplug noticed:\n${run.out()}`);
      pty = await makePtyPair(ptyDir);
      await wires.waitFor('done machine-room passed');
      expect(await run.exited).toBe(0);
    } finally {
      wires.close();
    }
    expect(run.out()).toContain('Read: ••••3D4E');
    expect(run.out()).not.toContain('0A1B2C3D4E');

    const [rec] = records();
    expect(rec).toBeDefined();
    const { data } = rec!;
    expect(rec!.door).toBe('machine-room');
    expect(rec!.actor).toBe('cli:installer/root');
    expect(data.outcome).toBe('passed');
    expect(data.board).toBe('sim');
    expect(data.mode).toBe('scripted');
    expect(data.steps.map((s) => `${s.id}:${s.result}`)).toEqual([
      'lock_release:passed',
      'lock_relock:passed',
      'buzzer:passed',
      'contact_open:passed',
      'contact_closed:passed',
      'exit_button:passed',
      'tamper:passed',
      'reader_card:entry:passed',
      'reader_unplugged:entry:passed',
    ]);
    expect(data.steps[0]!.answeredBy).toBe('installer');
    expect(data.readers).toEqual([
      expect.objectContaining({ id: 'entry', role: 'entry', protocol: 'rdm6300', testCard: '••••3D4E' }),
    ]);
    expect(data.readers[0]!.device).toMatch(/^\/dev\/pts\/\d+$/);
    expect(data.wiring.lock).toEqual({ pin: 22, activeLow: true, failMode: 'fail-secure' });

    // Signed with the device key; any change to the data breaks it.
    const publicKey = createPublicKey(readFileSync(join(storage, 'device-public.pem'), 'utf8'));
    expect(commissioningSignatureValid('machine-room', rec!.actor, data, publicKey)).toBe(true);
    expect(
      commissioningSignatureValid('machine-room', rec!.actor, { ...data, outcome: 'failed' }, publicKey),
    ).toBe(false);
    expect(commissioningSignatureValid('machine-room', 'cli:someone-else', data, publicKey)).toBe(false);
    expect(cli(['verify', '--config', cfgFile]).status).toBe(0);

    const dash = await makeDash({ loaded: loadConfig(cfgFile) });
    try {
      const m = await dash.login('manager1');
      const api = (await m.get('/api/compliance')).json() as {
        items: { clause: string; status: string }[];
        commissioning: { door: string; state: string; latest: { actor: string; outcome: string } }[];
      };
      expect(api.commissioning).toEqual([
        expect.objectContaining({
          door: 'machine-room',
          state: 'ok',
          latest: expect.objectContaining({ actor: 'cli:installer/root', outcome: 'passed' }),
        }),
      ]);
      expect(api.items.find((i) => i.clause === '§8(3)①ウ')?.status).toBe('ok');
      const page = (await m.req('GET', '/compliance', undefined, { cookie: `${m.cookie}; sekisho_lang=en` }))
        .body;
      expect(page).toContain('id="commissioning"');
      expect(page).toMatch(/data-door="machine-room" data-state="ok"/);
      expect(page).toContain('Commissioned');
      expect(page).toContain('cli:installer/root');
      expect(page).toContain('••••3D4E');
    } finally {
      await dash.close();
    }
  });

  it('a step that times out fails, and the record says so; skips need a reason and are recorded', async () => {
    const run = commission([
      '--config',
      cfgFile,
      '--timeout',
      '1',
      '--confirm-outputs',
      '--skip',
      'reader_card:entry=no test card on site',
      '--skip',
      'reader_unplugged:entry=reader on the Pi UART',
    ]);
    expect(await run.exited).toBe(1);
    const rec = records().at(-1)!;
    expect(rec.data.outcome).toBe('failed');
    const step = (id: string) => rec.data.steps.find((s) => s.id === id)!;
    expect(step('lock_release')).toMatchObject({ result: 'passed', answeredBy: 'flag' });
    expect(step('contact_open')).toMatchObject({
      result: 'failed',
      reason: expect.stringMatching(/^timeout/),
    });
    expect(step('tamper').result).toBe('failed');
    expect(step('reader_card:entry')).toMatchObject({
      result: 'skipped',
      reason: 'no test card on site',
      answeredBy: 'flag',
    });

    // The compliance view now shows the latest, failed, commissioning.
    const storageNow = openStorage(loadConfig(cfgFile), { readonly: true });
    try {
      const [door] = commissioningOf({ controller: { ...storageNow, config: loadConfig(cfgFile).config } });
      expect(door).toMatchObject({ state: 'not_passed', latest: { outcome: 'failed' } });
    } finally {
      storageNow.db.close();
    }
  });

  it('interactive on a terminal, in Japanese: typed skips and failures during the waits', async () => {
    // socat gives the command a real terminal (its stdin is a TTY); the test types on the other side.
    const ttyLink = join(dir, 'tty');
    const { SUDO_USER: _, ...env } = process.env;
    const socat = spawn(
      '/usr/bin/socat',
      [
        `PTY,link=${ttyLink},raw,echo=0`,
        `EXEC:${process.execPath} ${BIN} commission --config ${cfgFile} --timeout 30,pty,setsid,ctty,stderr`,
      ],
      { stdio: 'ignore', env: { ...env, SUDO_USER: 'installer', LANG: 'ja_JP.UTF-8', SEKISHO_LOG: 'warn' } },
    );
    const socatExit = new Promise<void>((res) => socat.once('exit', () => res()));
    try {
      await until(() => existsSync(ttyLink), 'the terminal');
      const fd = openSync(ttyLink, 'r+');
      const term = new ReadStream(fd);
      let screen = '';
      term.on('data', (d) => (screen += d.toString()));
      const type = (line: string) => writeSync(fd, `${line}\r`);
      const shown = (text: string) =>
        until(() => screen.includes(text), `"${text}" on the terminal:\n${screen}`, 20_000);
      const wires = await Wires.open(storage);
      try {
        await shown('電気錠を解錠します');
        type('y');
        await shown('取っ手で確かめましたか');
        type('はい');
        await shown('ブザーを 1 秒鳴らします');
        type('maybe'); // not an answer: asked again
        await shown('いずれかで答えてください');
        type('y');
        await wires.waitFor('waiting contact_open');
        await shown('扉センサーの「開」を待っています');
        type('s 扉センサーは後日配線');
        await wires.waitFor('waiting contact_closed');
        type('f 配線不良');
        await wires.waitFor('waiting exit_button');
        wires.send('input machine-room.exitButton 1');
        wires.send('input machine-room.exitButton 0');
        await wires.waitFor('waiting tamper');
        type('s カバー未装着');
        await wires.waitFor('waiting reader_card:entry');
        type('s 試験用カードなし');
        await wires.waitFor('waiting reader_unplugged:entry');
        type('s UART に直結');
        await wires.waitFor('done machine-room failed');
        await shown('扉「machine-room」の結果: 不合格（合格 4、不合格 1、省略 4）');
      } finally {
        wires.close();
        term.destroy();
      }
    } finally {
      // Done, it ends by itself; after a failure, ending the terminal hangs the command up (SIGHUP).
      await Promise.race([socatExit, new Promise((r) => setTimeout(r, 5000))]);
      if (socat.exitCode === null && socat.signalCode === null) socat.kill('SIGTERM');
      await socatExit;
    }
    const rec = records().at(-1)!;
    expect(rec.data.mode).toBe('interactive');
    expect(rec.data.steps.map((s) => [s.id, s.result, s.reason])).toEqual([
      ['lock_release', 'passed', null],
      ['lock_relock', 'passed', null],
      ['buzzer', 'passed', null],
      ['contact_open', 'skipped', '扉センサーは後日配線'],
      ['contact_closed', 'failed', '配線不良'],
      ['exit_button', 'passed', null],
      ['tamper', 'skipped', 'カバー未装着'],
      ['reader_card:entry', 'skipped', '試験用カードなし'],
      ['reader_unplugged:entry', 'skipped', 'UART に直結'],
    ]);
  });

  it('bad usage is refused before anything is driven', () => {
    expect(cli(['commission', '--config', cfgFile, '--door', 'nope'], { sudo: 'installer' }).stderr).toMatch(
      /--door: no door "nope"/,
    );
    const skip = cli(['commission', '--config', cfgFile, '--skip', 'tamper'], { sudo: 'installer' });
    expect(skip.status).toBe(2);
    expect(skip.stderr).toMatch(/STEP=REASON/);
    expect(cli(['commission', '--config', cfgFile, '--timeout', '0'], { sudo: 'installer' }).status).toBe(2);
  });

  it('Ctrl-C while the lock is released: the lock is secured and the run recorded as interrupted', async () => {
    const before = records().length;
    const run = commission(['--config', cfgFile, '--lang', 'ja']);
    const wires = await Wires.open(storage);
    try {
      await wires.waitFor('output machine-room.lock 1');
      run.proc.kill('SIGINT');
      await wires.waitFor('output machine-room.lock 0');
      expect(await run.exited).toBe(130);
    } finally {
      wires.close();
    }
    expect(run.out()).toContain('中断しました（SIGINT）');
    const all = records();
    expect(all.length).toBe(before + 1);
    expect(all.at(-1)!.data).toMatchObject({ outcome: 'interrupted', steps: [] });
    // The lock was released once and secured after, as the last word on the wire.
    const lockLines = wires.all().filter((l) => l.startsWith('output machine-room.lock'));
    expect(lockLines.at(-1)).toBe('output machine-room.lock 0');
  });

  it('refuses while the controller runs, and the controller refuses while commissioning runs', async () => {
    const ctl = await startController(cfgFile, storage);
    try {
      const r = cli(['commission', '--config', cfgFile], { sudo: 'installer' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the controller \(or another commissioning\) is running/);
    } finally {
      await ctl.stop();
    }

    const run = commission(['--config', cfgFile]);
    const wires = await Wires.open(storage);
    try {
      await wires.waitFor('waiting lock_release');
      const start = spawnController(cfgFile, storage, { log: 'warn' });
      expect(await start.exited).toBe(1);
      expect(start.output()).toMatch(/another process drives the doors/);
      run.proc.kill('SIGTERM');
      expect(await run.exited).toBe(143);
    } finally {
      wires.close();
    }
    expect(records().at(-1)!.data.outcome).toBe('interrupted');
  });
});
