/**
 * Requests and approvals (POLICY §4(3)): granting or changing machine-room access, a visitor badge,
 * carrying equipment in or out, a new account or a role change is filed as a request and takes
 * effect only when a *different* user approves it. The server refuses self-approval and records the
 * attempt in the journal. Revocations (lost badge, withdrawing access, disabling an account) never
 * wait for a request.
 *
 * Filing, approving, rejecting and withdrawing are journal rows; an approval and the change it
 * makes commit in one transaction.
 */
import { personOf, samePerson } from '../accounts/person.js';
import { can } from '../accounts/roles.js';
import type { User, UserStore } from '../accounts/users.js';
import type { Config } from '../config/index.js';
import {
  approvedVisitChange,
  type KnownRecordType,
  type RecordDataOf,
  type RefusedAction,
  recordOf,
} from '../domain/index.js';
import type { Journal, SqliteDatabase } from '../journal/index.js';
import type { Registry } from '../registry/index.js';
import { formatLocal } from '../time.js';
import { ApprovalError } from './errors.js';
import {
  type BoundRequest,
  bindRequest,
  type CheckContext,
  equipmentList,
  KINDS,
  type NewRequest,
  PAYLOADS,
  type RequestKind,
  type RequestStatus,
} from './kinds.js';

export { ApprovalError, type ApprovalErrorCode } from './errors.js';
// The dashboard imports the request's vocabulary from here, with the store.
export {
  NewRequest,
  PAYLOADS,
  RequestKind,
  RequestStatus,
  requestSchema,
  requestSchemaWith,
  splitPersonPatch,
} from './kinds.js';

/**
 * Who files or decides a request: the journal's actor and their account. The person behind the
 * actor (controller/accounts/person.ts) is who counts: the CLI's actor names its person, with a
 * manager's rights.
 */
export interface RequestActor {
  actor: string;
  user: Pick<User, 'id' | 'username' | 'role'>;
}

export interface RequestRecord {
  id: number;
  kind: RequestKind;
  status: RequestStatus;
  requestedBy: string;
  requestedAt: number;
  subjectUser: string | null;
  payload: Record<string, unknown>;
  reason: string;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  result: Record<string, unknown> | null;
}

interface RequestRow {
  id: number;
  kind: RequestKind;
  status: RequestStatus;
  requested_by: string;
  requested_at: number;
  subject_user: string | null;
  payload: string;
  reason: string;
  decided_by: string | null;
  decided_at: number | null;
  decision_note: string | null;
  result: string | null;
}

export interface RequestDeps {
  db: SqliteDatabase;
  journal: Journal;
  registry: Registry;
  users: UserStore;
  config: Config;
}

export class RequestStore {
  readonly #d: RequestDeps;
  readonly #s;

