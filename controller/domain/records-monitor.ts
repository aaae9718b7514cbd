/**
 * The record types of the wall screen's `monitor` role (controller/accounts/users.ts,
 * docs/dashboard.md "The wall screen"). Its logins and logouts are the accounts' own rows
 * (`login_succeeded`, `logout`); these record what only a monitor has: the address it is bound to,
 * the refusals of a session or login from another address, and an administrator ending its
 * sessions. `actor` column: who changed the binding or revoked (a user or the CLI's actor); null
 * for a refusal (the request's sender is not known to be anyone).
 */
import { z } from 'zod';

const account = { userId: z.string(), username: z.string() };

/** A monitor's screen address or name masking was set (`from`: what it was, null for none). */
export const MonitorBoundRecord = z.object({
  ...account,
  address: z.string(),
  maskNames: z.boolean(),
  from: z.object({ address: z.string().nullable(), maskNames: z.boolean() }).nullable(),
  via: z.literal('cli').optional(),
});
export type MonitorBoundRecord = z.infer<typeof MonitorBoundRecord>;

/**
 * A monitor was refused: a login or a session used from an address other than its screen's
 * (`address`), or a login before any address was bound (`unbound`). At most one row a minute per
 * account: `suppressed` counts the refusals since the previous row that got none.
 */
export const MonitorRefusedRecord = z.object({
  ...account,
  ip: z.string(),
  boundAddress: z.string().nullable(),
  why: z.enum(['address', 'unbound']),
  during: z.enum(['login', 'session']),
  suppressed: z.number().int().nonnegative(),
});
export type MonitorRefusedRecord = z.infer<typeof MonitorRefusedRecord>;

/** An administrator ended a monitor's sessions (the screen must log in again). */
export const MonitorRevokedRecord = z.object({ ...account, sessions: z.number().int().nonnegative() });
export type MonitorRevokedRecord = z.infer<typeof MonitorRevokedRecord>;

export const MonitorRecordSchemas = {
  monitor_bound: MonitorBoundRecord,
  monitor_refused: MonitorRefusedRecord,
  monitor_revoked: MonitorRevokedRecord,
} as const;
