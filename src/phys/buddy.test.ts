import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BuddyAllocator, MAX_ORDER } from './buddy.js';
import { FrameTable, PG } from './frames.js';
import { PhysMem } from './physmem.js';

const BLOCK = 1 << MAX_ORDER; // 1024 frames, 4 MiB
const MiB = 1 << 20;

/** A node of `blocks` max-order blocks starting at `base` in a frame table large enough for it. */
function node(blocks: number, base = 0): { frames: FrameTable; buddy: BuddyAllocator } {
  const frames = new FrameTable(base + blocks * BLOCK);
  return { frames, buddy: new BuddyAllocator(frames, base, blocks * BLOCK) };
}

/** nrFree as a plain array (/proc/buddyinfo's columns). */
function buddyinfo(b: BuddyAllocator): number[] {
  return Array.from(b.nrFree);
}

/** Free blocks as sorted [pfn, order] pairs. */
function freeBlocks(b: BuddyAllocator): [number, number][] {
  const out: [number, number][] = [];
  b.forEachFree((pfn, order) => out.push([pfn, order]));
  return out.sort((x, y) => x[0] - y[0]);
}

/** Only max-order blocks: the state of a node right after boot. */
function initialInfo(blocks: number): number[] {
  const info = new Array<number>(MAX_ORDER + 1).fill(0);
  info[MAX_ORDER] = blocks;
  return info;
}

