/**
 * The pure rules of issue #18's workflows: a new visitor request's default window starts now; a
 * window that is over is refused; only the applicant withdraws or amends an approved request, and
 * only before its card is handed out; a lost badge never turns active by a status change, found it
 * is revoked; a returned visitor card is shown `returned`.
 */
import { describe, expect, it } from 'vitest';
import {
  approvedVisitChange,
  badgeDisplayStatus,
  badgeStatusChange,
  defaultVisitWindow,
  foundBadgeStatus,
  visitWindowProblem,
} from '../../controller/domain/index.js';

const TZ = 'Asia/Tokyo';
/** A Tokyo wall-clock time on 7 December 2026 as UTC ms. */
const tokyo = (h: number, m: number, s = 0) => Date.UTC(2026, 11, 7, h - 9, m, s);
const eod = { timeZone: TZ, endOfDay: '19:00', badgeValidity: 'end_of_day' as const };

describe('the default window of a new visitor request', () => {
  it('starts now (to the minute), never earlier today, and ends at the default badge end', () => {
    expect(defaultVisitWindow(tokyo(10, 15, 42), eod)).toEqual({ from: tokyo(10, 15), until: tokyo(19, 0) });
  });

  it('filed at 18:59 it is not a window that ends before anyone could approve it', () => {
    const w = defaultVisitWindow(tokyo(18, 59, 30), eod);
    expect(w.from).toBe(tokyo(18, 59));
    expect(w.until).toBe(tokyo(19, 59));
    expect(visitWindowProblem(w.from, w.until, tokyo(18, 59, 30))).toBeNull();
  });

  it('after the end of day it runs to midnight (the badge default), at least an hour', () => {
    expect(defaultVisitWindow(tokyo(20, 0), eod)).toEqual({ from: tokyo(20, 0), until: tokyo(24, 0) });
    expect(defaultVisitWindow(tokyo(23, 30), eod).until).toBe(tokyo(24, 30));
  });

  it('with badgeValidity in hours, that many hours from now', () => {
    const w = defaultVisitWindow(tokyo(9, 0), { ...eod, badgeValidity: { hours: 4 } });
    expect(w).toEqual({ from: tokyo(9, 0), until: tokyo(13, 0) });
  });
});

describe('a visit window', () => {
  const now = tokyo(18, 59);
  it('that is over is refused, as is one reversed or longer than 7 days', () => {
    expect(visitWindowProblem(tokyo(9, 0), tokyo(18, 0), now)).toBe('ended');
    expect(visitWindowProblem(tokyo(9, 0), now, now)).toBe('ended');
    expect(visitWindowProblem(tokyo(12, 0), tokyo(11, 0), now)).toBe('reversed');
    expect(visitWindowProblem(now, now + 8 * 86_400_000, now)).toBe('too_long');
    expect(visitWindowProblem(tokyo(9, 0), now + 60_000, now)).toBeNull();
  });
});

describe('withdrawing or amending an approved visitor request', () => {
  const approved = { kind: 'visitor_badge', status: 'approved', result: { approved: true } };
  it('is for its applicant only, and only until the card is handed out', () => {
    expect(approvedVisitChange(approved, true)).toBeNull();
    expect(approvedVisitChange(approved, false)).toBe('not_applicant');
    expect(approvedVisitChange({ ...approved, result: { badgeId: 'b_1' } }, true)).toBe('handed_out');
    expect(approvedVisitChange({ ...approved, status: 'pending', result: null }, true)).toBe('not_approved');
    expect(approvedVisitChange({ ...approved, status: 'cancelled' }, true)).toBe('not_approved');
    expect(approvedVisitChange({ ...approved, kind: 'access_grant' }, true)).toBe('not_visitor_request');
  });
});

describe('lost and found', () => {
  it('a lost badge is never made active by a status change; revoked is final', () => {
    expect(badgeStatusChange('lost', 'active')).toBe('not_silently');
    expect(badgeStatusChange('active', 'lost')).toBe('ok');
    expect(badgeStatusChange('lost', 'revoked')).toBe('ok');
    expect(badgeStatusChange('revoked', 'active')).toBe('final');
    expect(badgeStatusChange('lost', 'lost')).toBe('noop');
  });

  it('only a lost badge can be found, and found it is revoked', () => {
    expect(foundBadgeStatus('lost')).toBe('revoked');
    expect(foundBadgeStatus('active')).toBeNull();
    expect(foundBadgeStatus('revoked')).toBeNull();
  });

  it('a returned visitor card shows as returned, a revoked one as revoked', () => {
    expect(badgeDisplayStatus('revoked', 'returned')).toBe('returned');
    expect(badgeDisplayStatus('revoked', 'in_use')).toBe('revoked');
    expect(badgeDisplayStatus('revoked', null)).toBe('revoked');
    expect(badgeDisplayStatus('lost', 'in_use')).toBe('lost');
  });
});
