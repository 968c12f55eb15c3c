import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderedMap } from './ordered-map.js';
import { Rng } from './rng.js';

// Reference: a sorted array searched linearly. Slow and obviously right.
class SortedArrayMap {
  keys: number[] = [];
  vals: string[] = [];

  set(k: number, v: string): void {
    let i = 0;
    while (i < this.keys.length && this.keys[i] < k) i++;
    if (this.keys[i] === k) this.vals[i] = v;
    else {
      this.keys.splice(i, 0, k);
      this.vals.splice(i, 0, v);
    }
  }

  delete(k: number): boolean {
    const i = this.keys.indexOf(k);
    if (i < 0) return false;
    this.keys.splice(i, 1);
    this.vals.splice(i, 1);
    return true;
  }

  get(k: number): string | undefined {
    const i = this.keys.indexOf(k);
    return i < 0 ? undefined : this.vals[i];
  }

  /** Index of the greatest key satisfying `pred` scanning down, or of the least scanning up. */
  private find(pred: (key: number) => boolean, descending: boolean): number {
    if (descending) {
      for (let i = this.keys.length - 1; i >= 0; i--) if (pred(this.keys[i])) return i;
    } else {
      for (let i = 0; i < this.keys.length; i++) if (pred(this.keys[i])) return i;
    }
    return -1;
  }

  floorKey(k: number): number | undefined {
    return this.keys[this.find((x) => x <= k, true)];
  }
  lowerKey(k: number): number | undefined {
    return this.keys[this.find((x) => x < k, true)];
  }
  ceilingKey(k: number): number | undefined {
    return this.keys[this.find((x) => x >= k, false)];
  }
  higherKey(k: number): number | undefined {
    return this.keys[this.find((x) => x > k, false)];
  }
  entries(): [number, string][] {
    return this.keys.map((k, i) => [k, this.vals[i]]);
  }
}

type Op =
  | { op: 'set'; key: number; value: string }
  | { op: 'delete'; key: number }
  | { op: 'get' | 'floor' | 'ceiling' | 'lower' | 'higher' | 'from'; key: number }
  | { op: 'range'; key: number; to: number }
  | { op: 'clear' };

// Keys from three narrow bands (low, mid, just under 2^53), so keys collide and get deleted
// again at both ends of the tree and across wide gaps.
const keyArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -20, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((k) => 2 ** 40 + k * 4096) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((k) => Number.MAX_SAFE_INTEGER - k) },
);

