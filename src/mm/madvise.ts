// madvise (mm/madvise.c): DONTNEED zaps; FREE marks private anonymous pages lazily free;
// NORMAL/RANDOM/SEQUENTIAL set read-ahead hints (splitting or merging VMAs); WILLNEED reads
// ahead (a file's pages into the page cache, swapped anonymous pages into the swap cache);
// COLD deactivates and PAGEOUT reclaims the pages only this process maps. Unmapped parts of the
// range give ENOMEM after the mapped parts were advised. DONTNEED zaps every VMA of the call
// into one mmu_gather (6.16+: madvise_init_tlb / madvise_finish_tlb), so x86 flushes once per call.

import { PteAttr, SwpType } from '../arch/pmap.js';
import { type Errno, err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { PG } from '../phys/frames.js';
import { taskFile } from './file-io.js';
import { splitHugeCut } from './huge-memory.js';
import { hugetlbDontneed } from './hugetlb-mmap.js';
import type { Kernel } from './kernel.js';
import { khugepagedEnterVma } from './khugepaged.js';
import { lruMove } from './lru.js';
import { madviseLock } from './madvise-lock.js';
import type { Task } from './mm.js';
import { MmuGather } from './mmu-gather.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { doPageCacheRa } from './readahead.js';
import { freeSwapCacheIfUnused, freeSwapEntry, shmemSwapin, shmemSwapSlot, swapinToCache } from './swap.js';
import { zapVmaRange } from './unmap.js';
import { VM, type Vma } from './vma.js';
import { modifyVmaFlags } from './vma-ops.js';
import { reclaimPages } from './vmscan.js';

export type { MadviseAdvice as Advice } from '../workload/scenario.js';

import type { MadviseAdvice as Advice } from '../workload/scenario.js';

export function sysMadvise(k: Kernel, task: Task, addr: number, len: number, advice: Advice): SysResult<0> {
  const mm = task.mm!;
  if (addr % PAGE_SIZE !== 0) return err('EINVAL');
  if (len === 0) return ok(0);
  const start = addr / PAGE_SIZE;
  const end = start + Math.ceil(len / PAGE_SIZE);
  madviseLock(k, mm, advice, start, end); // do_madvise: after check_input_range
  if (end > mm.taskSize) return err('EINVAL');
  // madvise_walk_vmas: advise each VMA part; remember holes.
  let unmapped = false;
  let tmp = start;
  let vma = mm.findVma(start);
  if (vma === undefined || vma.start >= end) return err('ENOMEM');
  const g = advice === 'dontneed' ? new MmuGather(k, mm, task.cpu) : null;
  let r: Errno | null = null;
  while (vma !== undefined && vma.start < end) {
    if (vma.start > tmp) unmapped = true;
    const s = Math.max(start, vma.start);
    const e = Math.min(end, vma.end);
    const next = mm.nextOf(vma);
    r = adviseVma(k, task, g, vma, s, e, advice);
    if (r !== null) break;
    tmp = e;
    vma = next;
  }
  g?.finish(); // also after an error: what was zapped is flushed
  if (r !== null) return err(r);
  if (tmp < end) unmapped = true;
  return unmapped ? err('ENOMEM') : ok(0);
}

function adviseVma(
  k: Kernel,
  task: Task,
  g: MmuGather | null,
  vma: Vma,
  start: number,
  end: number,
  advice: Advice,
): Errno | null {
  const mm = task.mm!;
  if (vma.isHugetlb()) {
    // madvise_dontneed_free_valid_vma, can_madv_lru_vma, MADV_WIPEONFORK (anonymous memory
    // only), vfs_fadvise on hugetlbfs (the noop backing device: WILLNEED does nothing).
    if (advice === 'dontneed') return hugetlbDontneed(k, task, vma, start, end);
    if (advice === 'free' || advice === 'cold' || advice === 'pageout' || advice === 'wipeonfork')
      return 'EINVAL';
    if (advice === 'willneed') return null;
  }
  switch (advice) {
    case 'dontneed': {
      // madvise_dontneed_free_valid_vma: locked areas refuse.
      if ((vma.flags & VM.LOCKED) !== 0) return 'EINVAL';
      // zap_pmd_range: a huge PMD the range covers only in part is split first.
      splitHugeCut(k, mm, vma, start, end, task.cpu);
      mmuNotifierInvalidate(mm, start, end, NotifyEvent.clear); // zap_page_range_single
      // CONFIG_PT_RECLAIM (6.14+): PTE tables the zap spans whole and leaves empty are freed.
      zapVmaRange(g!, vma, start, end, true);
      return null;
    }
    case 'willneed':
      willneed(k, task, vma, start, end);
      return null;
    case 'cold':
    case 'pageout':
      // can_madv_lru_vma: not for locked areas.
      if ((vma.flags & VM.LOCKED) !== 0) return 'EINVAL';
      // A huge PMD the range covers in part is split (madvise_cold_or_pageout_pte_range splits
      // the folio); whole THPs inside are left as they are (their reclaim is not modelled).
      splitHugeCut(k, mm, vma, start, end, task.cpu);
      coldOrPageout(k, task, start, end, advice === 'pageout');
      return null;
    case 'free':
      // madvise_dontneed_free_valid_vma; MADV_FREE is for private anonymous memory only.
      if ((vma.flags & VM.LOCKED) !== 0 || vma.file !== null) return 'EINVAL';
      // madvise_free_huge_pmd splits a THP the range covers in part; whole THPs are not made
      // lazily free here (not modelled).
      splitHugeCut(k, mm, vma, start, end, task.cpu);
      lazyfreeRange(k, task, start, end);
      return null;
    case 'dontfork':
    case 'dofork':
    case 'wipeonfork':
    case 'keeponfork': {
      // MADV_WIPEONFORK is for private anonymous memory only: madvise_vma_behavior refuses
      // any area with a vm_file (a private file mapping too) or VM_SHARED.
      if (advice === 'wipeonfork' && (vma.file !== null || (vma.flags & VM.SHARED) !== 0)) return 'EINVAL';
      const bit = advice === 'dontfork' || advice === 'dofork' ? VM.DONTCOPY : VM.WIPEONFORK;
      const flags = advice === 'dontfork' || advice === 'wipeonfork' ? vma.flags | bit : vma.flags & ~bit;
      const r = modifyVmaFlags(k, mm, vma, start, end, flags);
      return typeof r === 'string' ? r : null;
    }
    case 'hugepage':
    case 'nohugepage': {
      // hugepage_madvise: one flag set, the other cleared; an eligible area registers its mm
      // with khugepaged at once. (MADV_HUGEPAGE on shmem is allowed; it changes nothing here.)
      // A peer-shared area (gmem) keeps VM_NOHUGEPAGE: vmlab maps it with base pages only, and
      // a THP fault there would bypass the logical page table (do_anonymous_page's hook).
      const peer = (vma.flags & VM.PEER_SHARED) !== 0 && k.peer !== null;
      const flags =
        advice === 'hugepage'
          ? peer
            ? vma.flags
            : (vma.flags & ~VM.NOHUGEPAGE) | VM.HUGEPAGE
          : (vma.flags & ~VM.HUGEPAGE) | VM.NOHUGEPAGE;
      const r = modifyVmaFlags(k, mm, vma, start, end, flags);
      if (typeof r === 'string') return r;
      if (advice === 'hugepage') khugepagedEnterVma(k, mm, r);
      return null;
    }
    case 'normal':
    case 'random':
    case 'sequential': {
      let flags = vma.flags & ~(VM.RAND_READ | VM.SEQ_READ);
      if (advice === 'random') flags |= VM.RAND_READ;
      if (advice === 'sequential') flags |= VM.SEQ_READ;
      const r = modifyVmaFlags(k, mm, vma, start, end, flags);
      return typeof r === 'string' ? r : null;
    }
  }
}

/**
 * madvise_cold_or_pageout_pte_range: each present page that only this process maps loses its
 * accessed bit and referenced mark; COLD moves it to the inactive list (folio_deactivate),
 * PAGEOUT reclaims it at once (reclaim_pages: swapped out, or dropped when a clean file page).
 */
function coldOrPageout(k: Kernel, task: Task, start: number, end: number, pageout: boolean): void {
  const mm = task.mm!;
  const f = k.phys.frames;
  const pages: number[] = [];
  let cleared = false;
  mm.pmap.forEachLeaf(start, end, (vpn, pfn, attrs, order) => {
    if (order !== 0 || (attrs & PteAttr.special) !== 0 || f.mapcount[pfn] !== 1) return;
    if (f.has(pfn, PG.deviceCoherent)) return; // folio_is_zone_device: not on an LRU
    if (f.has(pfn, PG.compound)) return; // a PTE-mapped THP page: its folio is not modelled here
    if ((attrs & PteAttr.accessed) !== 0) {
      mm.pmap.pteUpdate(mm.pmap.pteLookup(vpn), 0, PteAttr.accessed);
      cleared = true;
    }
    f.clear(pfn, PG.referenced);
    if (pageout) pages.push(pfn);
    else if (f.has(pfn, PG.active) && !f.has(pfn, PG.unevictable)) {
      lruMove(k, pfn, 0, PG.active);
      k.vmstat.pgdeactivate++;
    }
  });
  if (cleared) k.flushTlbRange(mm, task.cpu, start, end);
  if (pages.length > 0) reclaimPages(k, pages, task.cpu);
}

/**
 * madvise_free_pte_range: swap entries in the range are freed; each page only this process
 * maps is cleaned (page and entry), loses its accessed bit and moves to the inactive file
 * list as lazily free (folio_mark_lazyfree): reclaim discards it unless it is written again.
 */
function lazyfreeRange(k: Kernel, task: Task, start: number, end: number): void {
  const mm = task.mm!;
  const f = k.phys.frames;
  let changed = false;
  mmuNotifierInvalidate(mm, start, end, NotifyEvent.clear); // madvise_free_single_vma
  mm.pmap.forEachLeaf(
    start,
    end,
    (vpn, pfn, attrs, order) => {
      if (order !== 0 || (attrs & PteAttr.special) !== 0 || !f.has(pfn, PG.anon) || f.mapcount[pfn] !== 1)
        return;
      if (f.has(pfn, PG.compound)) return; // a PTE-mapped THP page: not made lazily free
      if (f.has(pfn, PG.deviceCoherent)) return; // madvise_free_pte_range skips zone-device folios
      freeSwapCacheIfUnused(k, pfn);
      if (f.has(pfn, PG.swapcache)) return;
      mm.pmap.pteUpdate(mm.pmap.pteLookup(vpn), 0, PteAttr.dirty | PteAttr.accessed);
      changed = true;
      f.clear(pfn, PG.dirty);
      if (f.has(pfn, PG.lazyfree) || f.has(pfn, PG.unevictable)) return;
      lruMove(k, pfn, PG.lazyfree, PG.active | PG.referenced);
      k.vmstat.pglazyfree++;
    },
    (vpn, _slot, type) => {
      if (type !== SwpType.swap) return; // madvise_free_pte_range: non_swap_entry stays
      const h = mm.pmap.pteLookup(vpn);
      freeSwapEntry(k, mm, mm.pmap.pteSwapSlot(h));
      mm.pmap.pteClear(h);
    },
  );
  if (changed) k.flushTlbRange(mm, task.cpu, start, end);
}

/**
 * MADV_WILLNEED: a file's range is read into the page cache (force_page_cache_readahead,
 * no PG_readahead marks); a shmem object's swapped pages come back; an anonymous range's swap
 * entries are read into the swap cache (swapin_walk_pmd_entry), to be mapped by the faults
 * that follow, which then are minor.
 */
function willneed(k: Kernel, task: Task, vma: Vma, start: number, end: number): void {
  const file = vma.file;
  if (file !== null) {
    const inode = file.inode;
    if (inode.isShmem()) {
      for (let v = start; v < end; v++) {
        const index = vma.pageIndex(v);
        const e = inode.cache.get(index);
        if (e !== undefined && e < 0 && shmemSwapin(k, inode, index, shmemSwapSlot(e)) < 0) return;
      }
      return;
    }
    taskFile(k, task, inode);
    doPageCacheRa(k, inode, vma.pageIndex(start), end - start, 0);
    return;
  }
  const mm = task.mm!;
  const entries: [number, number][] = [];
  mm.pmap.forEachLeaf(
    start,
    end,
    () => {},
    (vpn, slot, type) => {
      if (type === SwpType.swap) entries.push([vpn, slot]); // swapin_walk_pmd_entry: non_swap_entry skipped
    },
  );
  for (const [vpn, slot] of entries) if (!swapinToCache(k, vma, vpn, slot)) return;
}
