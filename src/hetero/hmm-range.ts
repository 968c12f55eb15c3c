// hmm_range_fault (mm/hmm.c): snapshot the CPU page table over a range for a device, faulting
// in what the device needs as the CPU would (handle_mm_fault: the zero page for a read of an
// empty anonymous page, copy-on-write for a write). Results are per page: a pfn with VALID
// and WRITE bits (HMM_PFN_*), the form a driver copies into its page table.

import { Access, isDevicePrivateType, PmdState, PteAttr, SwpType } from '../arch/pmap.js';
import type { Errno } from '../lib/errno.js';
import { handleMmFault, VmFault } from '../mm/fault.js';
import { vmaHstate } from '../mm/hugetlb-reserve.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm, Task } from '../mm/mm.js';
import { VM, type Vma } from '../mm/vma.js';
import type { Device } from './device.js';
import type { IntervalNotifier, NotifierSubscriptions } from './notifier.js';

/** HMM_PFN_VALID, HMM_PFN_WRITE in a result word: pfn * 4 + flags. */
export const enum HmmPfn {
  valid = 1,
  write = 2,
}

export interface HmmRange {
  readonly ni: IntervalNotifier;
  readonly subs: NotifierSubscriptions;
  /** Pages [start, end). */
  readonly start: number;
  readonly end: number;
  /** default_flags: HMM_PFN_REQ_FAULT, plus HMM_PFN_REQ_WRITE when true. */
  readonly write: boolean;
  /** The notifier sequence from mmu_interval_read_begin. */
  seq: number;
  /** hmm_pfns: one word per page. */
  readonly pfns: Float64Array;
  /**
   * dev_private_owner: whether the device-private page pfn belongs to the range's owner (the
   * device's own memory, or a peer's under a shared owner: owner.ts).
   */
  readonly owns: (pfn: number) => boolean;
}

/**
 * The frame a huge leaf (a THP's PMD, or a hugetlb PMD or PUD) maps at vpn, with the leaf's
 * attributes left in mm.pmap.hugeAttrs; -1 when no huge leaf covers vpn.
 */
export function hugeLeafPfn(k: Kernel, mm: Mm, vma: Vma, vpn: number): number {
  const pmap = mm.pmap;
  if (vma.isHugetlb()) {
    const order = vmaHstate(k, vma).order;
    if (pmap.hugetlbState(vpn, order) !== PmdState.huge) return -1;
    return pmap.hugePfn + (vpn % (1 << order));
  }
  if (pmap.pmdState(vpn) !== PmdState.huge) return -1;
  return pmap.hugePfn + (vpn % 512);
}

/**
 * hmm_range_fault: 0 when every page of the range is valid (and writable where a write was
 * required); EBUSY when an invalidation ran since read_begin (mmu_interval_check_retry: the
 * caller starts again); EFAULT for a hole or an area without VM_READ (hmm_vma_walk_test)
 * or a fault that failed; EPERM for a write required of an area without VM_WRITE.
 * Device-private pages whose pgmap owner is the range's (`dev`'s own, or a peer's) are
 * reported as they are, never faulted (hmm_vma_handle_pte: writable only through a writable
 * entry, whatever the range asks); those of another owner fault, which migrates them back to
 * RAM (do_swap_page -> migrate_to_ram).
 */
export function hmmRangeFault(k: Kernel, task: Task, dev: Device, range: HmmRange): 0 | Errno {
  const mm = task.mm!;
  const pmap = mm.pmap;
  let vpn = range.start;
  let lastTable = -1;
  let tries = 0;
  while (vpn < range.end) {
    if (range.subs.readRetry(range.ni, range.seq)) {
      dev.stats.hmm_retries++;
      return 'EBUSY';
    }
    const vma = mm.vmaAt(vpn);
    if (vma === undefined || (vma.flags & VM.READ) === 0) return 'EFAULT';
    if (vpn >> 9 !== lastTable) {
      lastTable = vpn >> 9;
      dev.stats.lock_ptl++; // pte_offset_map_lock per PTE table walked
    }
    let word = 0;
    let need = false;
    const huge = hugeLeafPfn(k, mm, vma, vpn);
    if (huge >= 0) {
      // hmm_vma_handle_pmd / hmm_vma_walk_hugetlb_entry: a huge leaf gives every page it covers.
      const writable = (pmap.hugeAttrs & PteAttr.write) !== 0;
      need = range.write && !writable;
      word = huge * 4 + HmmPfn.valid + (writable ? HmmPfn.write : 0);
    } else if (vma.isHugetlb()) {
      need = true; // no hugetlb leaf yet
    } else {
      const h = pmap.pteLookup(vpn);
      if (h < 0 || pmap.pteNone(h)) need = true;
      else if (pmap.pteIsSwap(h)) {
        const type = pmap.pteSwapType(h);
        const pfn = pmap.pteSwapSlot(h);
        if (isDevicePrivateType(type) && range.owns(pfn)) {
          word = pfn * 4 + HmmPfn.valid + (type === SwpType.deviceWrite ? HmmPfn.write : 0);
        } else need = true; // swapped out, or another device's page
      } else {
        const attrs = pmap.pteAttrs(h);
        const writable = (attrs & PteAttr.write) !== 0;
        if ((attrs & PteAttr.protnone) !== 0 || (range.write && !writable)) need = true;
        else word = pmap.ptePfn(h) * 4 + HmmPfn.valid + (writable ? HmmPfn.write : 0);
      }
    }
    if (!need) {
      range.pfns[vpn - range.start] = word;
      vpn++;
      tries = 0;
      continue;
    }
    // hmm_vma_fault(addr, end): handle_mm_fault as the CPU would for every page from here to
    // the end of the PMD-level walk step (hmm_vma_walk_pmd passes its `end` down), present
    // pages included (spurious faults, counted all the same); then -EBUSY, and the walk
    // resumes here after mmu_interval_check_retry.
    if (range.write && (vma.flags & VM.WRITE) === 0) return 'EPERM';
    if (++tries > 3) throw new Error(`hmmRangeFault: vpn ${vpn} still needs a fault after three`);
    const stop = Math.min(range.end, vma.end, (Math.floor(vpn / 512) + 1) * 512);
    k.current = task;
    for (let a = vpn; a < stop; a++) {
      const r = handleMmFault(k, mm, vma, a, range.write ? Access.write : Access.read, task.cpu);
      if ((r & (VmFault.oom | VmFault.sigbus | VmFault.sigsegv)) !== 0) return 'EFAULT';
      if ((r & VmFault.major) !== 0) task.majFlt++;
      else task.minFlt++; // mm_account_fault: GUP-style faults count for current
    }
  }
  return 0;
}
