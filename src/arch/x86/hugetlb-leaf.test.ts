import { describe, expect, it } from 'vitest';
import { PhysMem } from '../../phys/physmem.js';
import { Access, PmdState, PteAttr, WalkStatus } from '../pmap.js';
import { X86PageTable } from './pagetable.js';
import { TablePool } from './table-pool.js';

const KiB = 1024;
const NR = 512;
const G = NR * NR;
const RW = PteAttr.write | PteAttr.dirty | PteAttr.accessed;

function setup() {
  const phys = new PhysMem([16 * 1024 * KiB]);
  const pool = new TablePool(phys, 4);
  const pt = new X86PageTable(pool, phys.frames.owner, 4);
  return { phys, pool, pt };
}

describe('hugetlb leaves (hugetlb-leaf.ts)', () => {
  it('a 2 MiB leaf needs the PUD and PMD tables and no deposit', () => {
    const { pt } = setup();
    expect(pt.hugetlbState(3 * NR, 9)).toBe(PmdState.none);
    expect(pt.hugetlbPrepare(3 * NR, 9)).toBe(true);
    expect(pt.pgtablesBytes).toBe(8 * KiB); // PUD + PMD table, nothing deposited
    expect(pt.hugetlbState(3 * NR, 9)).toBe(PmdState.none);
    pt.hugetlbSet(3 * NR, 9, 7 * NR, RW);
    expect(pt.hugetlbState(3 * NR + 100, 9)).toBe(PmdState.huge);
    expect([pt.hugePfn, pt.hugeAttrs, pt.depositedTables]).toEqual([7 * NR, RW, 0]);
    expect(pt.walk(3 * NR + 5, Access.write)).toBe(WalkStatus.ok);
    expect([pt.outPfn, pt.outOrder]).toEqual([7 * NR + 5, 9]);
    pt.hugetlbUpdate(3 * NR, 9, 0, PteAttr.write);
    expect(pt.walk(3 * NR + 5, Access.write)).toBe(WalkStatus.protection);
    expect(pt.hugetlbClear(3 * NR, 9)).toBe(PteAttr.dirty | PteAttr.accessed);
    expect(pt.hugetlbState(3 * NR, 9)).toBe(PmdState.none);
    expect(pt.countTables()).toEqual({ pgtablesBytes: 8 * KiB, tablePages: 3 });
  });

  it('a 1 GiB leaf is a PUD entry: VmPTE counts the PUD table alone', () => {
    const { pt } = setup();
    expect(pt.hugetlbPrepare(2 * G, 18)).toBe(true);
    pt.hugetlbSet(2 * G, 18, G, RW);
    expect(pt.pgtablesBytes).toBe(4 * KiB);
    expect(pt.walk(2 * G + 12345, Access.read)).toBe(WalkStatus.ok);
    expect([pt.outPfn, pt.outOrder, pt.walkLevels]).toEqual([G + 12345, 18, 2]); // PGD and PUD entries
    const seen: number[][] = [];
    pt.forEachLeaf(0, 4 * G, (vpn, pfn, _a, order) => seen.push([vpn, pfn, order]));
    expect(seen).toEqual([[2 * G, G, 18]]);
    expect(pt.pmdState(2 * G)).toBe(PmdState.none); // no PMD table under a PUD leaf
    pt.hugetlbClear(2 * G, 18);
    pt.freeTables(0, 4 * G, 0, pt.vpnLimit);
    expect(pt.countTables()).toEqual({ pgtablesBytes: 0, tablePages: 1 });
  });

  it('a PROT_NONE leaf is kept, seen by range walks and faults the hardware walker', () => {
    const { pt } = setup();
    pt.hugetlbPrepare(0, 9);
    pt.hugetlbSet(0, 9, NR, PteAttr.protnone | PteAttr.accessed);
    expect(pt.hugetlbState(0, 9)).toBe(PmdState.huge);
    expect(pt.walk(1, Access.read)).toBe(WalkStatus.notPresent);
    let n = 0;
    pt.forEachLeaf(0, NR, () => n++);
    expect(n).toBe(1);
  });

  it('refuses misaligned addresses and a PMD entry that points to a PTE table', () => {
    const { pt } = setup();
    expect(() => pt.hugetlbPrepare(NR + 1, 9)).toThrow(/aligned/);
    pt.pteAlloc(NR + 1);
    expect(() => pt.hugetlbPrepare(NR, 9)).toThrow(/page table already covers/);
    pt.hugetlbPrepare(2 * NR, 9);
    expect(() => pt.hugetlbSet(2 * NR, 9, 3, 0)).toThrow(/aligned/);
  });
});
