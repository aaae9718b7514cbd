/**
 * `invalid_input`: the request names something that does not exist or cannot be; `forbidden`: the
 * caller's role may not do this; `self_approval_refused`: the approver filed the request or is its
 * subject (§4(3)); `own_request`: one's own request is withdrawn, not rejected; `no_person`: the
 * credential (an API token, root, the service account) stands for no person, who can neither file,
 * decide nor act alone.
 */
export type ApprovalErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'self_approval_refused'
  | 'own_request'
  | 'no_person';

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
