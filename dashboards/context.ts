/** The parts of the dashboard that route modules share. */

import type { SessionStore } from '../controller/accounts/sessions.js';
import type { TokenStore } from '../controller/accounts/tokens.js';
import type { UserStore } from '../controller/accounts/users.js';
import type { RequestStore } from '../controller/approvals/requests.js';
import type { KnownRecordType, RecordDataOf } from '../controller/domain/index.js';
import type { LoginLimiter } from './auth/limiter.js';
import type { Guard } from './http.js';
import type { Integrity } from './integrity.js';
import type { LiveHub } from './live.js';
import type { LogIndex } from './logindex.js';
import type { MonitorRefusals } from './monitor.js';
import type { DashboardController } from './service.js';

export interface Dash {
  controller: DashboardController;
  guard: Guard;
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  limiter: LoginLimiter;
  requests: RequestStore;
  index: LogIndex;
  integrity: Integrity;
  hub: LiveHub;
  /** The site's time zone. */
  tz: string;
  /** Set the Secure flag on cookies. */
  secureCookies: boolean;
  simulated: boolean;
  /** How long before a session's idle timeout its pages warn (ms). */
  sessionWarningMs: number;
  /** A monitor's session lifetime (ms); it has no idle timeout. */
  monitorMaxAgeMs: number;
  /** How long a page's lost live stream may stay lost before the page says so (ms). */
  streamLostMs: number;
  /** Refuses (and journals) a monitor used away from its screen. */
  monitorRefusals: MonitorRefusals;
  now(): number;
  /** Appends one administrative journal row. */
  record<T extends KnownRecordType>(
    type: T,
    actor: string | null,
    data: RecordDataOf<T>,
    extra?: { door?: string | null; person?: string | null },
  ): void;
}
