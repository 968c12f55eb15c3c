// Kernel-wide state of transparent huge pages: the settings, the huge zero page, the deferred
// split queue and khugepaged's scan list and cursor (mm/huge_memory.c, mm/khugepaged.c).

import type { ThpConfig } from '../workload/scenario.js';
import type { Mm } from './mm.js';

/** Linux's defaults (transhuge.rst; khugepaged_init): madvise, the huge zero page on,
 * pages_to_scan 8 * HPAGE_PMD_NR, max_ptes_none HPAGE_PMD_NR - 1, max_ptes_swap
 * HPAGE_PMD_NR / 8, max_ptes_shared HPAGE_PMD_NR / 2. */
export const DEFAULT_THP: ThpConfig = {
  enabled: 'madvise',
  useZeroPage: true,
  pagesToScan: 4096,
  maxPtesNone: 511,
  maxPtesSwap: 64,
  maxPtesShared: 256,
};

export class ThpState {
  readonly config: ThpConfig;
  /** Head pfn of the huge zero folio, or -1 while there is none (huge_zero_folio). */
  hugeZeroPfn = -1;
  /** huge_zero_refcount: one per mm holding MMF_HUGE_ZERO_PAGE, plus the shrinker's one. */
  hugeZeroRefs = 0;
  /**
   * The deferred split queue (deferred_split_queue): heads of partially mapped anonymous THPs,
   * in the order they were queued. A Set keeps list order and makes unqueueing O(1).
   */
  readonly deferred = new Set<number>();
  /** Pages of PMD-mapped anonymous THPs (meminfo AnonHugePages: NR_ANON_THPS). */
  anonHugePages = 0;
  /** khugepaged's mm list (khugepaged_scan.mm_head), in registration order. */
  readonly khugepagedMms: Mm[] = [];
  /** khugepaged_scan.mm_slot: the mm being scanned, or null at the list head. */
  scanMm: Mm | null = null;
  /** khugepaged_scan.address, a page number. */
  scanAddress = 0;
  /** khugepaged/pages_collapsed and full_scans (sysfs). */
  pagesCollapsed = 0;
  fullScans = 0;

  constructor(config: ThpConfig) {
    this.config = config;
  }
}
