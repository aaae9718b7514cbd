/**
 * The registry's record types (people, badges, door permissions), as `controller/registry/`
 * writes them. Its visitor-badge and escort-permission records are with the visit records
 * (`records.ts`), which the visit rules fold.
 */
import { z } from 'zod';
import { BadgeStatus, PersonCategory } from './types.js';

/** A person was added; `data` is the whole person. `person` column = that person. */
export const PersonAddedRecord = z.object({
  id: z.string(),
  displayId: z.string(),
  name: z.string(),
  category: PersonCategory,
  validFrom: z.number().nullable(),
  validUntil: z.number().nullable(),
  active: z.boolean(),
  lockdownOverride: z.boolean(),
  /** The reading (フリガナ), when one was given. */
  reading: z.string().optional(),
});
export type PersonAddedRecord = z.infer<typeof PersonAddedRecord>;

/** A person's fields changed: each changed field with its old and new value. */
export const PersonUpdatedRecord = z.object({
  id: z.string(),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
});
export type PersonUpdatedRecord = z.infer<typeof PersonUpdatedRecord>;

/** A badge was added (its credential only as an HMAC and masked). `person` = the holder. */
export const BadgeAddedRecord = z.object({
  badgeId: z.string(),
  personId: z.string(),
  credentialHash: z.string(),
  masked: z.string(),
  status: BadgeStatus,
  validFrom: z.number().nullable(),
  validUntil: z.number().nullable(),
});
export type BadgeAddedRecord = z.infer<typeof BadgeAddedRecord>;

export const BadgeStatusChangedRecord = z.object({
  badgeId: z.string(),
  personId: z.string(),
  from: BadgeStatus,
  status: BadgeStatus,
  reason: z.string().nullable(),
});
export type BadgeStatusChangedRecord = z.infer<typeof BadgeStatusChangedRecord>;

/** A permission for one door under one schedule was granted or revoked. `door`, `person` columns too. */
export const PermissionRecord = z.object({
  personId: z.string(),
  doorId: z.string(),
  scheduleId: z.string(),
});
export type PermissionRecord = z.infer<typeof PermissionRecord>;

export const RegistryRecordSchemas = {
  person_added: PersonAddedRecord,
  person_updated: PersonUpdatedRecord,
  badge_added: BadgeAddedRecord,
  badge_status_changed: BadgeStatusChangedRecord,
  permission_granted: PermissionRecord,
  permission_revoked: PermissionRecord,
} as const;
