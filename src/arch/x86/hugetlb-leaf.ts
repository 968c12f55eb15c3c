// hugetlb leaves of the x86-64 radix tables (arch/x86's huge_pte_* helpers behind mm/hugetlb.c):
// a 2 MiB hugetlb page is a PMD entry with PSE set, a 1 GiB one a PUD entry with PSE set, the
// same bits a THP's PMD leaf has. Unlike a THP leaf a hugetlb leaf has no deposited PTE table:
// hugetlb pages are never split, so VmPTE counts only the PMD and PUD tables above them.
//
// Linux tells the two kinds of PMD leaf apart by the VMA (is_vm_hugetlb_page), not by the entry;
// so does vmlab: mm/ calls these for hugetlb VMAs and the THP helpers (pmd-leaf.ts) for others.

import type { PmdState } from '../pmap.js';
import type { X86TableCore as X86PageTable } from './pagetable-core.js';
import { leafState } from './pmd-leaf.js';
import { decodeAttrs, encodeHi, encodeLo, entryPfn, makeHi, makeLo, X86 } from './pte.js';

/** The table level holding a leaf of `order`: 1 (PMD) for 9, 2 (PUD) for 18. */
function levelOf(order: 9 | 18): 1 | 2 {
  return order === 9 ? 1 : 2;
}

function checkAligned(vpn: number, order: 9 | 18, what: string): void {
  if (vpn % (1 << order) !== 0)
    throw new Error(`X86PageTable.${what}: vpn ${vpn} is not aligned to an order-${order} leaf`);
}

/** huge_pte_offset: the state of the order-`order` entry covering vpn; for huge, t.hugePfn/hugeAttrs. */
export function hugetlbState(t: X86PageTable, vpn: number, order: 9 | 18): PmdState {
  return leafState(t, t.upperEntry(vpn - (vpn % (1 << order)), levelOf(order), false));
}

/** huge_pte_alloc: the tables above the leaf entry for vpn exist afterwards; false when memory ran out. */
export function hugetlbPrepare(t: X86PageTable, vpn: number, order: 9 | 18): boolean {
  checkAligned(vpn, order, 'hugetlbPrepare');
  const i = t.upperEntry(vpn, levelOf(order), true);
  if (i < 0) return false;
  const w = t.pool.words;
  if ((w[i] & X86.P) !== 0 && (w[i] & X86.PSE) === 0)
    throw new Error(`X86PageTable.hugetlbPrepare: a page table already covers vpn ${vpn}`);
  return true;
}

/** The word index of the leaf entry for vpn (tables above must exist). */
function entry(t: X86PageTable, vpn: number, order: 9 | 18, what: string): number {
  checkAligned(vpn, order, what);
  const i = t.upperEntry(vpn, levelOf(order), false);
  if (i < 0) throw new Error(`X86PageTable.${what}: no table holds the entry for vpn ${vpn}`);
  return i;
}

/** set_huge_pte_at: the entry for vpn (none or a leaf) maps the folio at pfn with attrs. */
export function hugetlbSet(t: X86PageTable, vpn: number, order: 9 | 18, pfn: number, attrs: number): void {
  if (pfn % (1 << order) !== 0)
    throw new Error(`X86PageTable.hugetlbSet: pfn ${pfn} is not aligned to order ${order}`);
  const i = entry(t, vpn, order, 'hugetlbSet');
  const w = t.pool.words;
  if ((w[i] !== 0 || w[i + 1] !== 0) && (w[i] & X86.PSE) === 0)
    throw new Error(`X86PageTable.hugetlbSet: entry for vpn ${vpn} points to a table`);
  w[i] = makeLo(pfn, encodeLo(attrs) | X86.PSE);
  w[i + 1] = makeHi(pfn, encodeHi(attrs));
  t.dropCache();
}

/** huge_ptep_set_access_flags / huge_ptep_set_wrprotect: change attribute bits of a present leaf. */
export function hugetlbUpdate(t: X86PageTable, vpn: number, order: 9 | 18, set: number, clear: number): void {
  const i = entry(t, vpn, order, 'hugetlbUpdate');
  const w = t.pool.words;
  if ((w[i] & X86.PSE) === 0) throw new Error(`X86PageTable.hugetlbUpdate: no leaf at vpn ${vpn}`);
  const pfn = entryPfn(w[i], w[i + 1]);
  const attrs = (decodeAttrs(w[i], w[i + 1]) | set) & ~clear;
  w[i] = makeLo(pfn, encodeLo(attrs) | X86.PSE);
  w[i + 1] = makeHi(pfn, encodeHi(attrs));
}

/** huge_ptep_get_and_clear: the leaf goes (no deposit to free); returns its attrs. */
export function hugetlbClear(t: X86PageTable, vpn: number, order: 9 | 18): number {
  const i = entry(t, vpn, order, 'hugetlbClear');
  const w = t.pool.words;
  if ((w[i] & X86.PSE) === 0) throw new Error(`X86PageTable.hugetlbClear: no leaf at vpn ${vpn}`);
  const attrs = decodeAttrs(w[i], w[i + 1]);
  w[i] = 0;
  w[i + 1] = 0;
  t.dropCache();
  return attrs;
}
