/**
 * `sekisho commission`'s walk through a door: each output driven and confirmed by the installer,
 * each input awaited on the real board, each reader read from its real port, and the signed
 * `door_commissioned` record written at the end of each door.
 *
 * Every lock is secured whatever happens: the board is claimed secured (claimDoorPins), the lock is
 * released only inside its step and secured again by a timer as well as after the answer, and
 * `abort()` (a signal) and `close()` (the end, or an error) drive every lock secured before
 * anything else.
 */
import { type Board, doorPinNames, lockOutputLevel, secureLevels } from '../../hardware/index.js';
import type { Config, DoorConfig } from '../config/index.js';
import {
  type CommissionedReader,
  type CommissionOutcome,
  type CommissionStep,
  commissionOutcome,
  doorWiring,
} from '../domain/index.js';
import type { JournalRow } from '../journal/index.js';
import type { Storage } from '../storage.js';
import { sekishoVersion } from '../system.js';
import { type Answer, type AnswerSource, parseAnswer } from './answers.js';
import type { MessageKey, Say } from './messages.js';
import { type ReaderProbe, readerProbe } from './readers.js';
import { signCommissioning } from './record.js';

export interface CommissionOptions {
  config: Config;
  board: Board;
  storage: Storage;
  /** The board's identity for the record (the Pi's model and gpiochip), or null. */
  boardDetail?: string | null;
  /** The installer: the CLI's actor. */
  actor: string;
  say: Say;
  answers: AnswerSource;
  out: (text: string) => void;
  /** Each wait for an input or a reader ends after this. */
  timeoutMs: number;
  /** Answer "yes" to the output questions (relay, buzzer) without asking: a script's run. */
  confirmOutputs: boolean;
  /** Steps skipped ahead, with the reason (--skip STEP=REASON). */
  skip: ReadonlyMap<string, string>;
  /** Sends a line to the simulation channel (nothing on a real board). */
  announce?: (line: string) => void;
  /** Told of each reader probe as a door's walk makes it (the simulation channel plays sim readers). */
  registerProbe?: (probe: ReaderProbe) => void;
  now?: () => number;
}

type StepOutcome = Omit<CommissionStep, 'id'>;
type Waited<T> = { ok: T } | { timeout: true } | { answer: Answer };

/** How long the buzzer sounds, and how long the lock stays released when nobody is asked. */
const BUZZ_MS = 1000;
const FLAG_HOLD_MS = 1000;

export class Commissioning {
  private readonly o: CommissionOptions;
  private readonly now: () => number;
  private readonly secure: Record<string, boolean>;
  private readonly levelWaiters = new Set<(name: string, active: boolean) => void>();
  private current:
    | { door: DoorConfig; startedAt: number; steps: CommissionStep[]; probes: ReaderProbe[] }
    | undefined;
  private aborted = false;
  /** The steps of every door, in order; what --skip may name. */
  readonly stepIds: Map<string, string[]>;

  constructor(options: CommissionOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.secure = secureLevels(options.config.doors);
    options.board.onInput((name, active) => {
      for (const w of [...this.levelWaiters]) w(name, active);
    });
    this.stepIds = new Map(options.config.doors.map((d) => [d.id, stepsOf(d)]));
  }

  /** Every lock secured and every buzzer off, now. Never throws. */
  secureAll(): void {
    for (const [name, level] of Object.entries(this.secure)) {
      try {
        this.o.board.write(name, level);
      } catch {
        // a pin that cannot be written is reported by close()
      }
    }
  }

  /** Walks one door; returns its record's row (undefined when aborted: abort() wrote it). */
  async door(door: DoorConfig): Promise<JournalRow | undefined> {
    const { say, out, config } = this.o;
    const probes = readersOf(door, config).map(({ reader }) => readerProbe(reader));
    this.current = { door, startedAt: this.now(), steps: [], probes };
    out(`\n${say('header', { door: door.id, name: door.name, board: this.o.board.kind })}\n`);
    out(
      `${say(this.o.answers.interactive ? 'wait_hint' : 'wait_hint_scripted', { s: Math.round(this.o.timeoutMs / 1000) })}\n`,
    );
    for (const p of probes) {
      this.o.registerProbe?.(p);
      p.start();
    }
    await this.settleInputs(door);
    const n = doorPinNames(door.id);

    await this.step('lock_release', () => this.lockRelease(door));
    await this.step('lock_relock', async () => {
      this.secureAll();
      return this.fromAnswer(await this.ask('lock_relock', {}, true));
    });
    if (door.buzzer) await this.step('buzzer', () => this.buzzer(n.buzzer));
    await this.step('contact_open', () => this.edge(n.contact, true, 'contact_open', 'contact_reset'));
    await this.step('contact_closed', () =>
      this.edge(n.contact, false, 'contact_closed', 'contact_reset_closed'),
    );
    if (door.exitButton)
      await this.step('exit_button', () => this.pulse(n.exitButton, 'exit_button', 'exit_button_reset'));
    if (door.tamper) await this.step('tamper', () => this.pulse(n.tamper, 'tamper', 'tamper_reset'));
    for (const probe of probes) {
      await this.step(`reader_card:${probe.config.id}`, () => this.readerCard(probe));
      await this.step(`reader_unplugged:${probe.config.id}`, () => this.readerUnplugged(probe));
    }
    await Promise.all(probes.map((p) => p.stop()));
    if (this.aborted) return undefined;
    return this.finish(commissionOutcome(this.current.steps));
  }

