// The counters vmlab reports, with Linux's names where Linux has one.
// unit 'bytes' counters are held in bytes (reports print /proc's kB where /proc does);
// 'count' counters are event or object counts.

export type CounterUnit = 'bytes' | 'count' | 'ns';

export interface CounterInfo {
  readonly unit: CounterUnit;
  /** Where the name comes from, and what it means. */
  readonly doc: string;
}

export const PROCESS_COUNTERS = {
  min_flt: { unit: 'count', doc: '/proc/PID/stat minflt: faults that needed no I/O, GUP faults included' },
  maj_flt: { unit: 'count', doc: '/proc/PID/stat majflt: faults that needed I/O' },
  VmSize: { unit: 'bytes', doc: '/proc/PID/status: total mapped virtual memory' },
  VmRSS: { unit: 'bytes', doc: '/proc/PID/status: RssAnon + RssFile + RssShmem' },
  VmHWM: { unit: 'bytes', doc: '/proc/PID/status: peak VmRSS' },
  RssAnon: { unit: 'bytes', doc: '/proc/PID/status: resident anonymous memory (MM_ANONPAGES)' },
  RssFile: { unit: 'bytes', doc: '/proc/PID/status: resident file mappings (MM_FILEPAGES)' },
  RssShmem: { unit: 'bytes', doc: '/proc/PID/status: resident shared memory (MM_SHMEMPAGES)' },
  VmPTE: { unit: 'bytes', doc: '/proc/PID/status: PTE, PMD and PUD table pages (mm->pgtables_bytes)' },
  VmLck: { unit: 'bytes', doc: '/proc/PID/status: size of VM_LOCKED mappings (mm->locked_vm)' },
  VmSwap: { unit: 'bytes', doc: '/proc/PID/status: swapped-out anonymous memory (MM_SWAPENTS)' },
  AnonHugePages: {
    unit: 'bytes',
    doc: '/proc/PID/smaps_rollup: anonymous memory mapped by PMD-mapped transparent huge pages',
  },
  HugetlbPages: {
    unit: 'bytes',
    doc: '/proc/PID/status: hugetlb pages mapped (mm->hugetlb_usage); they are not in VmRSS',
  },
  map_count: { unit: 'count', doc: 'mm->map_count: number of VMAs (/proc/PID/maps lines)' },
  tlb_hits: { unit: 'count', doc: 'vmlab: accesses translated by a TLB hit' },
  tlb_misses: { unit: 'count', doc: 'vmlab: accesses that missed the TLB and walked the page table' },
  page_walks: { unit: 'count', doc: 'vmlab: hardware page-table walks' },
  walk_levels: { unit: 'count', doc: 'vmlab: page-table entries read by walks' },
  sigsegv: { unit: 'count', doc: 'vmlab: SIGSEGV delivered' },
  sigbus: { unit: 'count', doc: 'vmlab: SIGBUS delivered' },
} as const satisfies Record<string, CounterInfo>;

/**
 * Counters of each device (hetero/), reported per device and, summed over the devices, as
 * system counters of the same name.
 */
