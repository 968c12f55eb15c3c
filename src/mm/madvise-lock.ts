// The lock madvise takes, by advice (mm/madvise.c get_lock_mode, madvise_lock,
// try_vma_read_lock; recent mainline, 6.18 and later). Counting only: a sequential model never
// waits for a lock.

import type { MadviseAdvice as Advice } from '../workload/scenario.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';

/**
 * Count the locks madvise(start, end) takes for `advice`, pages [start, end):
 * - advice that changes VMA flags (NORMAL, RANDOM, SEQUENTIAL, DONTFORK, DOFORK, WIPEONFORK,
 *   KEEPONFORK, HUGEPAGE, NOHUGEPAGE): mmap_lock for write (MADVISE_MMAP_WRITE_LOCK);
 * - WILLNEED, COLD, PAGEOUT: mmap_lock for read (MADVISE_MMAP_READ_LOCK);
 * - DONTNEED and FREE: the per-VMA lock of the VMA holding `start` when that VMA holds the
 *   whole range (MADVISE_VMA_READ_LOCK, is_vma_lock_sufficient); otherwise mmap_lock for read.
 *   lock_vma_under_rcu finding no VMA at `start` counts a vma_lock_abort; a VMA that ends
 *   before `end` was locked, then let go (vma_end_read) for the mmap_lock.
 * (Earlier 6.x kernels took mmap_lock for read for DONTNEED and FREE; DONTNEED moved to the
 * VMA lock first, FREE after it.)
 */
export function madviseLock(k: Kernel, mm: Mm, advice: Advice, start: number, end: number): void {
  const locks = k.locks;
  switch (advice) {
    case 'willneed':
    case 'cold':
    case 'pageout':
      locks.mmapRead++;
      return;
    case 'dontneed':
    case 'free': {
      const vma = mm.vmaAt(start);
      if (vma === undefined) {
        k.vmstat.vma_lock_abort++;
        locks.mmapRead++;
        return;
      }
      locks.vmaRead++;
      if (end > vma.end) locks.mmapRead++;
      return;
    }
    default:
      locks.mmapWrite++;
  }
}
