// The core's side of VM_PEER_SHARED (the gmem series, patches 5/6 and 6/6): memory a process
// maps with MAP_PEER_SHARED is tracked by a logical page table (hetero/gmem-*.ts) as well as
// by the CPU page table, and the core calls out at the few places where that matters. Only
// VMAs with VM_PEER_SHARED take these paths; without a gmem design `k.peer` is null.

import type { VmFault } from './fault.js';
import type { Mm } from './mm.js';
import type { Vma } from './vma.js';

export interface PeerSharedOps {
  /**
   * mmap_region's gm_alloc_va_in_peer_devices: reserve pages [start, end) on every device
   * attached to mm (peer_va_alloc_fixed). False when a device has a conflict there.
   */
  reserve(mm: Mm, start: number, end: number): boolean;
  /**
   * do_anonymous_page of a peer-shared VMA (the entry at vpn is none): consult the logical
   * page table: a page on a device comes back (gm_host_fault_locked), an evicted page held in
   * host memory is reused, otherwise a zeroed page is allocated (never the zero page).
   */
  hostFault(mm: Mm, vma: Vma, vpn: number, h: number, write: boolean, cpu: number): VmFault;
  /** munmap_in_peer_devices: [start, end) of peer-shared VMAs is going away. */
  unmapRange(mm: Mm, start: number, end: number, cpu: number): void;
  /** mprotect_fixup of [start, end) of a peer-shared vma (its flags already changed). */
  protect(mm: Mm, vma: Vma, start: number, end: number): void;
  /** dup_mmap, before copy_page_range of a peer-shared VMA of the parent. */
  forkPrepare(mm: Mm, vma: Vma, cpu: number): void;
  /** exit_mmap: vm_object_drop_locked (after the device mappings are gone). */
  exit(mm: Mm): void;
  /** A system frame the logical page table holds (an evicted page not mapped by the CPU). */
  holds(pfn: number): boolean;
}
