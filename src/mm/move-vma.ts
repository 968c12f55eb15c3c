// An mremap move (mm/mremap.c move_vma, copy_vma_and_data, move_page_tables; mm/vma.c
// copy_vma): a VMA for the new place, merged with its neighbours where compatible; the page
// tables moved, whole tables where the span allows and single entries elsewhere, each move
// flushing the old addresses' TLB entries; then the old range unmapped, or with
// MREMAP_DONTUNMAP left mapped and empty.

import { PmdState } from '../arch/pmap.js';
import { err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { flushHugeTlb } from './huge-memory.js';
import { prepareHugeMove } from './huge-pmd-ops.js';
import type { Kernel } from './kernel.js';
import type { Mm, Task } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { mmPopulate } from './populate.js';
import { doMunmap } from './unmap.js';
import { VM, Vma } from './vma.js';
import { insertVma, mergeNewRange } from './vma-ops.js';

/** Pages mapped by one PMD entry (a PTE table) and by one PUD entry (a PMD table). */
const PMD_PAGES = 512;
const PUD_PAGES = 512 * 512;

/**
 * move_vma: pages [start, start + oldPages) of vma move to [dst, dst + newPages), which is
 * free. On success the address of dst; ENOMEM when the page tables could not all be moved
 * (those moved go back and the new area is unmapped instead).
 */
export function moveVma(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  oldPages: number,
  newPages: number,
  dst: number,
  dontunmap: boolean,
): SysResult<number> {
  const mm = task.mm!;
  if (mm.mapCount >= k.config.maxMapCount - 3) return err('ENOMEM');
  const { newVma, src } = copyVma(k, mm, vma, start, dst, newPages);
  // vrm_stat_account: total_vm and, for a locked VMA, locked_vm grow by the new length
  // (DONTUNMAP included since the 2025 mremap rework, 6.15/6.16); unmapping the old range
  // takes its share off.
  mm.totalVm += newPages;
  const locked = (src.flags & VM.LOCKED) !== 0;
  if (locked) mm.lockedVm += newPages;
  // move_page_tables' THP rule: a huge PMD moves whole when the move keeps it aligned, else it
  // is split first (split_huge_pmd).
  prepareHugeMove(k, mm, src, start, oldPages, dst, task.cpu);
  const moved = movePageTables(k, mm, task.cpu, src, newVma, start, dst, oldPages);
  if (moved < oldPages) {
    // The page tables that moved go back (their tables are still there), then the new area
    // is unmapped instead of the old one.
    movePageTables(k, mm, task.cpu, newVma, src, dst, start, moved);
    doMunmap(k, mm, dst, dst + newPages, task.cpu);
    return err('ENOMEM');
  }
  if (dontunmap) {
    dontunmapComplete(k, mm, src, newVma, start, start + oldPages);
  } else {
    const e = doMunmap(k, mm, start, start + oldPages, task.cpu);
    if (e !== null) return err(e);
  }
  if (locked && newPages > oldPages) mmPopulate(k, task, dst + oldPages, dst + newPages, true);
  return ok(dst * PAGE_SIZE);
}

/**
 * copy_vma: the VMA for [dst, dst + pages), merged with a compatible neighbour there
 * (vma_merge_copied_range) or new, linked to vma's anon_vmas. An anonymous area never
 * faulted takes the new address as its offset, the better to merge. Returns the new VMA and
 * the source VMA, which is the new one when the source merged into it (a move next to itself).
 */
function copyVma(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  dst: number,
  pages: number,
): { newVma: Vma; src: Vma } {
  let pgoff = vma.pgoff + (start - vma.start);
  if (vma.file === null && vma.anonVma === null) pgoff = dst;
  const cand = {
    flags: vma.flags,
    pgoff,
    start: dst,
    end: dst + pages,
    anonVma: vma.anonVma,
    avcs: vma.avcs,
    file: vma.file,
  };
  const vmaStart = vma.start;
  const merged = mergeNewRange(k, mm, mm.vmas.lower(dst), mm.vmas.ceiling(dst), cand, vma);
  if (merged !== null) {
    const self = vmaStart >= merged.start && vmaStart < merged.end;
    return { newVma: merged, src: self ? merged : vma };
  }
  const newVma = new Vma(dst, dst + pages, vma.flags, pgoff, vma.file);
  insertVma(k, mm, newVma);
  k.adoptAnonVmas(newVma, vma);
  return { newVma, src: vma };
}

/**
 * dontunmap_complete: the old VMA keeps its (now empty) range. Its lock goes, on the whole
 * VMA and without a split; locked_vm is not reduced, so its pages stay counted there. When
 * the whole VMA moved, it lets go of its anon_vmas.
 */
function dontunmapComplete(k: Kernel, mm: Mm, src: Vma, newVma: Vma, start: number, end: number): void {
  if ((src.flags & VM.LOCKED) !== 0) mm.lockedVmUnbacked += src.pages;
  src.flags &= ~VM.LOCKED_MASK;
  if (newVma !== src && start === src.start && end === src.end) k.unlinkAnonVmas(src);
}

/** get_extent: pages from o to the next `size` boundary, clipped to oldEnd and to n's boundary. */
function extent(size: number, o: number, oldEnd: number, n: number): number {
  return Math.min(size - (o % size), oldEnd - o, size - (n % size));
}

/**
 * move_page_tables for pages [oldAddr, oldAddr + len) to newAddr. Per extent (bounded by
 * the PMD or PUD boundaries of both addresses): nothing when no table maps the old pages;
 * a whole PMD table (a PUD-sized aligned extent) or PTE table (a PMD-sized one) moves by its
 * upper entry when the new entry is free (move_normal_pud/pmd), flushing its whole span;
 * otherwise the entries move one by one into a PTE table allocated at the new place
 * (move_ptes), flushing the extent when a present entry moved. A move whose start is not
 * PMD-aligned but mutually aligned with the new address, from the start of both VMAs with
 * nothing mapped below either down to the PMD boundary, starts at that boundary instead
 * (try_realign_addr, 6.7+). Returns the pages done (pmc_progress); fewer than len when table
 * memory ran out.
 */
export function movePageTables(
  k: Kernel,
  mm: Mm,
  cpu: number,
  oldVma: Vma,
  newVma: Vma,
  oldAddr: number,
  newAddr: number,
  len: number,
): number {
  if (len === 0) return 0;
  mmuNotifierInvalidate(mm, oldAddr, oldAddr + len, NotifyEvent.unmap); // move_page_tables
  const pmap = mm.pmap;
  const oldEnd = oldAddr + len;
  let o = oldAddr;
  let n = newAddr;
  const align = o % PMD_PAGES;
  if (
    align !== 0 &&
    align === n % PMD_PAGES &&
    len >= PMD_PAGES - align &&
    canAlignDown(mm, oldVma, o) &&
    canAlignDown(mm, newVma, n)
  ) {
    o -= align;
    n -= align;
  }
  for (let ext = 0; o < oldEnd; o += ext, n += ext) {
    ext = extent(PUD_PAGES, o, oldEnd, n);
    if (!pmap.tablePresent(o, 1)) continue; // get_old_pud: no PMD table
    if (!pmap.allocTables(n, 2)) break; // alloc_new_pud
    if (ext === PUD_PAGES && pmap.moveTable(o, n, 1)) {
      k.flushTlbRange(mm, cpu, o, o + PUD_PAGES);
      continue;
    }
    ext = extent(PMD_PAGES, o, oldEnd, n);
    if (ext === PMD_PAGES && pmap.pmdState(o) === PmdState.huge) {
      // move_pgt_entry(HPAGE_PMD): the huge leaf (and its deposited table) moves whole.
      if (!pmap.allocTables(n, 1)) break;
      if (pmap.moveRange(o, n, ext) < 0) break;
      flushHugeTlb(k, mm, cpu, o);
      continue;
    }
    if (!pmap.tablePresent(o, 0)) continue; // get_old_pmd: no PTE table
    if (!pmap.allocTables(n, 1)) break; // alloc_new_pmd
    if (ext === PMD_PAGES && pmap.moveTable(o, n, 0)) {
      k.flushTlbRange(mm, cpu, o, o + PMD_PAGES);
      continue;
    }
    if (!pmap.allocTables(n, 0)) break; // pte_alloc
    const present = pmap.moveRange(o, n, ext);
    if (present < 0) break;
    if (present > 0) k.flushTlbRange(mm, cpu, o, o + ext); // force_flush
  }
  return Math.max(0, o - oldAddr);
}

/** can_align_down (not the stack case): the area starts its VMA and nothing is mapped below it to the boundary. */
function canAlignDown(mm: Mm, vma: Vma, addr: number): boolean {
  if (vma.start !== addr) return false;
  const below = mm.vmas.lower(addr);
  return below === undefined || below.end <= addr - (addr % PMD_PAGES);
}