describe('BuddyAllocator', () => {
  it('starts with the node in max-order blocks, lowest first', () => {
    const { buddy } = node(3, 2 * BLOCK);
    expect(buddy.freePages).toBe(3 * BLOCK);
    expect(buddyinfo(buddy)).toEqual(initialInfo(3));
    expect(freeBlocks(buddy)).toEqual([
      [2 * BLOCK, MAX_ORDER],
      [3 * BLOCK, MAX_ORDER],
      [4 * BLOCK, MAX_ORDER],
    ]);
    // Allocation proceeds upwards from the node base.
    expect(buddy.alloc(MAX_ORDER)).toBe(2 * BLOCK);
  });

  it('rejects nodes that are not whole max-order blocks', () => {
    const frames = new FrameTable(4 * BLOCK);
    expect(() => new BuddyAllocator(frames, 0, 0)).toThrow(/multiple/);
    expect(() => new BuddyAllocator(frames, 0, BLOCK + 1)).toThrow(/multiple/);
    expect(() => new BuddyAllocator(frames, 512, BLOCK)).toThrow(/multiple/);
  });

  it('splits one max-order block for an order-0 allocation (expand) and merges it back', () => {
    const { buddy } = node(2);
    const pfn = buddy.alloc(0);
    expect(pfn).toBe(0);
    expect(buddy.freePages).toBe(2 * BLOCK - 1);
    // The upper halves split off stay free: 1 (order 0), 2 (1), 4 (2), ..., 512 (9), plus block 1024.
    expect(buddyinfo(buddy)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const expected: [number, number][] = [];
    for (let k = 0; k < MAX_ORDER; k++) expected.push([1 << k, k]);
    expected.push([BLOCK, MAX_ORDER]);
    expect(freeBlocks(buddy)).toEqual(expected);

    buddy.free(pfn, 0);
    expect(buddyinfo(buddy)).toEqual(initialInfo(2));
    expect(buddy.freePages).toBe(2 * BLOCK);
  });

  it('allocates and frees every order, aligned, returning to the initial state', () => {
    const { buddy, frames } = node(2);
    for (let order = 0; order <= MAX_ORDER; order++) {
      const pfn = buddy.alloc(order);
      expect(pfn).toBeGreaterThanOrEqual(0);
      expect(pfn % (1 << order)).toBe(0);
      expect(buddy.freePages).toBe(2 * BLOCK - (1 << order));
      // A handed-out head is no longer a free block and carries no stale metadata.
      expect(buddy.isFreeHead(pfn)).toBe(false);
      expect(frames.flags[pfn]).toBe(0);
      buddy.free(pfn, order);
      expect(buddyinfo(buddy)).toEqual(initialInfo(2));
      expect(buddy.freePages).toBe(2 * BLOCK);
    }
  });

  it('coalesces fully whatever the order of frees', () => {
    const { buddy } = node(2);
    const pfns: number[] = [];
    for (let i = 0; i < 2 * BLOCK; i++) pfns.push(buddy.alloc(0));
    expect(new Set(pfns).size).toBe(2 * BLOCK);
    expect(buddyinfo(buddy)).toEqual(new Array(MAX_ORDER + 1).fill(0));
    // Free odd pages first (no buddy is free yet: nothing merges), then even ones (everything merges).
    for (const p of pfns.filter((p) => p % 2 === 1)) buddy.free(p, 0);
    expect(buddyinfo(buddy)).toEqual([BLOCK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (const p of pfns.filter((p) => p % 2 === 0)) buddy.free(p, 0);
    expect(buddyinfo(buddy)).toEqual(initialInfo(2));
    expect(buddy.freePages).toBe(2 * BLOCK);
  });

  it('does not merge blocks of different orders or across max-order blocks', () => {
    const { buddy } = node(2);
    const a = buddy.alloc(MAX_ORDER); // 0
    const b = buddy.alloc(MAX_ORDER); // 1024
    expect([a, b]).toEqual([0, BLOCK]);
    buddy.free(a, MAX_ORDER);
    buddy.free(b, MAX_ORDER);
    // Two max-order blocks stay two: order 10 is the largest.
    expect(buddyinfo(buddy)).toEqual(initialInfo(2));

    const { buddy: c } = node(1);
    const p0 = c.alloc(1); // 0..1
    const p2 = c.alloc(0); // 2
    expect([p0, p2]).toEqual([0, 2]);
    c.free(p2, 0); // buddy of 2 at order 0 is 3, which is free: merges into [2, 4) of order 1
    // [2, 4)'s order-1 buddy is [0, 2), still allocated: no further merge.
    expect(freeBlocks(c)[0]).toEqual([2, 1]);
    c.free(p0, 1);
    expect(buddyinfo(c)).toEqual(initialInfo(1));
  });

  it('hands out the block freed last first (LIFO, cache hot)', () => {
    const { buddy } = node(1);
    const got = [buddy.alloc(0), buddy.alloc(0), buddy.alloc(0), buddy.alloc(0)];
    expect(got).toEqual([0, 1, 2, 3]);
    // Neither merges (their buddies 1 and 3 are allocated): two order-0 blocks, 2 on top.
    buddy.free(0, 0);
    buddy.free(2, 0);
    expect(buddy.nrFree[0]).toBe(2);
    expect(buddy.alloc(0)).toBe(2);
    expect(buddy.alloc(0)).toBe(0);
  });

  it('returns -1 when no block of the order (or above) is free', () => {
    const { buddy } = node(2);
    expect(buddy.alloc(MAX_ORDER)).toBe(0);
    expect(buddy.alloc(MAX_ORDER)).toBe(BLOCK);
    for (let order = 0; order <= MAX_ORDER; order++) expect(buddy.alloc(order)).toBe(-1);
    expect(buddy.freePages).toBe(0);

    const { buddy: b1 } = node(1);
    b1.alloc(0); // fragments the only max-order block
    expect(b1.alloc(MAX_ORDER)).toBe(-1);
    expect(b1.alloc(MAX_ORDER - 1)).toBe(512);
    expect(b1.freePages).toBe(BLOCK - 1 - 512);
  });

  it('throws on a double free, also once the block has merged with its buddy', () => {
    const { buddy } = node(1);
    const a = buddy.alloc(0);
    buddy.free(a, 0);
    expect(() => buddy.free(a, 0)).toThrow(/already free/);

    // Frees that merge leave the freed frame inside a larger free block, not its head.
    const p = buddy.alloc(0); // 0
    const q = buddy.alloc(0); // 1
    buddy.free(p, 0);
    buddy.free(q, 0); // merges all the way to the order-10 block at 0
    expect(() => buddy.free(q, 0)).toThrow(/already free/);
    const r = buddy.alloc(3); // [0, 8)
    buddy.free(r, 3);
    expect(() => buddy.free(r + 4, 2)).toThrow(/already free/);
    // A refused free changes nothing.
    expect(buddyinfo(buddy)).toEqual(initialInfo(1));
    expect(buddy.freePages).toBe(BLOCK);
  });

  it('keeps blocks disjoint and pages accounted under random alloc/free sequences', () => {
    // `stray`: free a frame that is not allocated (a double free), which must throw and change nothing.
    type Op = { alloc: true; order: number } | { alloc: false; pick: number; stray: boolean };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ alloc: fc.constant(true as const), order: fc.integer({ min: 0, max: MAX_ORDER }) }),
      fc.record({ alloc: fc.constant(false as const), pick: fc.nat(), stray: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.array(op, { maxLength: 300 }), (baseBlocks, ops) => {
        const base = baseBlocks * BLOCK;
        const blocks = 3;
        const total = blocks * BLOCK;
        const { buddy } = node(blocks, base);
        const live: [number, number][] = [];
        const owned = new Uint8Array(base + total);
        let allocated = 0;
        let step = 0;
        // Free blocks and allocated blocks tile the node exactly (plain loops: this runs often).
        const check = (): void => {
          expect(buddy.freePages + allocated).toBe(total);
          const cover = owned.slice();
          let freeSum = 0;
          let overlaps = 0;
          let misaligned = 0;
          const perOrder = new Array<number>(MAX_ORDER + 1).fill(0);
          buddy.forEachFree((pfn, order) => {
            if ((pfn - base) % (1 << order) !== 0) misaligned++;
            perOrder[order]++;
            freeSum += 1 << order;
            for (let p = pfn; p < pfn + (1 << order); p++) if (cover[p]++ !== 0) overlaps++;
          });
          let uncovered = 0;
          for (let p = base; p < base + total; p++) if (cover[p] !== 1) uncovered++;
          expect({ overlaps, misaligned, uncovered, freeSum }).toEqual({
            overlaps: 0,
            misaligned: 0,
            uncovered: 0,
            freeSum: buddy.freePages,
          });
          expect(perOrder).toEqual(buddyinfo(buddy));
        };
        for (const o of ops) {
          if (o.alloc) {
            const pfn = buddy.alloc(o.order);
            if (pfn < 0) {
              // Only when no free block of that size exists.
              let big = 0;
              buddy.forEachFree((_p, k) => {
                if (k >= o.order) big++;
              });
              expect(big).toBe(0);
              continue;
            }
            expect(pfn).toBeGreaterThanOrEqual(base);
            expect(pfn + (1 << o.order)).toBeLessThanOrEqual(base + total);
            expect((pfn - base) % (1 << o.order)).toBe(0);
            let clash = 0;
            for (let p = pfn; p < pfn + (1 << o.order); p++) clash += owned[p];
            expect(clash).toBe(0);
            owned.fill(1, pfn, pfn + (1 << o.order));
            live.push([pfn, o.order]);
            allocated += 1 << o.order;
          } else if (o.stray) {
            const p = base + (o.pick % total);
            if (owned[p] === 0) {
              const before = buddyinfo(buddy);
              expect(() => buddy.free(p, 0)).toThrow(/already free/);
              expect(buddyinfo(buddy)).toEqual(before);
            }
          } else if (live.length > 0) {
            const [pfn, order] = live.splice(o.pick % live.length, 1)[0];
            buddy.free(pfn, order);
            owned.fill(0, pfn, pfn + (1 << order));
            allocated -= 1 << order;
          }
          expect(buddy.freePages + allocated).toBe(total);
          if (++step % 16 === 0) check();
        }
        check();
        for (const [pfn, order] of live) buddy.free(pfn, order);
        expect(buddyinfo(buddy)).toEqual(initialInfo(blocks));
        expect(buddy.freePages).toBe(total);
      }),
      { numRuns: 200 },
    );
  });
});

describe('PhysMem', () => {
  it('reserves the zero page on node 0 with content token 0', () => {
    const phys = new PhysMem([4 * MiB, 4 * MiB]);
    expect(phys.totalPages).toBe(2 * BLOCK);
    expect(phys.nodes).toEqual([
      { id: 0, startPfn: 0, nframes: BLOCK },
      { id: 1, startPfn: BLOCK, nframes: BLOCK },
    ]);
    const z = phys.zeroPfn;
    expect(z).toBe(0);
    expect(phys.nodeOf(z)).toBe(0);
    expect(phys.frames.has(z, PG.reserved)).toBe(true);
    expect(phys.frames.has(z, PG.zero)).toBe(true);
    expect(phys.frames.refcount[z]).toBe(1);
    expect(phys.frames.token[z]).toBe(0);
    expect(phys.freePages).toBe(2 * BLOCK - 1);
    expect(phys.nodeFreePages(0)).toBe(BLOCK - 1);
    expect(phys.nodeFreePages(1)).toBe(BLOCK);
    expect(phys.memmapBytes).toBe(2 * BLOCK * 64);
  });

  it('refuses to free the zero page', () => {
    const phys = new PhysMem([4 * MiB]);
    expect(() => phys.free(phys.zeroPfn)).toThrow(/reserved/);
    expect(phys.freePages).toBe(BLOCK - 1);
    expect(phys.pgfree).toBe(0);
    // It is never handed out either.
    const seen = new Set<number>();
    for (let p = phys.alloc(0); p >= 0; p = phys.alloc(0)) seen.add(p);
    expect(seen.size).toBe(BLOCK - 1);
    expect(seen.has(phys.zeroPfn)).toBe(false);
  });

  it('falls back to the next node when the preferred one is full', () => {
    const phys = new PhysMem([4 * MiB, 4 * MiB]);
    for (let i = 0; i < BLOCK - 1; i++) {
      const p = phys.alloc(0, 0);
      expect(phys.nodeOf(p)).toBe(0);
      expect(phys.frames.refcount[p]).toBe(1);
    }
    expect(phys.nodeFreePages(0)).toBe(0);
    const spill = phys.alloc(0, 0);
    expect(spill).toBe(BLOCK); // the lowest frame of node 1
    expect(phys.nodeOf(spill)).toBe(1);
    // From node 1 the fallback wraps around to node 0.
    phys.free(5);
    expect(phys.alloc(MAX_ORDER, 1)).toBe(-1); // node 1 lost a page: no order-10 block anywhere
    expect(phys.allocFailures).toBe(1);
    const big = phys.alloc(MAX_ORDER - 1, 1);
    expect(phys.nodeOf(big)).toBe(1);
    while (phys.nodeFreePages(1) > 0) expect(phys.nodeOf(phys.alloc(0, 1))).toBe(1);
    expect(phys.alloc(0, 1)).toBe(5);
    expect(phys.alloc(0, 1)).toBe(-1);
    expect(phys.allocFailures).toBe(2);
    expect(phys.freePages).toBe(0);
  });

  it('counts pgalloc and pgfree in pages', () => {
    const phys = new PhysMem([8 * MiB]);
    const a = phys.alloc(3);
    const b = phys.alloc(0);
    expect(phys.pgalloc).toBe(9);
    phys.free(a, 3);
    phys.free(b);
    expect(phys.pgfree).toBe(9);
    expect(phys.freePages).toBe(2 * BLOCK - 1);
  });

  it('rejects node sizes that are not positive multiples of 4 MiB', () => {
    expect(() => new PhysMem([6 * MiB])).toThrow(/4 MiB/);
    expect(() => new PhysMem([4 * MiB, 0])).toThrow(/4 MiB/);
  });
});

describe('BuddyAllocator.allocRange (alloc_contig_range without migration)', () => {
  it('takes a range whose frames are all free, in whatever blocks they sit, and gives it back', () => {
    const { buddy } = node(4);
    const a = buddy.alloc(0); // pfn 0: splits the first block
    buddy.free(a, 0);
    const b = buddy.alloc(3); // an 8-frame block out of block 0
    expect(buddy.allocRange(0, BLOCK)).toBe(false); // frame b is in use
    expect(buddy.allocRange(BLOCK, 2 * BLOCK)).toBe(true);
    expect(buddy.freePages).toBe(4 * BLOCK - 8 - 2 * BLOCK);
    expect(freeBlocks(buddy).every(([pfn]) => pfn < BLOCK || pfn >= 3 * BLOCK)).toBe(true);
    expect(buddy.allocRange(2 * BLOCK, BLOCK)).toBe(false); // already taken
    buddy.freeRange(BLOCK, 2 * BLOCK);
    buddy.free(b, 3);
    expect(buddyinfo(buddy)).toEqual(initialInfo(4));
  });

  it('refuses ranges that are not made of max-order blocks or lie outside the node', () => {
    const { buddy } = node(2, BLOCK);
    expect(() => buddy.allocRange(BLOCK + 1, BLOCK)).toThrow(/blocks/);
    expect(buddy.allocRange(0, BLOCK)).toBe(false);
    expect(buddy.allocRange(2 * BLOCK, 2 * BLOCK)).toBe(false);
  });
});

describe('PhysMem.allocContig (boot-time memblock, top-down)', () => {
  it('takes the highest naturally aligned free range of the node; none left: -1', () => {
    const phys = new PhysMem([8 * MiB, 8 * MiB]); // two nodes of 2048 frames
    const free = phys.freePages;
    expect(phys.zeroPfn).toBe(0);
    expect(phys.allocContig(11, 0)).toBe(-1); // node 0's only 8 MiB range holds the zero page
    expect(phys.allocContig(11, 1)).toBe(2048);
    expect(phys.allocContig(11, 1)).toBe(-1);
    expect(phys.allocContig(10, 0)).toBe(1024);
    expect(phys.freePages).toBe(free - 3072);
    expect(phys.pgalloc).toBe(0); // memblock is not the page allocator
  });
});
