// The operations of the swap-pressure property test (test/property-swap.test.ts): memory
// pressure on a small machine with a swap device. They come on top of the main test's
// operations (test/property-ops.ts); the runner skips those that could take more than reclaim
// and swap can absorb (see property-swap-run.ts).

import fc from 'fast-check';
import { CPUS, type Op, opsArb, procArb, type RangeSpec, rangeArb } from './property-ops.js';
import type { AccessKind, Advice } from './reference-model.js';

export type SwapOp =
  /**
   * The balloon (virtio-balloon): `squeeze` -1 deflates it; -2 is a pulse: it asks for all of
   * memory (kswapd gives up, direct reclaim swaps out all it can, and the balloon stops short)
   * and then goes back to what it held. Otherwise it inflates until `squeeze` pages more than
   * are free now are held (up to what the test lets it keep), so that reclaim must swap out,
   * or write back and drop, that many pages.
   */
  | { readonly op: 'balloon'; readonly squeeze: number }
  /** A large touch: every mapped page of the range, in order, read or written. */
  | {
      readonly op: 'touch';
      readonly p: number;
      readonly r: RangeSpec;
      readonly kind: AccessKind;
      readonly cpu: number;
    };

export function isSwapOp(op: Op): op is SwapOp {
  return op.op === 'balloon' || op.op === 'touch';
}

/** A balloon step that takes memory away. */
const squeezeArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constant('balloon' as const),
  squeeze: fc.constantFrom(-2, 64, 256, 1024),
});

/** A whole piece of the process (len 0: to its end). */
const wholePiece: fc.Arbitrary<RangeSpec> = fc.record({
  at: fc.constant('piece' as const),
  sel: fc.nat(1000),
  off: fc.constant(0),
  len: fc.constant(0),
});

/** The pressure operations, weighted against opArb's (whose access weighs 40). */
const swapOpArbs: fc.WeightedArbitrary<Op>[] = [
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('balloon' as const),
      squeeze: fc.constantFrom(-2, -1, -1, 0, 16, 64, 256, 1024),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('touch' as const),
      p: procArb,
      // Mostly a whole piece, which may be a 2 MiB or 4 MiB mapping.
      r: fc.oneof({ weight: 3, arbitrary: wholePiece }, { weight: 1, arbitrary: rangeArb(2) }),
      kind: fc.constantFrom<AccessKind>('read', 'read', 'write'),
      cpu: fc.integer({ min: 0, max: CPUS - 1 }),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('madvise' as const),
      p: procArb,
      r: fc.oneof(wholePiece, rangeArb(3)),
      advice: fc.constantFrom<Advice>('pageout', 'pageout', 'pageout', 'cold', 'willneed'),
    }),
  },
];

/**
 * The working set a sequence starts with: process 0 maps `pages` private pages (512: a whole
 * THP where THPs are on; the address is 2 MiB aligned) and 64 pages of shared anonymous memory
 * (shmem) above the window and writes each one, so that there is data for reclaim to swap out
 * (and for the model to check when it comes back) in every sequence.
 */
function workingSet(pages: number): Op[] {
  const map = (page: number, len: number, shared: boolean): Op => ({
    op: 'mmap',
    p: 0,
    page, // above every fixed mapping of the other operations
    len,
    prot: 3,
    shared,
    mode: 'fixed',
    populate: false,
    locked: false,
    noreserve: false,
  });
  const write = (sel: number): Op => ({
    op: 'touch',
    p: 0,
    r: { at: 'piece', sel, off: 0, len: 0 },
    kind: 'write',
    cpu: 0,
  });
  return [map(2048, pages, false), write(0), map(2560, 64, true), write(1)];
}

/** A working set, then the main test's operations and the pressure operations. */
export const swapOpsArb: fc.Arbitrary<Op[]> = fc
  .tuple(fc.constantFrom(64, 128, 256, 384, 512), opsArb(false, swapOpArbs), fc.nat(), squeezeArb)
  .map(([pages, ops, at, squeeze]) => {
    // One squeeze somewhere in every sequence, so that most of them swap.
    const rest = [...ops];
    rest.splice(at % (rest.length + 1), 0, squeeze);
    return [...workingSet(pages), ...rest];
  });
