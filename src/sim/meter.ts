// Meters: event counters kept by the kernel model, and metadata bytes by structure.
// Reports read them; nothing here changes simulated state.

import type { MetaStructure } from './counter-names.js';

/** System-wide event counters with /proc/vmstat names. */
export class Vmstat {
  pgfault = 0;
  pgmajfault = 0;
  nr_tlb_remote_flush = 0;
  nr_tlb_remote_flush_received = 0;
  nr_tlb_local_flush_all = 0;
  nr_tlb_local_flush_one = 0;
  /** KiB read from and written to the disk. */
  pgpgin = 0;
  pgpgout = 0;
  /** Pages written back. */
  nr_written = 0;
  // Reclaim (mm/vmscan.c) and swap.
  pgactivate = 0;
  pgdeactivate = 0;
  pgrefill = 0;
  pgrotated = 0;
  pgscan_kswapd = 0;
  pgscan_direct = 0;
  pgsteal_kswapd = 0;
  pgsteal_direct = 0;
  pgscan_anon = 0;
  pgscan_file = 0;
  pgsteal_anon = 0;
  pgsteal_file = 0;
  pageoutrun = 0;
  allocstall = 0;
  pswpin = 0;
  pswpout = 0;
  workingset_refault_anon = 0;
  workingset_refault_file = 0;
  workingset_activate_anon = 0;
  workingset_activate_file = 0;
  workingset_restore_anon = 0;
  workingset_restore_file = 0;
  oom_kill = 0;
  pglazyfree = 0;
  pglazyfreed = 0;
  /** vmlab: data pages cleared (clear_page) and copied (copy-on-write), entries copied by fork. */
  pages_zeroed = 0;
  pages_copied = 0;
  ptes_copied = 0;
  /** vmlab: device-exclusive entries a CPU fault or fork restored (restore_exclusive_pte). */
  device_exclusive_restored = 0;
  // Transparent huge pages (Documentation/admin-guide/mm/transhuge.rst, "Monitoring usage").
  thp_fault_alloc = 0;
  thp_fault_fallback = 0;
  thp_collapse_alloc = 0;
  thp_collapse_alloc_failed = 0;
  thp_split_page = 0;
  thp_split_pmd = 0;
  thp_deferred_split_page = 0;
  thp_zero_page_alloc = 0;
  thp_zero_page_alloc_failed = 0;
  thp_swpout_fallback = 0;
  // Per-VMA lock events of the page-fault handler (CONFIG_PER_VMA_LOCK_STATS, mm/mmap_lock.c
  // lock_vma_under_rcu, arch/x86/mm/fault.c do_user_addr_fault). vma_lock_miss (a VMA replaced
  // under RCU) needs a concurrent writer, which a sequential model never has.
  vma_lock_success = 0;
  vma_lock_abort = 0;
  vma_lock_retry = 0;
}

/**
 * Lock acquisitions by CPU-side kernel work: the memory syscalls and the page-fault handler
 * (whoever called it). Plain integer fields: the fault path increments them. Device work
 * counts its own (DEVICE_COUNTERS lock_*).
 */
export class CpuLocks {
  /** mmap_lock taken for read (mmap_read_lock, trylock, lock_mm_and_find_vma). */
  mmapRead = 0;
  /** mmap_lock taken for write. */
  mmapWrite = 0;
  /** mmap_write_downgrade: a write hold turned into a read hold (not an acquisition). */
  mmapDowngrade = 0;
  /** Per-VMA locks taken for read (lock_vma_under_rcu that returned a VMA). */
  vmaRead = 0;
  /** PTE-table split locks (pte_offset_map_lock, pte_alloc_map_lock, nested source locks). */
  ptl = 0;
  /** PMD locks (pmd_lock: huge PMDs, pmd_install of a new PTE table, PT reclaim). */
  pmd = 0;
}

/** Live and peak bytes per metadata structure, as the real kernel would spend them. */
export class MetaMeter {
  readonly live = new Map<MetaStructure, number>();
  readonly peak = new Map<MetaStructure, number>();

  add(s: MetaStructure, bytes: number): void {
    const v = (this.live.get(s) ?? 0) + bytes;
    this.live.set(s, v);
    if (v > (this.peak.get(s) ?? 0)) this.peak.set(s, v);
  }

  sub(s: MetaStructure, bytes: number): void {
    const v = (this.live.get(s) ?? 0) - bytes;
    if (v < 0) throw new Error(`MetaMeter.sub: ${s} would go negative`);
    this.live.set(s, v);
  }

  /** Set a structure whose size is fixed or derived (struct_page, page tables). */
  set(s: MetaStructure, bytes: number): void {
    this.live.set(s, bytes);
    if (bytes > (this.peak.get(s) ?? 0)) this.peak.set(s, bytes);
  }
}