function opArb(weights: { set: number; delete: number; query: number; clear: number }): fc.Arbitrary<Op> {
  return fc.oneof(
    {
      weight: weights.set,
      arbitrary: fc.record({
        op: fc.constant('set' as const),
        key: keyArb,
        value: fc.string({ maxLength: 3 }),
      }),
    },
    { weight: weights.delete, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
    {
      weight: weights.query,
      arbitrary: fc.record({
        op: fc.constantFrom('get', 'floor', 'ceiling', 'lower', 'higher', 'from') as fc.Arbitrary<
          'get' | 'floor' | 'ceiling' | 'lower' | 'higher' | 'from'
        >,
        key: keyArb,
      }),
    },
    {
      weight: weights.query,
      arbitrary: fc.record({ op: fc.constant('range' as const), key: keyArb, to: keyArb }),
    },
    { weight: weights.clear, arbitrary: fc.constant({ op: 'clear' as const }) },
  );
}

type Answers = [k: number, ...answers: (number | string | boolean | undefined)[]];

/** Every point and neighbour query at `k`: key and value of each. */
function answers(map: OrderedMap<string>, k: number): Answers {
  return [
    k,
    map.get(k),
    map.has(k),
    map.floorKey(k),
    map.floor(k),
    map.ceilingKey(k),
    map.ceiling(k),
    map.lowerKey(k),
    map.lower(k),
    map.higherKey(k),
    map.higher(k),
  ];
}

function refAnswers(ref: SortedArrayMap, k: number): Answers {
  const withValue = (key: number | undefined) => [key, key === undefined ? undefined : ref.get(key)];
  return [
    k,
    ref.get(k),
    ref.get(k) !== undefined,
    ...withValue(ref.floorKey(k)),
    ...withValue(ref.ceilingKey(k)),
    ...withValue(ref.lowerKey(k)),
    ...withValue(ref.higherKey(k)),
  ];
}

function expectQueriesAgree(map: OrderedMap<string>, ref: SortedArrayMap, k: number): void {
  expect(answers(map, k)).toEqual(refAnswers(ref, k));
}

/** Whole-map comparison: size, ends, every iteration form, and the queries at and around each key. */
function expectSameMap(map: OrderedMap<string>, ref: SortedArrayMap): void {
  map.checkInvariants();
  const all = ref.entries();
  expect(map.size).toBe(all.length);
  expect([...map.entries()]).toEqual(all);
  expect([...map]).toEqual(all);
  expect([...map.keys()]).toEqual(ref.keys);
  expect([...map.values()]).toEqual(ref.vals);
  expect([...map.entriesDescending()]).toEqual([...all].reverse());
  expect(map.firstKey()).toBe(ref.keys[0]);
  expect(map.first()).toBe(ref.vals[0]);
  expect(map.lastKey()).toBe(ref.keys[ref.keys.length - 1]);
  expect(map.last()).toBe(ref.vals[ref.vals.length - 1]);
  // At, just below and between every key: one comparison, so a failure shows every answer.
  const probes = ref.keys.flatMap((k) => [k - 1, k, k + 0.5]);
  expect(probes.map((k) => answers(map, k))).toEqual(probes.map((k) => refAnswers(ref, k)));
}

function applyOp(map: OrderedMap<string>, ref: SortedArrayMap, o: Op): void {
  switch (o.op) {
    case 'set':
      map.set(o.key, o.value);
      ref.set(o.key, o.value);
      break;
    case 'delete':
      expect(map.delete(o.key)).toBe(ref.delete(o.key));
      break;
    case 'clear':
      map.clear();
      ref.keys = [];
      ref.vals = [];
      break;
    case 'get':
      expect(map.get(o.key)).toBe(ref.get(o.key));
      break;
    case 'floor':
    case 'ceiling':
    case 'lower':
    case 'higher':
      expectQueriesAgree(map, ref, o.key);
      break;
    case 'from': {
      const want = ref.entries();
      expect([...map.entries(o.key)]).toEqual(want.filter(([k]) => k >= o.key));
      expect([...map.keys(o.key)]).toEqual(ref.keys.filter((k) => k >= o.key));
      expect([...map.values(o.key)]).toEqual(want.filter(([k]) => k >= o.key).map(([, v]) => v));
      expect([...map.entriesDescending(o.key)]).toEqual(want.filter(([k]) => k <= o.key).reverse());
      break;
    }
    case 'range': {
      const got: [number, string][] = [];
      map.forEachInRange(o.key, o.to, (v, k) => {
        got.push([k, v]);
      });
      expect(got).toEqual(ref.entries().filter(([k]) => k >= o.key && k < o.to));
      break;
    }
  }
}

describe('OrderedMap against a sorted-array reference', () => {
  it('agrees on short mixed sequences, checking structure after every step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 6 }),
        fc.array(opArb({ set: 5, delete: 3, query: 2, clear: 0 }), { maxLength: 200 }),
        (order, ops) => {
          const map = new OrderedMap<string>({ order });
          const ref = new SortedArrayMap();
          for (const o of ops) {
            applyOp(map, ref, o);
            map.checkInvariants();
          }
          expectSameMap(map, ref);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees on long sequences that grow, shrink and regrow deep trees', () => {
    // Phases of mostly-insert then mostly-delete, so splits, borrows, merges and root
    // collapses all happen many times at every level.
    const phase = (set: number, del: number) =>
      fc.array(opArb({ set, delete: del, query: 1, clear: 0 }), { minLength: 300, maxLength: 1500 });
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 8 }),
        fc.array(fc.tuple(phase(10, 1), phase(1, 10)), { minLength: 1, maxLength: 3 }),
        (order, phases) => {
          const map = new OrderedMap<string>({ order });
          const ref = new SortedArrayMap();
          for (const [grow, shrink] of phases) {
            for (const o of grow) applyOp(map, ref, o);
            expectSameMap(map, ref);
            for (const o of shrink) applyOp(map, ref, o);
            expectSameMap(map, ref);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('agrees with clear() mixed in', () => {
    fc.assert(
      fc.property(fc.array(opArb({ set: 20, delete: 5, query: 3, clear: 1 }), { maxLength: 400 }), (ops) => {
        const map = new OrderedMap<string>({ order: 4 });
        const ref = new SortedArrayMap();
        for (const o of ops) applyOp(map, ref, o);
        expectSameMap(map, ref);
      }),
      { numRuns: 100 },
    );
  });
});

describe('OrderedMap', () => {
  it('answers on an empty map', () => {
    const map = new OrderedMap<string>();
    expect(map.size).toBe(0);
    expect(map.get(0)).toBeUndefined();
    expect(map.floor(0)).toBeUndefined();
    expect(map.floorKey(0)).toBeUndefined();
    expect(map.ceiling(0)).toBeUndefined();
    expect(map.lower(0)).toBeUndefined();
    expect(map.higher(0)).toBeUndefined();
    expect(map.first()).toBeUndefined();
    expect(map.lastKey()).toBeUndefined();
    expect([...map.entries()]).toEqual([]);
    expect([...map.entries(5)]).toEqual([]);
    expect([...map.entriesDescending()]).toEqual([]);
    expect([...map.entriesDescending(5)]).toEqual([]);
    expect(map.delete(0)).toBe(false);
    map.checkInvariants();
  });

  it('finds the VMA holding an address with floor', () => {
    //  0x1000   0x3000        0x8000
    //  [AAAAAAAA)[BBBB)  ...  [CCCC)
    const map = new OrderedMap<{ start: number; end: number; name: string }>();
    for (const v of [
      { start: 0x1000, end: 0x3000, name: 'A' },
      { start: 0x3000, end: 0x4000, name: 'B' },
      { start: 0x8000, end: 0x9000, name: 'C' },
    ]) {
      map.set(v.start, v);
    }
    const holding = (addr: number) => {
      const v = map.floor(addr);
      return v !== undefined && addr < v.end ? v.name : undefined;
    };
    expect(holding(0xfff)).toBeUndefined();
    expect(holding(0x1000)).toBe('A');
    expect(holding(0x2fff)).toBe('A');
    expect(holding(0x3000)).toBe('B');
    expect(holding(0x4000)).toBeUndefined();
    expect(holding(0x8fff)).toBe('C');
    expect(map.ceiling(0x4000)?.name).toBe('C');
  });

  it('replaces on set of an existing key without growing', () => {
    const map = new OrderedMap<string>({ order: 3 });
    for (let k = 0; k < 50; k++) map.set(k, 'a');
    map.set(25, 'b');
    expect(map.size).toBe(50);
    expect(map.get(25)).toBe('b');
    map.checkInvariants();
  });

  it('stops forEachInRange when the callback returns false', () => {
    const map = new OrderedMap<number>({ order: 3 });
    for (let k = 0; k < 100; k++) map.set(k * 10, k);
    const seen: number[] = [];
    map.forEachInRange(15, 1000, (v) => {
      seen.push(v);
      return seen.length < 4;
    });
    expect(seen).toEqual([2, 3, 4, 5]);
    const all: number[] = [];
    map.forEachInRange(-Infinity, Infinity, (_v, k) => {
      all.push(k);
    });
    expect(all.length).toBe(100);
  });

  it('keeps exact keys near 2^53', () => {
    const map = new OrderedMap<string>({ order: 3 });
    const top = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < 20; i++) map.set(top - i, `k${i}`);
    expect(map.floorKey(top)).toBe(top);
    expect(map.lowerKey(top)).toBe(top - 1);
    expect(map.higherKey(top - 5)).toBe(top - 4);
    expect(map.get(top - 19)).toBe('k19');
    map.checkInvariants();
  });

  it('rejects a NaN key and a bad order', () => {
    expect(() => new OrderedMap<number>().set(Number.NaN, 1)).toThrow(RangeError);
    expect(() => new OrderedMap<number>({ order: 2 })).toThrow(RangeError);
    expect(() => new OrderedMap<number>({ order: 4.5 })).toThrow(RangeError);
  });

  for (const order of [3, 4, 5, 32]) {
    it(`fills in sequential orders and drains in a shuffled order (order ${order})`, () => {
      const n = 3000;
      const rng = new Rng(order);
      for (const fill of ['ascending', 'descending', 'shuffled'] as const) {
        const map = new OrderedMap<number>({ order });
        const keys = Array.from({ length: n }, (_, i) => i * 4096);
        if (fill === 'descending') keys.reverse();
        if (fill === 'shuffled') shuffle(keys, rng);
        for (const k of keys) map.set(k, k + 1);
        map.checkInvariants();
        expect(map.size).toBe(n);
        for (let i = 0; i < n; i++) expect(map.floor(i * 4096 + 100)).toBe(i * 4096 + 1);
        shuffle(keys, rng);
        for (let i = 0; i < n; i++) {
          expect(map.delete(keys[i])).toBe(true);
          if (i % 97 === 0) map.checkInvariants();
        }
        map.checkInvariants();
        expect(map.size).toBe(0);
        expect([...map.entries()]).toEqual([]);
      }
    });
  }

  it('holds a full address space of 65530 VMAs', () => {
    const map = new OrderedMap<number>();
    const n = 65530;
    for (let i = 0; i < n; i++) map.set(i * 0x2000, i);
    map.checkInvariants();
    expect(map.size).toBe(n);
    expect(map.floor(0x2000 * 40000 + 0x1fff)).toBe(40000);
    expect(map.lastKey()).toBe((n - 1) * 0x2000);
    let count = 0;
    map.forEachInRange(0x2000 * 100, 0x2000 * 200, () => {
      count++;
    });
    expect(count).toBe(100);
    for (let i = 0; i < n; i += 2) map.delete(i * 0x2000);
    map.checkInvariants();
    expect(map.size).toBe(n / 2);
    expect(map.floor(0x2000 * 40000 + 1)).toBe(39999);
  });
});

function shuffle<T>(a: T[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