export const DEVICE_COUNTERS = {
  dev_accesses: { unit: 'count', doc: 'vmlab: accesses made by device kernels' },
  dev_tlb_hits: { unit: 'count', doc: 'vmlab: device accesses translated by the device TLB' },
  dev_tlb_misses: { unit: 'count', doc: 'vmlab: device accesses that walked the device page table' },
  dev_walk_levels: { unit: 'count', doc: 'vmlab: device page-table entries read by walks' },
  dev_faults: { unit: 'count', doc: 'vmlab: device page faults (pages found unmapped or read-only)' },
  dev_fault_batches: { unit: 'count', doc: 'vmlab: batches of device faults the driver serviced' },
  dev_fault_errors: { unit: 'count', doc: 'vmlab: device faults that failed (EFAULT, EPERM)' },
  dev_cpu_accesses: {
    unit: 'count',
    doc: "vmlab: CPU loads and stores that reached the device's coherent memory over its link",
  },
  dev_exclusive: {
    unit: 'count',
    doc: "vmlab: pages made device-exclusive for the device's atomics (make_device_exclusive)",
  },
  dev_cpu_faults: {
    unit: 'count',
    doc: 'vmlab: CPU faults on pages the device owns (device-private entries: migrate_to_ram)',
  },
  dev_migrate_to_device: { unit: 'count', doc: 'vmlab: pages migrated to device memory' },
  dev_migrate_to_system: { unit: 'count', doc: 'vmlab: pages migrated back to system memory' },
  dev_bytes_to_device: { unit: 'bytes', doc: 'vmlab: bytes moved to the device over its link' },
  dev_bytes_to_system: { unit: 'bytes', doc: 'vmlab: bytes moved from the device over its link' },
  dev_remote_accesses: {
    unit: 'count',
    doc: "vmlab: device accesses to system memory or to a peer device's memory, over the link",
  },
  dev_peer_accesses: {
    unit: 'count',
    doc: "vmlab: device accesses to another device's memory (a peer's device-private page, another device's coherent page; also in dev_remote_accesses)",
  },
  dev_link_busy: {
    unit: 'ns',
    doc: 'vmlab: time the link was busy (latency + bytes / bandwidth per transfer)',
  },
  dev_tlb_invalidations: { unit: 'count', doc: 'vmlab: device TLB invalidations (one per range flushed)' },
  dev_memory_used: { unit: 'bytes', doc: 'vmlab: device memory in use (device-private pages, page tables)' },
  dev_leaf_splits: {
    unit: 'count',
    doc: 'vmlab: large device page-table leaves (64 KiB, 2 MiB) split to unmap, protect or remap part of one',
  },
  dev_pt_pages_freed: {
    unit: 'count',
    doc: "vmlab: device page-table pages freed while the context lives: a table whose last valid entry went (and the directories it left empty, never the root), or a PTE table a 2 MiB leaf replaced (nouveau's nvkm_vmm_unref_ptes/unref_pdes)",
  },
  dev_evictions: {
    unit: 'count',
    doc: 'vmlab: 2 MiB chunks of device memory evicted to make room (eviction policy)',
  },
  dev_evicted_pages: {
    unit: 'count',
    doc: 'vmlab: pages evicted to system memory (also in dev_migrate_to_system)',
  },
  dev_prefetch_pages: {
    unit: 'count',
    doc: 'vmlab: pages a fault batch serviced beyond its faults (prefetch policy)',
  },
  dev_thrashing_pages: { unit: 'count', doc: 'vmlab: pages found thrashing (thrashing policy)' },
  dev_thrashing_remote: {
    unit: 'count',
    doc: 'vmlab: pages mapped remotely instead of migrated because they thrash (pinned or remote)',
  },
  dev_access_notifications: {
    unit: 'count',
    doc: 'vmlab: access-counter notifications (a region reached the threshold of remote accesses)',
  },
  hmm_invalidations: {
    unit: 'count',
    doc: 'vmlab: mmu_interval_notifier invalidate callbacks (mmu_notifier_invalidate_range_start)',
  },
  hmm_retries: {
    unit: 'count',
    doc: 'vmlab: mmu_interval_read_retry that found the range invalidated (the driver retried)',
  },
  lock_mmap_read: { unit: 'count', doc: 'vmlab: mmap_lock taken for read by device work' },
  lock_ptl: { unit: 'count', doc: 'vmlab: page-table locks taken by device work (one per PTE table)' },
  lock_notifier: {
    unit: 'count',
    doc: "vmlab: the driver's notifier lock (invalidate, device page-table updates)",
  },
  gm_peer_va_alloc_fixed: {
    unit: 'count',
    doc: 'gmem gm_mmu->peer_va_alloc_fixed calls: a peer-shared range reserved on the device',
  },
  gm_peer_va_free: { unit: 'count', doc: 'gmem peer_va_free calls (munmap_in_peer_devices, detach)' },
  gm_peer_map: {
    unit: 'count',
    doc: 'gmem peer_map calls: a device page (page_size) mapped, with copy or not',
  },
  gm_peer_unmap: {
    unit: 'count',
    doc: 'gmem peer_unmap calls: a device page unmapped (copied back when evicted or faulted home)',
  },
  gm_pmap_create: {
    unit: 'count',
    doc: 'gmem pmap_create calls (gm_as_attach: the device page table of a context)',
  },
  gm_pmap_destroy: { unit: 'count', doc: 'gmem pmap_destroy calls' },
  gm_pmap_enter: { unit: 'count', doc: 'gmem pmap_enter calls (one per device page mapped)' },
  gm_pmap_release: { unit: 'count', doc: 'gmem pmap_release calls (one per device page unmapped)' },
  gm_pmap_protect: { unit: 'count', doc: 'gmem pmap_protect calls' },
  gm_tlb_invl: { unit: 'count', doc: 'gmem tlb_invl calls (one range of one context)' },
  gm_tlb_invl_coalesced: {
    unit: 'count',
    doc: 'gmem tlb_invl_coalesced calls (many mappings at once: munmap, eviction)',
  },
  gm_va_conflicts: {
    unit: 'count',
    doc: 'vmlab: peer_va_alloc_fixed refusals (the range is taken on the device)',
  },
  gm_prefetch_works: {
    unit: 'count',
    doc: 'vmlab: hmadvise PREFETCH work items queued (GM_WORK_CONCURRENCY splits)',
  },
  gm_ret_failure: {
    unit: 'count',
    doc: 'vmlab: hmadvise calls that returned GM_RET_FAILURE_UNKNOWN (4, not an errno)',
  },
  lock_vm_object: { unit: 'count', doc: 'vmlab: vm_object (logical page table) lock acquisitions' },
  lock_gm_mapping: { unit: 'count', doc: 'vmlab: gm_mapping lock acquisitions' },
} as const satisfies Record<string, CounterInfo>;
export type DeviceCounter = keyof typeof DEVICE_COUNTERS;

