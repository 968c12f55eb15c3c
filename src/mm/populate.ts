// Populating mappings through GUP (mm/gup.c populate_vma_page_range): each page not yet
// mapped as needed takes a fault, counted in the task's min_flt as Linux counts GUP faults.

import { Access, PteAttr } from '../arch/pmap.js';
import { handleMmFault, VmFault } from './fault.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { VM, type Vma } from './vma.js';

/** Fault in pages [start, end) of vma. Returns false when memory ran out. */
export function populateVmaRange(k: Kernel, task: Task, vma: Vma, start: number, end: number): boolean {
  // PROT_NONE areas are skipped (GUP refuses them; __mm_populate ignores the error).
  if ((vma.flags & (VM.READ | VM.WRITE | VM.EXEC)) === 0) return true;
  // Writable private mappings are populated with write faults to break CoW (FOLL_WRITE).
  const write = (vma.flags & (VM.WRITE | VM.SHARED)) === VM.WRITE;
  const mm = task.mm!;
  const pmap = mm.pmap;
  for (let vpn = start; vpn < end; vpn++) {
    const h = pmap.pteLookup(vpn);
    if (h >= 0 && pmap.ptePresent(h)) {
      if (!write || (pmap.pteAttrs(h) & PteAttr.write) !== 0) continue; // follow_page succeeds
    }
    const r = handleMmFault(k, mm, vma, vpn, write ? Access.write : Access.read, task.cpu);
    if ((r & VmFault.oom) !== 0) return false;
    if ((r & (VmFault.sigbus | VmFault.sigsegv)) !== 0) return true;
    if ((r & VmFault.major) !== 0) task.majFlt++;
    else task.minFlt++;
  }
  return true;
}

/** __mm_populate over [start, end): every VMA in the range. */
export function mmPopulate(k: Kernel, task: Task, start: number, end: number): boolean {
  const mm = task.mm!;
  for (const v of [...mm.vmas.values(mm.findVma(start)?.start ?? end)]) {
    if (v.start >= end) break;
    if (!populateVmaRange(k, task, v, Math.max(start, v.start), Math.min(end, v.end))) return false;
  }
  return true;
}
