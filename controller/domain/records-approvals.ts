/**
 * The record types of separation of duties (POLICY §4(3)) beyond the request workflow's own
 * (records-accounts.ts): refusals of "no person", and the one break-glass path
 * (controller/approvals/break-glass.ts). `actor` column = the credential that acted; `person`
 * column = the registry person the request concerns, if any.
 */
import { z } from 'zod';

/** What a refused act was: filing, deciding, or acting alone. */
export const RefusedAction = z.enum(['create', 'approve', 'reject', 'withdraw', 'break_glass', 'review']);
export type RefusedAction = z.infer<typeof RefusedAction>;

/**
 * An act on a request refused because the credential stands for no person (a token, root, the
 * service account) or the role may not act alone: nothing else was written.
 */
export const RequestRefusedRecord = z.object({
  action: RefusedAction,
  kind: z.string(),
  requestId: z.number().optional(),
  why: z.enum(['no_person', 'forbidden']),
});
export type RequestRefusedRecord = z.infer<typeof RequestRefusedRecord>;

/**
 * One person carried out a request kind alone (§4(3) "where unavoidable"); a critical alarm and a
 * pending review by another person follow. `person` = the person behind the actor.
 */
export const BreakGlassUsedRecord = z.object({
  requestId: z.number(),
  kind: z.string(),
  by: z.string(),
  /** A short, secret-free account of what was done (ids, masked badge numbers, dates). */
  summary: z.string(),
  reason: z.string(),
  /** What carrying it out answered (the kind's `apply`). */
  result: z.record(z.string(), z.unknown()),
});
export type BreakGlassUsedRecord = z.infer<typeof BreakGlassUsedRecord>;

/** A different person reviewed a break-glass use after the fact. */
export const BreakGlassReviewedRecord = z.object({
  requestId: z.number(),
  kind: z.string(),
  usedBy: z.string(),
  reviewer: z.string(),
  note: z.string(),
});
export type BreakGlassReviewedRecord = z.infer<typeof BreakGlassReviewedRecord>;

export const ApprovalRecordSchemas = {
  request_refused: RequestRefusedRecord,
  break_glass_used: BreakGlassUsedRecord,
  break_glass_reviewed: BreakGlassReviewedRecord,
} as const;
