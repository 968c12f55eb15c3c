// The cost model: counts turned into an estimate of the time the modelled kernel and hardware
// spend (DESIGN.md principle 5). Each constant is named, documented and configurable
// (machine.costs in a scenario); the defaults are orders of magnitude for a current x86-64
// server with an NVMe disk and zram swap, not measurements of any one machine. The estimate
// is the sum of count x cost over the categories below; data accesses that hit the TLB and
// the caches cost nothing here, so it measures memory-management overhead, not run time.

import type { SystemCounters } from './system.js';

export const COSTS = {
  fault: { ns: 250, doc: 'a page fault: exception entry, handle_mm_fault, return (per pgfault)' },
  page_zero: { ns: 250, doc: 'clearing a 4 KiB page (clear_page, about 16 GB/s); page tables included' },
  page_copy: { ns: 400, doc: 'copying a 4 KiB page for copy-on-write (copy_page, about 10 GB/s)' },
  pte_copy: { ns: 10, doc: 'fork: copying one page-table entry and taking its page reference' },
  page_alloc: { ns: 80, doc: 'the buddy allocator, per page allocated' },
  page_free: { ns: 60, doc: 'the buddy allocator, per page freed' },
  walk_level: { ns: 5, doc: 'one page-table entry read by the hardware walker (a cache hit)' },
  tlb_flush_one: { ns: 100, doc: 'a local single-page TLB flush (INVLPG)' },
  tlb_flush_all: { ns: 200, doc: 'a local full TLB flush of an address space (INVPCID / CR3 write)' },
  ipi_send: { ns: 1500, doc: 'a TLB shootdown as its sender waits for it (flush_tlb_multi round trip)' },
  ipi_receive: { ns: 1000, doc: 'a TLB shootdown interrupt on a target CPU' },
  disk_read: { ns: 80_000, doc: 'reading a 4 KiB page from the disk (NVMe random read)' },
  disk_write: { ns: 20_000, doc: 'writing back a 4 KiB page to the disk (amortised, queued)' },
  swap_out: { ns: 4_000, doc: 'compressing a page into zram (pswpout)' },
  swap_in: { ns: 2_000, doc: 'decompressing a page from zram (pswpin)' },
  reclaim_scan: { ns: 150, doc: 'reclaim looking at one LRU page: isolation, rmap walk, references' },
  dev_fault_batch: {
    ns: 20_000,
    doc: 'a batch of device faults: the interrupt, fetching the fault buffer, the replay (UVM-like driver)',
  },
  dev_fault: { ns: 1_000, doc: 'servicing one device fault in a batch (lookup, hmm_range_fault, mapping)' },
  migrate_kib: { ns: 40, doc: 'moving 1 KiB between system and device memory over the link (about 25 GB/s)' },
  remote_access: { ns: 1_000, doc: 'a device access to system memory across the link (PCIe round trip)' },
  coherent_access: {
    ns: 500,
    doc: 'a CPU load or store to device-coherent memory across the link (a CXL or xGMI round trip)',
  },
  dev_tlb_invalidate: {
    ns: 2_000,
    doc: 'a device TLB invalidation: the command and waiting for its completion',
  },
  dev_evict_chunk: {
    ns: 10_000,
    doc: 'evicting a 2 MiB chunk of device memory: choosing it, unmapping its pages everywhere (copies: migrate_kib)',
  },
  access_counter_notification: {
    ns: 5_000,
    doc: 'servicing an access-counter notification: the interrupt and the notification entry (copies: migrate_kib)',
  },
  notifier_invalidate: {
    ns: 300,
    doc: "an mmu_interval_notifier callback: the driver's lock and its page-table update",
  },
  gm_mmu_op: {
    ns: 300,
    doc: "a gmem gm_mmu call that changes a device's mappings outside a fault (peer_unmap, pmap_protect): the driver's page-table update, as notifier_invalidate is hmm's",
  },
} as const;

export type CostName = keyof typeof COSTS;
export type CostOverrides = Partial<Record<CostName, number>>;

/** How many of each costed event the counters record. */
function counts(c: SystemCounters, tableAllocs: number): Record<CostName, number> {
  return {
    fault: c.pgfault,
    page_zero: c.pages_zeroed + tableAllocs,
    page_copy: c.pages_copied,
    pte_copy: c.ptes_copied,
    page_alloc: c.pgalloc,
    page_free: c.pgfree,
    walk_level: c.walk_levels,
    tlb_flush_one: c.nr_tlb_local_flush_one,
    tlb_flush_all: c.nr_tlb_local_flush_all,
    ipi_send: c.nr_tlb_remote_flush,
    ipi_receive: c.nr_tlb_remote_flush_received,
    disk_read: c.pgpgin / 4,
    disk_write: c.pgpgout / 4,
    swap_out: c.pswpout,
    swap_in: c.pswpin,
    reclaim_scan: c.pgscan_kswapd + c.pgscan_direct + c.pgrefill,
    dev_fault_batch: c.dev_fault_batches,
    dev_fault: c.dev_faults,
    migrate_kib: (c.dev_bytes_to_device + c.dev_bytes_to_system) / 1024,
    remote_access: c.dev_remote_accesses,
    coherent_access: c.dev_cpu_accesses,
    dev_tlb_invalidate: c.dev_tlb_invalidations,
    dev_evict_chunk: c.dev_evictions,
    access_counter_notification: c.dev_access_notifications,
    notifier_invalidate: c.hmm_invalidations,
    gm_mmu_op: c.gm_peer_unmap + c.gm_pmap_protect,
  };
}

/** The estimate: nanoseconds per category and in all. */
export function estimateTime(
  c: SystemCounters,
  tableAllocs: number,
  overrides: CostOverrides = {},
): { total: number; parts: Record<CostName, number> } {
  const n = counts(c, tableAllocs);
  const parts = {} as Record<CostName, number>;
  let total = 0;
  for (const name of Object.keys(COSTS) as CostName[]) {
    const ns = n[name] * (overrides[name] ?? COSTS[name].ns);
    parts[name] = ns;
    total += ns;
  }
  return { total, parts };
}