  /**
   * A signal: every lock secured at once, the door in progress recorded as interrupted (with the
   * steps it had), and no further step. Synchronous, for a signal handler.
   */
  abort(signal: string): JournalRow | undefined {
    this.secureAll();
    if (this.aborted) return undefined;
    this.aborted = true;
    this.o.out(`\n${this.o.say('interrupted', { signal })}\n`);
    if (!this.current) return undefined;
    for (const p of this.current.probes) void p.stop();
    return this.finish('interrupted');
  }

  /** Releases the board with every lock secured. */
  close(): void {
    this.secureAll();
    this.o.board.close(this.secure);
  }

  // ---- steps ----

  private async step(id: string, run: () => Promise<StepOutcome>): Promise<void> {
    const cur = this.current!;
    if (this.aborted) return;
    const skipped = this.o.skip.get(id);
    let outcome: StepOutcome;
    if (skipped !== undefined)
      outcome = { result: 'skipped', reason: skipped, detail: null, answeredBy: 'flag' };
    else {
      this.o.announce?.(`waiting ${id}`);
      try {
        outcome = await run();
      } catch (err) {
        outcome = { result: 'failed', reason: (err as Error).message, detail: null };
      } finally {
        // Whatever the step did, the door leaves it secured.
        this.secureAll();
      }
    }
    if (this.aborted) return;
    cur.steps.push({ id, ...outcome });
    const { say, out } = this.o;
    const reason = outcome.reason ?? '—';
    out(
      `${outcome.result === 'passed' ? say('passed') : outcome.result === 'failed' ? say('failed', { reason }) : say('skipped', { reason })}\n`,
    );
    this.o.announce?.(`step ${id} ${outcome.result}`);
  }

  private async lockRelease(door: DoorConfig): Promise<StepOutcome> {
    const lock = doorPinNames(door.id).lock;
    const holdMs = this.o.confirmOutputs ? FLAG_HOLD_MS : door.unlockMs;
    this.o.board.write(lock, lockOutputLevel(door.lock, false));
    // Secured again after the door's own unlock time even if nobody answers.
    const relock = setTimeout(() => this.secureAll(), holdMs);
    try {
      const answer = await this.ask('lock_release', { s: Math.round(holdMs / 1000) }, true);
      if (this.o.confirmOutputs) await sleep(holdMs);
      return this.fromAnswer(answer);
    } finally {
      clearTimeout(relock);
      this.secureAll();
    }
  }

  private async buzzer(name: string): Promise<StepOutcome> {
    this.o.board.write(name, true);
    const off = setTimeout(() => this.o.board.write(name, false), BUZZ_MS);
    try {
      const answer = await this.ask('buzzer', {}, true);
      if (this.o.confirmOutputs) await sleep(BUZZ_MS);
      return this.fromAnswer(answer);
    } finally {
      clearTimeout(off);
      this.o.board.write(name, false);
    }
  }

  /** Waits for `pin` to go to `to` (first back to `!to` if it is there already). */
  private async edge(pin: string, to: boolean, prompt: MessageKey, reset: MessageKey): Promise<StepOutcome> {
    if (this.o.board.readInput(pin) === to) {
      this.o.out(`${this.o.say(reset)}\n`);
      const back = await this.waitLevel(pin, !to);
      if (!('ok' in back)) return this.notSeen(back);
    }
    this.o.out(`${this.o.say(prompt)}\n`);
    const r = await this.waitLevel(pin, to);
    return 'ok' in r ? passed(`${pin}: ${to ? 'active' : 'inactive'}`) : this.notSeen(r);
  }

