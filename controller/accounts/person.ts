/**
 * Who is behind a credential (POLICY §4(3)): approvals compare people, not credentials.
 *
 * Every journal actor resolves to a person or to "no person":
 * - `user:<username>` — a dashboard session: the account's person, named by its username.
 * - `cli:<os user>` — a command run directly by an OS account; `cli:<sudo user>/<os user>` — run
 *   through sudo, by the sudo user behind it. The person is the first name, unless it is a system
 *   account (root, the service account `sekisho`), which is no person.
 * - `token:<name>` — an API token: no person (a token can act only within its scope).
 * - anything else (`system`, a reader, an old free-form actor): no person.
 *
 * One human is one name: an OS account and the dashboard account of the same person carry the same
 * name (docs/dashboard.md), so `cli:tanaka/root` and `user:tanaka` are the same person. This holds
 * for honest operators; root on the device can run anything as anyone.
 */

/** OS accounts that stand for no person: the superuser and the service account. */
export const SYSTEM_OS_USERS: ReadonlySet<string> = new Set(['root', 'sekisho', 'nobody']);

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export type Credential = 'session' | 'cli' | 'token' | 'other';

export interface Identity {
  /** The journal's actor string. */
  actor: string;
  credential: Credential;
  /** The person behind the actor, or null for no person. */
  person: string | null;
}

/** The identity behind a journal actor string (see the module comment). */
export function identityOf(actor: string | null | undefined): Identity {
  const a = actor ?? '';
  const colon = a.indexOf(':');
  const scheme = colon < 0 ? '' : a.slice(0, colon);
  const rest = colon < 0 ? '' : a.slice(colon + 1);
  if (scheme === 'user' && NAME.test(rest))
    return { actor: a, credential: 'session', person: rest.toLowerCase() };
  if (scheme === 'token') return { actor: a, credential: 'token', person: null };
  if (scheme === 'cli') {
    const [first = '', second, ...more] = rest.split('/');
    const valid = NAME.test(first) && more.length === 0 && (second === undefined || NAME.test(second));
    const person = valid && !SYSTEM_OS_USERS.has(first) ? first.toLowerCase() : null;
    return { actor: a, credential: 'cli', person };
  }
  return { actor: a, credential: 'other', person: null };
}

/** The person behind a journal actor, or null. */
export function personOf(actor: string | null | undefined): string | null {
  return identityOf(actor).person;
}

/** True when both actors are one person; "no person" is never the same as anyone. */
export function samePerson(a: string | null | undefined, b: string | null | undefined): boolean {
  const pa = personOf(a);
  return pa !== null && pa === personOf(b);
}

/**
 * The CLI's actor from the OS: `cli:<sudo user>/<os user>` under sudo, else `cli:<os user>`.
 * `env` is process.env (SUDO_USER); a sudo user equal to the OS user is not repeated.
 */
export function cliActor(osUser: string, env: Readonly<Record<string, string | undefined>>): string {
  const sudo = env.SUDO_USER;
  if (sudo && NAME.test(sudo) && sudo !== osUser) return `cli:${sudo}/${osUser}`;
  return `cli:${osUser}`;
}
