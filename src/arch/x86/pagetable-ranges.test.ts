// The range operations' reports to the mmu_gather (tables freed, PTE tables finished), the
// table-level moves of mremap (move_normal_pmd/pud), and x86's pte_needs_flush.

import { describe, expect, it } from 'vitest';
import { PhysMem } from '../../phys/physmem.js';
import { Access, PteAttr, WalkStatus } from '../pmap.js';
import { X86PageTable } from './pagetable.js';
import { TablePool } from './table-pool.js';

const MiB = 1024 * 1024;
const PTE_TABLE = 512; // pages one PTE table maps
const PMD_TABLE = 512 ** 2;
const PUD_TABLE = 512 ** 3;

function setup(levels: 4 | 5 = 4) {
  const phys = new PhysMem([64 * MiB]);
  const pool = new TablePool(phys, 4);
  const pt = new X86PageTable(pool, phys.frames.owner, levels);
  return { phys, pool, pt };
}

function map(pt: X86PageTable, vpn: number, pfn: number, attrs: number = PteAttr.write): void {
  const h = pt.pteAlloc(vpn);
  expect(h).toBeGreaterThanOrEqual(0);
  pt.pteSet(h, pfn, attrs);
}

describe('X86PageTable: what the gather is told', () => {
  it('zapRange reports the part of each existing PTE table it finished, after its leaves', () => {
    const { pt } = setup();
    map(pt, 100, 1);
    map(pt, 3 * PTE_TABLE + 5, 2);
    const log: string[] = [];
    pt.zapRange(
      50,
      3 * PTE_TABLE + 10,
      (vpn) => log.push(`leaf ${vpn}`),
      undefined,
      (s, e) => log.push(`done ${s}-${e}`),
    );
    // The tables of spans 1 and 2 do not exist: nothing is reported for them.
    expect(log).toEqual(['leaf 100', 'done 50-512', `leaf ${3 * PTE_TABLE + 5}`, 'done 1536-1546']);
  });

  it('freeTables reports each freed table with its level and the first page of its span', () => {
    for (const levels of [4, 5] as const) {
      const { pt } = setup(levels);
      const v = 5 * PUD_TABLE + 7 * PMD_TABLE + 3 * PTE_TABLE + 9;
      map(pt, v, 1);
      pt.zapRange(v, v + 1, () => {});
      const freed: [number, number][] = [];
      pt.freeTables(v, v + 1, 0, pt.vpnLimit, (level, vpn) => freed.push([level, vpn]));
      const want: [number, number][] = [
        [0, v - 9], // the PTE table: pte_free_tlb(tlb, table, PMD-aligned address)
        [1, v - 9 - 3 * PTE_TABLE], // the PMD table: its PUD-aligned span
        [2, 5 * PUD_TABLE], // the PUD table
      ];
      if (levels === 5) want.push([3, 0]); // the P4D table maps the first 256 TiB
      expect(freed).toEqual(want);
      expect(pt.pgtablesBytes).toBe(0);
    }
  });

  it('reclaimEmptyPteTables reports the start of each table it frees', () => {
    const { pt } = setup();
    map(pt, 2 * PTE_TABLE + 1, 1);
    map(pt, 3 * PTE_TABLE + 1, 2);
    pt.zapRange(2 * PTE_TABLE, 3 * PTE_TABLE, () => {});
    const freed: [number, number][] = [];
    pt.reclaimEmptyPteTables(0, 4 * PTE_TABLE, (level, vpn) => freed.push([level, vpn]));
    expect(freed).toEqual([[0, 2 * PTE_TABLE]]); // the table at 3 * 512 still maps a page
  });
});