  constructor(deps: RequestDeps) {
    this.#d = deps;
    const { db } = deps;
    this.#s = {
      insert: db.prepare(
        `INSERT INTO dashboard_requests (kind, status, requested_by, requested_at, subject_user, payload, reason)
         VALUES (@kind, 'pending', @requestedBy, @at, @subjectUser, @payload, @reason)`,
      ),
      get: db.prepare<[number], RequestRow>('SELECT * FROM dashboard_requests WHERE id = ?'),
      decide: db.prepare(
        `UPDATE dashboard_requests SET status = @status, decided_by = @by, decided_at = @at, decision_note = @note,
           result = @result WHERE id = @id AND status = 'pending'`,
      ),
      setResult: db.prepare<[string, number]>('UPDATE dashboard_requests SET result = ? WHERE id = ?'),
      // Break-glass uses (decided by their filer, marked in `result`) are counted on their own.
      approvedPairs: db.prepare<[], { requested_by: string; decided_by: string | null }>(
        `SELECT requested_by, decided_by FROM dashboard_requests
         WHERE status = 'approved' AND json_extract(result, '$.breakGlass') IS NULL`,
      ),
      pendingCount: db.prepare<[], { n: number }>(
        "SELECT COUNT(*) AS n FROM dashboard_requests WHERE status = 'pending'",
      ),
      // An approved visitor request whose card is not handed out: withdrawn, or replaced by its amendment.
      cancelApproved: db.prepare<[string, number]>(
        `UPDATE dashboard_requests SET status = 'cancelled', result = ?
         WHERE id = ? AND status = 'approved' AND json_extract(result, '$.badgeId') IS NULL`,
      ),
      pendingAmendments: db.prepare<[number], { id: number }>(
        `SELECT id FROM dashboard_requests WHERE status = 'pending' AND kind = 'visitor_badge'
           AND json_extract(payload, '$.amends') = ?`,
      ),
    };
  }

  #append<T extends KnownRecordType>(
    type: T,
    at: number,
    actor: string | null,
    data: RecordDataOf<T>,
    person?: string | null,
  ) {
    this.#d.journal.append({ ...recordOf(type, data), at, actor, person: person ?? null });
  }

  get(id: number): RequestRecord | undefined {
    const r = this.#s.get.get(id);
    return r ? toRecord(r) : undefined;
  }

  list(f: { status?: RequestStatus; kind?: RequestKind; beforeId?: number; limit: number }): RequestRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (f.status) {
      where.push('status = ?');
      params.push(f.status);
    }
    if (f.kind) {
      where.push('kind = ?');
      params.push(f.kind);
    }
    if (f.beforeId !== undefined) {
      where.push('id < ?');
      params.push(f.beforeId);
    }
    const sql = `SELECT * FROM dashboard_requests${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.#d.db.prepare(sql).all(...params, f.limit) as RequestRow[]).map(toRecord);
  }

  pendingCount(): number {
    return this.#s.pendingCount.get()!.n;
  }

  /**
   * Approved requests whose approver and requester are one person (whatever credentials each
   * used): must be 0 (the compliance view). Break-glass uses are not approvals and not counted here.
   */
  selfApprovedCount(): number {
    return this.#s.approvedPairs.all().filter((r) => samePerson(r.requested_by, r.decided_by)).length;
  }

  /**
   * Approved requests filed or approved by no person (an API token, root, the service account):
   * nobody can answer for them, so they count against §4(3) as self-approvals do.
   */
  unattributedApprovalCount(): number {
    return this.#s.approvedPairs
      .all()
      .filter((r) => personOf(r.requested_by) === null || personOf(r.decided_by) === null).length;
  }

  /**
   * Refuses (and journals, as `request_refused`) an act by no person: a token, root or the
   * service account cannot file, decide or act alone (§4(3) compares people).
   */
  requirePerson(
    by: RequestActor,
    action: RefusedAction,
    kind: string,
    at: number,
    requestId?: number,
  ): string {
    const person = personOf(by.actor);
    if (person !== null) return person;
    this.#append('request_refused', at, by.actor, {
      action,
      kind,
      ...(requestId === undefined ? {} : { requestId }),
      why: 'no_person',
    });
    throw new ApprovalError(
      'no_person',
      `${by.actor} stands for no person: requests are filed and decided by people (§4(3)); log in as yourself, or run the CLI through sudo as yourself`,
    );
  }

  /** Files a request after checking that it could be carried out now. */
  create(input: NewRequest, by: RequestActor, at: number): RequestRecord {
    this.requirePerson(by, 'create', input.kind, at);
    if (KINDS[input.kind].account && !can(by.user.role, 'users.read'))
      throw new ApprovalError('forbidden', 'only administrators and managers may request account changes');
    const bound = bindRequest(input.kind, input.payload);
    bound.check(this.checkContext(undefined, at));
    const amends = amendsOf(input.kind, input.payload);
    if (amends !== null) {
      this.#amendable(amends, by.actor);
      const other = this.#s.pendingAmendments.get(amends);
      if (other)
        throw new ApprovalError(
          'conflict',
          `request ${amends} already has a pending amendment (#${other.id}): withdraw that one first`,
        );
    }
    const id = this.#d.journal.transaction(() => {
      const id = this.insertFiled(input, by, at, bound);
      bound.filed({ users: this.#d.users, actor: by.actor, at, requestId: id });
      return id;
    });
    return this.get(id)!;
  }

  /**
   * Stores a pending request and journals `request_created`, inside the caller's transaction:
   * filing, and the break-glass path (break-glass.ts), which then decides it at once.
   */
  insertFiled(input: NewRequest, by: RequestActor, at: number, bound: BoundRequest): number {
    const info = this.#s.insert.run({
      kind: input.kind,
      requestedBy: by.actor,
      at,
      subjectUser: bound.subjectUser,
      payload: JSON.stringify(input.payload),
      reason: input.reason,
    });
    const id = Number(info.lastInsertRowid);
    this.#append(
      'request_created',
      at,
      by.actor,
      { requestId: id, kind: input.kind, payload: input.payload, reason: input.reason },
      bound.person,
    );
    return id;
  }

  /**
   * Approves a pending request and carries it out, in one transaction. Refuses
   * (`self_approval_refused`, journaled) when the approver filed the request or is its subject.
   * Answers the result; for a new account or a password reset, also the approver's half of the
   * activation secret, shown this once only (controller/accounts/users.ts, "Activation").
   */
  async approve(
    id: number,
    by: RequestActor,
    note: string,
    at: () => number,
  ): Promise<{ request: RequestRecord; activationHalf?: string }> {
    const req = this.#requirePending(id);
    this.requirePerson(by, 'approve', req.kind, at(), id);
    if (personOf(req.requestedBy) === null)
      throw new ApprovalError(
        'no_person',
        `request ${id} was filed by ${req.requestedBy}, which stands for no person: reject it and file it again as yourself`,
      );
    const bound = bind(req);
    if (bound.account && !can(by.user.role, 'accounts.approve'))
      throw new ApprovalError('forbidden', 'only an administrator may approve account requests');
    if (samePerson(req.requestedBy, by.actor) || bound.concerns(by.user)) {
      this.#append('self_approval_refused', at(), by.actor, {
        requestId: id,
        kind: req.kind,
        requestedBy: req.requestedBy,
      });
      throw new ApprovalError(
        'self_approval_refused',
        'the applicant and the approver must be different people (§4(3)); this attempt was recorded',
      );
    }
    // The slow part (hashing an account's unusable password) happens before the transaction.
    const prepared = await bound.prepare(this.#d.users);
    const when = at();
    this.#d.journal.transaction(() => {
      const current = this.#requirePending(id);
      const todo = bind(current);
      todo.check(this.checkContext(id, when));
      const amends = amendsOf(current.kind, current.payload);
      // The amended request must still be approved and its card still at the desk.
      if (amends !== null) this.#amendable(amends, current.requestedBy);
      const result = todo.apply({
        registry: this.#d.registry,
        users: this.#d.users,
        actor: by.actor,
        at: when,
        requestId: id,
        requestedBy: current.requestedBy,
        requestedAt: current.requestedAt,
        reason: current.reason,
        journal: this.#d.journal,
        prepared,
      });
      const info = this.#s.decide.run({
        id,
        status: 'approved',
        by: by.actor,
        at: when,
        note: note || null,
        result: JSON.stringify(result),
      });
      if (info.changes !== 1) throw new ApprovalError('conflict', `request ${id} is no longer pending`);
      this.#append(
        'request_approved',
        when,
        by.actor,
        { requestId: id, kind: current.kind, requestedBy: current.requestedBy, note, result },
        todo.person,
      );
      if (amends !== null) {
        const old = this.get(amends)!;
        const done = this.#s.cancelApproved.run(
          JSON.stringify({ ...old.result, supersededBy: id, supersededAt: when }),
          amends,
        );
        if (done.changes !== 1)
          throw new ApprovalError('conflict', `request ${amends} is no longer approved`);
        this.#append('request_amended', when, by.actor, {
          requestId: amends,
          amendment: id,
          kind: old.kind,
          requestedBy: old.requestedBy,
        });
      }
    });
    const { activationHalf } = prepared;
    return { request: this.get(id)!, ...(activationHalf ? { activationHalf } : {}) };
  }

  reject(id: number, by: RequestActor, note: string, at: number): RequestRecord {
    const req = this.#requirePending(id);
    this.requirePerson(by, 'reject', req.kind, at, id);
    if (KINDS[req.kind].account && !can(by.user.role, 'accounts.approve'))
      throw new ApprovalError('forbidden', 'only an administrator may decide account requests');
    if (samePerson(req.requestedBy, by.actor))
      throw new ApprovalError('own_request', 'withdraw your own request instead of rejecting it');
    // The applicant is shown why: a rejection without a reason leaves them to guess.
    if (note.trim() === '')
      throw new ApprovalError(
        'reason_required',
        'a rejection needs a reason (note): the applicant is shown it',
      );
    this.#decide(req, 'rejected', 'request_rejected', by, note.trim(), at);
    return this.get(id)!;
  }

  /**
   * The applicant withdraws their request: a pending one, or an approved visitor-badge request whose
   * card is not handed out yet (`request_withdrawn` with `afterApproval`). Narrows: nobody else needed.
   */
  withdraw(id: number, by: RequestActor, at: number): RequestRecord {
    const found = this.get(id);
    if (found?.status === 'approved') {
      this.requirePerson(by, 'withdraw', found.kind, at, id);
      this.#d.journal.transaction(() => {
        const req = this.#amendable(id, by.actor, 'withdraw');
        const info = this.#s.cancelApproved.run(
          JSON.stringify({ ...req.result, withdrawnBy: by.actor, withdrawnAt: at }),
          id,
        );
        if (info.changes !== 1) throw new ApprovalError('conflict', `request ${id} is no longer approved`);
        this.#append(
          'request_withdrawn',
          at,
          by.actor,
          { requestId: id, kind: req.kind, requestedBy: req.requestedBy, note: '', afterApproval: true },
          bind(req).person,
        );
      });
      return this.get(id)!;
    }
    const req = this.#requirePending(id);
    this.requirePerson(by, 'withdraw', req.kind, at, id);
    if (!samePerson(req.requestedBy, by.actor))
      throw new ApprovalError('forbidden', 'only the applicant may withdraw a request');
    this.#decide(req, 'cancelled', 'request_withdrawn', by, '', at);
    return this.get(id)!;
  }

  /**
   * Hands out the card of an approved visitor-badge request: the registry issues the visitor badge
   * (adding the visitor) for the approved window, host, purpose, equipment and door, and marks it in
   * use; the request is linked to the badge by a `request_fulfilled` row, in one transaction.
   */
  issueVisitorBadge(
    id: number,
    credential: string,
    by: RequestActor,
    at: number,
  ): { badgeId: string; personId: string; masked: string } {
    return this.#d.journal.transaction(() => {
      const req = this.get(id);
      if (req?.kind !== 'visitor_badge') throw new ApprovalError('not_found', `no visitor request ${id}`);
      if (req.status !== 'approved') throw new ApprovalError('conflict', `request ${id} is not approved`);
      const result = req.result ?? {};
      if (typeof result.badgeId === 'string')
        throw new ApprovalError('handed_out', `the badge for request ${id} was already handed out`);
      const p = PAYLOADS.visitor_badge.parse(req.payload);
      if (p.validUntil <= at)
        throw new ApprovalError(
          'visit_ended',
          `the approved window of request ${id} ended at ${formatLocal(p.validUntil, this.#d.config.timeZone)}: ` +
            'amend it (a different person approves the new window) or withdraw it',
        );
      const vb = this.#d.registry.issueVisitorBadge(
        {
          visitor: {
            displayId: p.displayId || `V-${id}`,
            name: p.organisation ? `${p.name} (${p.organisation})` : p.name,
          },
          credential,
          hostId: p.hostPersonId,
          purpose: p.purpose,
          equipment: equipmentList(p.equipment),
          doors: [p.doorId],
          validFrom: p.validFrom,
          validUntil: p.validUntil,
        },
        by.actor,
        at,
      );
      this.#d.registry.markVisitorBadgeInUse(vb.badgeId, by.actor, at);
      const done = { badgeId: vb.badgeId, personId: vb.personId, masked: vb.masked };
      this.#s.setResult.run(JSON.stringify({ ...result, ...done }), id);
      this.#append(
        'request_fulfilled',
        at,
        by.actor,
        { requestId: id, kind: req.kind, ...done },
        vb.personId,
      );
      return done;
    });
  }

  #decide(
    req: RequestRecord,
    status: 'rejected' | 'cancelled',
    type: 'request_rejected' | 'request_withdrawn',
    by: RequestActor,
    note: string,
    at: number,
  ): void {
    this.#d.journal.transaction(() => {
      const info = this.#s.decide.run({
        id: req.id,
        status,
        by: by.actor,
        at,
        note: note || null,
        result: null,
      });
      if (info.changes !== 1) throw new ApprovalError('conflict', `request ${req.id} is no longer pending`);
      this.#append(
        type,
        at,
        by.actor,
        { requestId: req.id, kind: req.kind, requestedBy: req.requestedBy, note },
        bind(req).person,
      );
    });
  }

  /**
   * The approved visitor request `id`, which `actor` (its applicant) may withdraw or amend now;
   * else the refusal, as an ApprovalError.
   */
  #amendable(id: number, actor: string, act: 'amend' | 'withdraw' = 'amend'): RequestRecord {
    const req = this.get(id);
    if (!req) throw new ApprovalError('not_found', `no request ${id}`);
    const refusal = approvedVisitChange(req, samePerson(req.requestedBy, actor));
    switch (refusal) {
      case null:
        return req;
      case 'not_visitor_request':
        throw new ApprovalError('invalid_input', `request ${id} is not a visitor-badge request`);
      case 'not_approved':
        throw new ApprovalError(
          'conflict',
          act === 'amend'
            ? `request ${id} is ${req.status}, not approved: only an approved request is amended`
            : `request ${id} is already ${req.status}`,
        );
      case 'handed_out':
        throw new ApprovalError(
          'handed_out',
          `the card of request ${id} was already handed out: take it back and file a new request`,
        );
      case 'not_applicant':
        throw new ApprovalError('forbidden', `only the applicant of request ${id} may ${act} it`);
    }
  }

  #requirePending(id: number): RequestRecord {
    const req = this.get(id);
    if (!req) throw new ApprovalError('not_found', `no request ${id}`);
    if (req.status !== 'pending')
      throw new ApprovalError('conflict', `request ${id} is already ${req.status}`);
    return req;
  }

  checkContext(requestId?: number, now = Date.now()): CheckContext {
    const { registry, users, config, journal } = this.#d;
    return {
      registry,
      users,
      config,
      journal,
      now,
      ...(requestId === undefined ? {} : { requestId }),
      pending: (kind) => this.list({ status: 'pending', kind, limit: 1000 }),
    };
  }
}

/** The approved visitor request an amendment replaces, or null. */
function amendsOf(kind: RequestKind, payload: Record<string, unknown>): number | null {
  return kind === 'visitor_badge' && typeof payload.amends === 'number' ? payload.amends : null;
}

/** A stored request's kind entry, its payload read back with the kind's schema. */
function bind(req: RequestRecord): BoundRequest {
  return bindRequest(req.kind, req.payload);
}

function toRecord(r: RequestRow): RequestRecord {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    subjectUser: r.subject_user,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    reason: r.reason,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    decisionNote: r.decision_note,
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
  };
}
