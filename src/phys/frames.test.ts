import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameTable, PG } from './frames.js';

const TWO32 = 2 ** 32;
const INDEX_LIMIT = 2 ** 44;
/** Every page-flag bit (the whole flags word). */
const ALL_FLAGS = 0xffffffff;

/** The orders a frame can carry: the buddy's and THP's, and a gigantic hugetlb folio's 18. */
const ORDERS = [...Array.from({ length: 15 }, (_, i) => i), 18];

describe('FrameTable', () => {
  it('starts zeroed', () => {
    const f = new FrameTable(4);
    for (let p = 0; p < 4; p++) {
      expect([f.flags[p], f.refcount[p], f.mapcount[p], f.owner[p], f.indexLo[p], f.token[p]]).toEqual([
        0, 0, 0, 0, 0, 0,
      ]);
      expect(f.index(p)).toBe(0);
      expect(f.order(p)).toBe(0);
    }
  });

  it('round-trips page->index at the edges of the 44-bit range', () => {
    const f = new FrameTable(1);
    for (const idx of [0, 1, TWO32 - 1, TWO32, TWO32 + 1, 2 ** 40, INDEX_LIMIT - 1]) {
      f.setIndex(0, idx);
      expect(f.index(0)).toBe(idx);
    }
    // The low word holds the low 32 bits; the hi half-word the next 12.
    f.setIndex(0, INDEX_LIMIT - 1);
    expect(f.indexLo[0]).toBe(0xffff_ffff);
    expect(f.hi[0] & 0xfff).toBe(0xfff);
    expect(f.pageFlags(0)).toBe(0);
    expect(f.order(0)).toBe(0);
  });

  it('rejects an index of 2^44 or more', () => {
    const f = new FrameTable(1);
    f.setIndex(0, 12345);
    expect(() => f.setIndex(0, INDEX_LIMIT)).toThrow(/2\^44/);
    expect(() => f.setIndex(0, 2 ** 50)).toThrow(/2\^44/);
    expect(f.index(0)).toBe(12345);
  });

  it('setIndex keeps flags and order; setOrder and flag changes keep the index', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: INDEX_LIMIT - 1 }),
        fc.integer({ min: 0, max: INDEX_LIMIT - 1 }),
        fc.integer({ min: 0, max: ALL_FLAGS }),
        fc.constantFrom(...ORDERS),
        (first, idx, flags, order) => {
          const other = ORDERS[(ORDERS.indexOf(order) + 7) % ORDERS.length];
          const f = new FrameTable(3);
          // Neighbours must be untouched.
          f.setIndex(0, first);
          f.setIndex(2, first);
          f.flags[1] = flags;
          f.setOrder(1, order);
          f.setIndex(1, first);
          f.setIndex(1, idx);
          expect(f.index(1)).toBe(idx);
          expect(f.pageFlags(1)).toBe(flags);
          expect(f.order(1)).toBe(order);

          f.setOrder(1, other);
          expect(f.order(1)).toBe(other);
          expect(f.pageFlags(1)).toBe(flags);
          expect(f.index(1)).toBe(idx);

          f.set(1, PG.dirty);
          f.clear(1, PG.buddy);
          expect(f.pageFlags(1)).toBe(((flags | PG.dirty) & ~PG.buddy) >>> 0);
          expect(f.order(1)).toBe(other);
          expect(f.index(1)).toBe(idx);

          expect([f.index(0), f.index(2), f.flags[0] & 0xfffff, f.flags[2] & 0xfffff]).toEqual([
            first,
            first,
            0,
            0,
          ]);
        },
      ),
    );
  });

  it('keeps the order field (4 bits: 0..14, and 18 for a 1 GiB folio) apart from every page flag', () => {
    const f = new FrameTable(1);
    expect(() => f.setOrder(0, 15)).toThrow(/cannot be stored/);
    for (const order of ORDERS) {
      f.flags[0] = ALL_FLAGS;
      f.setOrder(0, order);
      expect(f.order(0)).toBe(order);
      expect(f.pageFlags(0)).toBe(ALL_FLAGS);
      f.flags[0] = 0;
      f.setOrder(0, order);
      expect(f.pageFlags(0)).toBe(0);
    }
    // Setting and clearing a flag leaves the order alone.
    f.setOrder(0, 10);
    f.set(0, PG.buddy);
    expect([f.order(0), f.has(0, PG.buddy), f.has(0, PG.reserved)]).toEqual([10, true, false]);
    f.clear(0, PG.buddy);
    expect([f.order(0), f.has(0, PG.buddy)]).toEqual([10, false]);
  });

  it('resetMeta clears everything but the content', () => {
    const f = new FrameTable(1);
    f.set(0, PG.anon | PG.dirty);
    f.setOrder(0, 9);
    f.setIndex(0, 2 ** 43 + 5);
    f.refcount[0] = 3;
    f.mapcount[0] = 2;
    f.owner[0] = 77;
    f.token[0] = 99;
    f.resetMeta(0);
    expect([f.flags[0], f.refcount[0], f.mapcount[0], f.owner[0], f.index(0), f.order(0)]).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
    expect(f.token[0]).toBe(99);
  });
});

describe('FrameTable: compound pages', () => {
  it('makeCompound marks head and tails, gives each page owner and index, and headOf finds the head', () => {
    const f = new FrameTable(2048);
    f.refcount[1024] = 1;
    f.refcount[1025] = 99; // a tail's refcount word is free: it is cleared for the folio's counts
    f.makeCompound(1024, 9, PG.anon, 7, 1000);
    expect([f.has(1024, PG.head), f.has(1024, PG.tail), f.has(1030, PG.tail), f.has(1030, PG.anon)]).toEqual([
      true,
      false,
      true,
      true,
    ]);
    expect([f.order(1024), f.order(1535), f.nrPages(1024), f.nrPages(5)]).toEqual([9, 9, 512, 1]);
    expect([f.headOf(1024), f.headOf(1300), f.headOf(1535), f.headOf(7)]).toEqual([1024, 1024, 1024, 7]);
    expect([
      f.owner[1300],
      f.index(1300),
      f.refcount[1024],
      f.entireMapcount(1024),
      f.nrPagesMapped(1024),
    ]).toEqual([7, 1276, 1, 0, 0]);
  });

  it('indexes pages of a folio whose index range crosses 2^32', () => {
    const f = new FrameTable(1024);
    f.makeCompound(512, 9, PG.anon, 1, TWO32 - 3);
    expect([f.index(512), f.index(514), f.index(515), f.index(1023)]).toEqual([
      TWO32 - 3,
      TWO32 - 1,
      TWO32,
      TWO32 + 508,
    ]);
    expect(f.pageFlags(515) & PG.tail).toBe(PG.tail);
    f.resetRange(512, 512);
    expect([f.flags[600], f.index(600), f.owner[600]]).toEqual([0, 0, 0]);
  });
});