describe('X86PageTable: tablePresent, allocTables, moveTable', () => {
  it('allocates the tables down to the level asked for, no further', () => {
    const { pt } = setup();
    const v = 7 * PMD_TABLE + 3;
    expect(pt.tablePresent(v, 1)).toBe(false);
    expect(pt.allocTables(v, 1)).toBe(true);
    expect([pt.tablePresent(v, 2), pt.tablePresent(v, 1), pt.tablePresent(v, 0)]).toEqual([
      true,
      true,
      false,
    ]);
    expect(pt.pgtablesBytes).toBe(2 * 4096); // a PUD and a PMD table
    expect(pt.allocTables(v, 0)).toBe(true);
    expect(pt.tablePresent(v, 0)).toBe(true);
    expect(pt.pgtablesBytes).toBe(3 * 4096);
    expect(pt.allocTables(v, 0)).toBe(true); // nothing more to do
    expect(pt.pgtablesBytes).toBe(3 * 4096);
  });

  it('moves a PTE table by its PMD entry: same table, same count, new addresses', () => {
    const { pt } = setup();
    const from = 4 * PTE_TABLE;
    const to = PMD_TABLE + 6 * PTE_TABLE;
    map(pt, from + 1, 11, PteAttr.write | PteAttr.dirty);
    map(pt, from + 300, 12);
    expect(pt.walk(from + 1, Access.read)).toBe(WalkStatus.ok); // fills the walker's table cache
    expect(pt.allocTables(to, 1)).toBe(true);
    const bytes = pt.pgtablesBytes;
    expect(pt.moveTable(from, to, 0)).toBe(true);
    expect(pt.pgtablesBytes).toBe(bytes);
    expect(pt.tablePresent(from, 0)).toBe(false);
    expect(pt.walk(from + 1, Access.read)).toBe(WalkStatus.notPresent);
    expect(pt.walk(to + 1, Access.write)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(11);
    expect(pt.ptePfn(pt.pteLookup(to + 300))).toBe(12);
    expect(pt.countTables().pgtablesBytes).toBe(pt.pgtablesBytes);
  });

  it('moves a PMD table by its PUD entry', () => {
    const { pt } = setup();
    map(pt, 2 * PTE_TABLE, 5);
    expect(pt.allocTables(3 * PMD_TABLE, 2)).toBe(true);
    expect(pt.moveTable(0, 3 * PMD_TABLE, 1)).toBe(true);
    expect(pt.ptePfn(pt.pteLookup(3 * PMD_TABLE + 2 * PTE_TABLE))).toBe(5);
    expect(pt.tablePresent(0, 1)).toBe(false);
  });

  it('refuses when there is nothing to move or the new entry is in use, and needs aligned spans', () => {
    const { pt } = setup();
    map(pt, 5, 1);
    map(pt, PTE_TABLE + 5, 2);
    expect(pt.moveTable(2 * PTE_TABLE, 3 * PTE_TABLE, 0)).toBe(false); // no table at 2 * 512
    expect(pt.moveTable(0, PTE_TABLE, 0)).toBe(false); // 512's PMD entry holds a table
    expect(pt.ptePfn(pt.pteLookup(5))).toBe(1);
    expect(() => pt.moveTable(1, 2 * PTE_TABLE, 0)).toThrow(/aligned/);
    expect(() => pt.moveTable(0, PUD_TABLE, 0)).toThrow(/no table/);
  });
});

describe('X86PageTable: pteNeedsFlush (x86 pte_needs_flush)', () => {
  const pt = setup().pt;
  const A = PteAttr.accessed;
  it('needs no flush for an entry that was not present (PROT_NONE to anything)', () => {
    expect(pt.pteNeedsFlush(PteAttr.protnone | A, PteAttr.write | A)).toBe(false);
    expect(pt.pteNeedsFlush(PteAttr.protnone | A, PteAttr.exec | A)).toBe(false);
  });
  it('flushes when write permission goes or comes: RW is a flush-on-change bit', () => {
    expect(pt.pteNeedsFlush(PteAttr.write | PteAttr.dirty | A, PteAttr.dirty | A)).toBe(true);
    expect(pt.pteNeedsFlush(A, PteAttr.write | A)).toBe(true);
  });
  it('flushes when NX changes either way, and when the entry becomes PROT_NONE', () => {
    expect(pt.pteNeedsFlush(A, PteAttr.exec | A)).toBe(true);
    expect(pt.pteNeedsFlush(PteAttr.exec | A, A)).toBe(true);
    expect(pt.pteNeedsFlush(PteAttr.write | A, PteAttr.protnone | A)).toBe(true);
  });
  it('ignores the accessed bit and dirty being set; clearing dirty flushes', () => {
    expect(pt.pteNeedsFlush(PteAttr.none, A)).toBe(false);
    expect(pt.pteNeedsFlush(A, PteAttr.dirty | A)).toBe(false);
    expect(pt.pteNeedsFlush(PteAttr.dirty | A, A)).toBe(true);
  });
  it('ignores software bits (special)', () => {
    expect(pt.pteNeedsFlush(PteAttr.special | A, A)).toBe(false);
  });
});