export const SYSTEM_COUNTERS = {
  pgfault: { unit: 'count', doc: '/proc/vmstat: faults handled by handle_mm_fault' },
  pgmajfault: { unit: 'count', doc: '/proc/vmstat: major faults' },
  pgalloc: { unit: 'count', doc: '/proc/vmstat pgalloc_*: pages allocated (order-n counts 2^n)' },
  pgfree: { unit: 'count', doc: '/proc/vmstat: pages freed' },
  MemTotal: { unit: 'bytes', doc: '/proc/meminfo: memory of all nodes' },
  MemFree: { unit: 'bytes', doc: '/proc/meminfo: free memory' },
  AnonPages: { unit: 'bytes', doc: '/proc/meminfo: anonymous pages mapped in page tables' },
  Shmem: { unit: 'bytes', doc: '/proc/meminfo: shared memory (shared anonymous) pages' },
  Cached: { unit: 'bytes', doc: '/proc/meminfo: page-cache pages, shmem included' },
  Dirty: { unit: 'bytes', doc: '/proc/meminfo: page-cache pages waiting to be written back' },
  Mapped: { unit: 'bytes', doc: '/proc/meminfo: page-cache pages mapped by page tables (NR_FILE_MAPPED)' },
  pgpgin: { unit: 'count', doc: '/proc/vmstat: KiB read from disk' },
  pgpgout: { unit: 'count', doc: '/proc/vmstat: KiB written to disk' },
  nr_written: { unit: 'count', doc: '/proc/vmstat: pages written back' },
  'Active(anon)': { unit: 'bytes', doc: '/proc/meminfo: anonymous and shmem pages on the active LRU' },
  'Inactive(anon)': { unit: 'bytes', doc: '/proc/meminfo: anonymous and shmem pages on the inactive LRU' },
  'Active(file)': { unit: 'bytes', doc: '/proc/meminfo: file pages on the active LRU' },
  'Inactive(file)': { unit: 'bytes', doc: '/proc/meminfo: file pages on the inactive LRU' },
  Unevictable: { unit: 'bytes', doc: '/proc/meminfo: pages on the unevictable LRU (mlocked)' },
  SwapTotal: { unit: 'bytes', doc: '/proc/meminfo: swap space' },
  SwapFree: { unit: 'bytes', doc: '/proc/meminfo: unused swap space' },
  SwapCached: { unit: 'bytes', doc: '/proc/meminfo: pages in the swap cache (in memory and in swap)' },
  pswpin: { unit: 'count', doc: '/proc/vmstat: pages read from swap' },
  pswpout: { unit: 'count', doc: '/proc/vmstat: pages written to swap' },
  pgscan_kswapd: { unit: 'count', doc: '/proc/vmstat: inactive pages scanned by kswapd' },
  pgscan_direct: { unit: 'count', doc: '/proc/vmstat: inactive pages scanned by direct reclaim' },
  pgsteal_kswapd: { unit: 'count', doc: '/proc/vmstat: pages reclaimed by kswapd' },
  pgsteal_direct: { unit: 'count', doc: '/proc/vmstat: pages reclaimed by direct reclaim' },
  pgscan_anon: { unit: 'count', doc: '/proc/vmstat: anonymous (and shmem) pages scanned' },
  pgscan_file: { unit: 'count', doc: '/proc/vmstat: file pages scanned' },
  pgsteal_anon: { unit: 'count', doc: '/proc/vmstat: anonymous (and shmem) pages reclaimed' },
  pgsteal_file: { unit: 'count', doc: '/proc/vmstat: file pages reclaimed' },
  pgrefill: { unit: 'count', doc: '/proc/vmstat: active pages scanned (shrink_active_list)' },
  pgactivate: { unit: 'count', doc: '/proc/vmstat: pages moved to an active list' },
  pgdeactivate: { unit: 'count', doc: '/proc/vmstat: pages moved to an inactive list' },
  pgrotated: { unit: 'count', doc: '/proc/vmstat: written-back pages rotated to the inactive tail' },
  pageoutrun: { unit: 'count', doc: '/proc/vmstat: kswapd runs (balance_pgdat)' },
  allocstall: { unit: 'count', doc: '/proc/vmstat allocstall_*: allocations that entered direct reclaim' },
  workingset_refault_anon: {
    unit: 'count',
    doc: '/proc/vmstat: anon pages faulted back in with a shadow entry',
  },
  workingset_refault_file: {
    unit: 'count',
    doc: '/proc/vmstat: file pages read back in with a shadow entry',
  },
  workingset_activate_anon: { unit: 'count', doc: '/proc/vmstat: anon refaults activated at once' },
  workingset_activate_file: { unit: 'count', doc: '/proc/vmstat: file refaults activated at once' },
  workingset_restore_anon: { unit: 'count', doc: '/proc/vmstat: anon refaults that were in the workingset' },
  workingset_restore_file: { unit: 'count', doc: '/proc/vmstat: file refaults that were in the workingset' },
  oom_kill: { unit: 'count', doc: '/proc/vmstat: processes killed by the OOM killer' },
  balloon: {
    unit: 'bytes',
    doc: 'vmlab: memory held by the balloon step (virtio-balloon: PageOffline pages)',
  },
  pglazyfree: { unit: 'count', doc: '/proc/vmstat: pages marked lazily free (MADV_FREE)' },
  pglazyfreed: { unit: 'count', doc: '/proc/vmstat: lazily free pages discarded by reclaim' },
  PageTables: { unit: 'bytes', doc: '/proc/meminfo: page-table pages of all processes (top level included)' },
  Mlocked: { unit: 'bytes', doc: '/proc/meminfo: mlocked pages' },
  AnonHugePages: { unit: 'bytes', doc: '/proc/meminfo: anonymous THPs mapped by a PMD (NR_ANON_THPS)' },
  HugePages_Total: { unit: 'count', doc: '/proc/meminfo: pages in the pool of the default (2 MiB) size' },
  HugePages_Free: { unit: 'count', doc: '/proc/meminfo: default-size pool pages not yet allocated' },
  HugePages_Rsvd: {
    unit: 'count',
    doc: '/proc/meminfo: default-size pool pages reserved by mmap but not yet allocated',
  },
  HugePages_Surp: {
    unit: 'count',
    doc: '/proc/meminfo: default-size pool pages above the persistent pool (nr_overcommit_hugepages)',
  },
  Hugepagesize: { unit: 'bytes', doc: '/proc/meminfo: the default huge page size' },
  Hugetlb: { unit: 'bytes', doc: '/proc/meminfo: memory of every hugetlb pool, all sizes' },
  'hugepages-2048kB.nr_hugepages': {
    unit: 'count',
    doc: '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages',
  },
  'hugepages-2048kB.free_hugepages': { unit: 'count', doc: 'sysfs hugepages-2048kB/free_hugepages' },
  'hugepages-2048kB.resv_hugepages': { unit: 'count', doc: 'sysfs hugepages-2048kB/resv_hugepages' },
  'hugepages-2048kB.surplus_hugepages': { unit: 'count', doc: 'sysfs hugepages-2048kB/surplus_hugepages' },
  'hugepages-1048576kB.nr_hugepages': {
    unit: 'count',
    doc: '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages',
  },
  'hugepages-1048576kB.free_hugepages': { unit: 'count', doc: 'sysfs hugepages-1048576kB/free_hugepages' },
  'hugepages-1048576kB.resv_hugepages': { unit: 'count', doc: 'sysfs hugepages-1048576kB/resv_hugepages' },
  'hugepages-1048576kB.surplus_hugepages': {
    unit: 'count',
    doc: 'sysfs hugepages-1048576kB/surplus_hugepages',
  },
  htlb_buddy_alloc_success: {
    unit: 'count',
    doc: '/proc/vmstat: hugetlb pages taken from the buddy allocator (boot pool, surplus)',
  },
  htlb_buddy_alloc_fail: { unit: 'count', doc: '/proc/vmstat: hugetlb buddy allocations that failed' },
  thp_fault_alloc: { unit: 'count', doc: '/proc/vmstat: THPs allocated and mapped to handle a page fault' },
  thp_fault_fallback: {
    unit: 'count',
    doc: '/proc/vmstat: page faults that wanted a THP, found no free 2 MiB block and fell back to 4 KiB',
  },
  thp_collapse_alloc: { unit: 'count', doc: '/proc/vmstat: THPs khugepaged allocated to collapse a range' },
  thp_collapse_alloc_failed: { unit: 'count', doc: '/proc/vmstat: khugepaged THP allocations that failed' },
  thp_split_page: { unit: 'count', doc: '/proc/vmstat: THPs split into 4 KiB pages' },
  thp_split_pmd: {
    unit: 'count',
    doc: '/proc/vmstat: huge PMDs split into a table of PTEs (the folio stays whole)',
  },
  thp_deferred_split_page: {
    unit: 'count',
    doc: '/proc/vmstat: THPs put on the deferred split queue (partially unmapped)',
  },
  thp_zero_page_alloc: { unit: 'count', doc: '/proc/vmstat: huge zero pages allocated (not each mapping)' },
  thp_zero_page_alloc_failed: { unit: 'count', doc: '/proc/vmstat: huge zero page allocations that failed' },
  thp_swpout_fallback: { unit: 'count', doc: '/proc/vmstat: THPs split to be swapped out page by page' },
  khugepaged_pages_collapsed: {
    unit: 'count',
    doc: '/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed: ranges khugepaged collapsed',
  },
  khugepaged_full_scans: {
    unit: 'count',
    doc: '/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans: complete passes over its mm list',
  },
  nr_tlb_remote_flush: { unit: 'count', doc: '/proc/vmstat: TLB shootdowns sent (one per flush request)' },
  nr_tlb_remote_flush_received: { unit: 'count', doc: '/proc/vmstat: shootdown IPIs received by other CPUs' },
  nr_tlb_local_flush_all: { unit: 'count', doc: '/proc/vmstat: full local TLB flushes' },
  nr_tlb_local_flush_one: { unit: 'count', doc: '/proc/vmstat: single-page local TLB flushes' },
  tlb_hits: { unit: 'count', doc: 'vmlab: accesses translated by a TLB hit, all CPUs' },
  tlb_misses: { unit: 'count', doc: 'vmlab: TLB misses, all CPUs' },
  page_walks: { unit: 'count', doc: 'vmlab: hardware page-table walks, all CPUs' },
  walk_levels: { unit: 'count', doc: 'vmlab: page-table entries read by walks' },
  pages_zeroed: {
    unit: 'count',
    doc: 'vmlab: data pages cleared for new anonymous, shmem or huge pages (clear_page; a THP or hugetlb page counts all its base pages)',
  },
  pages_copied: { unit: 'count', doc: 'vmlab: pages copied by copy-on-write faults (copy_page)' },
  ptes_copied: { unit: 'count', doc: 'vmlab: page-table entries copied by fork (copy_pte_range)' },
  device_exclusive_restored: {
    unit: 'count',
    doc: 'vmlab: device-exclusive entries made ordinary again by a CPU fault or fork (restore_exclusive_pte)',
  },
  vma_lock_success: {
    unit: 'count',
    doc: '/proc/vmstat (CONFIG_PER_VMA_LOCK_STATS): CPU faults handled under the per-VMA lock alone',
  },
  vma_lock_abort: {
    unit: 'count',
    doc: '/proc/vmstat: lock_vma_under_rcu calls that found no VMA at the address (fault or madvise); the caller took mmap_lock',
  },
  vma_lock_retry: {
    unit: 'count',
    doc: '/proc/vmstat: faults under the per-VMA lock that returned VM_FAULT_RETRY (I/O of filemap_fault, async readahead, migrate_to_ram) and ran again under mmap_lock',
  },
  lock_cpu_mmap_read: {
    unit: 'count',
    doc: 'vmlab: mmap_lock taken for read by CPU-side work: fault fallbacks (lock_mm_and_find_vma), vmf_anon_prepare trylock under the VMA lock, populate (GUP), madvise by advice, exec and exit_mmap',
  },
  lock_cpu_mmap_write: {
    unit: 'count',
    doc: 'vmlab: mmap_lock taken for write by syscalls: mmap, munmap, mremap, mprotect, brk, mlock/munlock, fork (parent and child), madvise that changes VMA flags, exit_mmap (freeing tables)',
  },
  lock_cpu_mmap_downgrade: {
    unit: 'count',
    doc: 'vmlab: mmap_write_downgrade calls (munmap and brk shrink zap under the read lock: vms_complete_munmap_vmas)',
  },
  lock_cpu_vma_read: {
    unit: 'count',
    doc: 'vmlab: per-VMA locks taken for read (lock_vma_under_rcu returned a VMA): CPU faults, madvise(MADV_DONTNEED/FREE)',
  },
  lock_cpu_ptl: {
    unit: 'count',
    doc: 'vmlab: PTE-table locks taken by CPU-side work: per fault stage, one per PTE table a zap, change_protection visits, two per table copy_pte_range copies (child and parent)',
  },
  lock_cpu_pmd: {
    unit: 'count',
    doc: 'vmlab: PMD locks (pmd_lock) taken by CPU-side work: pmd_install of a new PTE table, huge-PMD faults, zap, protect and copy (two), PT reclaim',
  },
  est_time: {
    unit: 'ns',
    doc: 'vmlab: estimated time of the memory-management work (sim/cost.ts), nanoseconds',
  },
  oom_events: { unit: 'count', doc: 'vmlab: allocations that found no memory (ENOMEM / OOM)' },
  processes: { unit: 'count', doc: 'vmlab: live processes' },
  device_private_entries: {
    unit: 'count',
    doc: "vmlab: device-private swap entries in CPU page tables (hmm's record of pages on a device; their bytes are in page_table)",
  },
  ...DEVICE_COUNTERS,
} as const satisfies Record<string, CounterInfo>;

