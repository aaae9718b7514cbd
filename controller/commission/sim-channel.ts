/**
 * The simulated board's wires during `sekisho commission` (board.kind: sim only): a Unix socket,
 * `<storage>/commission-sim.sock` (mode 0600), on which a test or a person at a second terminal
 * plays the door. One line per message.
 *
 * In:  `input <pin name> <0|1>`   an input's raw logical level (e.g. `input machine-room.contact 1`)
 *      `card <reader> <number>`   a card at a simulated reader (`path: sim`)
 *      `unplug <reader>` / `plug <reader>`   a simulated reader goes away / comes back
 * Out: `output <pin name> <0|1>`  each change of an output (the lock relay, the buzzer); every
 *                                 output's level, and the step waiting, when a client connects
 *      `waiting <step id>`        a step is waiting for the installer or an input
 *      `step <step id> <result>`  a step's result
 *      `ok` / `error <message>`   the answer to each line in
 *
 * It never exists on a real board: the Raspberry Pi's inputs are read from its pins.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SimBoard } from '../../hardware/index.js';

export const SIM_CHANNEL_FILE = 'commission-sim.sock';

export interface SimReaderControl {
  card(reader: string, number: string): void;
  plug(reader: string, present: boolean): void;
}

export class SimChannel {
  readonly path: string;
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private readonly outputs = new Map<string, boolean>();
  private waiting: string | undefined;

  private constructor(path: string, server: Server) {
    this.path = path;
    this.server = server;
  }

  static async open(storageDir: string, board: SimBoard, readers: SimReaderControl): Promise<SimChannel> {
    const path = join(storageDir, SIM_CHANNEL_FILE);
    rmSync(path, { force: true });
    let channel: SimChannel | undefined;
    const server = createServer((socket) => channel!.accept(socket, board, readers));
    channel = new SimChannel(path, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    board.onOutput((name, on) => {
      // Changes only: securing a secured lock again is not news.
      if (channel!.outputs.get(name) === on) return;
      channel!.outputs.set(name, on);
      channel!.send(`output ${name} ${on ? 1 : 0}`);
    });
    for (const name of board.outputNames()) channel.outputs.set(name, board.readOutput(name));
    return channel;
  }

  send(line: string): void {
    if (line.startsWith('waiting ')) this.waiting = line;
    for (const c of this.clients) c.write(`${line}\n`);
  }

  /** Closes the socket; what was sent is flushed first (at most `ms`). */
  async close(ms = 1000): Promise<void> {
    const flushed = [...this.clients].map((c) => new Promise<void>((resolve) => c.end(() => resolve())));
    await Promise.race([Promise.all(flushed), new Promise((r) => setTimeout(r, ms).unref())]);
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  private accept(socket: Socket, board: SimBoard, readers: SimReaderControl): void {
    this.clients.add(socket);
    // A client that connects late learns where things stand: every output, the step waiting.
    for (const [name, on] of this.outputs) socket.write(`output ${name} ${on ? 1 : 0}\n`);
    if (this.waiting) socket.write(`${this.waiting}\n`);
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => this.clients.delete(socket));
    createInterface({ input: socket, terminal: false }).on('line', (line) => {
      try {
        const [verb, a, b] = line.trim().split(/\s+/);
        if (verb === 'input' && a && (b === '0' || b === '1')) board.simulate(a, b === '1');
        else if (verb === 'card' && a && b) readers.card(a, b);
        else if ((verb === 'unplug' || verb === 'plug') && a && !b) readers.plug(a, verb === 'plug');
        else
          throw new Error(
            `not understood: "${line.slice(0, 80)}" (input NAME 0|1, card READER NUMBER, unplug|plug READER)`,
          );
        socket.write('ok\n');
      } catch (err) {
        socket.write(`error ${(err as Error).message}\n`);
      }
    });
  }
}
