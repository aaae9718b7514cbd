/**
 * Roles and what each may do, checked on the server for every route (POLICY §8(2)①②).
 *
 * - admin: everything, including accounts; approves account and role requests.
 * - manager (情報基盤管理者, the infrastructure manager): people, badges, grants, alarms, door
 *   modes, approves access, schedule, visitor and equipment requests.
 * - operator: the duty desk: watches, acknowledges alarms, marks badges lost, files requests,
 *   issues and takes back visitor badges, drives the simulation.
 * - auditor: read-only, plus "verify now" and the signed evidence export.
 */
import { z } from 'zod';

export const Role = z.enum(['admin', 'manager', 'operator', 'auditor']);
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
    'self',
  ]),
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
