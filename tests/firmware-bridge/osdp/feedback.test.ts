/** Which LED/buzzer pattern a decision gets (controller/runtime/readers.ts feedbackFor). */
import { describe, expect, it } from 'vitest';
import { feedbackFor } from '../../../controller/runtime/readers.js';

describe('feedbackFor', () => {
  it('maps the decision to granted, escort, lockdown or denied', () => {
    expect(feedbackFor({ decision: { granted: true, reason: 'granted' } })).toBe('granted');
    expect(feedbackFor({ decision: { granted: true, reason: 'override_granted' } })).toBe('granted');
    expect(feedbackFor({ decision: { granted: false, reason: 'escort_required' } })).toBe('escort');
    expect(feedbackFor({ decision: { granted: false, reason: 'lockdown' } })).toBe('lockdown');
    expect(feedbackFor({ decision: { granted: false, reason: 'unknown_badge' } })).toBe('denied');
    expect(feedbackFor({ decision: { granted: false, reason: 'storage_unavailable' } })).toBe('denied');
  });
  it('shows nothing when there is no decision', () => {
    expect(feedbackFor(undefined)).toBeNull();
    expect(feedbackFor({})).toBeNull();
  });
});
