// Tearing down mappings: zap (unmap pages), free page tables, remove VMAs (mm/memory.c
// unmap_page_range and free_pgtables, mm/vma.c do_vmi_munmap), with the TLB flushes an
// mmu_gather decides (mmu-gather.ts).

import { PteAttr } from '../arch/pmap.js';
import type { Errno } from '../lib/errno.js';
import { PTRS_PER_TABLE } from '../lib/units.js';
import { PG } from '../phys/frames.js';
import { zapSwpEntry } from './device-private.js';
import { dropMapping } from './fault.js';
import { markDirty } from './filemap.js';
import { zapHugeLeaf } from './huge-pmd-ops.js';
import { mmPutHugeZero } from './huge-rmap.js';
import { unmapHugepageRange } from './hugetlb-unmap.js';
import type { Kernel } from './kernel.js';
import { khugepagedExit } from './khugepaged.js';
import type { Mm } from './mm.js';
import { MmuGather } from './mmu-gather.js';
import { mmuNotifierInvalidate, mmuNotifierRelease, NotifyEvent } from './mmu-notifier.js';
import { freeSwapCache } from './swap.js';
import { VM, type Vma } from './vma.js';
import { removeVma, splitVma } from './vma-ops.js';

/**
 * unmap_page_range over pages [start, end) of one VMA, into the gather g: every present
 * entry is cleared and noted for the flush (tlb_remove_tlb_entry); its page, unless it is
 * the zero page, loses this mapping and is queued (__tlb_remove_folio_pages), and when the
 * batches are full the gather flushes at once (force_flush, force_break). A dirty page that
 * is not anonymous (file, shmem) delays its rmap removal until a flush at the end of its PTE
 * table. A huge PMD goes whole (zap_huge_pmd: its folio queued as one page of 2 MiB); a swap
 * entry drops its slot reference (free_swap_and_cache). `reclaimPt` (zap_details.reclaim_pt,
 * MADV_DONTNEED with CONFIG_PT_RECLAIM, 6.14+): a PTE table whose whole span the zap covered
 * and left empty is freed into the gather.
 */
export function zapVmaRange(g: MmuGather, vma: Vma, start: number, end: number, reclaimPt: boolean): void {
  const k = g.k;
  const mm = g.mm;
  const f = k.phys.frames;
  const zero = k.phys.zeroPfn;
  const locked = (vma.flags & VM.LOCKED) !== 0;
  let forceFlush = false;
  mm.pmap.zapRange(
    start,
    end,
    (vpn, pfn, attrs, order) => {
      g.leaf(vpn, order);
      if (order !== 0) {
        k.locks.pmd++; // zap_huge_pmd: __pmd_trans_huge_lock
        zapHugeLeaf(k, mm, pfn, locked);
        if (g.page(false)) g.flushMmu();
        return;
      }
      if ((attrs & PteAttr.special) !== 0 && pfn === zero) return; // vm_normal_page: no page
      const delay = (attrs & PteAttr.dirty) !== 0 && !f.has(pfn, PG.anon); // tlb_delay_rmap
      // zap_present_pte: a dirty entry of a file or shmem page dirties the page (its only record
      // that the memory was written, for writeback or swap-out).
      if (delay) {
        forceFlush = true;
        markDirty(k, pfn);
      }
      zapPage(k, mm, pfn, locked);
      if (g.page(delay)) {
        g.flushMmu(); // the flush also ran the delayed rmaps so far
        forceFlush = false;
      }
    },
    (_vpn, slot, type) => zapSwpEntry(k, mm, slot, type, locked),
    (s, e) => {
      k.locks.ptl++; // zap_pte_range: one PTE lock per table
      if (forceFlush) {
        g.flushMmu();
        forceFlush = false;
      }
      // zap_pte_range: only a part that spans the entire table may free it (pte_free_tlb at its start).
      if (reclaimPt && e - s === PTRS_PER_TABLE) reclaimPteTable(g, s, e);
    },
  );
}

/**
 * CONFIG_PT_RECLAIM after zap_pte_range spanned a whole table: a table left empty is taken out
 * under the PMD lock (try_get_and_clear_pmd); one that still maps something is looked at
 * again by try_to_free_pte, under the PMD lock and the PTE lock.
 */
function reclaimPteTable(g: MmuGather, s: number, e: number): void {
  const locks = g.k.locks;
  let freed = false;
  g.mm.pmap.reclaimEmptyPteTables(s, e, (level, vpn) => {
    freed = true;
    g.table(level, vpn);
  });
  locks.pmd++;
  if (!freed) locks.ptl++;
}

/**
 * zap_page_range_single: unmap [start, end) of one VMA under a gather of its own, flushed at
 * the end (truncate's unmap_mapping_range goes VMA by VMA like this).
 */
export function zapRange(k: Kernel, vma: Vma, start: number, end: number, cpu: number): void {
  const g = new MmuGather(k, vma.mm!, cpu);
  mmuNotifierInvalidate(vma.mm!, start, end, NotifyEvent.clear); // zap_page_range_single
  zapVmaRange(g, vma, start, end, false);
  g.finish();
}

