/**
 * The manager's workflows around a visitor-badge request and a lost badge, as pure rules (issue
 * #18): the default window of a new request, why a window cannot be filed or handed out, who may
 * withdraw or amend an approved request, and what "found" does to a lost badge. No I/O; `now` is
 * passed in. controller/approvals/ and controller/registry/ enforce them; the dashboard uses the
 * same rules to decide which buttons to show.
 */
import type { BadgeStatus, VisitorBadgeStatus } from './types.js';
import { defaultVisitorBadgeUntil, type VisitSettings } from './visit-settings.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** The shortest default window: a request takes time to be approved and handed out. */
export const MIN_DEFAULT_VISIT_MS = HOUR;

/**
 * The window a new visitor-badge request is offered: from now (to the minute, as a form shows it)
 * until the badge's default end (`visitors.badgeValidity`), or one hour from now when that end is
 * nearer (a request filed at 18:59 with `endOfDay` 19:00 gets 18:59–19:59, never a window that is
 * over before anyone could approve it).
 */
export function defaultVisitWindow(
  now: number,
  settings: Pick<VisitSettings, 'timeZone' | 'endOfDay' | 'badgeValidity'>,
): { from: number; until: number } {
  const from = Math.floor(now / MINUTE) * MINUTE;
  const until = Math.max(defaultVisitorBadgeUntil(now, settings), from + MIN_DEFAULT_VISIT_MS);
  return { from, until };
}

/** Longest visit one request may cover. */
export const MAX_VISIT_MS = 7 * 86_400_000;

/**
 * What is wrong with a visit's window at `now`, or null: `reversed` (ends before it starts),
 * `too_long` (more than 7 days), `ended` (its end has passed: nobody could use the card).
 */
export type VisitWindowProblem = 'reversed' | 'too_long' | 'ended';

export function visitWindowProblem(from: number, until: number, now: number): VisitWindowProblem | null {
  if (until <= from) return 'reversed';
  if (until - from > MAX_VISIT_MS) return 'too_long';
  if (until <= now) return 'ended';
  return null;
}

/** A stored request as far as these rules read it. */
export interface RequestFacts {
  kind: string;
  status: string;
  /** The request's stored result (`badgeId` once its card was handed out). */
  result: Record<string, unknown> | null;
}

/** Why an approved visitor request cannot be withdrawn or amended by someone, or null. */
export type ApprovedVisitRefusal = 'not_visitor_request' | 'not_approved' | 'handed_out' | 'not_applicant';

/**
 * Whether the person acting may withdraw or amend an approved visitor-badge request: only while its
 * card is not handed out, and only its applicant (another manager who disagrees files nothing on
 * someone else's request: they ask its applicant, or — once the card is out — take it back).
 */
export function approvedVisitChange(r: RequestFacts, isApplicant: boolean): ApprovedVisitRefusal | null {
  if (r.kind !== 'visitor_badge') return 'not_visitor_request';
  if (r.status !== 'approved') return 'not_approved';
  if (typeof r.result?.badgeId === 'string') return 'handed_out';
  if (!isApplicant) return 'not_applicant';
  return null;
}

/**
 * A badge's status change as the registry allows it: `noop` (already so), `final` (a revoked badge
 * never changes), `not_silently` (lost → active: a found badge never becomes valid by a status flip;
 * it is marked found — revoked — and its card enrolled again through a request a second person
 * approves), else `ok`.
 */
export function badgeStatusChange(
  from: BadgeStatus,
  to: BadgeStatus,
): 'ok' | 'noop' | 'final' | 'not_silently' {
  if (from === to) return 'noop';
  if (from === 'revoked') return 'final';
  if (from === 'lost' && to === 'active') return 'not_silently';
  return 'ok';
}

/** Only a lost badge can be reported found; it ends revoked (final). */
export function foundBadgeStatus(from: BadgeStatus): BadgeStatus | null {
  return from === 'lost' ? 'revoked' : null;
}

/**
 * The status a badge is shown with: `returned` for a visitor card that came back (stored as revoked,
 * so that it opens nothing and can be issued again), else its own status.
 */
export type BadgeDisplayStatus = BadgeStatus | 'returned';

export function badgeDisplayStatus(
  status: BadgeStatus,
  visitorBadge: VisitorBadgeStatus | null | undefined,
): BadgeDisplayStatus {
  return visitorBadge === 'returned' && status === 'revoked' ? 'returned' : status;
}
