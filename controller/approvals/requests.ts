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
import { z } from 'zod';
import { ApiError, type Principal } from '../../dashboards/http.js';
import { generatePassword } from '../accounts/passwords.js';
import { can, Role } from '../accounts/roles.js';
import { DisplayName, Username, type UserStore } from '../accounts/users.js';
import type { Config } from '../config/index.js';
import { Direction } from '../domain/index.js';
import type { Journal, Registry, SqliteDatabase } from '../journal/index.js';

export const RequestKind = z.enum([
  'access_grant',
  'schedule_change',
  'escort_permission',
  'visitor_badge',
  'equipment',
  'account_create',
  'role_change',
]);
export type RequestKind = z.infer<typeof RequestKind>;
export const RequestStatus = z.enum(['pending', 'approved', 'rejected', 'cancelled']);
export type RequestStatus = z.infer<typeof RequestStatus>;

const Id = z.string().min(1).max(64);
const Text = (max: number) => z.string().trim().min(1).max(max);
const Time = z.number().int().nonnegative();

export const PAYLOADS = {
  access_grant: z.strictObject({ personId: Id, doorId: Id, scheduleId: Id }),
  schedule_change: z.strictObject({ personId: Id, doorId: Id, fromScheduleId: Id, toScheduleId: Id }),
  escort_permission: z.strictObject({ personId: Id }),
  visitor_badge: z.strictObject({
    name: Text(100),
    organisation: z.string().trim().max(100).default(''),
    /** The ID on the visitor's pass; default `V-<request id>`. */
    displayId: z.string().trim().max(64).default(''),
    hostPersonId: Id,
    purpose: Text(200),
    doorId: Id,
    validFrom: Time,
    validUntil: Time,
    /** Equipment declared for carry-in (§7(1)②オ), one item per line or comma. */
    equipment: z.string().trim().max(1000).default(''),
  }),
  equipment: z.strictObject({
    personId: Id,
    direction: Direction,
    description: Text(500),
    witnessPersonId: Id,
    doorId: Id,
  }),
  account_create: z.strictObject({
    username: Username,
    displayName: DisplayName,
    role: Role,
    validUntil: Time.nullable().default(null),
  }),
  role_change: z.strictObject({ userId: Id, role: Role }),
} as const satisfies Record<RequestKind, z.ZodType>;

type Payloads = { readonly [K in RequestKind]: z.ZodType };
type RequestOption<P extends Payloads> = {
  [K in RequestKind]: z.ZodObject<
    { kind: z.ZodLiteral<K>; payload: P[K]; reason: ReturnType<typeof Text> },
    z.core.$strict
  >;
}[RequestKind];

/**
 * A request as filed: `{ kind, payload, reason }`, one option per request kind with that kind's
 * payload schema. The store takes `NewRequest`; the API's body (routes/requests.ts) is the same
 * schema with the visitor's window also accepted as local date-times.
 */
export function requestSchema<P extends Payloads>(payloads: P) {
  const options = RequestKind.options.map((kind) =>
    z.strictObject({ kind: z.literal(kind), payload: payloads[kind], reason: Text(500) }),
  );
  return z.discriminatedUnion('kind', options as unknown as [RequestOption<P>, ...RequestOption<P>[]]);
}

export const NewRequest = requestSchema(PAYLOADS);
export type NewRequest = z.infer<typeof NewRequest>;

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

