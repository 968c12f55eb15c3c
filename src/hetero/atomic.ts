// A device's atomics on system memory (the `hmm` design): the driver makes the pages
// exclusive to the device and maps them with atomic permission, as lib/test_hmm.c's
// dmirror_exclusive (HMM_DMIRROR_EXCLUSIVE) and nouveau's nouveau_atomic_range_fault do:
// make_device_exclusive (6.15+) for each page under mmap_lock (read), then under the
// driver's lock that page's atomic mapping (dmirror_atomic_map). The conversion notifies the
// mirrors with MMU_NOTIFY_EXCLUSIVE and this device as owner, which its own notifier ignores
// (nouveau_svm_range_invalidate); a CPU access takes a page back with an owner-less
// MMU_NOTIFY_CLEAR (6.15+), and reclaim swaps it out with MMU_NOTIFY_CLEAR
// (try_to_unmap_one): either drops the atomic mapping. Pages in the device's own memory
// (device-private or device-coherent) need no exclusivity: its atomics there are native
// (device-run.ts), so the driver services an atomic fault on one of them as a write fault.

import { isDevicePrivateType } from '../arch/pmap.js';
import type { Errno } from '../lib/errno.js';
import type { Kernel } from '../mm/kernel.js';
import { makeDeviceExclusive } from '../mm/make-exclusive.js';
import type { Task } from '../mm/mm.js';
import type { Mirror } from './hmm.js';

/** A write fault over [start, end) (the design's hmm_range_fault path). */
export type WriteFaultFn = (start: number, end: number) => Errno | null;

/**
 * Service atomic faults over pages [start, end) of one VMA: runs of pages in the device's own
 * memory as write faults, the other runs made device-exclusive (exclusiveFault).
 */
export function atomicFault(
  k: Kernel,
  task: Task,
  m: Mirror,
  start: number,
  end: number,
  writeFault: WriteFaultFn,
): Errno | null {
  const pmap = task.mm!.pmap;
  const local = (vpn: number): boolean => {
    const h = pmap.pteLookup(vpn);
    if (h < 0 || pmap.pteNone(h)) return false;
    let pfn: number;
    if (pmap.pteIsSwap(h)) {
      if (!isDevicePrivateType(pmap.pteSwapType(h))) return false;
      pfn = pmap.pteSwapSlot(h);
    } else pfn = pmap.ptePfn(h); // a device-coherent page is mapped by a present entry
    return m.dev.ownsFrame(pfn);
  };
  for (let a = start; a < end; ) {
    const l = local(a);
    let b = a + 1;
    while (b < end && local(b) === l) b++;
    const e = l ? writeFault(a, b) : exclusiveFault(k, task, m, a, b);
    if (e !== null) return e;
    a = b;
  }
  return null;
}

/**
 * Make pages [start, end) of one VMA exclusive to the device and map them writable with atomic
 * permission, page by page as dmirror_exclusive does since 6.15 (make_device_exclusive, then
 * dmirror_atomic_map of that page): the first page that cannot be made exclusive ends the
 * loop with make_device_exclusive's error (EFAULT, ENOMEM, EOPNOTSUPP), the pages before it
 * staying exclusive and mapped.
 */
function exclusiveFault(k: Kernel, task: Task, m: Mirror, start: number, end: number): Errno | null {
  const dev = m.dev;
  dev.stats.lock_mmap_read++;
  for (let t = start >> 9; t <= (end - 1) >> 9; t++) dev.stats.lock_ptl++;
  let stale = false;
  let error: Errno | null = null;
  let vpn = start;
  for (; vpn < end; vpn++) {
    const pfn = makeDeviceExclusive(k, task, vpn, dev);
    if (typeof pfn === 'string') {
      error = pfn;
      break;
    }
    dev.stats.lock_notifier++;
    const old = m.ctx.pt.lookup(vpn);
    if (old !== 0 && Math.floor(old / 8) !== pfn) stale = true;
    if (!m.ctx.pt.map(vpn, pfn, true, true)) {
      error = 'ENOMEM';
      break;
    }
    dev.stats.dev_exclusive++;
  }
  if (stale) dev.invalidateTlb(m.ctx.mm.id, start, vpn);
  return error;
}