export type ProcessCounter = keyof typeof PROCESS_COUNTERS;
export type SystemCounter = keyof typeof SYSTEM_COUNTERS;

/** Metadata structures whose live and peak host-equivalent bytes are reported (`meta.<name>`). */
export const META_STRUCTURES = {
  struct_page: 'per-frame metadata, 64 B a frame (include/linux/mm_types.h)',
  vm_area_struct: 'one per VMA',
  anon_vma: 'one per anon_vma (mm/rmap.c)',
  anon_vma_chain: 'one per VMA-anon_vma link, 64 B',
  page_table: 'page-table pages, 4 KiB each, top level included',
  xa_node: 'page-cache xarray nodes, 576 B each (lib/xarray.c struct xa_node)',
  device_page_table: 'device page-table pages in device memory, 4 KiB each (hetero/)',
  mmu_interval_notifier: 'struct mmu_interval_notifier, 88 B each (include/linux/mmu_notifier.h)',
  vm_object: 'gmem struct vm_object with its struct xarray, 40 B per process with peer-shared memory',
  gm_mapping: 'gmem struct gm_mapping, 48 B each (flag, page/dev union, mutex)',
  vm_object_xa_node: 'xarray nodes of gmem logical page tables, 576 B each',
  hnode_gm_mapping:
    "gmem: the struct gm_mapping array gm_dev_register_physmem allocates for a device's memory, 48 B per 4 KiB device page (its struct page stand-in)",
  hnode_xa_node: "gmem: the xarray nodes of each hnode's page index (hnode->pages), 576 B each",
} as const;
export type MetaStructure = keyof typeof META_STRUCTURES;
