// The free-area cache (Mm.freeAreaCache) must never change where mmap puts a mapping: the
// same random sequence of mmap without an address, with a hint, fixed, munmap, mremap and
// mprotect runs on two systems, one whose cache is thrown away before every call, and every
// address returned and every VMA must be the same. The invariant checker (checkVmas) also
// checks the cache's promise after each call.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System } from '../sim/system.js';

const PAGE = 4096;
const MiB = 2 ** 20;

type Op =
  | { k: 'mmap'; pages: number; prot: number; hint: number }
  | { k: 'munmap'; which: number; off: number; pages: number }
  | { k: 'mremap'; which: number; pages: number }
  | { k: 'mprotect'; which: number; off: number; pages: number };

const which = fc.nat(1000);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('mmap' as const),
      // Some multiples of 2 MiB: those are aligned to 2 MiB (a padded search).
      pages: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(512, 1024)),
      prot: fc.constantFrom(1, 3),
      // Mostly no address; sometimes a hint, sometimes fixed (negative: fixed at -hint).
      hint: fc.oneof(
        { weight: 5, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 0x7f00_0000, max: 0x7fff_ff00 }) },
        { weight: 1, arbitrary: fc.integer({ min: -0x7fff_ff00, max: -0x7f00_0000 }) },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('munmap' as const),
      which,
      off: fc.nat(40),
      pages: fc.integer({ min: 1, max: 40 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('mremap' as const),
      which,
      pages: fc.integer({ min: 1, max: 80 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('mprotect' as const),
      which,
      off: fc.nat(40),
      pages: fc.integer({ min: 1, max: 8 }),
    }),
  },
);

/** Run ops on a system; `reset` throws the cache away before each call. Returns what happened. */
function run(ops: readonly Op[], reset: boolean): string[] {
  const sys = new System({ machine: machineSpec(64 * MiB), design: 'linux', seed: 1, check: true });
  const t = sys.spawn('app', 0)!;
  const mm = t.mm!;
  const got: string[] = [];
  const areas: [number, number][] = [];
  const area = (i: number) => areas[i % areas.length];
  for (const o of ops) {
    if (reset) mm.resetFreeArea();
    if (o.k === 'mmap') {
      const fixed = o.hint < 0;
      const addr = Math.abs(o.hint) * PAGE;
      const r = sys.mmap(t, fixedAnon(addr, o.pages * PAGE, { fixed, prot: o.prot }));
      got.push(r.ok ? `mmap ${r.value}` : `mmap ${r.errno}`);
      if (r.ok) areas.push([r.value, o.pages]);
      continue;
    }
    if (areas.length === 0) continue;
    const [a, n] = area(o.which);
    if (o.k === 'munmap') {
      const r = sys.munmap(t, a + (o.off % n) * PAGE, o.pages * PAGE);
      got.push(`munmap ${r.ok ? 0 : r.errno}`);
    } else if (o.k === 'mprotect') {
      const r = sys.mprotect(t, a + (o.off % n) * PAGE, o.pages * PAGE, 1);
      got.push(`mprotect ${r.ok ? 0 : r.errno}`);
    } else {
      const r = sys.mremap(t, {
        addr: a,
        oldLen: n * PAGE,
        newLen: o.pages * PAGE,
        maymove: true,
        fixed: false,
        dontunmap: false,
        newAddr: 0,
      });
      got.push(r.ok ? `mremap ${r.value}` : `mremap ${r.errno}`);
      if (r.ok) areas[o.which % areas.length] = [r.value, o.pages];
    }
  }
  for (let v = mm.findVma(0); v !== undefined; v = mm.nextOf(v))
    got.push(`vma ${v.start}-${v.end} ${v.flags}`);
  return got;
}

describe('free-area cache', () => {
  it('puts every mapping where the full top-down search does', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        expect(run(ops, false)).toEqual(run(ops, true));
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('keeps a long run of mmaps without an address linear (each finds its gap at once)', () => {
    const sys = new System({ machine: machineSpec(64 * MiB), design: 'linux', seed: 1 });
    const t = sys.spawn('app', 0)!;
    const first = sys.mmap(t, fixedAnon(0, PAGE, { fixed: false, prot: 1 }));
    expect(first.ok).toBe(true);
    // Alternating protections: no merge, one VMA each, each placed right below the last.
    let last = first.ok ? first.value : 0;
    for (let i = 1; i < 2000; i++) {
      const r = sys.mmap(t, fixedAnon(0, PAGE, { fixed: false, prot: i % 2 === 1 ? 3 : 1 }));
      expect(r.ok && r.value).toBe(last - PAGE);
      last = r.ok ? r.value : 0;
      expect(t.mm!.freeAreaCache).toBe(last / PAGE + 1);
    }
  });
});
