/**
 * The kinds of request (POLICY §4(3)), one entry each: the payload's schema, the check that the
 * request could be carried out now (run when it is filed and again when it is approved), and what
 * approving it does. RequestStore (requests.ts) holds the workflow common to every kind.
 */
import { z } from 'zod';
import { Role } from '../accounts/roles.js';
import { DisplayName, newActivationHalf, type User, Username, type UserStore } from '../accounts/users.js';
import type { Config } from '../config/index.js';
import { Direction, nameField, visitWindowProblem } from '../domain/index.js';
import type { Journal } from '../journal/index.js';
import type { Registry } from '../registry/index.js';
import { formatLocal } from '../time.js';
import { ApprovalError } from './errors.js';
import { MANUAL_ENTRY, ManualEntryPayload } from './manual-entry.js';

export const RequestKind = z.enum([
  'access_grant',
  'schedule_change',
  'escort_permission',
  'visitor_badge',
  'equipment',
  'account_create',
  'role_change',
  'badge_enrol',
  'validity_change',
  'lockdown_override',
  'password_reset',
  'manual_entry',
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
    name: nameField(100),
    organisation: nameField(100, { min: 0 }).default(''),
    /** The ID on the visitor's pass; default `V-<request id>`. */
    displayId: nameField(64, { min: 0 }).default(''),
    hostPersonId: Id,
    purpose: Text(200),
    doorId: Id,
    validFrom: Time,
    validUntil: Time,
    /** Equipment declared for carry-in (§7(1)②オ), one item per line or comma. */
    equipment: z.string().trim().max(1000).default(''),
    /**
     * An amendment: the approved, not yet handed out visitor request it replaces once a different
     * person approves it (RequestStore: filed by that request's applicant only).
     */
    amends: z.number().int().positive().optional(),
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
  /**
   * A card for a staff member or contractor. The number itself is never stored: the request carries
   * its keyed hash and masked suffix (Registry.sealCredential), so the approver approves this card.
   */
  badge_enrol: z.strictObject({
    personId: Id,
    credentialHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a keyed hash'),
    masked: z.string().min(1).max(16),
    validFrom: Time.nullable().default(null),
    validUntil: Time.nullable().default(null),
  }),
  /**
   * The widening part of a person's edit (see `splitPersonPatch`): an earlier start, a later end
   * (null = unbounded), re-activation. A field left out is unchanged.
   */
  validity_change: z
    .strictObject({
      personId: Id,
      validFrom: Time.nullable().optional(),
      validUntil: Time.nullable().optional(),
      active: z.literal(true).optional(),
    })
    .refine(
      (p) => p.validFrom !== undefined || p.validUntil !== undefined || p.active !== undefined,
      'expected validFrom, validUntil or active',
    ),
  /** Let a person's badges open a door in lockdown (§8(5)①). */
  lockdown_override: z.strictObject({ personId: Id }),
  password_reset: z.strictObject({ userId: Id }),
  manual_entry: ManualEntryPayload,
} as const satisfies Record<RequestKind, z.ZodType>;

export type Payload<K extends RequestKind> = z.output<(typeof PAYLOADS)[K]>;

type Payloads = { readonly [K in RequestKind]: z.ZodType };
type RequestOption<P extends Payloads> = {
  [K in RequestKind]: z.ZodObject<
    { kind: z.ZodLiteral<K>; payload: P[K]; reason: ReturnType<typeof Text> },
    z.core.$strict
  >;
}[RequestKind];

/**
 * A request as filed: `{ kind, payload, reason }`, one option per request kind with that kind's
 * payload schema. The store takes `NewRequest`; the API's body (dashboards/routes/requests.ts) is
 * the same schema with the visitor's window also accepted as local date-times.
 */
export function requestSchema<P extends Payloads>(payloads: P) {
  const options = RequestKind.options.map((kind) =>
    z.strictObject({ kind: z.literal(kind), payload: payloads[kind], reason: Text(500) }),
  );
  return z.discriminatedUnion('kind', options as unknown as [RequestOption<P>, ...RequestOption<P>[]]);
}

/** `requestSchema` with more top-level fields on every option (the API's `breakGlass`). */
export function requestSchemaWith<P extends Payloads, E extends z.ZodRawShape>(payloads: P, extra: E) {
  const options = RequestKind.options.map((kind) =>
    z.strictObject({ kind: z.literal(kind), payload: payloads[kind], reason: Text(500), ...extra }),
  );
  type Option = {
    [K in RequestKind]: z.ZodObject<
      { kind: z.ZodLiteral<K>; payload: P[K]; reason: ReturnType<typeof Text> } & E,
      z.core.$strict
    >;
  }[RequestKind];
  return z.discriminatedUnion('kind', options as unknown as [Option, ...Option[]]);
}

export const NewRequest = requestSchema(PAYLOADS);
export type NewRequest = z.infer<typeof NewRequest>;

/** What a kind's check reads. */
export interface CheckContext {
  registry: Registry;
  users: UserStore;
  config: Config;
  /** The journal, read only (a manual entry's outages and duplicates). */
  journal: Journal;
  /** When the request is filed or approved. */
  now: number;
  /** The request being checked again at its approval; absent when it is filed. */
  requestId?: number;
  /** The pending requests of one kind (their payloads as stored). */
  pending(kind: RequestKind): { id: number; payload: Record<string, unknown> }[];
}

/** What approving a request may write, inside the approval's transaction. */
export interface ApplyContext {
  registry: Registry;
  users: UserStore;
  actor: string;
  at: number;
  requestId: number;
  requestedBy: string;
  requestedAt: number;
  /** The request's reason. */
  reason: string;
  /** For a kind whose approval is a journal row of its own (manual_entry). */
  journal: Journal;
  /** What the kind's `prepare` made before the transaction. */
  prepared: Prepared;
}

/** Made before the approval's transaction, because it is slow (hashing). */
export interface Prepared {
  /** The approver's half of an activation secret, shown to the approver this once. */
  activationHalf?: string;
  /** A hash no password matches, for an account waiting for activation. */
  unusableHash?: string;
}

/** What a kind may do when it is filed, inside the filing's transaction. */
export interface FiledContext {
  users: UserStore;
  actor: string;
  at: number;
  requestId: number;
}

export interface KindDef<P> {
  /** The payload's schema (also what a stored payload is read back with). */
  readonly payload: z.ZodType<P>;
  /** Account kinds are filed by those who may read accounts and approved by administrators. */
  readonly account: boolean;
  /** The person the request's journal rows name, if any. */
  person?(p: P): string | null;
  /** The account the request changes, if any (stored with the request). */
  subjectUser?(p: P): string | null;
  /** Whether `user` is the request's subject, who may not approve it (besides its applicant). */
  concerns?(p: P, user: Pick<User, 'id' | 'username'>): boolean;
  /** Throws ApprovalError (or the account or registry error) if the request cannot be carried out. */
  check(p: P, ctx: CheckContext): void;
  prepare?(p: P, users: UserStore): Promise<Prepared>;
  /** What filing it does at once, besides the request (a password reset ends the sessions). */
  filed?(p: P, ctx: FiledContext): void;
  /** Carries the approved request out; answers what it did (stored as the request's result). */
  apply(p: P, ctx: ApplyContext): Record<string, unknown>;
  /** A short, secret-free account of the request (the break-glass row); default: its payload. */
  summary?(p: P): string;
}

function door(ctx: CheckContext, id: string): void {
  if (!ctx.config.doors.some((d) => d.id === id)) throw new ApprovalError('invalid_input', `no door "${id}"`);
}

function schedule(ctx: CheckContext, id: string): void {
  if (id !== 'always' && !ctx.config.schedules.some((s) => s.id === id))
    throw new ApprovalError('invalid_input', `no schedule "${id}"`);
}

function person(ctx: CheckContext, id: string, what = 'person') {
  const p = ctx.registry.getPerson(id);
  if (!p) throw new ApprovalError('invalid_input', `no ${what} "${id}"`);
  return p;
}

/** The person `id`, who must be an active staff member (else invalid_input with `message`). */
function activeStaff(ctx: CheckContext, id: string, what: string, message: string) {
  const p = person(ctx, id, what);
  if (p.category !== 'staff' || !p.active) throw new ApprovalError('invalid_input', message);
  return p;
}

const personId = (p: { personId: string }) => p.personId;

/** A staff member or contractor who may hold badges (visitors get theirs with their visitor badge). */
function badgeHolder(ctx: CheckContext, id: string) {
  const who = person(ctx, id);
  if (who.category === 'visitor')
    throw new ApprovalError('invalid_input', 'a visitor badge is handed out through its approved request');
  return who;
}

/** Every request kind. The mapped type ties each entry to its own payload type. */
export const KINDS: { readonly [K in RequestKind]: KindDef<Payload<K>> } = {
  access_grant: {
    payload: PAYLOADS.access_grant,
    account: false,
    person: personId,
    check(p, ctx) {
      // What the form's picker offers: active staff and contractors (a visitor's doors come with
      // their visitor badge). The picker only searches; this is the check.
      const who = person(ctx, p.personId);
      if (who.category === 'visitor')
        throw new ApprovalError(
          'invalid_input',
          'a visitor gets doors with their visitor badge, not a grant',
        );
      if (!who.active) throw new ApprovalError('invalid_input', 'the person is inactive');
      door(ctx, p.doorId);
      schedule(ctx, p.scheduleId);
      if (
        ctx.registry
          .permissionsFor(p.personId)
          .some((x) => x.doorId === p.doorId && x.scheduleId === p.scheduleId)
      )
        throw new ApprovalError('conflict', 'this person already has that access');
    },
    apply(p, ctx) {
      ctx.registry.grantDoor(p.personId, p.doorId, p.scheduleId, ctx.actor, ctx.at);
      return { granted: true };
    },
  },
  schedule_change: {
    payload: PAYLOADS.schedule_change,
    account: false,
    person: personId,
    check(p, ctx) {
      person(ctx, p.personId);
      door(ctx, p.doorId);
      schedule(ctx, p.toScheduleId);
      if (p.fromScheduleId === p.toScheduleId)
        throw new ApprovalError('invalid_input', 'the new schedule is the current one');
      const perms = ctx.registry.permissionsFor(p.personId);
      if (!perms.some((x) => x.doorId === p.doorId && x.scheduleId === p.fromScheduleId))
        throw new ApprovalError('conflict', 'this person has no access under the current schedule given');
    },
    apply(p, ctx) {
      ctx.registry.revokeDoor(p.personId, p.doorId, ctx.actor, ctx.at, p.fromScheduleId);
      ctx.registry.grantDoor(p.personId, p.doorId, p.toScheduleId, ctx.actor, ctx.at);
      return { changed: true };
    },
  },
  escort_permission: {
    payload: PAYLOADS.escort_permission,
    account: false,
    person: personId,
    check(p, ctx) {
      activeStaff(ctx, p.personId, 'person', 'only an active staff member may escort visitors');
      if (ctx.registry.mayEscort(p.personId))
        throw new ApprovalError('conflict', 'this person may already escort');
    },
    apply(p, ctx) {
      ctx.registry.setMayEscort(p.personId, true, ctx.actor, ctx.at);
      return { mayEscort: true };
    },
  },
  visitor_badge: {
    payload: PAYLOADS.visitor_badge,
    account: false,
    check(p, ctx) {
      activeStaff(ctx, p.hostPersonId, 'host', 'the host must be an active staff member');
      door(ctx, p.doorId);
      const problem = visitWindowProblem(p.validFrom, p.validUntil, ctx.now);
      if (problem === 'reversed')
        throw new ApprovalError('invalid_input', 'the visit must end after it starts');
      if (problem === 'too_long')
        throw new ApprovalError('invalid_input', 'a visitor badge is valid for at most 7 days');
      // Filed (or approved) after its end, the card could never be used: say so now, not at the desk.
      if (problem === 'ended')
        throw new ApprovalError(
          'visit_ended',
          `the visit's window ended at ${formatLocal(p.validUntil, ctx.config.timeZone)}: give a window that ends in the future`,
        );
    },
    // The card is enrolled when it is handed out (RequestStore.issueVisitorBadge): no badge number
    // waits here.
    apply: () => ({ approved: true }),
  },
  equipment: {
    payload: PAYLOADS.equipment,
    account: false,
    person: personId,
    check(p, ctx) {
      if (!person(ctx, p.personId).active) throw new ApprovalError('invalid_input', 'the person is inactive');
      activeStaff(ctx, p.witnessPersonId, 'witness', 'the witness must be an active staff member');
      door(ctx, p.doorId);
    },
    apply: () => ({ approved: true }),
  },
  account_create: {
    payload: PAYLOADS.account_create,
    account: true,
    concerns: (p, user) => p.username.toLowerCase() === user.username.toLowerCase(),
    check(p, ctx) {
      ctx.users.checkNew(p);
      const name = p.username.toLowerCase();
      if (
        ctx
          .pending('account_create')
          .some((r) => r.id !== ctx.requestId && String(r.payload.username).toLowerCase() === name)
      )
        throw new ApprovalError('conflict', `an account "${p.username}" is already requested`);
    },
    prepare: activationSecret,
    // No password anyone knows: the account is usable once its user has set one with both halves.
    apply(p, ctx) {
      const { unusableHash, activationHalf } = ctx.prepared;
      if (unusableHash === undefined || activationHalf === undefined)
        throw new Error('account_create: no activation was prepared');
      const via = { requestId: ctx.requestId, requestedBy: ctx.requestedBy };
      const u = ctx.users.createHashed(
        { ...p, mustChangePassword: false },
        unusableHash,
        ctx.actor,
        ctx.at,
        via,
      );
      const { expiresAt } = ctx.users.issueActivation(
        u.id,
        { purpose: 'account_create', requestId: ctx.requestId, approverHalf: activationHalf, unusableHash },
        ctx.actor,
        ctx.at,
      );
      return { userId: u.id, username: u.username, activation: 'pending', expiresAt };
    },
  },
  role_change: {
    payload: PAYLOADS.role_change,
    account: true,
    subjectUser: (p) => p.userId,
    concerns: (p, user) => p.userId === user.id,
    check(p, ctx) {
      const u = ctx.users.get(p.userId);
      if (!u) throw new ApprovalError('invalid_input', `no account "${p.userId}"`);
      if (u.role === p.role) throw new ApprovalError('conflict', `${u.username} already has that role`);
    },
    apply(p, ctx) {
      const u = ctx.users.setRole(p.userId, p.role, ctx.actor, ctx.at, {
        requestId: ctx.requestId,
        requestedBy: ctx.requestedBy,
      });
      return { userId: u.id, role: u.role };
    },
  },
  password_reset: {
    payload: PAYLOADS.password_reset,
    account: true,
    subjectUser: (p) => p.userId,
    concerns: (p, user) => p.userId === user.id,
    check(p, ctx) {
      const u = ctx.users.get(p.userId);
      if (!u) throw new ApprovalError('invalid_input', `no account "${p.userId}"`);
      if (!u.active) throw new ApprovalError('invalid_input', `${u.username} is disabled`);
      if (ctx.pending('password_reset').some((r) => r.id !== ctx.requestId && r.payload.userId === p.userId))
        throw new ApprovalError('conflict', `a password reset of ${u.username} is already requested`);
    },
    // Whoever may be using the account (perhaps not its owner) is logged out now.
    filed(p, ctx) {
      ctx.users.endSessionsForReset(p.userId, ctx.requestId, ctx.actor, ctx.at);
    },
    prepare: activationSecret,
    // The old password stops working now; the user sets a new one with both halves.
    apply(p, ctx) {
      const { unusableHash, activationHalf } = ctx.prepared;
      if (unusableHash === undefined || activationHalf === undefined)
        throw new Error('password_reset: no activation was prepared');
      const { expiresAt } = ctx.users.issueActivation(
        p.userId,
        { purpose: 'password_reset', requestId: ctx.requestId, approverHalf: activationHalf, unusableHash },
        ctx.actor,
        ctx.at,
      );
      return { userId: p.userId, activation: 'pending', expiresAt };
    },
  },
  badge_enrol: {
    payload: PAYLOADS.badge_enrol,
    account: false,
    person: personId,
    check(p, ctx) {
      badgeHolder(ctx, p.personId);
      if (p.validFrom !== null && p.validUntil !== null && p.validUntil <= p.validFrom)
        throw new ApprovalError('invalid_input', 'validUntil must be after validFrom');
      const live = ctx.registry.findBadgeByHash(p.credentialHash);
      if (live && live.status !== 'revoked')
        throw new ApprovalError('conflict', `card ${p.masked} is already enrolled as badge ${live.id}`);
      if (
        ctx
          .pending('badge_enrol')
          .some((r) => r.id !== ctx.requestId && r.payload.credentialHash === p.credentialHash)
      )
        throw new ApprovalError('conflict', `card ${p.masked} is already requested`);
    },
    apply(p, ctx) {
      const b = ctx.registry.addSealedBadge(p, ctx.actor, ctx.at);
      return { badgeId: b.id, masked: b.masked };
    },
    summary: (p) =>
      `badge ${p.masked} for ${p.personId}${p.validUntil === null ? '' : ` until ${new Date(p.validUntil).toISOString()}`}`,
  },
  validity_change: {
    payload: PAYLOADS.validity_change,
    account: false,
    person: personId,
    check(p, ctx) {
      const who = badgeHolder(ctx, p.personId);
      const from = p.validFrom === undefined ? who.validFrom : p.validFrom;
      const until = p.validUntil === undefined ? who.validUntil : p.validUntil;
      if (from !== null && until !== null && until <= from)
        throw new ApprovalError('invalid_input', 'validUntil must be after validFrom');
    },
    apply(p, ctx) {
      const { personId: id, ...patch } = p;
      const after = ctx.registry.updatePerson(id, patch, ctx.actor, ctx.at);
      return { validFrom: after.validFrom, validUntil: after.validUntil, active: after.active };
    },
    summary: (p) => {
      const t = (v: number | null | undefined) => (v === null ? 'unbounded' : new Date(v!).toISOString());
      const parts = [`person ${p.personId}`];
      if (p.validFrom !== undefined) parts.push(`from ${t(p.validFrom)}`);
      if (p.validUntil !== undefined) parts.push(`until ${t(p.validUntil)}`);
      if (p.active) parts.push('re-activated');
      return parts.join(', ');
    },
  },
  lockdown_override: {
    payload: PAYLOADS.lockdown_override,
    account: false,
    person: personId,
    check(p, ctx) {
      const who = badgeHolder(ctx, p.personId);
      if (who.lockdownOverride) throw new ApprovalError('conflict', 'this person already has the override');
    },
    apply(p, ctx) {
      ctx.registry.updatePerson(p.personId, { lockdownOverride: true }, ctx.actor, ctx.at);
      return { lockdownOverride: true };
    },
    summary: (p) => `lockdown override for ${p.personId}`,
  },
  manual_entry: MANUAL_ENTRY,
};

/** The people fields of a person edit (PATCH /api/people/:id) that may widen access. */
export interface PersonWindow {
  validFrom: number | null;
  validUntil: number | null;
  active: boolean;
  lockdownOverride: boolean;
}

/**
 * Splits an edit of a person into what takes effect at once and what widens access and so waits for
 * a second person (§4(3)). Widening: `validFrom` earlier than now stored (null = no start is the
 * earliest), `validUntil` later (null = no end is the latest), `active` false → true, and
 * `lockdownOverride` false → true. Everything else — a name, an ID card, a shorter window,
 * deactivation, removing the override — narrows or is neutral and applies at once.
 */
export function splitPersonPatch<T extends Partial<PersonWindow>>(
  current: PersonWindow,
  patch: T,
): {
  now: Omit<T, keyof PersonWindow> & Partial<PersonWindow>;
  validity: Partial<Pick<PersonWindow, 'validFrom' | 'validUntil'>> & { active?: true };
  lockdownOverride: boolean;
} {
  const now: Record<string, unknown> = { ...patch };
  const validity: { validFrom?: number | null; validUntil?: number | null; active?: true } = {};
  const earlier = (a: number | null, b: number | null) => a !== b && (a === null || (b !== null && a < b));
  const later = (a: number | null, b: number | null) => a !== b && (a === null || (b !== null && a > b));
  if (patch.validFrom !== undefined && earlier(patch.validFrom, current.validFrom)) {
    validity.validFrom = patch.validFrom;
    delete now.validFrom;
  }
  if (patch.validUntil !== undefined && later(patch.validUntil, current.validUntil)) {
    validity.validUntil = patch.validUntil;
    delete now.validUntil;
  }
  if (patch.active === true && !current.active) {
    validity.active = true;
    delete now.active;
  }
  const lockdownOverride = patch.lockdownOverride === true && !current.lockdownOverride;
  if (lockdownOverride) delete now.lockdownOverride;
  return { now: now as Omit<T, keyof PersonWindow> & Partial<PersonWindow>, validity, lockdownOverride };
}

/** The approver's half and the unusable hash of an activation (account_create, password_reset). */
async function activationSecret(_p: unknown, users: UserStore): Promise<Prepared> {
  return { activationHalf: newActivationHalf(), unusableHash: await users.unusableHash() };
}

/** A request's kind entry with its payload read by that kind's schema, so the two cannot disagree. */
export interface BoundRequest {
  readonly kind: RequestKind;
  readonly account: boolean;
  readonly person: string | null;
  readonly subjectUser: string | null;
  concerns(user: Pick<User, 'id' | 'username'>): boolean;
  check(ctx: CheckContext): void;
  prepare(users: UserStore): Promise<Prepared>;
  filed(ctx: FiledContext): void;
  apply(ctx: ApplyContext): Record<string, unknown>;
  summary(): string;
}

export function bindRequest<K extends RequestKind>(kind: K, payload: unknown): BoundRequest {
  const def: KindDef<Payload<K>> = KINDS[kind];
  const parsed = def.payload.safeParse(payload);
  if (!parsed.success) {
    // The API checks bodies first; this names the field for the CLI and other callers.
    const issue = parsed.error.issues[0]!;
    throw new ApprovalError('invalid_input', `${kind}.${issue.path.join('.')}: ${issue.message}`);
  }
  const p = parsed.data;
  return {
    kind,
    account: def.account,
    person: def.person?.(p) ?? null,
    subjectUser: def.subjectUser?.(p) ?? null,
    concerns: (user) => def.concerns?.(p, user) ?? false,
    check: (ctx) => def.check(p, ctx),
    prepare: async (users) => (def.prepare ? await def.prepare(p, users) : {}),
    filed: (ctx) => def.filed?.(p, ctx),
    apply: (ctx) => def.apply(p, ctx),
    summary: () => (def.summary ? def.summary(p) : `${kind} ${JSON.stringify(p)}`),
  };
}

export function equipmentList(text: string): string[] {
  return text
    .split(/[\n,、]/)
    .map((x) => x.trim())
    .filter(Boolean)
    .slice(0, 50);
}
