/**
 * The names the dashboard answers to (DNS rebinding): a page of another site whose name was made
 * to resolve to this controller sends that name in the Host header, and is refused before any
 * session is looked at. The Origin check of changes (http.ts, sameOrigin) uses the same list.
 */
import { isIP } from 'node:net';

declare module 'fastify' {
  interface FastifyInstance {
    /** The names this dashboard answers to. */
    sekishoHosts: HostNames;
  }
}

/** The host name of a Host header (`name`, `name:port`, `[v6]:port`), lower case; null if malformed. */
export function hostOfHeader(value: string | undefined): string | null {
  if (value === undefined) return null;
  const v = value.trim().toLowerCase();
  let name: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0 || !/^(:\d{1,5})?$/.test(v.slice(end + 1))) return null;
    name = v.slice(1, end);
    if (isIP(name) !== 6) return null;
  } else {
    const m = /^([^:]+)(:\d{1,5})?$/.exec(v);
    if (!m) return null;
    name = m[1]!.replace(/\.$/, '');
  }
  return name === '' ? null : name;
}

/** How often, at most, a name not in the list makes the machine's own names be read again. */
const REFRESH_MS = 10_000;

export class HostNames {
  readonly #fixed: Set<string>;
  readonly #machine: (() => readonly string[]) | undefined;
  #machineNames = new Set<string>();
  #readAt = Number.NEGATIVE_INFINITY;

  /**
   * `fixed`: names always allowed. `machine`: the machine's own names and addresses, read now and
   * again (at most every 10 s) when a request names something not in the list.
   */
  constructor(fixed: readonly string[], machine?: () => readonly string[]) {
    this.#fixed = new Set(fixed.map((n) => n.toLowerCase().replace(/\.$/, '')));
    this.#machine = machine;
    this.#refresh();
  }

  allows(name: string | null): boolean {
    if (name === null) return false;
    if (this.#fixed.has(name) || this.#machineNames.has(name)) return true;
    if (this.#machine && Date.now() - this.#readAt >= REFRESH_MS) {
      this.#refresh();
      return this.#machineNames.has(name);
    }
    return false;
  }

  /** Every name allowed now (doctor, docs). */
  list(): string[] {
    return [...new Set([...this.#fixed, ...this.#machineNames])];
  }

  #refresh(): void {
    if (!this.#machine) return;
    this.#readAt = Date.now();
    this.#machineNames = new Set(this.#machine().map((n) => n.toLowerCase()));
  }
}
