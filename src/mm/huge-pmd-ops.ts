// PMD-level THP work that other calls do (mm/huge_memory.c): zap_huge_pmd's folio part,
// copy_huge_pmd at fork, change_huge_pmd for mprotect, mlock of THPs, GUP's huge-PMD step for
// populate, and move_page_tables' rule for huge PMDs.

import { PmdState, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { splitHugePmd } from './huge-memory.js';
import {
  folioDupPmd,
  folioRemovePmd,
  HPAGE_PMD_NR,
  isHugeZero,
  mlockFolio,
  mmGetHugeZero,
  munlockFolio,
} from './huge-rmap.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/**
 * A huge leaf that a zap met (zap_huge_pmd; the format freed the deposited table): the huge
 * zero page needs nothing, a THP loses the mapping (RSS - 512).
 */
export function zapHugeLeaf(k: Kernel, mm: Mm, pfn: number, locked: boolean): void {
  if (isHugeZero(k, pfn)) return;
  folioRemovePmd(k, mm, pfn, locked);
}

/**
 * copy_huge_pmd at fork: the child gets the huge PMD write-protected and old, with a table
 * deposited (VmPTE + 4 KiB); the folio gains a PMD mapping and loses its anon-exclusive mark;
 * the parent's PMD is write-protected too. 'oom' when the child's table memory ran out.
 * The deposit is allocated before the parent's PMD is read (pte_alloc_one comes first in
 * copy_huge_pmd): the allocation may reclaim, and reclaim may split the parent's THP (to swap
 * it out, or from the deferred split queue). Then the child's entry goes again and the caller
 * copies the range PTE by PTE ('again': copy_huge_pmd's -EAGAIN, copy_pmd_range's retry).
 */
export function copyHugePmd(k: Kernel, parent: Mm, child: Mm, vpn: number): 'done' | 'oom' | 'again' {
  if (parent.pmap.pmdState(vpn) !== PmdState.huge) return 'again';
  const pfn = parent.pmap.hugePfn;
  const attrs = parent.pmap.hugeAttrs & ~(PteAttr.write | PteAttr.accessed);
  const zero = isHugeZero(k, pfn);
  if (zero) mmGetHugeZero(k, child); // takes a reference only: the page exists
  if (!child.pmap.hugeEnter(vpn, pfn, attrs)) return 'oom';
  if (parent.pmap.pmdState(vpn) !== PmdState.huge || parent.pmap.hugePfn !== pfn) {
    child.pmap.hugeClear(vpn);
    return 'again';
  }
  child.pmap.hugeSet(vpn, pfn, parent.pmap.hugeAttrs & ~(PteAttr.write | PteAttr.accessed));
  if (zero) return 'done';
  folioDupPmd(k, child, pfn);
  parent.pmap.hugeUpdate(vpn, 0, PteAttr.write);
  return 'done';
}

/**
 * change_huge_pmd for mprotect: the PMD takes the area's new protection, keeping young/dirty;
 * an anon-exclusive THP in a private writable area becomes writable at once
 * (can_change_pmd_writable). Returns whether the entry changed.
 */
export function changeHugePmd(k: Kernel, mm: Mm, vma: Vma, vpn: number, pfn: number, attrs: number): boolean {
  let a = (attrs & (PteAttr.dirty | PteAttr.accessed | PteAttr.special)) | basePteAttrs(vma.flags);
  const tryWrite = (vma.flags & (VM.WRITE | VM.SHARED)) === VM.WRITE;
  if (tryWrite && !isHugeZero(k, pfn) && k.phys.frames.has(pfn, PG.anonExclusive)) a |= PteAttr.write;
  if (a === attrs) return false;
  mm.pmap.hugeSet(vpn, pfn, a);
  return true;
}

/**
 * allow_mlock_munlock for a page of a PTE-mapped THP met by mlock over [start, end): the folio
 * is mlocked only when it lies wholly inside the range (folio_within_range) and all its pages
 * are mapped there by this table (folio_mlock_step covers the folio). munlock needs no check.
 */
export function mlockPteMappedAllowed(
  k: Kernel,
  mm: Mm,
  pfn: number,
  vpn: number,
  start: number,
  end: number,
): boolean {
  const pmap = mm.pmap;
  const head = k.phys.frames.headOf(pfn);
  const hv = vpn - (pfn - head);
  if (hv < start || hv + HPAGE_PMD_NR > end) return false;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const h = pmap.pteLookup(hv + i);
    if (h < 0 || !pmap.ptePresent(h) || pmap.ptePfn(h) !== head + i) return false;
  }
  return true;
}

/** mlock_pte_range on a huge PMD: mlock_folio or munlock_folio of the whole THP. */
export function mlockHugeLeaf(k: Kernel, pfn: number, lock: boolean): void {
  if (isHugeZero(k, pfn)) return;
  if (lock) mlockFolio(k, pfn);
  else munlockFolio(k, pfn);
}

/**
 * GUP's follow_pmd_mask for a populate: when a huge PMD maps vpn as needed (writable for a
 * write), the pages to skip to its end (follow_page_mask's page_increm); 0 otherwise.
 */
export function hugeMappedSpan(mm: Mm, vpn: number, write: boolean): number {
  const pmap = mm.pmap;
  if (pmap.pmdState(vpn) !== PmdState.huge) return 0;
  if ((pmap.hugeAttrs & PteAttr.protnone) !== 0) return 0;
  if (write && (pmap.hugeAttrs & PteAttr.write) === 0) return 0;
  return HPAGE_PMD_NR - (vpn % HPAGE_PMD_NR);
}

/**
 * move_page_tables' THP rule before the entries of [start, start + n) move to dst: a huge PMD
 * moves whole (move_huge_pmd) when it lies inside the range and lands PMD-aligned; any other is
 * split first (split_huge_pmd).
 */
export function prepareHugeMove(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  n: number,
  dst: number,
  cpu: number,
): void {
  const end = start + n;
  for (let v = start - (start % HPAGE_PMD_NR); v < end; v += HPAGE_PMD_NR) {
    if (mm.pmap.pmdState(v) !== PmdState.huge) continue;
    const whole = v >= start && v + HPAGE_PMD_NR <= end && (dst + (v - start)) % HPAGE_PMD_NR === 0;
    if (!whole) splitHugePmd(k, mm, vma, v, cpu);
  }
}
