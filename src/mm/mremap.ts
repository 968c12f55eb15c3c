// mremap (mm/mremap.c): shrink, grow in place, or move with MREMAP_MAYMOVE / MREMAP_FIXED /
// MREMAP_DONTUNMAP. Moving moves page-table entries; the pages themselves stay put.

import { err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { prepareHugeMove } from './huge-pmd-ops.js';
import { hugetlbMremap } from './hugetlb-mmap.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { getUnmappedArea } from './mmap.js';
import { mmPopulate } from './populate.js';
import { doMunmap } from './unmap.js';
import { VM, Vma } from './vma.js';
import { canMerge, insertVma, modifyVmaFlags, rangeFree } from './vma-ops.js';

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
  const start = req.addr / PAGE_SIZE;
  const limit = mm.taskSize;
  // The syscall's vma_lookup(mm, addr) comes before every path (mm/mremap.c): a shrink, a
  // no-op resize and an MREMAP_FIXED move (before it unmaps the destination) all fail with
  // EFAULT when addr is not mapped.
  const at = mm.vmaAt(start);
  if (at === undefined) return err('EFAULT');
  if (at.isHugetlb()) return hugetlbMremap(k, task, req, at);
  if (oldPages === 0) return err('EINVAL'); // a shared-mapping duplicate; private areas refuse it

  if (req.fixed) {
    if (req.newAddr % PAGE_SIZE !== 0) return err('EINVAL');
    // mremap_to checks the VMA budget before it unmaps anything.
    if (mm.mapCount + 2 >= k.config.maxMapCount - 3) return err('ENOMEM');
    const dst = req.newAddr / PAGE_SIZE;
    if (newPages > limit || dst > limit - newPages) return err('EINVAL');
    if (dst < start + oldPages && start < dst + newPages) return err('EINVAL'); // overlap
    const e = doMunmap(k, mm, dst, dst + newPages, task.cpu);
    if (e !== null) return err(e);
    let old = oldPages;
    if (old > newPages) {
      const e2 = doMunmap(k, mm, start + newPages, start + old, task.cpu);
      if (e2 !== null) return err(e2);
      old = newPages;
    }
    const vma = vmaToResize(task, start, old);
    if (typeof vma === 'string') return err(vma);
    return moveVma(k, task, vma, start, old, newPages, dst, req.dontunmap);
  }

  if (oldPages >= newPages && !req.dontunmap) {
    // Shrink (or no change): unmap the tail.
    if (oldPages > newPages) {
      const e = doMunmap(k, mm, start + newPages, start + oldPages, task.cpu);
      if (e !== null) return err(e);
    }
    return ok(req.addr);
  }
  const vma = vmaToResize(task, start, oldPages);
  if (typeof vma === 'string') return err(vma);
  // Grow in place when the area ends the VMA and the space above is free.
  if (
    !req.dontunmap &&
    start + oldPages === vma.end &&
    start + newPages <= mm.mapWindow &&
    rangeFree(mm, vma.end, start + newPages)
  ) {
    const delta = newPages - oldPages;
    vma.end += delta;
    mm.totalVm += delta;
    if ((vma.flags & VM.LOCKED) !== 0) {
      mm.lockedVm += delta;
      mmPopulate(k, task, start + oldPages, start + newPages, true);
    }
    return ok(req.addr);
  }
  if (!req.maymove) return err('ENOMEM');
  const dst = getUnmappedArea(mm, 0, newPages, vma.isShared());
  if (dst < 0) return err('ENOMEM');
  return moveVma(k, task, vma, start, oldPages, newPages, dst, req.dontunmap);
}

/** vma_to_resize: the old range must lie in one VMA. */
function vmaToResize(task: Task, start: number, pages: number): Vma | 'EFAULT' {
  const vma = task.mm!.vmaAt(start);
  if (vma === undefined || pages > vma.end - start) return 'EFAULT';
  return vma;
}

/**
 * move_vma: a new VMA at dst (merged with a neighbour when compatible), the entries of the
 * old range moved into it, the old range unmapped (or, with DONTUNMAP, left mapped and empty).
 */
function moveVma(
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
  // copy_vma: an anonymous area never faulted takes the new address as its offset.
  let pgoff = vma.pgoff + (start - vma.start);
  if (vma.file === null && vma.anonVma === null) pgoff = dst;
  const moved = {
    flags: vma.flags,
    pgoff,
    start: dst,
    end: dst + newPages,
    anonVma: vma.anonVma,
    file: vma.file,
  };
  const prev = mm.vmas.lower(dst);
  if (prev !== undefined && prev.end === dst && canMerge(prev, moved)) {
    prev.end = dst + newPages;
    if (prev.anonVma === null && vma.anonVma !== null) k.adoptAnonVmas(prev, vma);
  } else {
    const cand = new Vma(dst, dst + newPages, vma.flags, pgoff, vma.file);
    insertVma(k, mm, cand);
    k.adoptAnonVmas(cand, vma);
  }
  mm.totalVm += newPages;
  const locked = (vma.flags & VM.LOCKED) !== 0;
  if (locked) mm.lockedVm += newPages;
  prepareHugeMove(k, mm, vma, start, oldPages, dst, task.cpu); // move_page_tables' THP rule
  if (!mm.pmap.moveRange(start, dst, oldPages)) {
    // move_vma's error path: move the entries back from the new area to the old (their tables
    // are still there, so this cannot fail), then unmap the new area instead of the old one.
    mm.pmap.moveRange(dst, start, oldPages);
    doMunmap(k, mm, dst, dst + newPages, task.cpu);
    return err('ENOMEM');
  }
  k.flushTlbRange(mm, task.cpu, start, start + oldPages);
  if (dontunmap) {
    // The old area stays, emptied; its lock goes (mremap DONTUNMAP clears VM_LOCKED on the source).
    if (locked) {
      const r = modifyVmaFlags(k, mm, vma, start, start + oldPages, vma.flags & ~VM.LOCKED_MASK);
      if (typeof r === 'string') return err(r);
      mm.lockedVm -= oldPages;
    }
  } else {
    const e = doMunmap(k, mm, start, start + oldPages, task.cpu);
    if (e !== null) return err(e);
  }
  if (locked && newPages > oldPages) mmPopulate(k, task, dst + oldPages, dst + newPages, true);
  return ok(dst * PAGE_SIZE);
}
