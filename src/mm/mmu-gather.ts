// struct mmu_gather (mm/mmu_gather.c, include/asm-generic/tlb.h, arch/x86/include/asm/tlb.h):
// what an unmap or a protection change has cleared, so that TLBs are flushed once, late, for
// the union of it, and before the freed pages and tables can be reused.
//
// As x86-64 configures it: MMU_GATHER_MERGE_VMAS (tlb_end_vma does not flush, so one gather
// flushes once for every VMA of a call, holes between them included) and
// MMU_GATHER_RCU_TABLE_FREE (freed tables queue in a table batch of their own). A flush
// happens at tlb_finish_mmu, when the page batches are full (zap_pte_range's force_flush),
// at the end of a PTE table that held a dirty page of a file or shmem mapping (its rmap
// removal is delayed until after the flush: tlb_delay_rmap), and when the table batch fills.
//
// vmlab frees pages and tables at once rather than after the flush; nothing can reuse them
// in between, so only the flushes are modelled. Ranges are in pages.

import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';

/** MMU_GATHER_BUNDLE: pages the on-stack batch holds. */
const BUNDLE = 8;
/** MAX_GATHER_BATCH: (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(void *). */
const BATCH = (4096 - 16) / 8;
/** MAX_GATHER_BATCH_COUNT: 10000 / MAX_GATHER_BATCH batch pages at most. */
const BATCH_COUNT = Math.floor(10000 / BATCH);
/** MAX_TABLE_BATCH: (PAGE_SIZE - sizeof(struct mmu_table_batch)) / sizeof(void *), rcu_head included. */
const TABLE_BATCH = (4096 - 24) / 8;

/** The levels at which entries were cleared (cleared_ptes, _pmds, _puds, _p4ds). */
const enum Cleared {
  ptes = 1,
  pmds = 2,
  puds = 4,
  p4ds = 8,
}

export class MmuGather {
  readonly k: Kernel;
  readonly mm: Mm;
  /** The CPU that initiates the flushes (the task's). */
  readonly cpu: number;
  /** The range to flush, [start, end); empty when start >= end. */
  private start = Number.POSITIVE_INFINITY;
  private end = 0;
  private cleared = 0;
  private freedTables = false;
  private delayedRmap = false;
  /** The active page batch (0: the on-stack bundle), its fill, and batch pages allocated. */
  private active = 0;
  private nr = 0;
  private batches = 0;
  /** Tables in the table batch. */
  private tables = 0;

  /** tlb_gather_mmu */
  constructor(k: Kernel, mm: Mm, cpu: number) {
    this.k = k;
    this.mm = mm;
    this.cpu = cpu;
  }

  /** tlb_flush_pte_range (tlb_remove_tlb_entry, and mprotect's pte_needs_flush): 4 KiB entries. */
  ptes(vpn: number, pages: number): void {
    this.adjust(vpn, pages);
    this.cleared |= Cleared.ptes;
  }

  /** A present leaf of 2^order pages was cleared (tlb_remove_tlb_entry, tlb_remove_pmd/pud_tlb_entry). */
  leaf(vpn: number, order: number): void {
    this.adjust(vpn, 2 ** order);
    this.cleared |= order === 0 ? Cleared.ptes : order === 9 ? Cleared.pmds : Cleared.puds;
  }

  /**
   * __tlb_remove_folio_pages for one page: queue it to be freed after the flush. `delayRmap`:
   * a dirty page that is not anonymous, whose rmap removal waits for the flush. True when the
   * batches are full: the caller must flush (tlb_flush_mmu) before it goes on.
   */
  page(delayRmap: boolean): boolean {
    if (delayRmap) this.delayedRmap = true;
    this.nr++;
    // "Make sure that we can always add another page + nr_pages": a batch is full one early.
    if (this.nr < (this.active === 0 ? BUNDLE : BATCH) - 1) return false;
    // tlb_next_batch: no new batch while delayed rmaps are pending outside the bundle.
    if (this.delayedRmap && this.active !== 0) return true;
    if (this.active === this.batches) {
      if (this.batches === BATCH_COUNT) return true;
      this.batches++; // __get_free_page(GFP_NOWAIT) for a new batch: assumed to succeed
    }
    this.active++;
    this.nr = 0;
    return false;
  }

  /**
   * A table page was freed (pte_free_tlb, pmd_free_tlb, pud_free_tlb, p4d_free_tlb): the range
   * grows by the first page of the span it mapped, the entry above is "cleared", and the
   * table joins the table batch (tlb_remove_table), whose filling flushes.
   */
  readonly table = (level: number, vpn: number): void => {
    this.adjust(vpn, 1);
    this.freedTables = true;
    if (level === 0) this.cleared |= Cleared.pmds;
    else if (level === 1) this.cleared |= Cleared.puds;
    else if (level === 2) this.cleared |= Cleared.p4ds;
    if (++this.tables === TABLE_BATCH) {
      this.flushTlbOnly(); // tlb_table_flush -> tlb_table_invalidate
      this.tables = 0;
    }
  };

  /** tlb_flush_mmu_tlbonly: flush what was gathered, if anything, and start a new range. */
  flushTlbOnly(): void {
    if (this.cleared === 0 && !this.freedTables) return;
    // tlb_flush (x86): flush_tlb_mm_range(mm, start, end, tlb_get_unmap_shift(tlb), freed_tables)
    this.k.flushTlbMmRange(this.mm, this.cpu, this.start, this.end, this.strideShift());
    this.start = Number.POSITIVE_INFINITY;
    this.end = 0;
    this.cleared = 0;
    this.freedTables = false;
  }

  /** tlb_flush_mmu: the flush, then the queued pages, delayed rmaps and tables are let go. */
  flushMmu(): void {
    this.flushTlbOnly();
    this.delayedRmap = false; // tlb_flush_rmaps
    this.active = 0;
    this.nr = 0;
    this.tables = 0;
  }

  /** tlb_finish_mmu */
  finish(): void {
    this.flushMmu();
  }

  /** Whether anything waits to be flushed (for tests). */
  get pending(): boolean {
    return this.cleared !== 0 || this.freedTables;
  }

  /** tlb_get_unmap_shift: the smallest entry size cleared, in log2 pages. */
  private strideShift(): number {
    const c = this.cleared;
    if (c & Cleared.ptes) return 0;
    if (c & Cleared.pmds) return 9;
    if (c & Cleared.puds) return 18;
    if (c & Cleared.p4ds) return 27;
    return 0;
  }

  /** __tlb_adjust_range */
  private adjust(vpn: number, pages: number): void {
    if (vpn < this.start) this.start = vpn;
    if (vpn + pages > this.end) this.end = vpn + pages;
  }
}
