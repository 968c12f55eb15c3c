// mlock, mlock2(MLOCK_ONFAULT) and munlock (mm/mlock.c). The caller is assumed to hold
// CAP_IPC_LOCK (RLIMIT_MEMLOCK is not enforced).

import { PteAttr } from '../arch/pmap.js';
import { err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { PG } from '../phys/frames.js';
import { mlockPage, munlockPage } from './fault.js';
import { mlockHugeLeaf, mlockPteMappedAllowed } from './huge-pmd-ops.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { mmPopulate } from './populate.js';
import { VM } from './vma.js';
import { modifyVmaFlags } from './vma-ops.js';

/** mlock(addr, len) / mlock2(..., MLOCK_ONFAULT). The start need not be aligned. */
export function sysMlock(k: Kernel, task: Task, addr: number, len: number, onfault: boolean): SysResult<0> {
  const lockFlags = VM.LOCKED | (onfault ? VM.LOCKONFAULT : 0);
  const r = applyLock(k, task, addr, len, lockFlags);
  if (!r.ok) return r;
  // do_mlock calls __mm_populate whatever the flags: its read lock is taken even for
  // MLOCK_ONFAULT, whose areas populate_vma_page_range then skips.
  if (onfault && len + (addr % PAGE_SIZE) > 0) k.locks.mmapRead++;
  if (!onfault) {
    const start = Math.floor(addr / PAGE_SIZE);
    // mlock reports a population failure (__mm_populate without ignore_errors); the areas stay
    // locked. __mlock_posix_error_return: -EFAULT (a PROT_NONE area) becomes ENOMEM, -ENOMEM EAGAIN.
    const p = mmPopulate(k, task, start, start + Math.ceil((len + (addr % PAGE_SIZE)) / PAGE_SIZE), false);
    if (p === 'EFAULT') return err('ENOMEM');
    if (p === 'ENOMEM') return err('EAGAIN');
  }
  return r;
}

export function sysMunlock(k: Kernel, task: Task, addr: number, len: number): SysResult<0> {
  return applyLock(k, task, addr, len, 0);
}

/** apply_vma_lock_flags + mlock_fixup over the range; holes are ENOMEM. */
function applyLock(k: Kernel, task: Task, addr: number, len: number, lockFlags: number): SysResult<0> {
  const mm = task.mm!;
  k.locks.mmapWrite++; // do_mlock / munlock: mmap_write_lock_killable, then apply_vma_lock_flags
  const start = Math.floor(addr / PAGE_SIZE);
  const end = start + Math.ceil((len + (addr % PAGE_SIZE)) / PAGE_SIZE);
  if (end === start) return ok(0);
  let vma = mm.findVma(start);
  if (vma === undefined || vma.start > start) return err('ENOMEM');
  let tmp = vma.start;
  while (vma !== undefined && vma.start < end) {
    if (vma.start !== tmp) return err('ENOMEM');
    const s = Math.max(start, vma.start);
    const e = Math.min(vma.end, end);
    let cur = vma;
    const newFlags = (vma.flags & ~VM.LOCKED_MASK) | lockFlags;
    // mlock_fixup leaves hugetlb areas alone: no VM_LOCKED, no locked_vm, no split.
    if (newFlags !== vma.flags && !vma.isHugetlb()) {
      const wasLocked = (vma.flags & VM.LOCKED) !== 0;
      const r = modifyVmaFlags(k, mm, vma, s, e, newFlags);
      if (typeof r === 'string') return err(r);
      cur = r;
      const nowLocked = (newFlags & VM.LOCKED) !== 0;
      if (nowLocked !== wasLocked) {
        mm.lockedVm += (nowLocked ? 1 : -1) * (e - s);
        markPages(k, task, s, e, nowLocked);
      }
    }
    // tmp = vma_iter_end(&vmi): the VMA now holding [s, e) may have merged with the next one,
    // so go on after it, not at the next VMA seen before the change (whose start may have moved).
    tmp = cur.end;
    if (tmp >= end) break;
    vma = mm.nextOf(cur);
  }
  if (tmp < end) return err('ENOMEM');
  return ok(0);
}

/** Mark the mapped pages of the range mlocked, or clear the mark (mlock_folio / munlock_folio). */
function markPages(k: Kernel, task: Task, start: number, end: number, lock: boolean): void {
  const mm = task.mm!;
  const f = k.phys.frames;
  mm.pmap.forEachLeaf(start, end, (vpn, pfn, attrs, order) => {
    if (order !== 0) return mlockHugeLeaf(k, pfn, lock);
    if ((attrs & PteAttr.special) !== 0) return;
    if (!lock) munlockPage(k, pfn);
    else if (!f.has(pfn, PG.compound) || mlockPteMappedAllowed(k, mm, pfn, vpn, start, end))
      mlockPage(k, pfn);
  });
}
