/**
 * The vocabulary shared by every part of Sekisho. Pure types and zod schemas: no I/O.
 * Times are UTC milliseconds since the epoch, always passed in by the caller.
 */
import { z } from 'zod';

export const PersonCategory = z.enum(['staff', 'contractor', 'visitor']);
export type PersonCategory = z.infer<typeof PersonCategory>;

export const BadgeStatus = z.enum(['active', 'lost', 'revoked']);
export type BadgeStatus = z.infer<typeof BadgeStatus>;

export const Direction = z.enum(['in', 'out']);
export type Direction = z.infer<typeof Direction>;

/**
 * Every reason a decision can carry. `granted` and `override_granted` are the only ones that open
 * the door. `storage_unavailable` is set by the shell, not by decide(): the decision could not be
 * recorded, so the door was not opened.
 *
 * The visit rules (visits.ts) add: `escort_required` (a visitor without an escort — decide() gives
 * it to every visitor at an entry reader; stepVisits() turns it into a grant when an escort badges
 * within the window), `too_many_visitors` (the escort already has the maximum), `escort_exit_refused`
 * (an escort badging out while their visitors are inside) and `passback` (hard anti-passback).
 */
export const DecisionReason = z.enum([
  'granted',
  'override_granted',
  'unknown_badge',
  'badge_lost',
  'badge_revoked',
  'expired',
  'not_yet_valid',
  'person_inactive',
  'outside_schedule',
  'door_not_permitted',
  'lockdown',
  'storage_unavailable',
  'escort_required',
  'too_many_visitors',
  'escort_exit_refused',
  'passback',
  /** The clock is not known to be synchronised and `clock.whenUnsynchronised` refuses this grant (clock.ts). */
  'clock_unsynchronised',
  /** The door requires commissioning (`doors[].requireCommissioning`) and has no valid one (access.ts rule 0). */
  'door_not_commissioned',
  /** The controller is shutting down for a power failure: the badge is recorded, never decided (runtime). */
  'shutting_down',
]);
export type DecisionReason = z.infer<typeof DecisionReason>;

/** A person as the domain sees them (the store keeps more, e.g. notes). */
export interface Person {
  id: string;
  /** The ID shown on their ID card (staff number, contractor company ID, visitor pass number). */
  displayId: string;
  name: string;
  category: PersonCategory;
  /** Inclusive start of validity, UTC ms; null = no start limit. */
  validFrom: number | null;
  /** Exclusive end of validity (transfer, retirement, contract end), UTC ms; null = open-ended. */
  validUntil: number | null;
  active: boolean;
  /** May open the door while the controller is in lockdown. */
  lockdownOverride: boolean;
  /** The reading of the name (フリガナ), katakana; absent when none was given. */
  reading?: string;
}

export interface Badge {
  id: string;
  personId: string;
  /** HMAC-SHA-256 of the normalised credential, hex. The plain credential is never stored. */
  credentialHash: string;
  /** e.g. "••••3D4E" — the only form shown to people. */
  masked: string;
  status: BadgeStatus;
  validFrom: number | null;
  validUntil: number | null;
}

/** A person's permission for one door, limited by a named schedule from the config. */
export interface DoorPermission {
  personId: string;
  doorId: string;
  scheduleId: string;
}

/** A decoded credential as it leaves the firmware bridge. */
export interface BadgeRead {
  readerId: string;
  /** Normalised credential, see firmware-bridge normaliseCredential(). Never logged in clear. */
  credential: string;
  /** Which codec produced it: em4100, wiegand26, wiegand34, line. */
  format: string;
  at: number;
}

/** Logical input names of a door. `active` means: door open / button pressed / tamper switch open. */
export const DoorInputRole = z.enum(['contact', 'exitButton', 'tamper']);
export type DoorInputRole = z.infer<typeof DoorInputRole>;

export const AlarmType = z.enum([
  'forced_open',
  'held_open',
  'door_tamper',
  'reader_offline',
  'reader_tamper',
  'controller_fault',
  'storage_fault',
  /** The storage's file system is nearly full (domain/storage-space.ts): raised well before writes fail. */
  'storage_low',
  /** One person acted alone on the break-glass path (§4(3)); cleared by another person's review. */
  'break_glass',
  /** The UPS runs on battery (policy §7(3)③); cleared when mains power is back. */
  'power_failure',
  /** upsd cannot be read: a power failure would go unseen. */
  'power_monitor_offline',
  /** The journal's head is behind what it had signed or published (docs/journal.md). */
  'journal_truncated',
  // Raised by the visit rules (visits.ts):
  /** A visitor is inside without their escort (the escort left). One alarm per visitor. */
  'visitor_unescorted',
  /** The room became empty and was not closed and locked in time. */
  'room_unsecured',
  /** A visitor badge was not returned by the end of its validity. One alarm per visitor. */
  'visitor_badge_not_returned',
]);
export type AlarmType = z.infer<typeof AlarmType>;

/** The alarm types the visit rules raise and clear (per door, and per visitor where it applies). */
export const VisitAlarmType = z.enum(['visitor_unescorted', 'room_unsecured', 'visitor_badge_not_returned']);
export type VisitAlarmType = z.infer<typeof VisitAlarmType>;

/** The alarm types of the door machine and the shell. */
export type ControllerAlarmType = Exclude<AlarmType, VisitAlarmType>;

/** A visitor badge's lifecycle: issued at reception → in use (first entry, or handed over) → returned. */
export const VisitorBadgeStatus = z.enum(['issued', 'in_use', 'returned']);
export type VisitorBadgeStatus = z.infer<typeof VisitorBadgeStatus>;

/** What happens when an escort badges out while their visitors are still inside. */
export const EscortExitPolicy = z.enum(['refuse', 'allow_and_alarm']);
export type EscortExitPolicy = z.infer<typeof EscortExitPolicy>;

/** Anti-passback: off, soft (grant and record the violation) or hard (deny). */
export const AntiPassbackMode = z.enum(['off', 'soft', 'hard']);
export type AntiPassbackMode = z.infer<typeof AntiPassbackMode>;

export const AlarmSeverity = z.enum(['critical', 'major', 'minor', 'warning']);
export type AlarmSeverity = z.infer<typeof AlarmSeverity>;

export const DoorMode = z.enum(['normal', 'lockdown']);
export type DoorMode = z.infer<typeof DoorMode>;

/**
 * Why the lock changed. The door state machine uses the first five; `startup` and `shutdown` are
 * written by the shell when it secures the door on start and on a clean stop.
 */
export const LockCause = z.enum([
  'grant',
  'exit_request',
  'timeout',
  'closed',
  'lockdown',
  'startup',
  'shutdown',
]);
export type LockCause = z.infer<typeof LockCause>;