  /** Waits for `pin` to go active and back (a button pressed and released, a switch opened and closed). */
  private async pulse(pin: string, prompt: MessageKey, reset: MessageKey): Promise<StepOutcome> {
    const first = await this.edge(pin, true, prompt, reset);
    if (first.result !== 'passed') return first;
    const r = await this.waitLevel(pin, false);
    return 'ok' in r ? passed(`${pin}: active, then inactive`) : this.notSeen(r);
  }

  private async readerCard(probe: ReaderProbe): Promise<StepOutcome> {
    const { say, out } = this.o;
    const id = probe.config.id;
    if (probe.online() !== true) {
      out(`${say('reader_wait_online', { reader: id, path: probe.config.path })}\n`);
      const r = await this.waitProbe(probe, 'status', (s) => s.online);
      if (!('ok' in r)) return this.notSeen(r, `offline (${probe.reason()})`);
    }
    out(`${say('reader_card', { reader: id })}\n`);
    const r = await this.waitProbe(probe, 'badge', () => true);
    if (!('ok' in r)) return this.notSeen(r);
    out(`${say('reader_card_read', { masked: r.ok.masked, format: r.ok.format })}\n`);
    return passed(r.ok.masked);
  }

  private async readerUnplugged(probe: ReaderProbe): Promise<StepOutcome> {
    const { say, out } = this.o;
    const { id, protocol } = probe.config;
    const note = protocol === 'wiegand-bridge' ? '' : say('reader_unplug_note_uart', { protocol });
    out(`${say('reader_unplugged', { reader: id, note })}\n`);
    const gone = await this.waitProbe(probe, 'status', (s) => !s.online);
    if (!('ok' in gone)) return this.notSeen(gone);
    const reason = (gone.ok as { reason: string }).reason;
    out(`${say('reader_replug', { reason })}\n`);
    const back = await this.waitProbe(probe, 'status', (s) => s.online);
    if (!('ok' in back)) return this.notSeen(back, `went offline (${reason}) but did not come back`);
    return passed(`offline (${reason}), then online again`);
  }

  // ---- questions and waits ----

  /** A question; `output` questions are answered by --confirm-outputs when given. */
  private async ask(
    key: MessageKey,
    vars: Record<string, string | number>,
    output: boolean,
  ): Promise<Answer> {
    const { say, out, answers } = this.o;
    out(`${say(key, vars)} [y/n/s] `);
    if (output && this.o.confirmOutputs) {
      out('y (--confirm-outputs)\n');
      return { kind: 'yes', by: 'flag' };
    }
    for (;;) {
      const line = await answers.next();
      if (!answers.interactive) out(`${line ?? ''}\n`);
      if (line === null) return { kind: 'no', reason: 'no answer (the input ended)', by: 'installer' };
      const a = parseAnswer(line);
      if (a) return a;
      out(`${say('answer_again')}\n`);
    }
  }

  private fromAnswer(a: Answer): StepOutcome {
    if (a.kind === 'yes') return { result: 'passed', reason: null, detail: null, answeredBy: a.by };
    if (a.kind === 'skip') return { result: 'skipped', reason: a.reason, detail: null, answeredBy: a.by };
    return { result: 'failed', reason: a.reason ?? 'the installer said no', detail: null, answeredBy: a.by };
  }

  private notSeen(r: { timeout: true } | { answer: Answer }, detail: string | null = null): StepOutcome {
    if ('answer' in r) return { ...this.fromAnswer(r.answer), detail };
    return {
      result: 'failed',
      reason: `timeout: nothing seen within ${Math.round(this.o.timeoutMs / 1000)} s`,
      detail,
    };
  }

