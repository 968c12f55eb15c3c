import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Xarray } from './xarray.js';

/** Nodes a radix tree of 64-slot nodes needs for these keys (xarray shape, index 0 alone in the head). */
function expectedNodes(keys: number[]): number {
  if (keys.length === 0 || (keys.length === 1 && keys[0] === 0)) return 0;
  const max = Math.max(...keys);
  let height = 1;
  while (max >= 64 ** height) height++;
  let nodes = 0;
  for (let level = 1; level <= height; level++)
    nodes += new Set(keys.map((k) => Math.floor(k / 64 ** level))).size;
  return nodes;
}

describe('Xarray', () => {
  it('keeps index 0 alone without a node, and grows and shrinks with the largest index', () => {
    const xa = new Xarray();
    xa.set(0, 7);
    expect(xa.nodes).toBe(0);
    expect(xa.get(0)).toBe(7);
    xa.set(1, 8);
    expect(xa.nodes).toBe(1);
    xa.set(64 * 64, 9); // needs three levels: a root, and a path down to each leaf
    expect(xa.nodes).toBe(5);
    expect(xa.delete(64 * 64)).toBe(9);
    expect(xa.nodes).toBe(1);
    xa.delete(1);
    expect(xa.nodes).toBe(0);
    expect(xa.get(0)).toBe(7);
    expect(xa.size).toBe(1);
  });

  it('frees the root when the only entry of a two-level tree goes', () => {
    const xa = new Xarray();
    xa.set(139, 1); // a root and one leaf node
    expect(xa.nodes).toBe(2);
    xa.delete(139);
    expect([xa.nodes, xa.size, xa.get(139)]).toEqual([0, 0, undefined]);
    xa.set(5, 2);
    expect([xa.nodes, xa.get(5)]).toEqual([1, 2]);
  });

  it('agrees with a Map and with the node count of the tree shape, under random operations', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.boolean(),
            fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 2 ** 30 })),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const xa = new Xarray();
          const m = new Map<number, number>();
          let v = 1;
          for (const [add, key] of ops) {
            if (add) {
              xa.set(key, v);
              m.set(key, v++);
            } else {
              expect(xa.delete(key)).toBe(m.get(key));
              m.delete(key);
            }
            expect(xa.size).toBe(m.size);
            expect(xa.nodes).toBe(expectedNodes([...m.keys()]));
          }
          const sorted = [...m.entries()].sort((a, b) => a[0] - b[0]);
          expect(xa.entries()).toEqual(sorted);
          expect(xa.entries(50, 150)).toEqual(sorted.filter(([k]) => k >= 50 && k < 150));
          for (const [k, val] of m) expect(xa.get(k)).toBe(val);
        },
      ),
    );
  });
});
