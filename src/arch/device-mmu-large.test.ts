import { describe, expect, it } from 'vitest';
import { BIG_PAGES, DevicePageTable, DevPte, HUGE_PAGES } from './device-mmu.js';

/** A page table with `largePages` leaves over a fake allocator of `frames` frames. */
function table(largePages: number, frames = 1000) {
  let next = 100;
  let left = frames;
  const freed: number[] = [];
  let splits = 0;
  const pt = new DevicePageTable(
    () => (left-- > 0 ? next++ : -1),
    (pfn) => {
      freed.push(pfn);
      left++;
    },
    largePages,
    () => splits++,
  );
  return { pt, freed, splits: () => splits };
}

const pfnOf = (e: number) => Math.floor(e / 8);
const R = 0x200000; // a 2 MiB-aligned page number (8 GiB)
const D = 0x40000; // a 2 MiB-aligned device frame

describe('DevicePageTable with 2 MiB leaves', () => {
  it('maps a 2 MiB leaf in a PD0 entry: no PTE table, three entries read, every page inside', () => {
    const { pt } = table(HUGE_PAGES);
    expect(pt.mapLarge(R, D, true)).toBe(true);
    expect(pt.tablePages).toBe(3); // root, middle, PD0: no PTE table
    expect(pt.mapped).toBe(512);
    const e = pt.lookup(R + 300);
    expect(pfnOf(e)).toBe(D + 300);
    expect(e & DevPte.write).toBe(DevPte.write);
    expect(pt.walkLevels).toBe(3);
    expect(pt.leafPages).toBe(512);
    expect(pt.leafVpn).toBe(R);
    expect(pt.lookup(R + 512)).toBe(0);
    expect(pt.countTables()).toBe(3);
  });

  it('frees the PTE table a 2 MiB leaf replaces', () => {
    const { pt, freed } = table(HUGE_PAGES);
    for (let i = 0; i < 512; i++) pt.map(R + i, D + i, false);
    expect(pt.tablePages).toBe(4);
    expect(pt.mapLarge(R, D, false)).toBe(true);
    expect(pt.tablePages).toBe(3);
    expect(freed.length).toBe(1);
    expect(pt.mapped).toBe(512);
  });

  it('splits on a partial unmap: a PTE table is allocated and keeps the other pages', () => {
    const { pt, splits } = table(HUGE_PAGES);
    pt.mapLarge(R, D, true);
    expect(pt.unmap(R + 10, R + 20)).toBe(10);
    expect(splits()).toBe(1);
    expect(pt.tablePages).toBe(4);
    expect(pt.mapped).toBe(502);
    expect(pt.lookup(R + 15)).toBe(0);
    expect(pfnOf(pt.lookup(R + 21))).toBe(D + 21);
    expect(pt.leafPages).toBe(1);
    expect(pt.walkLevels).toBe(4);
    // Unmapping the whole leaf needs no split; the PD0 table and the middle one go with it.
    const b = table(HUGE_PAGES);
    b.pt.mapLarge(R, D, true);
    expect(b.pt.unmap(R - 5, R + 600)).toBe(512);
    expect(b.splits()).toBe(0);
    expect(b.pt.tablePages).toBe(1);
    expect(b.freed.length).toBe(2);
  });

  it('frees the PTE table a split made once its last page goes, and the directories above', () => {
    const { pt } = table(HUGE_PAGES);
    pt.mapLarge(R, D, true);
    pt.mapLarge(R + 512, D + 512, true);
    expect(pt.unmap(R, R + 511)).toBe(511); // splits: the PTE table keeps page 511
    expect(pt.tablePages).toBe(4);
    expect(pt.unmap(R + 511, R + 512)).toBe(1);
    expect(pt.tablePages).toBe(3); // the PTE table went; PD0 keeps the other leaf
    expect(pt.freedPages).toBe(1);
    expect(pt.unmapLargeFrames(D + 512, D + 1024)).toBe(512);
    expect(pt.tablePages).toBe(1);
    expect(pt.freedPages).toBe(3);
    expect(pt.badTables()).toEqual([]);
  });

  it('a write-protect that drops an unsplittable leaf frees its tables', () => {
    const { pt } = table(HUGE_PAGES, 3);
    pt.mapLarge(R, D, true);
    expect(pt.protect(R, R + 1, false)).toBe(true); // no memory for the split: the leaf goes
    expect(pt.mapped).toBe(0);
    expect(pt.tablePages).toBe(1);
  });

  it('splits on a partial protect, keeps a whole leaf whole', () => {
    const { pt, splits } = table(HUGE_PAGES);
    pt.mapLarge(R, D, true);
    expect(pt.protect(R, R + 512, false)).toBe(true); // whole: no split
    expect(splits()).toBe(0);
    expect(pt.lookup(R + 1) & DevPte.write).toBe(0);
    expect(pt.protect(R, R + 512, true)).toBe(false); // gaining write loses nothing
    expect(pt.protect(R + 256, R + 257, false)).toBe(true);
    expect(splits()).toBe(1);
    expect(pt.lookup(R + 256) & DevPte.write).toBe(0);
    expect(pt.lookup(R + 255) & DevPte.write).toBe(DevPte.write);
  });

  it('remapping a page inside the leaf as it is changes nothing; otherwise it splits', () => {
    const { pt, splits } = table(HUGE_PAGES);
    pt.mapLarge(R, D, true);
    expect(pt.map(R + 7, D + 7, true)).toBe(true);
    expect(splits()).toBe(0);
    expect(pt.map(R + 7, 5, true)).toBe(true);
    expect(splits()).toBe(1);
    expect(pfnOf(pt.lookup(R + 7))).toBe(5);
    expect(pfnOf(pt.lookup(R + 8))).toBe(D + 8);
    expect(pt.mapped).toBe(512);
  });

  it('a split that finds no table memory fails a map, and drops the whole leaf on unmap', () => {
    const { pt } = table(HUGE_PAGES, 3); // root, middle, PD0: nothing left for a PTE table
    expect(pt.mapLarge(R, D, true)).toBe(true);
    expect(pt.map(R + 1, 7, true)).toBe(false);
    expect(pfnOf(pt.lookup(R + 1))).toBe(D + 1);
    expect(pt.unmap(R, R + 1)).toBe(512);
    expect(pt.mapped).toBe(0);
  });

  it('unmapLargeFrames clears the leaves over an evicted chunk whole', () => {
    const { pt, splits } = table(HUGE_PAGES);
    pt.mapLarge(R, D, true);
    pt.map(R + 512, D + 600, true);
    expect(pt.unmapLargeFrames(D, D + 512)).toBe(512);
    expect(splits()).toBe(0);
    expect(pt.lookup(R)).toBe(0);
    expect(pfnOf(pt.lookup(R + 512))).toBe(D + 600); // a 4 KiB leaf stays
  });

  it('refuses a misaligned large leaf', () => {
    const { pt } = table(HUGE_PAGES);
    expect(() => pt.mapLarge(R + 16, D, true)).toThrow(/no 512-page leaf/);
    expect(() => pt.mapLarge(R, D + 1, true)).toThrow(/no 512-page leaf/);
    expect(() => table(32)).toThrow(/no 128 KiB leaves/);
  });
});

