/**
 * The one break-glass path (POLICY §4(3): "except where unavoidable"). A person acting alone may
 * carry out a request kind that otherwise waits for a second person — at night, on call, with no
 * one to approve — instead of sharing an account. It is never quiet:
 *
 * - a mandatory reason (at least MIN_BREAK_GLASS_REASON characters once trimmed);
 * - only a person (never a token, root or the service account) whose role could approve that kind;
 *   account kinds never: an account is never urgent, and creating one alone is how one insider
 *   becomes two;
 * - the request is stored as approved by its own filer and marked `breakGlass` in its result, so it
 *   is counted on its own (not as a self-approval) on the Compliance page;
 * - `break_glass_used` is journaled in the same transaction as the change, and a CRITICAL
 *   `break_glass` alarm is raised at once (MQTT, the Alarms page);
 * - a review by a *different* person is pending until done (`break_glass_reviewed`, with a note);
 *   the same person is refused and journaled (`self_approval_refused`). The review clears the
 *   alarm's condition; the alarm stays latched until acknowledged.
 *
 * Used by the dashboard (`POST /api/requests` with `breakGlass`) and the CLI (`--break-glass`).
 */
import { z } from 'zod';
import { samePerson } from '../accounts/person.js';
import { can } from '../accounts/roles.js';
import {
  findUnsafeChar,
  type KnownRecordType,
  type RecordDataOf,
  recordOf,
  unsafeCharMessage,
} from '../domain/index.js';
import { ApprovalError } from './errors.js';
import { bindRequest, KINDS, type NewRequest } from './kinds.js';
import type { RequestActor, RequestDeps, RequestRecord, RequestStore } from './requests.js';

export const MIN_BREAK_GLASS_REASON = 20;
export const MIN_REVIEW_NOTE = 5;

/** The reason of a break-glass use: trimmed, at least MIN_BREAK_GLASS_REASON characters. */
export const BreakGlassReason = z
  .string()
  .trim()
  .min(MIN_BREAK_GLASS_REASON, `a break-glass reason of at least ${MIN_BREAK_GLASS_REASON} characters`)
  .max(500)
  // Shown on the Requests page and in the journal: nothing that could reorder or hide text.
  .superRefine((v, ctx) => {
    const unsafe = findUnsafeChar(v);
    if (unsafe) ctx.addIssue({ code: 'custom', message: `break-glass reason: ${unsafeCharMessage(unsafe)}` });
  });

/** How a break-glass use reaches the alarms: raised at once, its condition cleared by the review. */
export interface BreakGlassAlarms {
  raise(detail: string, at: number, source: string): void;
  clear(at: number, source: string): void;
}

/** Where a request's break-glass facts live: its stored result, under `breakGlass`. */
export interface BreakGlassMark {
  reason: string;
  reviewedBy: string | null;
  reviewedAt: number | null;
  reviewNote: string | null;
}

/** The alarm source that ties a break-glass alarm to its request. */
export const alarmSource = (requestId: number) => `request:${requestId}`;

export class BreakGlass {
  readonly #d: RequestDeps;
  readonly #requests: RequestStore;
  readonly #alarms: BreakGlassAlarms;
  readonly #s;