const ACCOUNT_KINDS: ReadonlySet<RequestKind> = new Set(['account_create', 'role_change']);

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
      countSelfApproved: db.prepare<[], { n: number }>(
        "SELECT COUNT(*) AS n FROM dashboard_requests WHERE status = 'approved' AND decided_by = requested_by",
      ),
      pendingCount: db.prepare<[], { n: number }>(
        "SELECT COUNT(*) AS n FROM dashboard_requests WHERE status = 'pending'",
      ),
    };
  }

  #append(
    type: string,
    at: number,
    actor: string | null,
    data: Record<string, unknown>,
    person?: string | null,
  ) {
    this.#d.journal.append({ type, at, actor, person: person ?? null, data });
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

  /** Approved requests whose approver was also the requester: must be 0 (the compliance view). */
  selfApprovedCount(): number {
    return this.#s.countSelfApproved.get()!.n;
  }

  /** Files a request after checking that it could be carried out now. */
  create(input: NewRequest, by: Principal, at: number): RequestRecord {
    if (ACCOUNT_KINDS.has(input.kind) && !can(by.user.role, 'users.read'))
      throw new ApiError(403, 'forbidden', 'only administrators and managers may request account changes');
    this.#check(input.kind, input.payload);
    const subjectUser = input.kind === 'role_change' ? input.payload.userId : null;
    const id = this.#d.journal.transaction(() => {
      const info = this.#s.insert.run({
        kind: input.kind,
        requestedBy: by.actor,
        at,
        subjectUser,
        payload: JSON.stringify(input.payload),
        reason: input.reason,
      });
      const id = Number(info.lastInsertRowid);
      this.#append(
        'request_created',
        at,
        by.actor,
        { requestId: id, kind: input.kind, payload: input.payload, reason: input.reason },
        personOf(input.kind, input.payload),
      );
      return id;
    });
    return this.get(id)!;
  }

  /**
   * Approves a pending request and carries it out, in one transaction. Refuses (403
   * `self_approval_refused`, journaled) when the approver filed the request or is its subject.
   * Answers the result; for a new account, also the initial password, shown this once only.
   */
  async approve(
    id: number,
    by: Principal,
    note: string,
    at: () => number,
  ): Promise<{ request: RequestRecord; initialPassword?: string }> {
    const req = this.#requirePending(id);
    if (ACCOUNT_KINDS.has(req.kind) && !can(by.user.role, 'accounts.approve'))
      throw new ApiError(403, 'forbidden', 'only an administrator may approve account requests');
    const self =
      req.requestedBy === by.actor ||
      (req.kind === 'role_change' && req.payload.userId === by.user.id) ||
      (req.kind === 'account_create' &&
        String(req.payload.username).toLowerCase() === by.user.username.toLowerCase());
    if (self) {
      this.#append('self_approval_refused', at(), by.actor, {
        requestId: id,
        kind: req.kind,
        requestedBy: req.requestedBy,
      });
      throw new ApiError(
        403,
        'self_approval_refused',
        'the applicant and the approver must be different people (§4(3)); this attempt was recorded',
      );
    }
    // The slow part (hashing a new account's password) happens before the transaction.
    let initialPassword: string | undefined;
    let passwordHash: string | undefined;
    if (req.kind === 'account_create') {
      initialPassword = generatePassword();
      passwordHash = await this.#d.users.hashFor(initialPassword, String(req.payload.username));
    }
    const when = at();
    this.#d.journal.transaction(() => {
      const current = this.#requirePending(id);
      const result = this.#apply(current, by.actor, when, passwordHash);
      const info = this.#s.decide.run({
        id,
        status: 'approved',
        by: by.actor,
        at: when,
        note: note || null,
        result: JSON.stringify(result),
      });
      if (info.changes !== 1) throw new ApiError(409, 'conflict', `request ${id} is no longer pending`);
      this.#append(
        'request_approved',
        when,
        by.actor,
        { requestId: id, kind: current.kind, requestedBy: current.requestedBy, note, result },
        personOf(current.kind, current.payload),
      );
    });
    return { request: this.get(id)!, ...(initialPassword ? { initialPassword } : {}) };
  }

  reject(id: number, by: Principal, note: string, at: number): RequestRecord {
    const req = this.#requirePending(id);
    if (ACCOUNT_KINDS.has(req.kind) && !can(by.user.role, 'accounts.approve'))
      throw new ApiError(403, 'forbidden', 'only an administrator may decide account requests');
    if (req.requestedBy === by.actor)
      throw new ApiError(409, 'own_request', 'withdraw your own request instead of rejecting it');
    this.#decide(req, 'rejected', 'request_rejected', by, note, at);
    return this.get(id)!;
  }

  withdraw(id: number, by: Principal, at: number): RequestRecord {
    const req = this.#requirePending(id);
    if (req.requestedBy !== by.actor)
      throw new ApiError(403, 'forbidden', 'only the applicant may withdraw a request');
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
    by: Principal,
    at: number,
  ): { badgeId: string; personId: string; masked: string } {
    return this.#d.journal.transaction(() => {
      const req = this.get(id);
      if (req?.kind !== 'visitor_badge') throw new ApiError(404, 'not_found', `no visitor request ${id}`);
      if (req.status !== 'approved') throw new ApiError(409, 'conflict', `request ${id} is not approved`);
      const result = req.result ?? {};
      if (typeof result.badgeId === 'string')
        throw new ApiError(409, 'conflict', `the badge for request ${id} was already handed out`);
      const p = req.payload as z.infer<(typeof PAYLOADS)['visitor_badge']>;
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
    type: string,
    by: Principal,
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
      if (info.changes !== 1) throw new ApiError(409, 'conflict', `request ${req.id} is no longer pending`);
      this.#append(
        type,
        at,
        by.actor,
        { requestId: req.id, kind: req.kind, requestedBy: req.requestedBy, note },
        personOf(req.kind, req.payload),
      );
    });
  }

  #requirePending(id: number): RequestRecord {
    const req = this.get(id);
    if (!req) throw new ApiError(404, 'not_found', `no request ${id}`);
    if (req.status !== 'pending')
      throw new ApiError(409, 'conflict', `request ${id} is already ${req.status}`);
    return req;
  }

  // -----------------------------------------------------------------------------------------------

  #door(id: string): void {
    if (!this.#d.config.doors.some((d) => d.id === id))
      throw new ApiError(400, 'invalid_request', `no door "${id}"`);
  }

  #schedule(id: string): void {
    if (id !== 'always' && !this.#d.config.schedules.some((s) => s.id === id))
      throw new ApiError(400, 'invalid_request', `no schedule "${id}"`);
  }

  #person(id: string, what = 'person') {
    const p = this.#d.registry.getPerson(id);
    if (!p) throw new ApiError(400, 'invalid_request', `no ${what} "${id}"`);
    return p;
  }

  /** The person `id`, who must be an active staff member (else 400 with `message`). */
  #activeStaff(id: string, what: string, message: string) {
    const p = this.#person(id, what);
    if (p.category !== 'staff' || !p.active) throw new ApiError(400, 'invalid_request', message);
    return p;
  }

  /** Checks a request's payload against the current state (it is checked again when approved). */
  #check(kind: RequestKind, payload: Record<string, unknown>, requestId?: number): void {
    const { registry, users } = this.#d;
    switch (kind) {
      case 'access_grant': {
        const p = payload as z.infer<(typeof PAYLOADS)['access_grant']>;
        // What the form's picker offers: active staff and contractors (a visitor's doors come with
        // their visitor badge). The picker only searches; this is the check.
        const person = this.#person(p.personId);
        if (person.category === 'visitor')
          throw new ApiError(
            400,
            'invalid_request',
            'a visitor gets doors with their visitor badge, not a grant',
          );
        if (!person.active) throw new ApiError(400, 'invalid_request', 'the person is inactive');
        this.#door(p.doorId);
        this.#schedule(p.scheduleId);
        if (
          registry
            .permissionsFor(p.personId)
            .some((x) => x.doorId === p.doorId && x.scheduleId === p.scheduleId)
        )
          throw new ApiError(409, 'conflict', 'this person already has that access');
        return;
      }
      case 'schedule_change': {
        const p = payload as z.infer<(typeof PAYLOADS)['schedule_change']>;
        this.#person(p.personId);
        this.#door(p.doorId);
        this.#schedule(p.toScheduleId);
        if (p.fromScheduleId === p.toScheduleId)
          throw new ApiError(400, 'invalid_request', 'the new schedule is the current one');
        const perms = registry.permissionsFor(p.personId);
        if (!perms.some((x) => x.doorId === p.doorId && x.scheduleId === p.fromScheduleId))
          throw new ApiError(409, 'conflict', 'this person has no access under the current schedule given');
        return;
      }
      case 'escort_permission': {
        const p = payload as z.infer<(typeof PAYLOADS)['escort_permission']>;
        this.#activeStaff(p.personId, 'person', 'only an active staff member may escort visitors');
        if (registry.mayEscort(p.personId))
          throw new ApiError(409, 'conflict', 'this person may already escort');
        return;
      }
      case 'visitor_badge': {
        const p = payload as z.infer<(typeof PAYLOADS)['visitor_badge']>;
        this.#activeStaff(p.hostPersonId, 'host', 'the host must be an active staff member');
        this.#door(p.doorId);
        if (p.validUntil <= p.validFrom)
          throw new ApiError(400, 'invalid_request', 'the visit must end after it starts');
        if (p.validUntil - p.validFrom > 7 * 86_400_000)
          throw new ApiError(400, 'invalid_request', 'a visitor badge is valid for at most 7 days');
        return;
      }
      case 'equipment': {
        const p = payload as z.infer<(typeof PAYLOADS)['equipment']>;
        if (!this.#person(p.personId).active)
          throw new ApiError(400, 'invalid_request', 'the person is inactive');
        this.#activeStaff(p.witnessPersonId, 'witness', 'the witness must be an active staff member');
        this.#door(p.doorId);
        return;
      }
      case 'account_create': {
        const p = payload as z.infer<(typeof PAYLOADS)['account_create']>;
        users.checkNew(p);
        const pending = this.list({ status: 'pending', kind: 'account_create', limit: 1000 });
        if (
          pending.some(
            (r) =>
              r.id !== requestId && String(r.payload.username).toLowerCase() === p.username.toLowerCase(),
          )
        )
          throw new ApiError(409, 'conflict', `an account "${p.username}" is already requested`);
        return;
      }
      case 'role_change': {
        const p = payload as z.infer<(typeof PAYLOADS)['role_change']>;
        const u = users.get(p.userId);
        if (!u) throw new ApiError(400, 'invalid_request', `no account "${p.userId}"`);
        if (u.role === p.role) throw new ApiError(409, 'conflict', `${u.username} already has that role`);
        return;
      }
    }
  }

  /** Carries out an approved request inside the approval's transaction; returns what it did. */
  #apply(req: RequestRecord, actor: string, at: number, passwordHash?: string): Record<string, unknown> {
    const { registry, users } = this.#d;
    this.#check(req.kind, req.payload, req.id);
    switch (req.kind) {
      case 'access_grant': {
        const p = req.payload as z.infer<(typeof PAYLOADS)['access_grant']>;
        registry.grantDoor(p.personId, p.doorId, p.scheduleId, actor, at);
        return { granted: true };
      }
      case 'schedule_change': {
        const p = req.payload as z.infer<(typeof PAYLOADS)['schedule_change']>;
        registry.revokeDoor(p.personId, p.doorId, actor, at, p.fromScheduleId);
        registry.grantDoor(p.personId, p.doorId, p.toScheduleId, actor, at);
        return { changed: true };
      }
      case 'escort_permission': {
        const p = req.payload as z.infer<(typeof PAYLOADS)['escort_permission']>;
        registry.setMayEscort(p.personId, true, actor, at);
        return { mayEscort: true };
      }
      case 'visitor_badge':
        // The card is enrolled when it is handed out (issueVisitorBadge): no badge number waits here.
        return { approved: true };
      case 'equipment':
        return { approved: true };
      case 'account_create': {
        const p = req.payload as z.infer<(typeof PAYLOADS)['account_create']>;
        const u = users.createHashed({ ...p, mustChangePassword: true }, passwordHash!, actor, at, {
          requestId: req.id,
          requestedBy: req.requestedBy,
        });
        return { userId: u.id, username: u.username };
      }
      case 'role_change': {
        const p = req.payload as z.infer<(typeof PAYLOADS)['role_change']>;
        const u = users.setRole(p.userId, p.role, actor, at, {
          requestId: req.id,
          requestedBy: req.requestedBy,
        });
        return { userId: u.id, role: u.role };
      }
    }
  }
}

export function equipmentList(text: string): string[] {
  return text
    .split(/[\n,、]/)
    .map((x) => x.trim())
    .filter(Boolean)
    .slice(0, 50);
}

function personOf(kind: RequestKind, payload: Record<string, unknown>): string | null {
  if (
    kind === 'access_grant' ||
    kind === 'schedule_change' ||
    kind === 'equipment' ||
    kind === 'escort_permission'
  )
    return typeof payload.personId === 'string' ? payload.personId : null;
  return null;
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
