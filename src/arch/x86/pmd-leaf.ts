// Huge PMD leaves of the x86-64 radix tables (pmd_trans_huge entries: PSE set in a PMD entry),
// the machine-dependent half of mm/huge_memory.c: set_pmd_at with a deposited PTE table,
// pmdp_huge_get_and_clear + zap_deposited_table, __split_huge_pmd_locked's table fill,
// move_huge_pmd and the PMD swap of collapse_huge_page.
//
// The deposit follows x86 (pgtable_trans_huge_deposit): every huge leaf has one PTE table set
// aside, so that splitting it never allocates; the table is counted in VmPTE (mm_inc_nr_ptes)
// and in PageTables from the moment it is allocated. Deposited tables are interchangeable (they
// are empty), so the format keeps them on one per-address-space stack.

import { PmdState } from '../pmap.js';
import type { X86TableCore as X86PageTable } from './pagetable-core.js';
import { decodeAttrs, encodeHi, encodeLo, entryPfn, makeHi, makeLo, PAGE_TABLE_FLAGS, X86 } from './pte.js';

const NR = 512;

export function pmdState(t: X86PageTable, vpn: number): PmdState {
  return leafState(t, t.pmdEntry(vpn, false));
}

/** The state of upper-level entry word index i (-1: no table holds it); for huge, t.hugePfn/hugeAttrs. */
export function leafState(t: X86PageTable, i: number): PmdState {
  if (i < 0) return PmdState.none;
  const w = t.pool.words;
  if (w[i] === 0 && w[i + 1] === 0) return PmdState.none;
  if ((w[i] & X86.PSE) === 0) return PmdState.table;
  t.hugePfn = entryPfn(w[i], w[i + 1]);
  t.hugeAttrs = decodeAttrs(w[i], w[i + 1]);
  return PmdState.huge;
}

/** The word index of the huge leaf covering vpn; throws when there is none. */
function leafAt(t: X86PageTable, vpn: number, what: string): number {
  const i = t.pmdEntry(vpn, false);
  if (i < 0 || (t.pool.words[i] & X86.PSE) === 0)
    throw new Error(`X86PageTable.${what}: no huge leaf covers vpn ${vpn}`);
  return i;
}

function setLeaf(t: X86PageTable, i: number, pfn: number, attrs: number): void {
  const w = t.pool.words;
  w[i] = makeLo(pfn, encodeLo(attrs) | X86.PSE);
  w[i + 1] = makeHi(pfn, encodeHi(attrs));
}

export function hugeEnter(t: X86PageTable, vpn: number, pfn: number, attrs: number): boolean {
  if (vpn % NR !== 0 || pfn % NR !== 0)
    throw new Error(`X86PageTable.hugeEnter: vpn ${vpn} or pfn ${pfn} is not 2 MiB aligned`);
  const i = t.pmdEntry(vpn, true);
  if (i < 0) return false;
  const w = t.pool.words;
  if (w[i] !== 0 || w[i + 1] !== 0)
    throw new Error(`X86PageTable.hugeEnter: PMD entry for vpn ${vpn} is in use`);
  // __do_huge_pmd_anonymous_page: pte_alloc_one before the PMD is set (VM_FAULT_OOM without it).
  if (!t.deposit()) return false;
  setLeaf(t, t.pmdEntry(vpn, false), pfn, attrs); // the pool may have grown: index again
  t.dropCache();
  return true;
}

export function hugeSet(t: X86PageTable, vpn: number, pfn: number, attrs: number): void {
  if (pfn % NR !== 0) throw new Error(`X86PageTable.hugeSet: pfn ${pfn} is not 2 MiB aligned`);
  setLeaf(t, leafAt(t, vpn, 'hugeSet'), pfn, attrs);
}

export function hugeUpdate(t: X86PageTable, vpn: number, set: number, clear: number): void {
  const i = leafAt(t, vpn, 'hugeUpdate');
  const w = t.pool.words;
  setLeaf(t, i, entryPfn(w[i], w[i + 1]), (decodeAttrs(w[i], w[i + 1]) | set) & ~clear);
}

export function hugeClear(t: X86PageTable, vpn: number): number {
  const i = leafAt(t, vpn, 'hugeClear');
  const w = t.pool.words;
  const attrs = decodeAttrs(w[i], w[i + 1]);
  w[i] = 0;
  w[i + 1] = 0;
  t.freeDeposit();
  t.dropCache();
  return attrs;
}

export function hugeSplit(t: X86PageTable, vpn: number, attrs: number, samePfn: number): void {
  const i = leafAt(t, vpn, 'hugeSplit');
  const table = t.deposited.pop();
  if (table === undefined) throw new Error('X86PageTable.hugeSplit: no deposited table');
  const w = t.pool.words;
  const pfn = entryPfn(w[i], w[i + 1]);
  // The deposited table was accounted when deposited: it now hangs in the tree instead.
  const base = t.owner[table] * 1024;
  const lo = encodeLo(attrs);
  const hi = encodeHi(attrs);
  for (let k = 0; k < NR; k++) {
    const p = samePfn >= 0 ? samePfn : pfn + k;
    w[base + 2 * k] = makeLo(p, lo);
    w[base + 2 * k + 1] = makeHi(p, hi);
  }
  w[i] = makeLo(table, PAGE_TABLE_FLAGS);
  w[i + 1] = makeHi(table, 0);
  t.dropCache();
}

export function hugeCollapse(t: X86PageTable, vpn: number, pfn: number, attrs: number): void {
  const i = t.pmdEntry(vpn, false);
  const w = t.pool.words;
  if (i < 0 || (w[i] & X86.P) === 0 || (w[i] & X86.PSE) !== 0)
    throw new Error(`X86PageTable.hugeCollapse: no PTE table covers vpn ${vpn}`);
  const table = entryPfn(w[i], w[i + 1]);
  const base = t.owner[table] * 1024;
  for (let j = base; j < base + 1024; j++)
    if (w[j] !== 0)
      throw new Error(`X86PageTable.hugeCollapse: the PTE table at vpn ${vpn} still maps pages`);
  t.deposited.push(table); // stays accounted: the same table, now deposited
  setLeaf(t, i, pfn, attrs);
  t.dropCache();
}

/** move_huge_pmd: the leaf at oldVpn moves to newVpn (both aligned); false when table memory ran out. */
export function hugeMove(t: X86PageTable, oldVpn: number, newVpn: number): boolean {
  if (newVpn % NR !== 0)
    throw new Error(`X86PageTable.moveRange: huge leaf moved to unaligned vpn ${newVpn}`);
  const j = t.pmdEntry(newVpn, true);
  if (j < 0) return false;
  const i = leafAt(t, oldVpn, 'moveRange');
  const w = t.pool.words;
  if (w[j] !== 0 || w[j + 1] !== 0)
    throw new Error(`X86PageTable.moveRange: PMD entry at vpn ${newVpn} is in use`);
  w[j] = w[i];
  w[j + 1] = w[i + 1];
  w[i] = 0;
  w[i + 1] = 0;
  t.dropCache();
  return true;
}
