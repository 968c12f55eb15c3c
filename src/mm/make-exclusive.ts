// make_device_exclusive (mm/rmap.c, Linux 6.15+): a driver asks for one page of mm to be made
// exclusive to its device, for atomics. The page is first faulted in writable as
// get_user_page_vma_remote(FOLL_GET | FOLL_WRITE | FOLL_SPLIT_PMD) does (a huge PMD is split,
// a shared page is copied, a device-private page comes back to RAM, an exclusive entry is
// restored), then its one writable entry is made device-exclusive (device-exclusive.ts); a page
// of a THP too, the PMD split and the folio left whole.
// 6.15 replaced make_device_exclusive_range, which took a range and failed pages silently
// (the caller saw -EBUSY); now each page either becomes exclusive or the call fails with the
// reason, and a driver walks its range page by page (dmirror_exclusive).

import { Access, PmdState, PteAttr } from '../arch/pmap.js';
import type { Errno } from '../lib/errno.js';
import { PG } from '../phys/frames.js';
import { makePageDeviceExclusive } from './device-exclusive.js';
import { handleMmFault, VmFault } from './fault.js';
import { splitHugePmd } from './huge-memory.js';
import type { Kernel } from './kernel.js';
import { markAccessed } from './lru.js';
import type { Task } from './mm.js';
import { VM } from './vma.js';

/**
 * make_device_exclusive for page vpn of task's mm: the pfn of the page now exclusive, or the
 * error: EFAULT when get_user_pages cannot fault it in writable (no VMA, no VM_WRITE, a fault
 * that failed: SIGSEGV or SIGBUS), ENOMEM when the fault ran out of memory, EOPNOTSUPP for a
 * hugetlb area (check_vma_flags refuses FOLL_SPLIT_PMD there) or a page that is not anonymous
 * (a shared mapping's). `owner` is passed to the mirrors' invalidation (MMU_NOTIFY_EXCLUSIVE), so the
 * device asking can ignore its own. Faults count for the task, as GUP faults do
 * (mm_account_fault without regs). The caller holds mmap_lock.
 */
export function makeDeviceExclusive(k: Kernel, task: Task, vpn: number, owner: unknown): number | Errno {
  const mm = task.mm!;
  const pmap = mm.pmap;
  k.current = task;
  const vma = mm.vmaAt(vpn);
  if (vma === undefined || (vma.flags & VM.WRITE) === 0) return 'EFAULT'; // check_vma_flags
  if (vma.isHugetlb()) return 'EOPNOTSUPP';
  for (let tries = 0; ; tries++) {
    // follow_pmd_mask with FOLL_SPLIT_PMD: a huge PMD (there before, or just faulted in) is split.
    if (pmap.pmdState(vpn) === PmdState.huge) splitHugePmd(k, mm, vma, vpn, task.cpu);
    const h = pmap.pteLookup(vpn);
    if (h >= 0 && pmap.ptePresent(h) && (pmap.pteAttrs(h) & PteAttr.write) !== 0) break;
    if (tries === 3) throw new Error(`makeDeviceExclusive: vpn ${vpn} still not writable after three faults`);
    const r = handleMmFault(k, mm, vma, vpn, Access.write, task.cpu);
    if ((r & VmFault.oom) !== 0) return 'ENOMEM';
    if ((r & (VmFault.sigbus | VmFault.sigsegv)) !== 0) return 'EFAULT';
    if ((r & VmFault.major) !== 0) task.majFlt++;
    else task.minFlt++;
  }
  const pfn = pmap.ptePfn(pmap.pteLookup(vpn));
  const f = k.phys.frames;
  if (!f.has(pfn, PG.anon)) return 'EOPNOTSUPP'; // !folio_test_anon (vmlab skips FOLL_TOUCH here)
  // follow_page_pte with FOLL_TOUCH (get_user_pages_remote adds it) and FOLL_WRITE: the page is
  // marked dirty and accessed. The dirty mark is what keeps reclaim from discarding a MADV_FREE
  // page the device then writes: core mm sees the device-exclusive entry as clean.
  f.set(pfn, PG.dirty);
  markAccessed(k, f.headOf(pfn));
  return makePageDeviceExclusive(k, mm, vpn, owner, task.cpu);
}
