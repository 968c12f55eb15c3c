import { describe, expect, it } from 'vitest';
import { NotifyEvent } from '../mm/mmu-notifier.js';
import { type IntervalNotifier, NotifierSubscriptions } from './notifier.js';

describe('mmu_interval_notifier sequence protocol', () => {
  it('read_retry is false when no invalidation ran since read_begin', () => {
    const subs = new NotifierSubscriptions();
    const ni = subs.insert(0, 100, (n, _s, _e, _ev, _o, cur) => {
      n.invalidateSeq = cur;
    });
    const seq = subs.readBegin(ni);
    expect(subs.readRetry(ni, seq)).toBe(false);
  });

  it('an overlapping invalidation makes read_retry true; the mm sequence is even again after it', () => {
    const subs = new NotifierSubscriptions();
    const calls: [number, number][] = [];
    const ni = subs.insert(10, 20, (n, s, e, _ev, _o, cur) => {
      calls.push([s, e]);
      expect(cur % 2).toBe(1); // odd while the invalidation runs
      n.invalidateSeq = cur;
    });
    const seq = subs.readBegin(ni);
    subs.invalidate(15, 30, NotifyEvent.unmap, null);
    expect(calls).toEqual([[15, 30]]);
    expect(subs.readRetry(ni, seq)).toBe(true);
    expect(subs.invalidateSeq % 2).toBe(0);
    // A new read section after it is valid until the next invalidation.
    const seq2 = subs.readBegin(ni);
    expect(subs.readRetry(ni, seq2)).toBe(false);
  });

  it('a range that does not overlap the interval calls nothing and changes nothing for it', () => {
    const subs = new NotifierSubscriptions();
    let called = 0;
    const ni = subs.insert(10, 20, (n, _s, _e, _ev, _o, cur) => {
      called++;
      n.invalidateSeq = cur;
    });
    const seq = subs.readBegin(ni);
    subs.invalidate(20, 40, NotifyEvent.clear, null);
    subs.invalidate(0, 10, NotifyEvent.clear, null);
    expect(called).toBe(0);
    expect(subs.readRetry(ni, seq)).toBe(false);
  });

  it('a callback that does not set the sequence (a driver ignoring its own migration) causes no retry', () => {
    const subs = new NotifierSubscriptions();
    const me = {};
    const ni: IntervalNotifier = subs.insert(0, 100, (n, _s, _e, ev, owner, cur) => {
      if (ev === NotifyEvent.migrate && owner === me) return;
      n.invalidateSeq = cur;
    });
    const seq = subs.readBegin(ni);
    subs.invalidate(0, 10, NotifyEvent.migrate, me);
    expect(subs.readRetry(ni, seq)).toBe(false);
    subs.invalidate(0, 10, NotifyEvent.migrate, {});
    expect(subs.readRetry(ni, seq)).toBe(true);
  });

  it('a removed interval is not called', () => {
    const subs = new NotifierSubscriptions();
    let called = 0;
    const ni = subs.insert(0, 100, () => called++);
    subs.remove(ni);
    subs.invalidate(0, 100, NotifyEvent.unmap, null);
    expect(called).toBe(0);
  });
});