/**
 * munmap of pages [start, end): split the VMAs at the ends, then unmap_region under one
 * gather: zap every VMA of the range, free the page tables that only mapped the range
 * (floor/ceiling at the neighbouring VMAs), flush once (tlb_finish_mmu), remove the VMAs.
 */
export function doMunmap(k: Kernel, mm: Mm, start: number, end: number, cpu: number): Errno | null {
  let vma = mm.findVma(start);
  if (vma === undefined || vma.start >= end) return null;
  if (vma.start < start) {
    // An unmap in the middle of one VMA needs one more VMA.
    // (vms_gather_munmap_vmas: the only check; the splits themselves are unchecked.)
    if (end < vma.end && mm.mapCount >= k.config.maxMapCount) return 'ENOMEM';
    const e = splitVma(k, mm, vma, start, false);
    if (e !== null) return e;
    vma = mm.vmaAt(start)!;
  }
  const last = mm.vmaAt(end - 1);
  if (last !== undefined && last.end > end) {
    const e = splitVma(k, mm, last, end, false);
    if (e !== null) return e;
  }
  const doomed: Vma[] = [];
  for (const v of mm.vmas.values(start)) {
    if (v.start >= end) break;
    doomed.push(v);
  }
  if (doomed.length === 0) return null;
  const prev = mm.vmas.lower(start);
  const next = mm.vmas.ceiling(end);
  const g = new MmuGather(k, mm, cpu);
  // unmap_vmas: one notification for the whole range.
  mmuNotifierInvalidate(mm, doomed[0].start, doomed[doomed.length - 1].end, NotifyEvent.unmap);
  // gmem (do_vmi_align_munmap): munmap_in_peer_devices for the peer-shared areas.
  if (k.peer !== null)
    for (const v of doomed) if ((v.flags & VM.PEER_SHARED) !== 0) k.peer.unmapRange(mm, v.start, v.end, cpu);
  for (const v of doomed) {
    // unmap_single_vma: a hugetlb area goes through __unmap_hugepage_range, which here flushes
    // on its own rather than into the gather.
    if (v.isHugetlb()) unmapHugepageRange(k, mm, v, v.start, v.end, cpu);
    else zapVmaRange(g, v, v.start, v.end, false);
  }
  mm.pmap.freeTables(
    doomed[0].start,
    doomed[doomed.length - 1].end,
    prev?.end ?? 0,
    next?.start ?? mm.pmap.vpnLimit,
    g.table,
  );
  g.finish();
  for (const v of doomed) {
    mm.totalVm -= v.pages;
    if ((v.flags & VM.LOCKED) !== 0) mm.lockedVm -= v.pages;
    removeVma(k, mm, v);
  }
  return null;
}

/**
 * zap_present_pte's page: the mapping goes, and the gather's flush (free_pages_and_swap_cache)
 * lets an unmapped page out of the swap cache when no swap entry refers to it any more.
 */
function zapPage(k: Kernel, mm: Mm, pfn: number, locked: boolean): void {
  dropMapping(k, mm, pfn, locked);
  freeSwapCache(k, pfn);
}

/**
 * exit_mmap: unmap everything, free every table. A full-mm gather flushes the whole address
 * space; the mm is gone, so vmlab drops its translations without counting a shootdown.
 */
export function exitMmap(k: Kernel, mm: Mm): void {
  // exit_mmap (6.x): mmap_lock for read while unmap_vmas zaps, then for write to free the
  // page tables and the VMAs.
  k.locks.mmapRead++;
  k.locks.mmapWrite++;
  mmuNotifierRelease(mm); // exit_mmap: mirrors drop everything before the tables go
  const all = [...mm.vmas.values()];
  if (k.peer !== null) {
    for (const v of all) if ((v.flags & VM.PEER_SHARED) !== 0) k.peer.unmapRange(mm, v.start, v.end, -1);
    k.peer.exit(mm); // exit_mmap: vm_object_drop_locked
  }
  for (const v of all) {
    if (v.isHugetlb()) {
      unmapHugepageRange(k, mm, v, v.start, v.end, -1); // the TLBs are dropped below
      continue;
    }
    const locked = (v.flags & VM.LOCKED) !== 0;
    mm.pmap.zapRange(
      v.start,
      v.end,
      (_vpn, pfn, attrs, order) => {
        if (order !== 0) {
          k.locks.pmd++; // zap_huge_pmd
          return zapHugeLeaf(k, mm, pfn, locked);
        }
        if ((attrs & PteAttr.special) !== 0 && pfn === k.phys.zeroPfn) return;
        if ((attrs & PteAttr.dirty) !== 0 && !k.phys.frames.has(pfn, PG.anon)) markDirty(k, pfn);
        zapPage(k, mm, pfn, locked);
      },
      (_vpn, slot, type) => zapSwpEntry(k, mm, slot, type, locked),
      () => k.locks.ptl++, // zap_pte_range
    );
  }
  for (const v of all) removeVma(k, mm, v);
  mm.totalVm = 0;
  mm.lockedVm = 0;
  mm.lockedVmUnbacked = 0;
  mm.pmap.destroy();
  k.dropTlbs(mm);
  mmPutHugeZero(k, mm); // __mmput: mm_put_huge_zero_folio
  khugepagedExit(k, mm);
}
