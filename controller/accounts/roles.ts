/**
 * Roles and what each may do, checked on the server for every route (POLICY §8(2)①②).
 *
 * - admin: everything, including accounts; approves account and role requests.
 * - manager (情報基盤管理者, the infrastructure manager): people, badges, grants, alarms, door
 *   modes, approves access, schedule, visitor and equipment requests.
 * - operator: the duty desk: watches, acknowledges alarms, marks badges lost, files requests,
 *   issues and takes back visitor badges, drives the simulation.
 * - auditor: read-only, plus "verify now" and the signed evidence export.
 * - monitor: a wall screen: the Live and Alarms pages only, read-only (no acknowledgement, no other
 *   page, no change through the API). Its sessions do not end for idleness and are bound to the
 *   screen's address (controller/accounts/users.ts, `MonitorBinding`); it files and approves nothing.
 *
 * API tokens (controller/accounts/tokens.ts) have no role: each carries scopes, and a scope is a
 * fixed set of the permissions below (`SCOPE_PERMISSIONS`). Only reading and the simulated hardware
 * are in any scope: no token files or approves a request, acknowledges an alarm, marks a badge or
 * changes an account.
 */
import { z } from 'zod';

export const Role = z.enum(['admin', 'manager', 'operator', 'auditor', 'monitor']);
export type Role = z.infer<typeof Role>;
export const ROLES = Role.options;

export const PERMISSIONS = [
  'live.read',
  'log.read',
  'log.export',
  'alarms.read',
  'alarms.ack',
  'people.read',
  'people.write',
  'badges.lost',
  'badges.revoke',
  'doors.mode',
  'requests.read',
  'requests.create',
  'requests.approve',
  'accounts.approve',
  'visitors.handle',
  'integrity.read',
  'integrity.verify',
  'integrity.export',
  'reports.read',
  'users.read',
  'users.manage',
  'sim.use',
  'api.docs',
  'metrics.read',
  'self',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ALL: readonly Permission[] = PERMISSIONS;

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(ALL),
  manager: new Set(ALL.filter((p) => p !== 'users.manage' && p !== 'accounts.approve')),
  operator: new Set<Permission>([
    'live.read',
    'log.read',
    'alarms.read',
    'alarms.ack',
    'people.read',
    'badges.lost',
    'requests.read',
    'requests.create',
    'visitors.handle',
    'integrity.read',
    'sim.use',
    'api.docs',
    'metrics.read',
    'self',
  ]),
  auditor: new Set<Permission>([
    'live.read',
    'log.read',
    'log.export',
    'alarms.read',
    'people.read',
    'requests.read',
    'integrity.read',
    'integrity.verify',
    'integrity.export',
    'reports.read',
    'users.read',
    'api.docs',
    'metrics.read',
    'self',
  ]),
  // Watching only: `self` is logging out and its own password.
  monitor: new Set<Permission>(['live.read', 'alarms.read', 'self']),
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** The scopes of an API token. */
export const Scope = z.enum(['metrics', 'read', 'sim']);
export type Scope = z.infer<typeof Scope>;
export const SCOPES = Scope.options;

/**
 * What each scope allows, as permissions: the one table of token rights. A token may call a route
 * whose permission is in one of its scopes, except the HTML pages (those are for people).
 * - metrics: GET /metrics, for Prometheus.
 * - read: the live status and its event stream, the entry/exit log as the Log page shows it (no CSV
 *   export, no raw journal), alarms, the chain's integrity state and public key, the OpenAPI document.
 * - sim: the simulated hardware (badges, contacts, exit button, tamper, outputs); those routes exist
 *   only when the board is simulated.
 */
export const SCOPE_PERMISSIONS = {
  metrics: ['metrics.read'],
  read: ['live.read', 'log.read', 'alarms.read', 'integrity.read', 'api.docs'],
  sim: ['sim.use'],
} as const satisfies Record<Scope, readonly Permission[]>;

/** The permissions some scope grants: the only ones a token can ever hold. */
export type TokenPermission = (typeof SCOPE_PERMISSIONS)[Scope][number];

/** Whether a token with these scopes holds the permission. */
export function scopesAllow(scopes: readonly Scope[], permission: Permission): boolean {
  return scopes.some((s) => (SCOPE_PERMISSIONS[s] as readonly Permission[]).includes(permission));
}