describe('DevicePageTable with 64 KiB leaves (dual PDE)', () => {
  it('maps big PTEs: an 8 KiB dual PD0 table and one pool page for 256-byte big-page tables', () => {
    const { pt } = table(BIG_PAGES);
    expect(pt.mapLarge(R, D, true)).toBe(true);
    expect(pt.tablePages).toBe(5); // root, middle, dual PD0 (2), pool page
    expect(pfnOf(pt.lookup(R + 15))).toBe(D + 15);
    expect(pt.leafPages).toBe(16);
    expect(pt.walkLevels).toBe(4);
    // 16 big-page tables share a pool page; the 17th takes another.
    for (let r = 1; r < 17; r++) expect(pt.mapLarge(R + r * 512, D + r * 16, true)).toBe(true);
    expect(pt.tablePages).toBe(6);
    expect(pt.countTables()).toBe(6);
    expect(pt.mapped).toBe(17 * 16);
  });

  it('reads the big PTE first, then the small one: small pages beside big ones', () => {
    const { pt } = table(BIG_PAGES);
    pt.mapLarge(R, D, true);
    pt.map(R + 16, 9, false);
    expect(pt.tablePages).toBe(6); // + a small-page table
    expect(pfnOf(pt.lookup(R + 16))).toBe(9);
    expect(pt.walkLevels).toBe(5); // big PTE invalid, then the small PTE
    expect(pt.leafPages).toBe(1);
    const seen: number[][] = [];
    pt.forEachLeaf((vpn, pfn, pages) => {
      seen.push([vpn - R, pfn, pages]);
    });
    expect(seen).toEqual([
      [0, D, 16],
      [16, 9, 1],
    ]);
  });

  it('splits a big PTE into small PTEs on a partial unmap; a big PTE clears the small ones it covers', () => {
    const { pt, splits } = table(BIG_PAGES);
    pt.mapLarge(R, D, true);
    expect(pt.unmap(R + 3, R + 4)).toBe(1);
    expect(splits()).toBe(1);
    // + a small-page table; the big-page table lost its only entry, so it and its pool page went
    expect(pt.tablePages).toBe(5);
    expect(pt.freedPages).toBe(1);
    expect(pfnOf(pt.lookup(R + 4))).toBe(D + 4);
    expect(pt.leafPages).toBe(1);
    expect(pt.mapped).toBe(15);
    // A pool page for the big-page table again; the small PTEs go, and their table with them.
    expect(pt.mapLarge(R, D, true)).toBe(true);
    expect(pt.tablePages).toBe(5);
    expect(pt.freedPages).toBe(2);
    expect(pt.mapped).toBe(16);
    expect(pt.lookup(R + 4)).not.toBe(0);
    expect(pt.leafPages).toBe(16);
    let leaves = 0;
    pt.forEachLeaf(() => leaves++);
    expect(leaves).toBe(1);
  });

  it('frees a pool page with its last big-page table, and the dual directory with its last entry', () => {
    const { pt } = table(BIG_PAGES);
    for (let r = 0; r < 17; r++) pt.mapLarge(R + r * 512, D + r * 16, true); // 17 PD0 entries
    expect(pt.tablePages).toBe(6); // root, middle, the dual PD0 (2), 2 pool pages (16 + 1 tables)
    pt.map(R + 16, 9, false); // a small-page table beside the first big-page table
    expect(pt.tablePages).toBe(7);
    expect(pt.unmap(R, R + 16)).toBe(16); // the first big-page table empties: it goes
    expect(pt.tablePages).toBe(7); // its pool page keeps 15 tables
    expect(pt.unmap(R + 16 * 512, R + 16 * 512 + 16)).toBe(16); // the 17th: its pool page goes
    expect(pt.tablePages).toBe(6);
    expect(pt.unmap(R + 16, R + 17)).toBe(1); // the small-page table
    expect(pt.tablePages).toBe(5);
    expect(pt.freedPages).toBe(2);
    expect(pt.badTables()).toEqual([]);
    // The 15 big-page tables, their pool page, the dual PD0 (2 pages), the middle table.
    expect(pt.unmap(0, 2 ** 36)).toBe(15 * 16);
    expect(pt.tablePages).toBe(1);
    expect(pt.freedPages).toBe(6);
  });

  it('frees every table page, pools and dual tables included, on destroy', () => {
    const { pt, freed } = table(BIG_PAGES);
    pt.mapLarge(R, D, true);
    pt.map(R + 16, 9, false);
    pt.destroy();
    expect(freed.length).toBe(6);
    expect(pt.tablePages).toBe(0);
  });
});
