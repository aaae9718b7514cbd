/**
 * The record types of dashboard accounts (`controller/accounts/`) and of the request/approval
 * workflow (`controller/approvals/`). `actor` column = who did it (null for a failed login).
 */
import { z } from 'zod';

/** How an account change was made, when not from the dashboard: the demo seed, the CLI, an approved request. */
export const AccountChangeVia = z.object({
  via: z.literal('cli').optional(),
  demo: z.boolean().optional(),
  requestId: z.number().optional(),
  requestedBy: z.string().optional(),
  /** Made by `sekisho user add` while there were fewer than two active administrators. */
  bootstrap: z.boolean().optional(),
});
export type AccountChangeVia = z.infer<typeof AccountChangeVia>;

const account = { userId: z.string(), username: z.string() };

export const UserAddedRecord = z.object({
  ...account,
  displayName: z.string(),
  role: z.string(),
  validUntil: z.number().nullable(),
  ...AccountChangeVia.shape,
});
export type UserAddedRecord = z.infer<typeof UserAddedRecord>;

export const UserRoleChangedRecord = z.object({
  ...account,
  from: z.string(),
  role: z.string(),
  ...AccountChangeVia.shape,
});
export type UserRoleChangedRecord = z.infer<typeof UserRoleChangedRecord>;

/** An account was enabled, disabled or unlocked. */
export const UserRecord = z.object(account);
export type UserRecord = z.infer<typeof UserRecord>;

export const UserPasswordChangedRecord = z.object({ ...account, mustChange: z.boolean() });
export type UserPasswordChangedRecord = z.infer<typeof UserPasswordChangedRecord>;

/**
 * A refused login. `userId` and `username` are null for a name that has no account: the name typed
 * is not kept (it is often a password typed into the wrong field). `failures`: the failures on that
 * name in a row (in memory, since the last success). `reason` (absent in older rows: password).
 */
export const LoginFailedRecord = z.object({
  userId: z.string().nullable(),
  username: z.string().nullable(),
  ip: z.string(),
  failures: z.number(),
  reason: z.enum(['password', 'disabled']).optional(),
});
export type LoginFailedRecord = z.infer<typeof LoginFailedRecord>;

/**
 * Failed logins on one name from addresses new to it set off the name's shared delay: from now on,
 * attempts on it from such addresses wait `delayMs` and longer (docs/dashboard.md, login limits).
 * Null ids as in login_failed.
 */
export const LoginThrottledRecord = z.object({
  userId: z.string().nullable(),
  username: z.string().nullable(),
  ip: z.string(),
  failures: z.number(),
  delayMs: z.number(),
});
export type LoginThrottledRecord = z.infer<typeof LoginThrottledRecord>;

/** No longer written (logins are delayed, not locked); kept so that older journals still read. */
export const UserLockedOutRecord = z.object({ ...account, ip: z.string(), until: z.number() });
export type UserLockedOutRecord = z.infer<typeof UserLockedOutRecord>;

export const LoginSucceededRecord = z.object({ ...account, ip: z.string() });
export type LoginSucceededRecord = z.infer<typeof LoginSucceededRecord>;

export const LogoutRecord = z.object({ ...account, why: z.enum(['logout', 'idle']) });
export type LogoutRecord = z.infer<typeof LogoutRecord>;

// Activation (dual control of account secrets): an approved account_create or password_reset leaves
// the account without a usable password and issues an activation secret in two halves, one to the
// applicant and one to the approver; the user sets their own password with both. Only hashes are
// stored; no row carries a half.

/** Why an activation was issued: a new account, or a password reset. */
export const ActivationPurpose = z.enum(['account_create', 'password_reset']);
export type ActivationPurpose = z.infer<typeof ActivationPurpose>;

/** A request was approved: the account has no usable password until it is activated by `expiresAt`. */
export const ActivationIssuedRecord = z.object({
  ...account,
  purpose: ActivationPurpose,
  requestId: z.number(),
  expiresAt: z.number(),
});
export type ActivationIssuedRecord = z.infer<typeof ActivationIssuedRecord>;

