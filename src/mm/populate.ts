// Populating mappings through GUP (mm/gup.c populate_vma_page_range, __mm_populate): each page
// not yet mapped as needed takes a fault, counted in the task's min_flt as Linux counts GUP faults.

import { Access, PteAttr } from '../arch/pmap.js';
import { handleMmFault, VmFault } from './fault.js';
import { hugeMappedSpan } from './huge-pmd-ops.js';
import { hugetlbPopulate } from './hugetlb-mmap.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { VM, type Vma } from './vma.js';

/** What population met: nothing wrong, memory ran out, or an area GUP refuses (-EFAULT). */
export type PopulateResult = 'ok' | 'ENOMEM' | 'EFAULT';

/** populate_vma_page_range: fault in pages [start, end) of vma. */
export function populateVmaRange(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
): PopulateResult {
  // mlock2(MLOCK_ONFAULT) areas fill as they fault.
  if ((vma.flags & VM.LOCKONFAULT) !== 0) return 'ok';
  // "we've never faulted in PROT_NONE pages"
  if ((vma.flags & (VM.READ | VM.WRITE | VM.EXEC)) === 0) return 'EFAULT';
  // Writable private mappings are populated with write faults to break CoW (FOLL_WRITE).
  const write = (vma.flags & (VM.WRITE | VM.SHARED)) === VM.WRITE;
  if (vma.isHugetlb()) return hugetlbPopulate(k, task, vma, start, end, write);
  const mm = task.mm!;
  const pmap = mm.pmap;
  for (let vpn = start; vpn < end; vpn++) {
    const span = hugeMappedSpan(mm, vpn, write); // follow_trans_huge_pmd: the rest of the THP
    if (span > 0) {
      vpn += span - 1;
      continue;
    }
    const h = pmap.pteLookup(vpn);
    if (h >= 0 && pmap.ptePresent(h)) {
      if (!write || (pmap.pteAttrs(h) & PteAttr.write) !== 0) continue; // follow_page succeeds
    }
    const r = handleMmFault(k, mm, vma, vpn, write ? Access.write : Access.read, task.cpu);
    if ((r & VmFault.oom) !== 0) return 'ENOMEM';
    if ((r & (VmFault.sigbus | VmFault.sigsegv)) !== 0) return 'EFAULT';
    if ((r & VmFault.major) !== 0) task.majFlt++;
    else task.minFlt++;
  }
  return 'ok';
}

/**
 * __mm_populate over [start, end): every VMA in the range. With ignoreErrors (mmap's
 * MAP_POPULATE / MAP_LOCKED) an area that fails is skipped; without (mlock) the first failure
 * ends the walk and is returned.
 */
export function mmPopulate(
  k: Kernel,
  task: Task,
  start: number,
  end: number,
  ignoreErrors: boolean,
): PopulateResult {
  const mm = task.mm!;
  // __mm_populate takes mmap_lock for read before it looks for the first VMA. (A GUP fault
  // that drops the lock for file I/O, VM_FAULT_RETRY, and the re-lock are not counted.)
  if (start < end) k.locks.mmapRead++;
  for (const v of [...mm.vmas.values(mm.findVma(start)?.start ?? end)]) {
    if (v.start >= end) break;
    const r = populateVmaRange(k, task, v, Math.max(start, v.start), Math.min(end, v.end));
    if (r !== 'ok' && !ignoreErrors) return r;
  }
  return 'ok';
}
