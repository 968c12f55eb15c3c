// Range work on hugetlb areas (mm/hugetlb.c): __unmap_hugepage_range (munmap, exit,
// MADV_DONTNEED, truncate, unmap_ref_private), hugetlb_change_protection (mprotect),
// copy_hugetlb_page_range (fork), move_hugetlb_page_tables (mremap), and the TLB flush with a
// huge-page stride they share (flush_hugetlb_tlb_range).

import { PmdState, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { hugetlbRemoveMapping } from './hugetlb-fault.js';
import { isResvOwner, vmaAddReservation, vmaHstate, vmaNeedsReservation } from './hugetlb-reserve.js';
import { type Kernel, TLB_SINGLE_PAGE_FLUSH_CEILING } from './kernel.js';
import type { Mm } from './mm.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/**
 * flush_hugetlb_tlb_range -> flush_tlb_mm_range with stride_shift = huge_page_shift: one
 * invalidation per huge page of [start, end) on every CPU that may cache the mm, or a full
 * flush of the mm above tlb_single_page_flush_ceiling huge pages. nr_tlb_local_flush_one counts
 * the huge pages (nr_invalidate); remote CPUs get one IPI each.
 */
export function flushHugetlbRange(
  k: Kernel,
  mm: Mm,
  cpu: number,
  start: number,
  end: number,
  hpages: number,
): void {
  const n = (end - start) / hpages;
  if (n <= 0) return;
  const all = n > TLB_SINGLE_PAGE_FLUSH_CEILING;
  let remote = 0;
  for (let c = 0; c < k.tlbs.length; c++) {
    if (c !== cpu && (mm.cpuMask & (1n << BigInt(c))) === 0n) continue;
    if (c !== cpu) remote++;
    const tlb = k.tlbs[c];
    if (all) tlb.flushAsid(mm.id);
    else for (let v = start; v < end; v += hpages) tlb.flushPage(mm.id, v);
  }
  if (all) k.vmstat.nr_tlb_local_flush_all++;
  else k.vmstat.nr_tlb_local_flush_one += n;
  if (remote > 0) {
    k.vmstat.nr_tlb_remote_flush++;
    k.vmstat.nr_tlb_remote_flush_received += remote;
  }
}

/** The present hugetlb leaves of vma in [start, end): [vpn, pfn, attrs] (no side effects). */
function leaves(mm: Mm, start: number, end: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  mm.pmap.forEachLeaf(start, end, (vpn, pfn, attrs) => out.push([vpn, pfn, attrs]));
  return out;
}

/**
 * __unmap_hugepage_range over [start, end) of vma (huge-page aligned). Each page loses this
 * mapping (HugetlbPages goes down; the last reference frees it into the pool). Since Linux 6.9
 * the owner of a private mapping gets the reservation of each anonymous page it unmaps back
 * (folio_set_hugetlb_restore_reserve + vma_add_reservation), unless the pool has surplus pages.
 * With `refFolio`, only the entry mapping that folio goes and the VMA is marked
 * HPAGE_RESV_UNMAPPED (unmap_ref_private). `cpu` < 0: no flush (exit_mmap flushes the whole mm
 * once, uncounted, as for other areas).
 */
export function unmapHugepageRange(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
  cpu: number,
  refFolio = -1,
): void {
  const h = vmaHstate(k, vma);
  if (start % h.nrPages !== 0 || end % h.nrPages !== 0)
    throw new Error(`unmapHugepageRange: [${start}, ${end}) is not aligned to ${h.nrPages} pages`);
  const f = k.phys.frames;
  let any = false;
  for (const [vpn, pfn] of leaves(mm, start, end)) {
    if (refFolio >= 0) {
      if (pfn !== refFolio) continue;
      vma.resvFlags |= 2; // ResvFlag.UNMAPPED: the next fault here is SIGBUS
    }
    any = true;
    mm.pmap.hugetlbClear(vpn, h.order);
    mm.hugetlbUsage -= h.nrPages; // hugetlb_count_sub
    if (h.surplus === 0 && isResvOwner(vma) && f.has(pfn, PG.anon)) {
      f.set(pfn, PG.hugetlbRestoreReserve);
      if (vmaNeedsReservation(k, vma, vpn) !== 0) vmaAddReservation(k, vma, vpn);
    }
    hugetlbRemoveMapping(k, pfn);
  }
  if (any && cpu >= 0) flushHugetlbRange(k, mm, cpu, start, end, h.nrPages);
}

/**
 * hugetlb_change_protection for mprotect: present entries take the area's new vm_page_prot,
 * keeping young and dirty. Unlike change_protection for other pages there is no
 * try-change-writable step: a private writable area gets its pages read-only, and the next
 * write reuses them through hugetlb_wp. The range is flushed whatever changed.
 */
export function hugetlbChangeProtection(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
  cpu: number,
): void {
  const h = vmaHstate(k, vma);
  const base = basePteAttrs(vma.flags);
  for (const [vpn, pfn, attrs] of leaves(mm, start, end)) {
    mm.pmap.hugetlbSet(vpn, h.order, pfn, (attrs & (PteAttr.dirty | PteAttr.accessed)) | base);
  }
  flushHugetlbRange(k, mm, cpu, start, end, h.nrPages);
}

/**
 * copy_hugetlb_page_range at fork: every present entry is duplicated into the child (tables
 * allocated there; VmPTE), the folio gains a mapping (an anonymous one loses its exclusive
 * mark), and in a CoW mapping both entries are write-protected. The young bit is copied as it
 * is. False when the child's table memory ran out.
 */
export function copyHugetlbPageRange(k: Kernel, parent: Mm, child: Mm, src: Vma): boolean {
  const h = vmaHstate(k, src);
  const f = k.phys.frames;
  const cow = (src.flags & (VM.SHARED | VM.MAYWRITE)) === VM.MAYWRITE;
  for (const [vpn, pfn, attrs] of leaves(parent, src.start, src.end)) {
    if (!child.pmap.hugetlbPrepare(vpn, h.order)) return false;
    f.refcount[pfn]++;
    f.refcount[pfn + 1]++; // hugetlb_add_file_rmap / hugetlb_try_dup_anon_rmap
    f.clear(pfn, PG.anonExclusive);
    let a = attrs;
    if (cow && (attrs & PteAttr.write) !== 0) {
      parent.pmap.hugetlbUpdate(vpn, h.order, 0, PteAttr.write); // huge_ptep_set_wrprotect
      a &= ~PteAttr.write;
    }
    child.pmap.hugetlbSet(vpn, h.order, pfn, a);
    child.hugetlbUsage += h.nrPages;
    k.vmstat.ptes_copied++;
  }
  return true;
}

/**
 * move_hugetlb_page_tables: the entries of n pages at oldStart move to newStart (both aligned);
 * returns the pages moved (fewer when table memory ran out). The old range is flushed.
 */
export function moveHugetlbPageTables(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  oldStart: number,
  newStart: number,
  n: number,
  cpu: number,
): number {
  const h = vmaHstate(k, vma);
  let moved = 0;
  for (; moved < n; moved += h.nrPages) {
    const from = oldStart + moved;
    if (mm.pmap.hugetlbState(from, h.order) !== PmdState.huge) continue;
    const pfn = mm.pmap.hugePfn;
    if (!mm.pmap.hugetlbPrepare(newStart + moved, h.order)) break;
    const attrs = mm.pmap.hugetlbClear(from, h.order);
    mm.pmap.hugetlbSet(newStart + moved, h.order, pfn, attrs);
  }
  flushHugetlbRange(k, mm, cpu, oldStart, oldStart + n, h.nrPages);
  return moved;
}
