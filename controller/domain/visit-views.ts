/** Read-only views of the visit state for the dashboard and the CLI: who is inside, rooms, waits. */
import type { DerivedState } from './fold.js';
import { whoIsInside } from './fold.js';
import type { PersonCategory } from './types.js';
import { type PendingVisitor, UNKNOWN_ROOM, type VisitorBadgeInfo } from './visit-state.js';

/** One person inside a room, as the "who is inside" view shows them. */
export interface PresenceView {
  personId: string;
  category: PersonCategory | null;
  since: number;
  /** A visitor's escort (person id), or null. */
  escort: string | null;
  /** For a visitor: whether their escort is inside (false = unescorted); null for others. */
  escorted: boolean | null;
  /** They may have left without badging (exit button) since `uncertainSince`. */
  uncertain: boolean;
  uncertainSince: number | null;
  /** An escort refused at the exit because their visitors are inside. */
  exitRefused: boolean;
}

/** Who is inside `doorId`, earliest first, with escorts and uncertainty. */
export function presenceView(state: DerivedState, doorId: string): PresenceView[] {
  const inside = state.presence[doorId];
  if (inside === undefined) return [];
  return whoIsInside(state, doorId).map((e) => ({
    personId: e.personId,
    category: e.category ?? null,
    since: e.since,
    escort: e.escort ?? null,
    escorted: e.category === 'visitor' ? e.escort !== undefined && Object.hasOwn(inside, e.escort) : null,
    uncertain: e.uncertainSince !== undefined,
    uncertainSince: e.uncertainSince ?? null,
    exitRefused: e.exitRefusedAt !== undefined,
  }));
}

export interface RoomStatus {
  doorId: string;
  empty: boolean;
  /** Someone inside is marked uncertain. */
  uncertain: boolean;
  contact: 'open' | 'closed' | 'unknown';
  lock: 'locked' | 'unlocked' | 'unknown';
  /** Empty and not yet shown secured since then; null otherwise. */
  unsecuredSince: number | null;
}

export function roomStatus(state: DerivedState, doorId: string): RoomStatus {
  const room = state.visits.rooms[doorId] ?? UNKNOWN_ROOM;
  const inside = state.presence[doorId];
  return {
    doorId,
    empty: inside === undefined,
    uncertain: Object.values(inside ?? {}).some((e) => e.uncertainSince !== undefined),
    contact: room.contact,
    lock: room.lock,
    unsecuredSince: inside === undefined ? room.unsecuredSince : null,
  };
}

/** Visitors waiting for an escort at `doorId`'s entry reader. */
export function pendingVisitors(state: DerivedState, doorId: string): PendingVisitor[] {
  return [...(state.visits.pending[doorId] ?? [])];
}

/** Unreturned visitor badges, earliest issued first. */
export function unreturnedVisitorBadges(state: DerivedState): VisitorBadgeInfo[] {
  return Object.values(state.visits.visitorBadges).sort(
    (a, b) => a.issuedAt - b.issuedAt || (a.badgeId < b.badgeId ? -1 : 1),
  );
}
