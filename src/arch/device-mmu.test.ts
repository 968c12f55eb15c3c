import { describe, expect, it } from 'vitest';
import { DevicePageTable } from './device-mmu.js';

/** A page table over a fake frame allocator with `frames` frames. */
function table(frames = 1000) {
  let next = 100;
  const freed: number[] = [];
  let left = frames;
  const pt = new DevicePageTable(
    () => (left-- > 0 ? next++ : -1),
    (pfn) => freed.push(pfn),
  );
  return { pt, freed };
}

describe('DevicePageTable', () => {
  it('has four levels over 49 bits and starts with its root only', () => {
    const { pt } = table();
    expect(pt.levels).toBe(4);
    expect(pt.ok).toBe(true);
    expect(pt.tablePages).toBe(1);
    expect(pt.tableBytes).toBe(4096);
    expect(pt.lookup(12345)).toBe(0);
    expect(pt.walkLevels).toBe(1); // the root entry said: nothing below
  });

  it('maps a page with its frame and write bit; a walk then reads four entries', () => {
    const { pt } = table();
    expect(pt.map(0x200000, 777, true)).toBe(true);
    expect(pt.tablePages).toBe(4); // root, two middle levels, a leaf table
    const e = pt.lookup(0x200000);
    expect(Math.floor(e / 8)).toBe(777);
    expect(e & 2).toBe(2);
    expect(pt.walkLevels).toBe(4);
    pt.map(0x200001, 778, false);
    expect(pt.lookup(0x200001) & 2).toBe(0);
    expect(pt.tablePages).toBe(4); // same leaf table
    expect(pt.mapped).toBe(2);
  });

  it('uses the 49th address bit: the top half of the root', () => {
    const { pt } = table();
    const high = 2 ** 36 + 5; // a page number above 2^48 bytes
    pt.map(high, 9, false);
    pt.map(5, 10, false);
    expect(Math.floor(pt.lookup(high) / 8)).toBe(9);
    expect(Math.floor(pt.lookup(5) / 8)).toBe(10);
    const seen: number[] = [];
    pt.forEach((vpn) => {
      seen.push(vpn);
    });
    expect(seen).toEqual([5, high]);
  });

  it('unmaps a range across leaf tables and counts what was valid; a table goes with its last entry', () => {
    const { pt, freed } = table();
    for (let v = 500; v < 540; v++) pt.map(v, 1000 + v, true); // crosses the 512 boundary
    expect(pt.tablePages).toBe(5);
    expect(pt.unmap(510, 520)).toBe(10); // both leaf tables keep entries (500-509, 520-539)
    expect(pt.tablePages).toBe(5);
    expect(pt.freedPages).toBe(0);
    expect(pt.unmap(0, 2 ** 37)).toBe(30);
    expect(pt.mapped).toBe(0);
    // Both PTE tables, then the level-1 and level-2 directories they left empty; the root stays.
    expect(pt.tablePages).toBe(1);
    expect(pt.countTables()).toBe(1);
    expect(pt.freedPages).toBe(4);
    expect(freed.length).toBe(4);
    expect(pt.badTables()).toEqual([]);
  });

  it('keeps a table while one entry is valid, and frees it page by page as the last goes', () => {
    const { pt } = table();
    const far = 2 ** 27; // another level-2 table under the root
    pt.map(0, 1, true);
    pt.map(1, 2, true);
    pt.map(far, 3, true);
    expect(pt.tablePages).toBe(7); // root + 3 under each address
    expect(pt.unmap(0, 1)).toBe(1);
    expect(pt.tablePages).toBe(7); // page 1 still mapped there
    expect(pt.unmap(1, 2)).toBe(1); // the one-page path
    expect(pt.tablePages).toBe(4); // that branch went up to the root
    expect(pt.lookup(far)).not.toBe(0);
    pt.map(5, 6, false); // the branch is built again
    expect(pt.tablePages).toBe(7);
    expect(pt.unmap(far, far + 1)).toBe(1);
    expect(pt.tablePages).toBe(4);
    expect(pt.freedPages).toBe(6);
    expect(pt.badTables()).toEqual([]);
  });

  it('frees the tables a failed mapping allocated', () => {
    const { pt, freed } = table(3);
    expect(pt.map(0, 1, false)).toBe(false); // root + two levels: no memory for the PTE table
    expect(pt.tablePages).toBe(1);
    expect(freed.length).toBe(2);
  });

  it('fails a mapping when table memory runs out, and frees every table on destroy', () => {
    const { pt, freed } = table(4);
    pt.map(0, 1, false);
    expect(pt.map(2 ** 27, 1, false)).toBe(false); // another branch: no memory for its leaf table
    expect(pt.lookup(2 ** 27)).toBe(0);
    expect(freed.length).toBe(0); // its level-2 table could not be allocated either
    pt.destroy();
    expect(freed.length).toBe(4);
    expect(pt.tablePages).toBe(0);
    const none = table(0);
    expect(none.pt.ok).toBe(false);
  });
});
