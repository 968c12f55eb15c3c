import { describe, expect, it } from 'vitest';
import { PhysMem } from '../../phys/physmem.js';
import { Access, PmdState, PteAttr, WalkStatus } from '../pmap.js';
import { X86PageTable } from './pagetable.js';
import { TablePool } from './table-pool.js';

const KiB = 1024;
const NR = 512;
const RW = PteAttr.write | PteAttr.dirty | PteAttr.accessed;

function setup(bytes = 16 * 1024 * KiB) {
  const phys = new PhysMem([bytes]);
  const pool = new TablePool(phys, 4);
  const free0 = phys.freePages;
  const pt = new X86PageTable(pool, phys.frames.owner, 4);
  return { phys, pool, pt, free0 };
}

function leaves(pt: X86PageTable, start: number, end: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  pt.forEachLeaf(start, end, (vpn, pfn, attrs, order) => out.push([vpn, pfn, attrs, order]));
  return out;
}

describe('huge PMD leaves (pmd-leaf.ts)', () => {
  it('pmdState tells none, table and huge apart without side effects', () => {
    const { pt } = setup();
    expect(pt.pmdState(5 * NR)).toBe(PmdState.none);
    pt.pteAlloc(3 * NR + 7);
    expect(pt.pmdState(3 * NR)).toBe(PmdState.table);
    expect(pt.hugeEnter(5 * NR, 2 * NR, RW)).toBe(true);
    expect(pt.pmdState(5 * NR + 100)).toBe(PmdState.huge);
    expect([pt.hugePfn, pt.hugeAttrs]).toEqual([2 * NR, RW]);
    expect(pt.pmdState(6 * NR)).toBe(PmdState.none);
  });

  it('a split fills the deposited table with 512 PTEs and moves it into the tree (VmPTE unchanged)', () => {
    const { pt } = setup();
    expect(pt.hugeEnter(4 * NR, 8 * NR, RW)).toBe(true);
    const before = pt.pgtablesBytes;
    expect(before).toBe(12 * KiB); // PUD + PMD + deposit
    pt.hugeSplit(4 * NR, PteAttr.accessed | PteAttr.dirty, -1);
    expect(pt.pgtablesBytes).toBe(before);
    expect(pt.depositedTables).toBe(0);
    expect(pt.countTables()).toEqual({ pgtablesBytes: before, tablePages: 4 });
    const l = leaves(pt, 4 * NR, 5 * NR);
    expect(l.length).toBe(NR);
    expect(l[0]).toEqual([4 * NR, 8 * NR, PteAttr.accessed | PteAttr.dirty, 0]);
    expect(l[511]).toEqual([5 * NR - 1, 9 * NR - 1, PteAttr.accessed | PteAttr.dirty, 0]);
    expect(pt.walk(4 * NR + 3, Access.write)).toBe(WalkStatus.protection);
    expect(pt.walk(4 * NR + 3, Access.read)).toBe(WalkStatus.ok);
    expect([pt.outPfn, pt.outOrder]).toEqual([8 * NR + 3, 0]);
  });

  it('a split of the huge zero page maps the small zero page 512 times', () => {
    const { pt } = setup();
    pt.hugeEnter(0, 2 * NR, PteAttr.special | PteAttr.accessed);
    pt.hugeSplit(0, PteAttr.special | PteAttr.accessed, 77);
    expect(new Set(leaves(pt, 0, NR).map((x) => x[1]))).toEqual(new Set([77]));
  });

  it('collapse turns an emptied PTE table into the deposit; clear frees it', () => {
    const { phys, pt, free0 } = setup();
    const h = pt.pteAlloc(NR + 5);
    pt.pteSet(h, 123, RW);
    expect(() => pt.hugeCollapse(NR, 4 * NR, RW)).toThrow(/still maps/);
    pt.pteClear(h);
    const bytes = pt.pgtablesBytes;
    pt.hugeCollapse(NR, 4 * NR, RW);
    expect([pt.pgtablesBytes, pt.depositedTables]).toEqual([bytes, 1]);
    expect(leaves(pt, 0, 4 * NR)).toEqual([[NR, 4 * NR, RW, 9]]);
    expect(pt.hugeClear(NR)).toBe(RW);
    expect([pt.pgtablesBytes, pt.depositedTables]).toEqual([bytes - 4 * KiB, 0]);
    pt.freeTables(0, 4 * NR, 0, pt.vpnLimit);
    pt.destroy();
    expect(phys.freePages).toBe(free0);
  });

  it('moveRange moves a huge leaf whole to an aligned place and refuses to cut one', () => {
    const { pt } = setup();
    pt.hugeEnter(2 * NR, 6 * NR, RW);
    expect(() => pt.moveRange(2 * NR + 1, 10 * NR, 10)).toThrow(/splits the huge leaf/);
    expect(() => pt.moveRange(2 * NR, 10 * NR + 1, NR)).toThrow(/unaligned/);
    expect(pt.moveRange(2 * NR, 10 * NR, NR)).toBe(1); // one present (huge) entry moved
    expect(leaves(pt, 0, 20 * NR)).toEqual([[10 * NR, 6 * NR, RW, 9]]);
    expect(pt.depositedTables).toBe(1);
    expect(pt.countTables().pgtablesBytes).toBe(pt.pgtablesBytes);
  });

  it('a PROT_NONE huge leaf is not present to the walker but still a leaf', () => {
    const { pt } = setup();
    pt.hugeEnter(0, NR, PteAttr.protnone | PteAttr.accessed);
    expect(pt.walk(3, Access.read)).toBe(WalkStatus.notPresent);
    expect(pt.pmdState(0)).toBe(PmdState.huge);
    expect(() => pt.pteAlloc(3)).toThrow(/huge/);
    pt.hugeUpdate(0, 0, PteAttr.protnone);
    expect(pt.walk(3, Access.read)).toBe(WalkStatus.ok);
  });

  it('hugeEnter fails cleanly when no page is left for the deposit', () => {
    const { phys, pt } = setup(4 * 1024 * KiB);
    pt.pteAlloc(0); // PUD, PMD, PTE tables exist
    while (phys.alloc(0) >= 0);
    expect(pt.hugeEnter(NR, 0, RW)).toBe(false);
    expect(pt.pmdState(NR)).toBe(PmdState.none);
    expect(pt.depositedTables).toBe(0);
  });
});
