// mmap, munmap and brk (mm/mmap.c do_mmap, mmap_region, get_unmapped_area; mm/vma.c; sys_brk).
// Addresses and lengths here are bytes, as the syscalls take them; the core works in pages.

import { type Errno, err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE, PMD_SIZE } from '../lib/units.js';
import { hugetlbMmap, isHugetlbMmap } from './hugetlb-mmap.js';
import type { OpenFile } from './inode.js';
import { type Kernel, MMAP_MIN_PAGE, STACK_GUARD_GAP } from './kernel.js';
import type { Mm, Task } from './mm.js';
import { mmPopulate } from './populate.js';
import { doMunmap } from './unmap.js';
import { protToVmFlags, VM, Vma } from './vma.js';
import { anonCompatible, canMerge, insertVma, mergeInto, rangeFree } from './vma-ops.js';

export interface MmapRequest {
  readonly addr: number;
  readonly len: number;
  readonly prot: number;
  readonly shared: boolean;
  readonly fixed: boolean;
  readonly fixedNoReplace: boolean;
  readonly populate: boolean;
  readonly locked: boolean;
  readonly noreserve: boolean;
  /** The open file to map (MAP_ANONYMOUS when null) and the byte offset into it. */
  readonly file?: OpenFile | null;
  readonly offset?: number;
  /** MAP_HUGETLB, and the huge page size in bytes (MAP_HUGE_2MB / MAP_HUGE_1GB; default 2 MiB). */
  readonly hugetlb?: boolean;
  readonly hugeSize?: number;
  /** MAP_PEER_SHARED (gmem): private anonymous memory the attached devices share. */
  readonly peerShared?: boolean;
}

/** GMEM_MMAP_RETRY_TIMES: candidates a peer-shared mmap tries after the first conflicts. */
export const PEER_MMAP_RETRIES = 10;

const PMD_PAGES = PMD_SIZE / PAGE_SIZE;

/** do_mmap, of anonymous memory or of a file. Returns the address mapped. */
export function doMmap(k: Kernel, task: Task, req: MmapRequest): SysResult<number> {
  // vm_mmap_pgoff: do_mmap runs under mmap_lock for write (its argument checks too); a
  // populate (MAP_POPULATE, MAP_LOCKED) follows under the read lock (mm_populate).
  k.locks.mmapWrite++;
  if (isHugetlbMmap(req)) return hugetlbMmap(k, task, req);
  const mm = task.mm!;
  const file = req.file ?? null;
  const offset = file === null ? 0 : (req.offset ?? 0);
  if (req.len === 0) return err('EINVAL');
  if (offset % PAGE_SIZE !== 0 || offset < 0) return err('EINVAL');
  const pages = Math.ceil(req.len / PAGE_SIZE);
  if (req.prot & ~7) return err('EINVAL');
  const taskSize = mm.taskSize;
  if (pages > taskSize) return err('ENOMEM');
  if (mm.mapCount > k.config.maxMapCount) return err('ENOMEM');
  let flags = protToVmFlags(req.prot) | VM.MAYREAD | VM.MAYWRITE | VM.MAYEXEC;
  if (req.shared) flags |= VM.SHARED | VM.MAYSHARE;
  // A shared writable mapping of a file whose file system tracks dirty pages maps clean pages
  // read-only, so that the first write faults (vma_wants_writenotify: ->page_mkwrite).
  if (req.shared && file !== null && !file.inode.isShmem()) flags |= VM.WRITENOTIFY;
  if (req.locked) flags |= VM.LOCKED;
  if (req.noreserve) flags |= VM.NORESERVE;
  // MAP_PEER_SHARED: without gmem (k.peer null) the flag means nothing and is ignored, as
  // mmap ignores flags it does not know (only MAP_SHARED_VALIDATE checks them).
  const peerShared = req.peerShared === true && k.peer !== null;
  if (peerShared) {
    // The series tracks MAP_PRIVATE | MAP_PEER_SHARED anonymous memory only; its CPU side maps
    // it with huge pages, vmlab with base pages (no THP here: VM_NOHUGEPAGE).
    if (req.shared || file !== null) return err('EINVAL');
    flags |= VM.PEER_SHARED | VM.NOHUGEPAGE;
  }
  // accountable_mapping: private writable memory is charged (VM_ACCOUNT) unless MAP_NORESERVE.
  if ((flags & (VM.NORESERVE | VM.SHARED | VM.WRITE)) === VM.WRITE) flags |= VM.ACCOUNT;

  let start: number;
  if (req.fixed || req.fixedNoReplace) {
    if (req.addr % PAGE_SIZE !== 0) return err('EINVAL');
    start = req.addr / PAGE_SIZE;
    if (start + pages > taskSize) return err('ENOMEM');
    if (start < MMAP_MIN_PAGE) return err('EPERM'); // security_mmap_addr
    if (req.fixedNoReplace && !rangeFree(mm, start, start + pages)) return err('EEXIST');
  } else {
    const found = getUnmappedArea(mm, req.addr, pages, req.shared, file === null ? -1 : offset / PAGE_SIZE);
    if (found < 0) return err('ENOMEM');
    start = found;
  }
  if (peerShared) {
    const r = reservePeer(k, mm, req, start, pages);
    if (r < 0) return err('ENOMEM');
    start = r;
  }
  const end = start + pages;
  if (req.fixed) {
    const e = doMunmap(k, mm, start, end, task.cpu);
    if (e !== null) return err(e);
  }
  const vma = mmapRegion(k, mm, start, end, flags, req.shared, file, offset / PAGE_SIZE);
  if (typeof vma === 'string') return err(vma);
  if (req.locked) mm.lockedVm += pages;
  if (req.populate || req.locked) mmPopulate(k, task, start, end, true);
  return ok(start * PAGE_SIZE);
}

