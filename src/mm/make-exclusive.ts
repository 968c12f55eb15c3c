// make_device_exclusive_range (mm/rmap.c, Linux 6.6): a driver asks for pages [start, end)
// of mm to be made exclusive to its device, for atomics. The pages are first faulted in
// writable as get_user_pages_remote(FOLL_GET | FOLL_WRITE | FOLL_SPLIT_PMD) does (a huge
// PMD is split, a shared page is copied, a device-private page comes back to RAM, an
// exclusive entry is restored), then each is made device-exclusive (device-exclusive.ts).

import { Access, PmdState, PteAttr } from '../arch/pmap.js';
import type { Errno } from '../lib/errno.js';
import { makePageDeviceExclusive } from './device-exclusive.js';
import { handleMmFault, VmFault } from './fault.js';
import { splitHugePmd } from './huge-memory.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { VM } from './vma.js';

/**
 * The pages of [start, end) made exclusive, one pfn per page, -1 for a page that could not
 * be (not a private anonymous page, part of a THP folio, a hugetlb page, or past the point
 * where get_user_pages stopped); EFAULT when not even the first page could be faulted in
 * writable (no VMA, no VM_WRITE, a fault that failed). `owner` is passed to the mirrors'
 * invalidations (MMU_NOTIFY_EXCLUSIVE), so the device asking can ignore its own.
 * Faults count for the task, as GUP faults do (mm_account_fault without regs).
 */
export function makeDeviceExclusiveRange(
  k: Kernel,
  task: Task,
  start: number,
  end: number,
  owner: unknown,
): number[] | Errno {
  const mm = task.mm!;
  const pmap = mm.pmap;
  const pages: number[] = [];
  k.current = task;
  // __get_user_pages: stops at the first page it cannot get; EFAULT if that is the first.
  for (let vpn = start; vpn < end; vpn++) {
    const vma = mm.vmaAt(vpn);
    if (vma === undefined || (vma.flags & VM.WRITE) === 0) break; // check_vma_flags
    if (vma.isHugetlb()) {
      pages.push(-1);
      continue;
    }
    let tries = 0;
    let failed = false;
    for (;;) {
      // follow_pmd_mask with FOLL_SPLIT_PMD: a huge PMD (there before, or just faulted in) is split.
      if (pmap.pmdState(vpn) === PmdState.huge) splitHugePmd(k, mm, vma, vpn, task.cpu);
      const h = pmap.pteLookup(vpn);
      if (h >= 0 && pmap.ptePresent(h) && (pmap.pteAttrs(h) & PteAttr.write) !== 0) break;
      if (++tries > 3)
        throw new Error(`makeDeviceExclusiveRange: vpn ${vpn} still not writable after three faults`);
      const r = handleMmFault(k, mm, vma, vpn, Access.write, task.cpu);
      if ((r & (VmFault.oom | VmFault.sigbus | VmFault.sigsegv)) !== 0) {
        failed = true;
        break;
      }
      if ((r & VmFault.major) !== 0) task.majFlt++;
      else task.minFlt++;
    }
    if (failed) break;
    pages.push(pmap.ptePfn(pmap.pteLookup(vpn)));
  }
  if (pages.length === 0 && start < end) return 'EFAULT';
  // folio_make_device_exclusive on each page got; a page that cannot be made exclusive is dropped.
  for (let i = 0; i < pages.length; i++) {
    if (pages[i] < 0) continue;
    if (!makePageDeviceExclusive(k, pages[i], mm, start + i, owner, task.cpu)) pages[i] = -1;
  }
  while (pages.length < end - start) pages.push(-1);
  return pages;
}
