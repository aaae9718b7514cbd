/**
 * The wall screen's `monitor` role on the dashboard's side: its sessions are bound to the screen's
 * address (a login or a session used from elsewhere is refused and journaled, at most once a minute
 * per account), and an account with masked names is never sent a name — not in the pages, not in
 * the JSON of the status, the live stream or the alarms.
 */
import { normaliseAddress, type User } from '../controller/accounts/users.js';
import type { ActiveAlarm } from '../controller/domain/index.js';
import type { ControllerStatus } from '../controller/runtime/index.js';
import type { Dash } from './context.js';
import { ApiError, type Principal } from './http.js';

/** Why a monitor may not be used from `ip`, or null when it may. */
export function monitorRefusal(user: User, ip: string): 'address' | 'unbound' | null {
  if (user.role !== 'monitor') return null;
  const bound = user.monitor?.address ?? null;
  if (bound === null) return 'unbound';
  return normaliseAddress(ip) === bound ? null : 'address';
}

/** Journals monitor refusals: the first of each minute per account, with how many were not. */
export class MonitorRefusals {
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly dash: Pick<Dash, 'users' | 'now' | 'controller'>) {}

  /** Journals (or counts) the refusal and answers the error to throw. */
  refuse(user: User, ip: string, why: 'address' | 'unbound', during: 'login' | 'session'): ApiError {
    const now = this.dash.now();
    const last = this.#last.get(user.id);
    if (last && now - last.at < 60_000) last.suppressed++;
    else {
      this.#last.set(user.id, { at: now, suppressed: 0 });
      if (this.#last.size > 1000) this.#last.delete(this.#last.keys().next().value!);
      try {
        this.dash.users.recordMonitorRefused(
          user,
          { ip, why, during, suppressed: last?.suppressed ?? 0 },
          now,
        );
      } catch (err) {
        // The refusal stands even when it cannot be journaled (a storage fault).
        this.dash.controller.log.warn('monitor refusal not journaled', { error: String(err) });
      }
    }
    return why === 'unbound'
      ? new ApiError(
          403,
          'monitor_unbound',
          'this monitor account has no screen address yet: an administrator sets it (Accounts page, or sekisho user monitor)',
        )
      : new ApiError(
          403,
          'monitor_wrong_address',
          'this monitor account may be used only from its screen’s address',
        );
  }
}

/** Whether what `principal` is sent must leave names out (a monitor with masked names). */
export function masksNames(principal: Principal | null): boolean {
  return principal?.kind === 'session' && principal.user.monitor?.maskNames === true;
}

/**
 * An active alarm without what may name someone: its detail, the person it is about, and the
 * acknowledgement's comment (free text).
 */
export function maskAlarm(a: ActiveAlarm): ActiveAlarm {
  const { person: _person, ...rest } = a;
  return { ...rest, detail: '', acknowledged: a.acknowledged ? { ...a.acknowledged, comment: '' } : null };
}

/** An alarm of the history without its detail and comment (free text that may name someone). */
export function maskEntry<E extends { detail: string; ackComment: string | null }>(e: E): E {
  return { ...e, detail: '', ackComment: e.ackComment === null ? null : '' };
}

/** The status with names left out: alarms' details, and who is inside (their count stays). */
export function maskStatus(s: ControllerStatus): ControllerStatus {
  return {
    ...s,
    alarms: s.alarms.map(maskAlarm),
    doors: s.doors.map((d) => ({ ...d, occupants: d.occupants.map((o) => ({ ...o, personId: '' })) })),
  };
}
