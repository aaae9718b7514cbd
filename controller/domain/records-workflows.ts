/**
 * The record types of the manager's workflows of issue #18: an approved visitor-badge request
 * replaced by its approved amendment, and a lost badge reported found. (A withdrawal after approval
 * is a `request_withdrawn` row with `afterApproval`.) `actor` column = who did it; `person` column =
 * the person concerned, if any.
 */
import { z } from 'zod';
import { BadgeStatus } from './types.js';

/**
 * An amendment (`amendment`, itself a visitor-badge request) was approved by a different person:
 * the approved request it amends (`requestId`) is cancelled in the same transaction, and the card is
 * handed out for the amendment instead. Actor: the amendment's approver.
 */
export const RequestAmendedRecord = z.object({
  requestId: z.number(),
  amendment: z.number(),
  kind: z.string(),
  requestedBy: z.string(),
});
export type RequestAmendedRecord = z.infer<typeof RequestAmendedRecord>;

/**
 * A badge reported lost was found (`note`: where, by whom). It is not valid again: it ends revoked
 * (`status`), its card usable only once enrolled again through a request a second person approves.
 * For a visitor card, the card is also taken back (`visitor_badge_returned` in the same transaction).
 */
export const BadgeFoundRecord = z.object({
  badgeId: z.string(),
  personId: z.string(),
  note: z.string(),
  status: BadgeStatus,
});
export type BadgeFoundRecord = z.infer<typeof BadgeFoundRecord>;

export const WorkflowRecordSchemas = {
  request_amended: RequestAmendedRecord,
  badge_found: BadgeFoundRecord,
} as const;