/**
 * gmem patch 5/6 (mmap_region): the range must be free on every attached device too
 * (gm_alloc_va_in_peer_devices -> peer_va_alloc_fixed). On a conflict the candidate stays
 * taken (gm_reserve_vma keeps it in the tree, so get_unmapped_area skips it) and another is
 * searched, GMEM_MMAP_RETRY_TIMES times at most; then ENOMEM. A fixed mapping is not moved
 * (vmlab's choice: the patch would search again without MAP_FIXED). Returns the page or -1.
 */
function reservePeer(k: Kernel, mm: Mm, req: MmapRequest, first: number, pages: number): number {
  const held: Vma[] = [];
  let start = first;
  let found = -1;
  for (let retry = 0; retry <= PEER_MMAP_RETRIES && start >= 0; retry++) {
    if (k.peer!.reserve(mm, start, start + pages)) {
      found = start;
      break;
    }
    if (req.fixed || req.fixedNoReplace) break;
    const hold = new Vma(start, start + pages, 0, start, null);
    mm.vmas.set(start, hold);
    held.push(hold);
    start = getUnmappedArea(mm, req.addr, pages, false);
  }
  for (const v of held) {
    mm.vmas.delete(v.start); // gm_release_vma
    mm.gapOpened(v.end);
  }
  return found;
}

/**
 * mmap_region for [start, end) known to be free: merge with an adjacent compatible VMA
 * (vma_merge_new_range) or insert a new one. Private anonymous areas get pgoff = start,
 * shared anonymous ones a new shmem object at offset 0 (shmem_zero_setup), file mappings
 * the file at `pgoff`.
 */
function mmapRegion(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  flags: number,
  shared: boolean,
  mapped: OpenFile | null = null,
  filePgoff = 0,
): Vma | Errno {
  const sharedAnon = mapped === null && shared;
  const file = sharedAnon ? k.newShmemFile(end - start) : mapped;
  const pgoff = file === null ? start : sharedAnon ? 0 : filePgoff;
  const cand = { flags, pgoff, start, end, anonVma: null, file };
  mm.totalVm += end - start;
  if (!sharedAnon) {
    const prev = mm.vmas.lower(start);
    const next = mm.vmas.ceiling(start);
    const mPrev = prev !== undefined && prev.end === start && canMerge(prev, cand);
    const mNext = next !== undefined && next.start === end && canMerge(cand, next);
    if (mPrev && mNext && anonCompatible(prev, next)) {
      prev.end = end;
      mergeInto(k, mm, prev, next);
      return prev;
    }
    if (mPrev) {
      prev.end = end;
      return prev;
    }
    if (mNext) {
      mm.vmas.delete(next.start);
      next.pgoff = pgoff;
      next.start = start;
      mm.vmas.set(start, next);
      return next;
    }
  }
  // No limit here: do_mmap and do_brk_flags checked map_count > max_map_count, so a process may
  // pass the limit by one ("allowed to exceed the sysctl_max_map_count limit by one").
  const vma = new Vma(start, end, flags, cand.pgoff, file);
  insertVma(k, mm, vma);
  return vma;
}

