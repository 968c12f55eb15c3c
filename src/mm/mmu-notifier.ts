// The core's side of heterogeneous memory (include/linux/mmu_notifier.h, include/linux/memremap.h):
// what memory management tells a device mirror when CPU page tables change, and what it asks
// of a driver that owns device-private pages. Implementations live in hetero/; the core only
// calls these interfaces (DESIGN.md: a slot, never "which implementation is this").

import type { VmFault } from './fault.js';
import type { Mm } from './mm.js';
import type { Vma } from './vma.js';

/** enum mmu_notifier_event: why a range is being invalidated. */
export const enum NotifyEvent {
  /** The range is unmapped (munmap, mremap's move). */
  unmap = 0,
  /**
   * Entries are cleared or replaced (MADV_DONTNEED, CoW break, THP split, reclaim, and since
   * 6.15 a CPU fault restoring a device-exclusive entry: remove_device_exclusive_entry).
   */
  clear = 1,
  /** mprotect (change_protection). */
  protectionVma = 2,
  /** fork write-protects a CoW range (copy_page_range). */
  protectionPage = 3,
  /** migrate_vma_* unmapping pages to move them (owner says which driver). */
  migrate = 6,
  /**
   * A page becomes device-exclusive (owner: the driver asking, so that it can ignore its own).
   * Since 6.15 nothing else sends it: taking the page back is MMU_NOTIFY_CLEAR.
   */
  exclusive = 7,
}

/**
 * mm->notifier_subscriptions: every interval notifier registered on one mm. The core calls
 * invalidate for a range before it changes entries there (mmu_notifier_invalidate_range_start
 * and _end as one call: nothing runs in between in this model) and release at exit.
 */
export interface MmuNotifierSubscriptions {
  invalidate(start: number, end: number, event: NotifyEvent, owner: unknown): void;
  /** mmu_notifier_release: the address space is going away (exit_mmap). */
  release(): void;
}

/** mmu_notifier_invalidate_range_start/_end over pages [start, end) of mm. */
export function mmuNotifierInvalidate(
  mm: Mm,
  start: number,
  end: number,
  event: NotifyEvent,
  owner: unknown = null,
): void {
  if (mm.notifier !== null && start < end) mm.notifier.invalidate(start, end, event, owner);
}

/** mmu_notifier_release (exit_mmap, before the page tables are torn down). */
export function mmuNotifierRelease(mm: Mm): void {
  if (mm.notifier !== null) mm.notifier.release();
}

/**
 * struct dev_pagemap_ops for MEMORY_DEVICE_PRIVATE memory: the driver that owns device-private
 * pages. One per kernel here (hetero/ dispatches to the device owning the frame).
 */
export interface DevicePagemap {
  /**
   * migrate_to_ram: a CPU touched a device-private entry (do_swap_page). The driver migrates
   * the page back to system memory; the fault then retries.
   */
  migrateToRam(mm: Mm, vma: Vma, vpn: number, cpu: number): VmFault;
  /** page_free: the last reference to the device page `pfn` (private or coherent) went. */
  pageFree(pfn: number): void;
  /** A CPU load or store reached the device-coherent page `pfn` (over the device's link). */
  cpuAccess?(pfn: number): void;
  /** The CPU copied the device-coherent page `pfn` whole (copy-on-write): 4 KiB over the link. */
  cpuCopy?(pfn: number): void;
}
