// mremap (mm/mremap.c): shrink, grow in place, or move with MREMAP_MAYMOVE / MREMAP_FIXED /
// MREMAP_DONTUNMAP (move-vma.ts). Moving moves page-table entries; the pages themselves stay.

import { err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { hugetlbMremap } from './hugetlb-mmap.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { getUnmappedArea, munmapUnlock } from './mmap.js';
import { moveVma } from './move-vma.js';
import { mmPopulate } from './populate.js';
import { doMunmap } from './unmap.js';
import { VM, type Vma } from './vma.js';
import { mergeNewRange, rangeFree } from './vma-ops.js';

export interface MremapRequest {
  readonly addr: number;
  readonly oldLen: number;
  readonly newLen: number;
  readonly maymove: boolean;
  readonly fixed: boolean;
  readonly dontunmap: boolean;
  readonly newAddr: number;
}

export function sysMremap(k: Kernel, task: Task, req: MremapRequest): SysResult<number> {
  const mm = task.mm!;
  if ((req.fixed || req.dontunmap) && !req.maymove) return err('EINVAL');
  if (req.dontunmap && req.oldLen !== req.newLen) return err('EINVAL');
  if (req.addr % PAGE_SIZE !== 0) return err('EINVAL');
  const oldPages = Math.ceil(req.oldLen / PAGE_SIZE);
  const newPages = Math.ceil(req.newLen / PAGE_SIZE);
  if (newPages === 0) return err('EINVAL');
  k.locks.mmapWrite++; // mmap_write_lock_killable, after the argument checks
  const start = req.addr / PAGE_SIZE;
  // The syscall's vma_lookup(mm, addr) comes before every path (mm/mremap.c): a shrink, a
  // no-op resize and an MREMAP_FIXED move (before it unmaps the destination) all fail with
  // EFAULT when addr is not mapped.
  const at = mm.vmaAt(start);
  if (at === undefined) return err('EFAULT');
  if (at.isHugetlb()) return hugetlbMremap(k, task, req, at);
  // vmlab's choice: the gmem RFC does not move a logical page table with its area (no
  // vm_object_adjust for a move), so a peer-shared area refuses mremap.
  if ((at.flags & VM.PEER_SHARED) !== 0 && k.peer !== null) return err('EINVAL');
  if (oldPages === 0) return err('EINVAL'); // a shared-mapping duplicate; private areas refuse it
  if (req.fixed || req.dontunmap) return mremapTo(k, task, req, start, oldPages, newPages);

  if (oldPages >= newPages) {
    // Shrink (or no change): unmap the tail.
    if (oldPages > newPages) {
      const r = munmapUnlock(k, mm, start + newPages, start + oldPages, task.cpu); // shrink_vma, drop_lock
      if (!r.ok) return r;
    }
    return ok(req.addr);
  }
  const vma = vmaToResize(task, start, oldPages);
  if (typeof vma === 'string') return err(vma);
  // Grow in place when the area ends the VMA and the space above is free (vma_expandable).
  if (
    start + oldPages === vma.end &&
    start + newPages <= mm.mapWindow &&
    rangeFree(mm, vma.end, start + newPages)
  )
    return growInPlace(k, task, vma, newPages - oldPages, req.addr);
  if (!req.maymove) return err('ENOMEM');
  const dst = getUnmappedArea(mm, 0, newPages, vma.isShared());
  if (dst < 0) return err('ENOMEM');
  return moveVma(k, task, vma, start, oldPages, newPages, dst, false);
}

/**
 * mremap_to: a move to new_addr, which MREMAP_FIXED makes the address (whatever is mapped
 * there is unmapped first) and MREMAP_DONTUNMAP without it a hint, as mmap takes one
 * (get_unmapped_area without MAP_FIXED). The address checks apply to the hint as well.
 */
function mremapTo(
  k: Kernel,
  task: Task,
  req: MremapRequest,
  start: number,
  oldPages: number,
  newPages: number,
): SysResult<number> {
  const mm = task.mm!;
  const limit = mm.taskSize;
  if (req.newAddr % PAGE_SIZE !== 0) return err('EINVAL');
  // mremap_to checks the VMA budget before it unmaps anything.
  if (mm.mapCount + 2 >= k.config.maxMapCount - 3) return err('ENOMEM');
  const target = req.newAddr / PAGE_SIZE;
  if (newPages > limit || target > limit - newPages) return err('EINVAL');
  if (target < start + oldPages && start < target + newPages) return err('EINVAL'); // overlap
  if (req.fixed) {
    const e = doMunmap(k, mm, target, target + newPages, task.cpu);
    if (e !== null) return err(e);
  }
  let old = oldPages;
  if (old > newPages) {
    const e = doMunmap(k, mm, start + newPages, start + old, task.cpu);
    if (e !== null) return err(e);
    old = newPages;
  }
  const vma = vmaToResize(task, start, old);
  if (typeof vma === 'string') return err(vma);
  const dst = req.fixed ? target : getUnmappedArea(mm, req.newAddr, newPages, vma.isShared());
  if (dst < 0) return err('ENOMEM');
  return moveVma(k, task, vma, start, old, newPages, dst, req.dontunmap);
}

/**
 * expand_vma_in_place: vma_merge_extend grows the VMA by delta pages and, when the VMA
 * after it now touches it and is compatible (flags, object and offset, anon_vma), merges
 * with it too (one VMA less). A locked VMA's new part is populated.
 */
function growInPlace(k: Kernel, task: Task, vma: Vma, delta: number, addr: number): SysResult<number> {
  const mm = task.mm!;
  const cand = {
    flags: vma.flags,
    pgoff: vma.pgoff + vma.pages,
    start: vma.end,
    end: vma.end + delta,
    anonVma: vma.anonVma,
    file: vma.file,
  };
  const oldEnd = vma.end;
  if (mergeNewRange(k, mm, vma, mm.nextOf(vma), cand, null) === null) return err('ENOMEM');
  mm.totalVm += delta;
  if ((vma.flags & VM.LOCKED) !== 0) {
    mm.lockedVm += delta;
    mmPopulate(k, task, oldEnd, oldEnd + delta, true);
  }
  return ok(addr);
}

/** vma_to_resize: the old range must lie in one VMA. */
function vmaToResize(task: Task, start: number, pages: number): Vma | 'EFAULT' {
  const vma = task.mm!.vmaAt(start);
  if (vma === undefined || pages > vma.end - start) return 'EFAULT';
  return vma;
}
