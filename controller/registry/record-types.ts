/** The journal record types the registry writes. */
export const REGISTRY_RECORD_TYPES = [
  'person_added',
  'person_updated',
  'badge_added',
  'badge_status_changed',
  'permission_granted',
  'permission_revoked',
  'visitor_badge_issued',
  'visitor_badge_in_use',
  'visitor_badge_returned',
  'escort_permission_granted',
  'escort_permission_revoked',
  'badge_found',
] as const;
export type RegistryRecordType = (typeof REGISTRY_RECORD_TYPES)[number];
