/** The visit rules' settings: the config's `visitors` section in the units the rules use. */
import { endOfLocalDay, localTimeOn } from './local-day.js';
import type { AntiPassbackMode, EscortExitPolicy } from './types.js';

/**
 * How long a visitor badge issued without an explicit end is valid: until the `endOfDay` time of
 * the issue day, or `hours` after issue.
 */
export type BadgeValidity = 'end_of_day' | { hours: number };

/** The visit rules as the config's `visitors` section gives them (times in seconds). */
export interface VisitRules {
  escortWindowS: number;
  maxVisitorsPerEscort: number;
  escortExit: EscortExitPolicy;
  handoverWindowS: number;
  antiPassback: { mode: AntiPassbackMode; forgiveAfterS: number };
  roomSecureS: number;
  /** HH:MM local. */
  endOfDay: string;
  badgeValidity: BadgeValidity;
}

export interface VisitSettings {
  timeZone: string;
  escortWindowMs: number;
  maxVisitorsPerEscort: number;
  escortExit: EscortExitPolicy;
  /** How long after an escort's refused exit their visitors can be handed over to another escort. */
  handoverWindowMs: number;
  antiPassback: AntiPassbackMode;
  passbackForgiveMs: number;
  roomSecureMs: number;
  /** HH:MM local. */
  endOfDay: string;
  badgeValidity: BadgeValidity;
}

/** The settings from the config (`timeZone` and the `visitors` section). */
export function visitSettings(config: { timeZone: string; visitors: VisitRules }): VisitSettings {
  const v = config.visitors;
  return {
    timeZone: config.timeZone,
    escortWindowMs: v.escortWindowS * 1000,
    maxVisitorsPerEscort: v.maxVisitorsPerEscort,
    escortExit: v.escortExit,
    handoverWindowMs: v.handoverWindowS * 1000,
    antiPassback: v.antiPassback.mode,
    passbackForgiveMs: v.antiPassback.forgiveAfterS * 1000,
    roomSecureMs: v.roomSecureS * 1000,
    endOfDay: v.endOfDay,
    badgeValidity: v.badgeValidity,
  };
}

/**
 * When a visitor badge issued at `at` without an explicit end stops being valid: `end_of_day` = the
 * `endOfDay` time of the local issue day (the following midnight if issued after it); `{ hours }` =
 * that many hours after issue.
 */
export function defaultVisitorBadgeUntil(
  at: number,
  settings: Pick<VisitSettings, 'timeZone' | 'endOfDay' | 'badgeValidity'>,
): number {
  if (settings.badgeValidity !== 'end_of_day') return at + settings.badgeValidity.hours * 3_600_000;
  const end = localTimeOn(at, settings.endOfDay, settings.timeZone);
  return end > at ? end : endOfLocalDay(at, settings.timeZone);
}
