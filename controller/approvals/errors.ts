/**
 * `invalid_input`: the request names something that does not exist or cannot be; `forbidden`: the
 * caller's role may not do this; `self_approval_refused`: the approver filed the request or is its
 * subject (§4(3)); `own_request`: one's own request is withdrawn, not rejected; `no_person`: the
 * credential (an API token, root, the service account) stands for no person, who can neither file,
 * decide nor act alone; `visit_ended`: a visitor request's window is over (filing, approving or handing
 * out its card); `handed_out`: the card of that visitor request was already handed out;
 * `reason_required`: a rejection without its reason.
 */
export type ApprovalErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'self_approval_refused'
  | 'own_request'
  | 'no_person'
  | 'visit_ended'
  | 'handed_out'
  | 'reason_required';

/** A refused request or decision; nothing was written but a refused self-approval's row. */
export class ApprovalError extends Error {
  override name = 'ApprovalError';
  constructor(
    readonly code: ApprovalErrorCode,
    message: string,
  ) {
    super(message);
  }
}