/**
 * get_unmapped_area, top-down (arch_get_unmapped_area_topdown): a free hint is taken as it
 * is; otherwise the highest gap below mmap_base. Private anonymous requests of a multiple of
 * 2 MiB with no hint are aligned to 2 MiB (__get_unmapped_area -> thp_get_unmapped_area_vmflags,
 * Linux 6.7+, limited to PMD-multiple lengths since 6.12). A file mapping (`filePgoff` >= 0)
 * goes through the file system's get_unmapped_area, thp_get_unmapped_area for ext4: when the
 * file range holds a whole aligned 2 MiB, the address is chosen congruent to the file offset
 * modulo 2 MiB (__thp_get_unmapped_area). Returns a page number or -1.
 */
export function getUnmappedArea(
  mm: Mm,
  hint: number,
  pages: number,
  shared: boolean,
  filePgoff = -1,
): number {
  if (hint !== 0) {
    let h = Math.floor(hint / PAGE_SIZE);
    if (h < MMAP_MIN_PAGE) h = MMAP_MIN_PAGE; // round_hint_to_min
    const limit = h + pages > mm.mapWindow ? mm.taskSize : mm.mapWindow;
    if (h + pages <= limit && gapFits(mm, h, h + pages)) return h;
  }
  const fileAligned =
    filePgoff >= 0 && filePgoff + pages - Math.ceil(filePgoff / PMD_PAGES) * PMD_PAGES >= PMD_PAGES;
  const anonAligned = filePgoff < 0 && !shared && pages % PMD_PAGES === 0;
  if (fileAligned || (anonAligned && hint === 0)) {
    const padded = topDown(mm, pages + PMD_PAGES);
    if (padded >= 0) {
      const off = Math.max(filePgoff, 0);
      const offSub = (((off - padded) % PMD_PAGES) + PMD_PAGES) % PMD_PAGES;
      // Top-down: an already aligned result moves up by one PMD (the padding is below it).
      return offSub === 0 ? padded + PMD_PAGES : padded + offSub;
    }
  }
  return topDown(mm, pages);
}

/** Whether [start, end) is free, keeping the stack guard gap below growsdown VMAs. */
function gapFits(mm: Mm, start: number, end: number): boolean {
  const next = mm.findVma(start);
  if (next !== undefined) {
    const gapStart = (next.flags & VM.GROWSDOWN) !== 0 ? next.start - STACK_GUARD_GAP : next.start;
    if (end > gapStart) return false;
  }
  const prev = mm.vmas.lower(start);
  return prev === undefined || prev.end <= start;
}

/**
 * The highest free range of `pages` pages ending at or below mmap_base. The walk starts at the
 * free-area cache when no gap above it can hold `pages` (see Mm.freeAreaCache), and leaves the
 * cache at the top of the gap it found, with the largest gap it passed over.
 */
function topDown(mm: Mm, pages: number): number {
  if (pages <= mm.cachedHole) mm.resetFreeArea();
  let high = mm.freeAreaCache < 0 ? mm.mmapBase : mm.freeAreaCache;
  let passed = mm.cachedHole;
  // Walk VMAs downward, looking at the gap above each.
  for (const [, v] of mm.vmas.entriesDescending(high - 1)) {
    if (v.end <= high) {
      const top = high;
      if (top - v.end >= pages) return found(mm, top, pages, passed);
      passed = Math.max(passed, top - v.end);
    }
    high = Math.min(high, (v.flags & VM.GROWSDOWN) !== 0 ? v.start - STACK_GUARD_GAP : v.start);
    if (high < MMAP_MIN_PAGE + pages) return -1;
  }
  return high - pages >= MMAP_MIN_PAGE ? found(mm, high, pages, passed) : -1;
}