  /** Resolves with the first value `subscribe` settles with, a timeout, or a line typed at the terminal. */
  private async wait<T>(subscribe: (settle: (v: T) => void) => () => void): Promise<Waited<T>> {
    const typed = this.o.answers.during();
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<Waited<T>>((resolve) => {
        unsubscribe = subscribe((v) => resolve({ ok: v }));
        timer = setTimeout(() => resolve({ timeout: true }), this.o.timeoutMs);
        void typed.line.then((line) => {
          const a = line === null ? null : parseAnswer(line);
          // At a wait only a skip or a failure means anything; anything else is ignored.
          if (a && a.kind !== 'yes') resolve({ answer: a });
        });
      });
    } finally {
      unsubscribe();
      clearTimeout(timer);
      typed.cancel();
    }
  }

  private waitLevel(pin: string, level: boolean): Promise<Waited<true>> {
    return this.wait<true>((settle) => {
      if (this.o.board.readInput(pin) === level) {
        settle(true);
        return () => {};
      }
      const w = (name: string, active: boolean) => {
        if (name === pin && active === level) settle(true);
      };
      this.levelWaiters.add(w);
      return () => this.levelWaiters.delete(w);
    });
  }

  private waitProbe<E extends 'status' | 'badge'>(
    probe: ReaderProbe,
    event: E,
    match: (v: Parameters<Listener<E>>[0]) => boolean,
  ): Promise<Waited<Parameters<Listener<E>>[0]>> {
    return this.wait((settle) => {
      const l = ((v: Parameters<Listener<E>>[0]) => {
        if (match(v)) settle(v);
      }) as Listener<E>;
      (probe.on as (e: E, l: Listener<E>) => void)(event, l);
      return () => (probe.off as (e: E, l: Listener<E>) => void)(event, l);
    });
  }

  /** The inputs report their first stable level after their debounce time: wait for it (bounded). */
  private async settleInputs(door: DoorConfig): Promise<void> {
    const n = doorPinNames(door.id);
    const pins = [n.contact, ...(door.exitButton ? [n.exitButton] : []), ...(door.tamper ? [n.tamper] : [])];
    const deadline = this.now() + 3000;
    while (pins.some((p) => this.o.board.readInput(p) === undefined) && this.now() < deadline)
      await sleep(10);
  }

  /** Signs and journals the door's record. */
  private finish(outcome: CommissionOutcome): JournalRow {
    const cur = this.current!;
    this.current = undefined;
    const { config, storage, actor, board, say, out } = this.o;
    const readers: CommissionedReader[] = readersOf(cur.door, config).map(({ reader, role }) => {
      const probe = cur.probes.find((p) => p.config.id === reader.id)!;
      const card = cur.steps.find((s) => s.id === `reader_card:${reader.id}` && s.result === 'passed');
      return {
        id: reader.id,
        role,
        path: reader.path,
        device: probe.device(),
        protocol: reader.protocol,
        firmware: probe.firmware(),
        testCard: card?.detail ?? null,
      };
    });
    const finishedAt = this.now();
    const data = signCommissioning(
      cur.door.id,
      actor,
      {
        outcome,
        board: board.kind,
        boardDetail: this.o.boardDetail ?? null,
        mode: this.o.answers.interactive ? 'interactive' : 'scripted',
        startedAt: cur.startedAt,
        finishedAt,
        steps: cur.steps,
        readers,
        wiring: doorWiring(cur.door, config.readers),
        version: sekishoVersion(),
        keyId: storage.secrets.keyId,
      },
      storage.secrets.signingKey,
    );
    const row = storage.journal.append({
      type: 'door_commissioned',
      at: finishedAt,
      door: cur.door.id,
      person: null,
      actor,
      data,
    });
    const count = (r: string) => cur.steps.filter((s) => s.result === r).length;
    out(
      `${say('summary', {
        door: cur.door.id,
        outcome: say(`outcome_${outcome}`),
        p: count('passed'),
        f: count('failed'),
        s: count('skipped'),
        seq: row.seq,
      })}\n`,
    );
    this.o.announce?.(`done ${cur.door.id} ${outcome}`);
    return row;
  }
}

type Listener<E extends 'status' | 'badge'> = E extends 'status'
  ? (s: { online: boolean; reason: string }) => void
  : (b: { masked: string; format: string }) => void;

function passed(detail: string | null): StepOutcome {
  return { result: 'passed', reason: null, detail };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readersOf(door: DoorConfig, config: Config) {
  const roles: ['entry' | 'exit', string | undefined][] = [
    ['entry', door.entryReader],
    ['exit', door.exitReader],
  ];
  return roles.flatMap(([role, id]) => {
    const reader = id === undefined ? undefined : config.readers.find((r) => r.id === id);
    return reader ? [{ role, reader }] : [];
  });
}

/** The ids of a door's steps, in order (docs/operations.md, "Commissioning a door"). */
export function stepsOf(door: DoorConfig): string[] {
  return [
    'lock_release',
    'lock_relock',
    ...(door.buzzer ? ['buzzer'] : []),
    'contact_open',
    'contact_closed',
    ...(door.exitButton ? ['exit_button'] : []),
    ...(door.tamper ? ['tamper'] : []),
    ...[door.entryReader, ...(door.exitReader ? [door.exitReader] : [])].flatMap((r) => [
      `reader_card:${r}`,
      `reader_unplugged:${r}`,
    ]),
  ];
}
