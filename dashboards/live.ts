/**
 * The live feed: after every committed journal row (and every administrative change made from the
 * dashboard) the open event streams are told to send a fresh view. Rows in a burst are coalesced
 * into one update. The row listener only sets a timer: nothing here runs on the door's critical
 * path.
 */
import type { DashboardController } from './service.js';

export interface LiveClient {
  /** Send the current view; `memo` lets clients of one update share rendered parts. */
  push(memo: Map<string, unknown>): void;
}

export class LiveHub {
  readonly #clients = new Set<LiveClient>();
  readonly #coalesceMs: number;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(controller: Pick<DashboardController, 'onRow'>, options: { coalesceMs?: number } = {}) {
    this.#coalesceMs = options.coalesceMs ?? 100;
    controller.onRow(() => this.notify());
  }

  get size(): number {
    return this.#clients.size;
  }

  add(client: LiveClient): void {
    this.#clients.add(client);
  }

  remove(client: LiveClient): void {
    this.#clients.delete(client);
  }

  /** Something changed: update every stream soon. */
  notify(): void {
    if (this.#closed || this.#timer || this.#clients.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const memo = new Map<string, unknown>();
      for (const c of [...this.#clients]) c.push(memo);
    }, this.#coalesceMs);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#clients.clear();
  }
}