/** The gap below page `top` holds the request: the cache moves to the gap's top. */
function found(mm: Mm, top: number, pages: number, passed: number): number {
  mm.freeAreaCache = top;
  mm.cachedHole = passed;
  return top - pages;
}

/**
 * For the invariant checker: whether the free-area cache is true (every gap above it, as the
 * top-down search measures gaps, is at most cachedHole pages). Returns a complaint or null.
 */
export function checkFreeAreaCache(mm: Mm): string | null {
  const fac = mm.freeAreaCache;
  if (fac < 0) return null;
  let high = mm.mmapBase;
  const gap = (low: number): string | null => {
    if (low < fac && high > fac)
      return `free-area cache at page ${fac} lies inside the gap [${low}, ${high})`;
    if (low >= fac && high - low > mm.cachedHole)
      return `free-area cache at page ${fac} (hole ${mm.cachedHole}) passes over the gap [${low}, ${high})`;
    return null;
  };
  for (const [, v] of mm.vmas.entriesDescending(high - 1)) {
    if (high <= fac) return null;
    const bad = v.end < high ? gap(v.end) : null;
    if (bad !== null) return bad;
    high = Math.min(high, (v.flags & VM.GROWSDOWN) !== 0 ? v.start - STACK_GUARD_GAP : v.start);
  }
  return high > fac ? gap(0) : null;
}

/** munmap(addr, len) */
export function sysMunmap(k: Kernel, task: Task, addr: number, len: number): SysResult<0> {
  if (addr % PAGE_SIZE !== 0 || len === 0) return err('EINVAL');
  const start = addr / PAGE_SIZE;
  const end = start + Math.ceil(len / PAGE_SIZE);
  if (end > task.mm!.taskSize) return err('EINVAL');
  k.locks.mmapWrite++; // __vm_munmap: mmap_write_lock_killable
  return munmapUnlock(k, task.mm!, start, end, task.cpu);
}

/**
 * do_vmi_munmap with unlock = true (munmap, brk, mremap's shrink_vma with drop_lock), the
 * caller holding mmap_lock for write: when VMAs go, vms_complete_munmap_vmas downgrades the
 * lock before the zap and the table freeing.
 */
export function munmapUnlock(k: Kernel, mm: Mm, start: number, end: number, cpu: number): SysResult<0> {
  const first = mm.findVma(start);
  const e = doMunmap(k, mm, start, end, cpu);
  if (e !== null) return err(e);
  if (first !== undefined && first.start < end) k.locks.mmapDowngrade++;
  return ok(0);
}

/**
 * brk(addr): move the program break. Returns the new break; a request that cannot be met
 * leaves the break where it was (the syscall returns the old value, which libc turns into ENOMEM).
 */
export function sysBrk(k: Kernel, task: Task, brk: number): SysResult<number> {
  const mm = task.mm!;
  k.locks.mmapWrite++; // brk: mmap_write_lock_killable, whatever the outcome
  if (brk < mm.startBrk) return err('ENOMEM');
  const newEnd = Math.ceil(brk / PAGE_SIZE);
  const oldEnd = Math.ceil(mm.brk / PAGE_SIZE);
  if (newEnd === oldEnd) {
    mm.brk = brk;
    return ok(brk);
  }
  if (newEnd < oldEnd) {
    const r = munmapUnlock(k, mm, newEnd, oldEnd, task.cpu);
    if (!r.ok) return r;
    mm.brk = brk;
    return ok(brk);
  }
  // The new heap end must stay a page and a guard gap below the next mapping.
  const next = mm.findVma(oldEnd);
  if (
    next !== undefined &&
    newEnd + 1 > next.start - ((next.flags & VM.GROWSDOWN) !== 0 ? STACK_GUARD_GAP : 0)
  ) {
    return err('ENOMEM');
  }
  if (newEnd > mm.mapWindow) return err('ENOMEM');
  if (mm.mapCount > k.config.maxMapCount) return err('ENOMEM');
  // do_brk_flags: VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT; extend the heap VMA when it ends at the old break.
  const flags = VM.READ | VM.WRITE | VM.MAYREAD | VM.MAYWRITE | VM.MAYEXEC | VM.ACCOUNT;
  const r = mmapRegion(k, mm, oldEnd, newEnd, flags, false);
  if (typeof r === 'string') return err(r);
  mm.brk = brk;
  return ok(brk);
}
