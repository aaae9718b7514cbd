/**
 * The installer's answers, one line each: from the terminal (interactive), or from stdin when it is
 * not a terminal (a script). A question takes the next line; while an input is awaited, a line typed
 * at a terminal may skip or fail the step, while a script's lines wait for the next question (a
 * script cannot know when a wait begins).
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';

export type Answer =
  | { kind: 'yes'; by: 'installer' | 'flag' }
  | { kind: 'no'; reason: string | null; by: 'installer' | 'flag' }
  | { kind: 'skip'; reason: string; by: 'installer' | 'flag' };

/** A line as an answer, or null when it is none of `y`, `n [reason]`, `s REASON` (`f` = `n`). */
export function parseAnswer(line: string): Answer | null {
  const m = /^\s*(\S+)\s*(.*?)\s*$/.exec(line);
  if (!m) return null;
  const word = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (['y', 'yes', 'はい', 'ok'].includes(word) && rest === '') return { kind: 'yes', by: 'installer' };
  if (['n', 'no', 'いいえ', 'f', 'fail'].includes(word))
    return { kind: 'no', reason: rest || null, by: 'installer' };
  if (['s', 'skip', '省略'].includes(word) && rest !== '')
    return { kind: 'skip', reason: rest, by: 'installer' };
  return null;
}

export class AnswerSource {
  readonly interactive: boolean;
  private readonly rl: Interface;
  private readonly queue: string[] = [];
  private readonly takers: ((line: string | null) => void)[] = [];
  private ended = false;

  constructor(input: Readable & { isTTY?: boolean }, interactive = input.isTTY === true) {
    this.interactive = interactive;
    this.rl = createInterface({ input, terminal: false });
    this.rl.on('line', (line) => {
      const taker = this.takers.shift();
      if (taker) taker(line);
      else this.queue.push(line);
    });
    this.rl.on('close', () => {
      this.ended = true;
      for (const taker of this.takers.splice(0)) taker(null);
    });
  }

  /** The next line, or null once the input has ended. */
  next(): Promise<string | null> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /**
   * For a wait: the next line typed at a terminal, and a way to stop listening for it (the line then
   * goes to whoever asks next). A script's lines are never taken here (the promise never settles).
   */
  during(): { line: Promise<string | null>; cancel: () => void } {
    if (!this.interactive) return { line: new Promise(() => undefined), cancel: () => undefined };
    let taker: ((line: string | null) => void) | undefined;
    const line = new Promise<string | null>((resolve) => {
      const queued = this.queue.shift();
      if (queued !== undefined) resolve(queued);
      else if (this.ended) resolve(null);
      else {
        taker = resolve;
        this.takers.push(resolve);
      }
    });
    return {
      line,
      cancel: () => {
        const i = taker ? this.takers.indexOf(taker) : -1;
        if (i >= 0) this.takers.splice(i, 1);
      },
    };
  }

  close(): void {
    this.rl.close();
  }
}
