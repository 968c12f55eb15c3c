import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResvMap } from './hugetlb-resv.js';

describe('ResvMap (resv_map file regions)', () => {
  it('adds, coalesces, counts and deletes as region_add/region_count/region_del do', () => {
    const m = new ResvMap();
    expect(m.add(2, 5)).toBe(3);
    expect(m.add(7, 9)).toBe(2);
    expect(m.add(4, 8)).toBe(2); // 5 and 6 are new
    expect(m.regions()).toEqual([[2, 9]]);
    expect([m.count(0, 100), m.chg(0, 10), m.has(8), m.has(9)]).toEqual([7, 3, true, false]);
    expect(m.del(4, 6)).toBe(2); // splits the region
    expect(m.regions()).toEqual([
      [2, 4],
      [6, 9],
    ]);
    expect(m.add(9, 10)).toBe(1); // adjacent: merges
    expect(m.regions()).toEqual([
      [2, 4],
      [6, 10],
    ]);
    expect(m.del(3, Number.POSITIVE_INFINITY)).toBe(5);
    expect(m.regions()).toEqual([[2, 3]]);
    expect(m.add(5, 5)).toBe(0);
  });

  it('agrees with a plain set of indexes', () => {
    const op = fc.record({
      add: fc.boolean(),
      f: fc.integer({ min: 0, max: 40 }),
      n: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const m = new ResvMap();
        const s = new Set<number>();
        for (const { add, f, n } of ops) {
          let want = 0;
          for (let i = f; i < f + n; i++) {
            if (add ? !s.has(i) : s.has(i)) want++;
            if (add) s.add(i);
            else s.delete(i);
          }
          expect(add ? m.add(f, f + n) : m.del(f, f + n)).toBe(want);
          expect([...m.indexes()]).toEqual([...s].sort((a, b) => a - b));
          const r = m.regions();
          for (let i = 1; i < r.length; i++) expect(r[i][0]).toBeGreaterThan(r[i - 1][1]);
        }
      }),
    );
  });
});
