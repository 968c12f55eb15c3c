// mmap of hugetlb memory (mm/mmap.c ksys_mmap_pgoff and do_mmap for hugetlbfs files;
// fs/hugetlbfs/inode.c hugetlbfs_file_mmap and hugetlb_get_unmapped_area), and the other calls
// where a hugetlb area differs: mremap (shrink in place or move, never grow), MADV_DONTNEED on
// whole huge pages, and population (GUP) one huge page at a time.

import { Access, PmdState, PteAttr } from '../arch/pmap.js';
import { type Errno, err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { handleMmFault, VmFault } from './fault.js';
import { clearVmaResvHugePages, hugetlbReservePages, hugetlbVmOpen, vmaHstate } from './hugetlb-reserve.js';
import { moveHugetlbPageTables, unmapHugepageRange } from './hugetlb-unmap.js';
import { hstateIndexOfSize, hugetlbFileSetup } from './hugetlbfs.js';
import type { OpenFile } from './inode.js';
import { type Kernel, MMAP_MIN_PAGE, STACK_GUARD_GAP } from './kernel.js';
import type { Mm, Task } from './mm.js';
import type { MmapRequest } from './mmap.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import type { MremapRequest } from './mremap.js';
import type { PopulateResult } from './populate.js';
import { mmPopulate } from './populate.js';
import { doMunmap } from './unmap.js';
import { protToVmFlags, VM, Vma } from './vma.js';
import { insertVma, rangeFree } from './vma-ops.js';

/** Whether do_mmap of this request maps hugetlb memory (MAP_HUGETLB, or a hugetlbfs file). */
export function isHugetlbMmap(req: MmapRequest): boolean {
  return req.hugetlb === true || (req.file?.inode.isHugetlbfs() ?? false);
}

/**
 * mmap of hugetlb memory. ksys_mmap_pgoff: MAP_HUGETLB with a file that is not on hugetlbfs is
 * EINVAL; MAP_HUGETLB|MAP_ANONYMOUS maps a new unnamed hugetlbfs file of the size MAP_HUGE_*
 * picks (default 2 MiB); the length is rounded up to the huge page size. Then do_mmap: the
 * address is huge-page aligned (a fixed one must be: EINVAL), the file offset too (EINVAL);
 * hugetlbfs_file_mmap reserves the pages (ENOMEM when the pool cannot cover them, unless
 * MAP_NORESERVE); a writable mapping past the end of a file grows it. MAP_LOCKED does not lock a
 * hugetlb area (VM_LOCKED is cleared, VmLck stays) but still populates it, as MAP_POPULATE does.
 */
export function hugetlbMmap(k: Kernel, task: Task, req: MmapRequest): SysResult<number> {
  const mm = task.mm!;
  let file = req.file ?? null;
  if (file !== null && !file.inode.isHugetlbfs()) return err('EINVAL');
  const hstate = file !== null ? file.inode.hstate : hstateIndexOfSize(req.hugeSize ?? 2 * 1024 * 1024);
  if (hstate < 0) return err('EINVAL');
  const h = k.hugetlb.hstates[hstate];
  if (req.len === 0) return err('EINVAL');
  const pages = Math.ceil(req.len / PAGE_SIZE / h.nrPages) * h.nrPages;
  const offset = file === null ? 0 : (req.offset ?? 0);
  if (offset % PAGE_SIZE !== 0 || offset < 0) return err('EINVAL');
  if (req.prot & ~7) return err('EINVAL');
  if (pages > mm.taskSize) return err('ENOMEM');
  if (mm.mapCount > k.config.maxMapCount) return err('ENOMEM');
  const start = hugetlbGetUnmappedArea(mm, req.addr, pages, h.nrPages, req.fixed || req.fixedNoReplace);
  if (typeof start === 'string') return err(start);
  if (req.fixedNoReplace && !rangeFree(mm, start, start + pages)) return err('EEXIST');
  let flags = protToVmFlags(req.prot) | VM.MAYREAD | VM.MAYWRITE | VM.MAYEXEC;
  if (req.shared) flags |= VM.SHARED | VM.MAYSHARE;
  // do_mmap: "hugetlb applies strict overcommit unless MAP_NORESERVE".
  if (req.noreserve) flags |= VM.NORESERVE;
  if (req.fixed) {
    const e = doMunmap(k, mm, start, start + pages, task.cpu);
    if (e !== null) return err(e);
  }
  const created = file === null;
  if (file === null) file = hugetlbFileSetup(k, pages * PAGE_SIZE, hstate);
  const vma = hugetlbfsFileMmap(k, mm, file, start, pages, offset / PAGE_SIZE, flags);
  if (typeof vma === 'string') {
    if (created) {
      file.users++; // ksys_mmap_pgoff's fput: the unnamed file goes
      k.putFile(file);
    }
    return err(vma);
  }
  if (req.populate || req.locked) mmPopulate(k, task, start, start + pages, true);
  return ok(start * PAGE_SIZE);
}

/**
 * mmap_region + hugetlbfs_file_mmap: the VMA (VM_HUGETLB | VM_DONTEXPAND: never merged) over
 * [start, start + pages) and its reservation for file pages [pgoff, pgoff + pages).
 */
function hugetlbfsFileMmap(
  k: Kernel,
  mm: Mm,
  file: OpenFile,
  start: number,
  pages: number,
  pgoff: number,
  vmFlags: number,
): Vma | Errno {
  const inode = file.inode;
  const h = k.hugetlb.hstates[inode.hstate];
  if (pgoff % h.nrPages !== 0) return 'EINVAL';
  const flags = vmFlags | VM.HUGETLB | VM.DONTEXPAND;
  const vma = new Vma(start, start + pages, flags, pgoff, file);
  if (!hugetlbReservePages(k, inode, pgoff / h.nrPages, (pgoff + pages) / h.nrPages, vma, flags))
    return 'ENOMEM';
  if ((flags & VM.WRITE) !== 0 && inode.size < (pgoff + pages) * PAGE_SIZE)
    inode.size = (pgoff + pages) * PAGE_SIZE;
  insertVma(k, mm, vma);
  mm.totalVm += pages;
  return vma;
}

/**
 * hugetlb_get_unmapped_area (generic_hugetlb_get_unmapped_area): a fixed address must be
 * huge-page aligned (prepare_hugepage_range: EINVAL); a hint is aligned up and taken when free;
 * otherwise the highest free huge-page-aligned range below mmap_base (vm_unmapped_area top-down
 * with align_mask). Returns a page number or an errno.
 */
function hugetlbGetUnmappedArea(
  mm: Mm,
  addr: number,
  pages: number,
  align: number,
  fixed: boolean,
): number | Errno {
  if (pages > mm.taskSize - MMAP_MIN_PAGE) return 'ENOMEM';
  if (fixed) {
    if (addr % (align * PAGE_SIZE) !== 0) return 'EINVAL';
    const start = addr / PAGE_SIZE;
    if (start + pages > mm.taskSize) return 'ENOMEM';
    if (start < MMAP_MIN_PAGE) return 'EPERM'; // security_mmap_addr
    return start;
  }
  if (addr !== 0) {
    const hint = Math.ceil(addr / PAGE_SIZE / align) * align;
    const top = hint + pages > mm.mapWindow ? mm.taskSize : mm.mapWindow;
    if (hint >= MMAP_MIN_PAGE && hint + pages <= top && rangeFree(mm, hint, hint + pages)) return hint;
  }
  let high = mm.mmapBase;
  for (const [, v] of mm.vmas.entriesDescending(high - 1)) {
    const start = Math.floor((high - pages) / align) * align;
    if (v.end <= start && start >= MMAP_MIN_PAGE) return start;
    high = Math.min(high, (v.flags & VM.GROWSDOWN) !== 0 ? v.start - STACK_GUARD_GAP : v.start);
  }
  const start = Math.floor((high - pages) / align) * align;
  return start >= MMAP_MIN_PAGE ? start : 'ENOMEM';
}

/**
 * mremap of a hugetlb area (mm/mremap.c: the lengths are rounded up to the huge page size; the
 * old and new addresses must be aligned to it; growing is refused: "the underlying hugetlb
 * reservation is not yet capable to handle split reservation"), all EINVAL. What remains is a
 * shrink in place (the tail is unmapped) or a move to a fixed address (MREMAP_DONTUNMAP is
 * refused for VM_DONTEXPAND areas: EINVAL).
 */
export function hugetlbMremap(k: Kernel, task: Task, req: MremapRequest, vma: Vma): SysResult<number> {
  const mm = task.mm!;
  const np = vmaHstate(k, vma).nrPages;
  const oldPages = Math.ceil(Math.ceil(req.oldLen / PAGE_SIZE) / np) * np;
  const newPages = Math.ceil(Math.ceil(req.newLen / PAGE_SIZE) / np) * np;
  const start = req.addr / PAGE_SIZE;
  if (start % np !== 0 || (req.newAddr / PAGE_SIZE) % np !== 0) return err('EINVAL');
  if (newPages > oldPages) return err('EINVAL');
  if (req.fixed || req.dontunmap) {
    if (req.newAddr % PAGE_SIZE !== 0) return err('EINVAL');
    const dst = req.newAddr / PAGE_SIZE;
    if (newPages > mm.taskSize || dst > mm.taskSize - newPages) return err('EINVAL');
    if (dst < start + oldPages && start < dst + newPages) return err('EINVAL');
    if (mm.mapCount + 2 >= k.config.maxMapCount - 3) return err('ENOMEM');
    if (req.fixed) {
      const e = doMunmap(k, mm, dst, dst + newPages, task.cpu);
      if (e !== null) return err(e);
    }
    if (oldPages > newPages) {
      const e = doMunmap(k, mm, start + newPages, start + oldPages, task.cpu);
      if (e !== null) return err(e);
    }
    const v = mm.vmaAt(start);
    if (v === undefined) return err('EFAULT');
    if (req.dontunmap) return err('EINVAL'); // vma_to_resize: VM_DONTEXPAND
    if (newPages > v.end - start) return err('EFAULT');
    return moveHugetlbVma(k, task, v, start, newPages, dst);
  }
  if (oldPages > newPages) {
    const e = doMunmap(k, mm, start + newPages, start + oldPages, task.cpu);
    if (e !== null) return err(e);
  }
  return ok(req.addr);
}

/**
 * move_vma for a hugetlb area: copy_vma (the new VMA shares the reservation map), the entries
 * move (move_hugetlb_page_tables), the old VMA drops its reservation map
 * (clear_vma_resv_huge_pages) and the old range is unmapped.
 */
function moveHugetlbVma(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  pages: number,
  dst: number,
): SysResult<number> {
  const mm = task.mm!;
  if (mm.mapCount >= k.config.maxMapCount - 3) return err('ENOMEM');
  const moved = new Vma(dst, dst + pages, vma.flags, vma.pgoff + (start - vma.start), vma.file);
  hugetlbVmOpen(vma, moved);
  insertVma(k, mm, moved);
  k.adoptAnonVmas(moved, vma);
  mm.totalVm += pages;
  const done = moveHugetlbPageTables(k, mm, vma, start, dst, pages, task.cpu);
  if (done < pages) {
    // Move the entries back (their tables exist) and unmap the new area instead.
    moveHugetlbPageTables(k, mm, moved, dst, start, done, task.cpu);
    doMunmap(k, mm, dst, dst + pages, task.cpu);
    return err('ENOMEM');
  }
  clearVmaResvHugePages(k, vma, start, start + pages);
  const e = doMunmap(k, mm, start, start + pages, task.cpu);
  if (e !== null) return err(e);
  return ok(dst * PAGE_SIZE);
}

/**
 * MADV_DONTNEED on a hugetlb area (madvise_dontneed_free_valid_vma): the start must be huge-page
 * aligned (EINVAL); the end is rounded down to a huge page ("avoid unexpected data loss"), so
 * only whole huge pages go.
 */
export function hugetlbDontneed(k: Kernel, task: Task, vma: Vma, start: number, end: number): Errno | null {
  const np = vmaHstate(k, vma).nrPages;
  if (start % np !== 0) return 'EINVAL';
  const stop = end - (end % np);
  if (stop <= start) return null;
  mmuNotifierInvalidate(task.mm!, start, stop, NotifyEvent.clear); // zap_page_range_single
  unmapHugepageRange(k, task.mm!, vma, start, stop, task.cpu);
  return null;
}

/**
 * populate_vma_page_range over a hugetlb area: GUP (hugetlb_follow_page_mask) skips each huge
 * page already mapped as needed and faults in the others, one fault per huge page.
 */
export function hugetlbPopulate(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
  write: boolean,
): PopulateResult {
  const mm = task.mm!;
  const h = vmaHstate(k, vma);
  for (let vpn = start - (start % h.nrPages); vpn < end; vpn += h.nrPages) {
    if (mm.pmap.hugetlbState(vpn, h.order) === PmdState.huge) {
      const a = mm.pmap.hugeAttrs;
      if ((a & PteAttr.protnone) === 0 && (!write || (a & PteAttr.write) !== 0)) continue;
    }
    const r = handleMmFault(k, mm, vma, vpn, write ? Access.write : Access.read, task.cpu);
    if ((r & VmFault.oom) !== 0) return 'ENOMEM';
    if ((r & (VmFault.sigbus | VmFault.sigsegv)) !== 0) return 'EFAULT';
    task.minFlt++;
  }
  return 'ok';
}