  constructor(deps: RequestDeps, requests: RequestStore, alarms: BreakGlassAlarms) {
    this.#d = deps;
    this.#requests = requests;
    this.#alarms = alarms;
    const { db } = deps;
    this.#s = {
      // Filed and decided by the same person at once: the break-glass mark says so.
      decide: db.prepare(
        `UPDATE dashboard_requests SET status = 'approved', decided_by = @by, decided_at = @at,
           decision_note = @note, result = '{}' WHERE id = @id AND status = 'pending'`,
      ),
      setResult: db.prepare<[string, number]>('UPDATE dashboard_requests SET result = ? WHERE id = ?'),
      review: db.prepare(
        `UPDATE dashboard_requests SET result = @result
         WHERE id = @id AND json_extract(result, '$.breakGlass.reviewedAt') IS NULL`,
      ),
      ids: db.prepare<[number], { id: number }>(
        `SELECT id FROM dashboard_requests WHERE json_extract(result, '$.breakGlass') IS NOT NULL
         ORDER BY id DESC LIMIT ?`,
      ),
      pendingIds: db.prepare<[], { id: number }>(
        `SELECT id FROM dashboard_requests WHERE json_extract(result, '$.breakGlass') IS NOT NULL
           AND json_extract(result, '$.breakGlass.reviewedAt') IS NULL ORDER BY id`,
      ),
      count: db.prepare<[], { n: number }>(
        `SELECT COUNT(*) AS n FROM dashboard_requests WHERE json_extract(result, '$.breakGlass') IS NOT NULL`,
      ),
    };
  }

  #append<T extends KnownRecordType>(
    type: T,
    at: number,
    actor: string,
    data: RecordDataOf<T>,
    person: string | null,
  ) {
    this.#d.journal.append({ ...recordOf(type, data), at, actor, person });
  }

  /**
   * Carries `input` out at once, alone, with `reason`: one transaction for the request (filed and
   * approved by `by`), the change and `break_glass_used`; then the critical alarm.
   */
  use(input: NewRequest, by: RequestActor, reason: string, at: number): RequestRecord {
    this.#requests.requirePerson(by, 'break_glass', input.kind, at);
    const def = KINDS[input.kind];
    const refuse = (message: string): never => {
      this.#append(
        'request_refused',
        at,
        by.actor,
        { action: 'break_glass', kind: input.kind, why: 'forbidden' },
        null,
      );
      throw new ApprovalError('forbidden', message);
    };
    if (def.account || !can(by.user.role, 'requests.approve'))
      refuse(
        def.account
          ? 'account requests never take the break-glass path: they wait for an administrator'
          : `only a role that may approve ${input.kind} may act alone (break-glass)`,
      );
    // Widening an approved visit alone would skip the second person the amendment exists for.
    if (input.kind === 'visitor_badge' && input.payload.amends !== undefined) {
      refuse(
        'an amendment of an approved visitor request waits for a different person: it never takes the break-glass path',
      );
    }
    const why = BreakGlassReason.safeParse(reason);
    if (!why.success) throw new ApprovalError('invalid_input', why.error.issues[0]!.message);
    const bound = bindRequest(input.kind, input.payload);
    bound.check(this.#requests.checkContext(undefined, at));
    const summary = bound.summary();
    const id = this.#d.journal.transaction(() => {
      const id = this.#requests.insertFiled(input, by, at, bound);
      this.#s.decide.run({ id, by: by.actor, at, note: why.data });
      const result = bound.apply({
        registry: this.#d.registry,
        users: this.#d.users,
        actor: by.actor,
        at,
        requestId: id,
        requestedBy: by.actor,
        requestedAt: at,
        reason: input.reason,
        journal: this.#d.journal,
        prepared: {},
      });
      const mark: BreakGlassMark = { reason: why.data, reviewedBy: null, reviewedAt: null, reviewNote: null };
      this.#s.setResult.run(JSON.stringify({ ...result, breakGlass: mark }), id);
      this.#append(
        'break_glass_used',
        at,
        by.actor,
        { requestId: id, kind: input.kind, by: by.actor, summary, reason: why.data, result },
        bound.person,
      );
      return id;
    });
    // After the commit: the alarm is the controller's own row (no person's name in its detail).
    this.#alarms.raise(
      `break-glass: ${input.kind} carried out alone (request ${id}); review by another person pending`,
      at,
      alarmSource(id),
    );
    return this.#requests.get(id)!;
  }

  /** A different person reviews a break-glass use, with a note; the same person is refused and journaled. */
  review(id: number, by: RequestActor, note: string, at: number): RequestRecord {
    const req = this.#requests.get(id);
    const mark = req ? breakGlassOf(req) : null;
    if (!req || !mark) throw new ApprovalError('not_found', `no break-glass use ${id}`);
    this.#requests.requirePerson(by, 'review', req.kind, at, id);
    if (!can(by.user.role, 'requests.approve'))
      throw new ApprovalError(
        'forbidden',
        'only a role that may approve requests may review a break-glass use',
      );
    if (mark.reviewedAt !== null)
      throw new ApprovalError('conflict', `break-glass use ${id} is already reviewed`);
    if (samePerson(req.requestedBy, by.actor)) {
      this.#append(
        'self_approval_refused',
        at,
        by.actor,
        { requestId: id, kind: req.kind, requestedBy: req.requestedBy },
        null,
      );
      throw new ApprovalError(
        'self_approval_refused',
        'a break-glass use is reviewed by a different person (§4(3)); this attempt was recorded',
      );
    }
    const text = note.trim();
    if (text.length < MIN_REVIEW_NOTE)
      throw new ApprovalError('invalid_input', `a review note of at least ${MIN_REVIEW_NOTE} characters`);
    const unsafe = findUnsafeChar(text);
    if (unsafe) throw new ApprovalError('invalid_input', `review note: ${unsafeCharMessage(unsafe)}`);
    const bound = bindRequest(req.kind, req.payload);
    this.#d.journal.transaction(() => {
      const reviewed: BreakGlassMark = { ...mark, reviewedBy: by.actor, reviewedAt: at, reviewNote: text };
      const info = this.#s.review.run({
        id,
        result: JSON.stringify({ ...req.result, breakGlass: reviewed }),
      });
      if (info.changes !== 1)
        throw new ApprovalError('conflict', `break-glass use ${id} is already reviewed`);
      this.#append(
        'break_glass_reviewed',
        at,
        by.actor,
        { requestId: id, kind: req.kind, usedBy: req.requestedBy, reviewer: by.actor, note: text },
        bound.person,
      );
    });
    this.#alarms.clear(at, alarmSource(id));
    return this.#requests.get(id)!;
  }

  /** Break-glass uses, newest first. */
  list(limit: number): RequestRecord[] {
    return this.#s.ids.all(limit).map((r) => this.#requests.get(r.id)!);
  }

  /** Uses still waiting for their review, oldest first. */
  pendingReviews(): RequestRecord[] {
    return this.#s.pendingIds.all().map((r) => this.#requests.get(r.id)!);
  }

  count(): number {
    return this.#s.count.get()!.n;
  }
}

/** The break-glass facts of a stored request, or null if it was not a break-glass use. */
export function breakGlassOf(req: Pick<RequestRecord, 'result'>): BreakGlassMark | null {
  const m = req.result?.breakGlass;
  if (m === null || typeof m !== 'object') return null;
  return m as BreakGlassMark;
}