/** The applicant was shown their half (once). */
export const ActivationHalfShownRecord = z.object({ ...account, requestId: z.number() });
export type ActivationHalfShownRecord = z.infer<typeof ActivationHalfShownRecord>;

/** The user set their password with both halves; the halves are void. Actor: the user. */
export const AccountActivatedRecord = z.object({
  ...account,
  purpose: ActivationPurpose,
  requestId: z.number(),
});
export type AccountActivatedRecord = z.infer<typeof AccountActivatedRecord>;

/** An activation was refused (a wrong or unknown name or half, expired, account disabled); no actor. */
export const ActivationFailedRecord = z.object({
  username: z.string(),
  ip: z.string(),
  why: z.enum(['wrong_halves', 'expired', 'disabled']),
});
export type ActivationFailedRecord = z.infer<typeof ActivationFailedRecord>;

/** A password reset was requested: the account's sessions ended at once. */
export const SessionsEndedRecord = z.object({ ...account, requestId: z.number() });
export type SessionsEndedRecord = z.infer<typeof SessionsEndedRecord>;

// Requests and approvals. `kind` is a request kind (controller/approvals/kinds.ts); `person` column =
// the person the request concerns, if any.

export const RequestCreatedRecord = z.object({
  requestId: z.number(),
  kind: z.string(),
  payload: z.record(z.string(), z.unknown()),
  reason: z.string(),
});
export type RequestCreatedRecord = z.infer<typeof RequestCreatedRecord>;

export const SelfApprovalRefusedRecord = z.object({
  requestId: z.number(),
  kind: z.string(),
  requestedBy: z.string(),
});
export type SelfApprovalRefusedRecord = z.infer<typeof SelfApprovalRefusedRecord>;

export const RequestApprovedRecord = z.object({
  requestId: z.number(),
  kind: z.string(),
  requestedBy: z.string(),
  note: z.string(),
  /** What carrying it out answered (the kind's `apply`). */
  result: z.record(z.string(), z.unknown()),
});
export type RequestApprovedRecord = z.infer<typeof RequestApprovedRecord>;

/** A request was rejected, or withdrawn by its applicant. */
export const RequestDecidedRecord = z.object({
  requestId: z.number(),
  kind: z.string(),
  requestedBy: z.string(),
  note: z.string(),
  /** Withdrawn after it was approved (a visitor badge whose card was not handed out). */
  afterApproval: z.boolean().optional(),
});
export type RequestDecidedRecord = z.infer<typeof RequestDecidedRecord>;

/** The card of an approved visitor-badge request was handed out. */
export const RequestFulfilledRecord = z.object({
  requestId: z.number(),
  kind: z.string(),
  badgeId: z.string(),
  personId: z.string(),
  masked: z.string(),
});
export type RequestFulfilledRecord = z.infer<typeof RequestFulfilledRecord>;

export const AccountRecordSchemas = {
  user_added: UserAddedRecord,
  user_role_changed: UserRoleChangedRecord,
  user_enabled: UserRecord,
  user_disabled: UserRecord,
  user_unlocked: UserRecord,
  user_password_changed: UserPasswordChangedRecord,
  login_failed: LoginFailedRecord,
  user_locked_out: UserLockedOutRecord,
  login_throttled: LoginThrottledRecord,
  login_succeeded: LoginSucceededRecord,
  logout: LogoutRecord,
  activation_issued: ActivationIssuedRecord,
  activation_half_shown: ActivationHalfShownRecord,
  account_activated: AccountActivatedRecord,
  activation_failed: ActivationFailedRecord,
  user_sessions_ended: SessionsEndedRecord,
  request_created: RequestCreatedRecord,
  self_approval_refused: SelfApprovalRefusedRecord,
  request_approved: RequestApprovedRecord,
  request_rejected: RequestDecidedRecord,
  request_withdrawn: RequestDecidedRecord,
  request_fulfilled: RequestFulfilledRecord,
} as const;
