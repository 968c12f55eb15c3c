import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICIES, Thrash } from './policy.js';
import { createAccessCounters, createThrashing } from './policy-thrashing.js';

const base = DEFAULT_POLICIES.thrashing;

/** The page goes to the device at `at` and comes back; the device wants it again at `next`. */
function roundTrip(t: ReturnType<typeof createThrashing>, at: number, next: number): Thrash {
  t.migrated(1, at);
  return t.wants(1, next);
}

describe('thrashing (uvm_perf_thrashing.c: 3 events within the lapse)', () => {
  it('pin: the third round trip within the lapse pins the page for `pin` batches', () => {
    const t = createThrashing({ ...base, policy: 'pin', pin: 100 });
    expect(t.wants(1, 0)).toBe(Thrash.no); // never on the device: no round trip
    expect(roundTrip(t, 0, 1)).toBe(Thrash.no);
    expect(roundTrip(t, 1, 2)).toBe(Thrash.no);
    expect(roundTrip(t, 2, 3)).toBe(Thrash.detected);
    expect(t.wants(1, 4)).toBe(Thrash.remote);
    expect(t.wants(1, 102)).toBe(Thrash.remote);
    expect(t.wants(1, 103)).toBe(Thrash.no); // pinned until 3 + 100
    expect(roundTrip(t, 103, 104)).toBe(Thrash.no); // counting starts afresh
  });

  it('round trips further apart than the lapse start the count again', () => {
    const t = createThrashing({ ...base, policy: 'pin' });
    expect(roundTrip(t, 0, 1)).toBe(Thrash.no);
    expect(roundTrip(t, 1, 2)).toBe(Thrash.no);
    expect(roundTrip(t, 2, 2 + base.lapse + 1)).toBe(Thrash.no); // count 1 again
    expect(roundTrip(t, 20, 21)).toBe(Thrash.no);
    expect(roundTrip(t, 21, 22)).toBe(Thrash.detected);
  });

  it('remote: a thrashing page is mapped remotely for good', () => {
    const t = createThrashing({ ...base, policy: 'remote' });
    roundTrip(t, 0, 1);
    roundTrip(t, 1, 2);
    expect(roundTrip(t, 2, 3)).toBe(Thrash.detected);
    expect(t.wants(1, 1e9)).toBe(Thrash.remote);
    t.forget(1);
    expect(t.wants(1, 1e9)).toBe(Thrash.no);
  });

  it('none never mitigates', () => {
    const t = createThrashing(base);
    for (let i = 0; i < 10; i++) expect(roundTrip(t, i, i + 1)).toBe(Thrash.no);
  });
});

describe('access counters (uvm_gpu_access_counters.c)', () => {
  it('notify at the threshold, and the counter starts again', () => {
    const c = createAccessCounters(3, 2 * 1024 * 1024);
    expect(c.regionPages).toBe(512);
    expect(c.access(7)).toBe(false);
    expect(c.access(7)).toBe(false);
    expect(c.access(8)).toBe(false);
    expect(c.access(7)).toBe(true);
    expect(c.count(7)).toBe(0);
    expect(c.count(8)).toBe(1);
  });
});
