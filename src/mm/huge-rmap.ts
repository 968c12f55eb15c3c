// Mapping counts of anonymous THPs (mm/rmap.c __folio_add_anon_rmap / __folio_remove_rmap for
// large folios), their freeing, the deferred split queue and folio split (mm/huge_memory.c
// deferred_split_folio, deferred_split_scan, __folio_split), the huge zero page, and the
// shrinkers that give memory back (drop_caches=2 and allocation failures run them).
//
// The folio fields live in the frame table (phys/frames.ts): the entire (PMD) mapcount and the
// number of PTE-mapped pages in the first tails, each page's PTE mapcount in its own word, the
// reference count in the head (one reference per mapping, PMD or PTE).

import { PG } from '../phys/frames.js';
import { splitExclusiveEntries } from './device-exclusive.js';
import type { Kernel } from './kernel.js';
import { lruAdd, lruDel, lruMove } from './lru.js';
import { type Mm, MmCounter, MmfThp } from './mm.js';

export const HPAGE_PMD_ORDER = 9;
export const HPAGE_PMD_NR = 512;

/** Statistics of a change in mapped pages: AnonPages (NR_ANON_MAPPED) and AnonHugePages. */
function modStat(k: Kernel, nr: number, nrPmdmapped: number): void {
  k.anonPages += nr;
  k.thp.anonHugePages += nrPmdmapped;
}

/**
 * A new anonymous THP mapped by one PMD of mm (folio_add_new_anon_rmap with RMAP_EXCLUSIVE,
 * then folio_add_lru_vma: mlocked at once in a VM_LOCKED area). The folio's frames are fresh
 * from the allocator with refcount 1; owner and index describe the head page.
 */
export function newAnonFolioPmd(
  k: Kernel,
  mm: Mm,
  head: number,
  owner: number,
  index: number,
  locked: boolean,
): void {
  const f = k.phys.frames;
  f.makeCompound(head, HPAGE_PMD_ORDER, PG.anon, owner, index);
  f.set(head, PG.anonExclusive);
  f.refcount[head + 1] = 1; // entire mapcount
  f.refcount[head + 2] = 0;
  modStat(k, HPAGE_PMD_NR, HPAGE_PMD_NR);
  mm.addRss(MmCounter.ANONPAGES, HPAGE_PMD_NR);
  mm.hugeAnonPmds++;
  if (locked) mlockFolio(k, head);
  lruAdd(k, head); // folio_add_lru_vma: the folio is one LRU entry of 512 pages
}

/** One more PMD mapping of an existing folio (folio_try_dup_anon_rmap_pmd at fork). */
export function folioDupPmd(k: Kernel, mm: Mm, head: number): void {
  const f = k.phys.frames;
  f.refcount[head]++;
  if (f.refcount[head + 1]++ === 0) modStat(k, HPAGE_PMD_NR - f.nrPagesMapped(head), HPAGE_PMD_NR);
  f.clear(head, PG.anonExclusive);
  mm.addRss(MmCounter.ANONPAGES, HPAGE_PMD_NR);
  mm.hugeAnonPmds++;
}

/**
 * folio_remove_rmap_pmd + the reference the mapping held (zap_huge_pmd, a split's removal of
 * the PMD mapping after its PTEs were added). A folio left partially mapped is queued for a
 * deferred split; one whose last reference went is freed.
 */
export function folioRemovePmd(k: Kernel, mm: Mm, head: number, locked: boolean): void {
  const f = k.phys.frames;
  if (locked) munlockFolio(k, head);
  mm.addRss(MmCounter.ANONPAGES, -HPAGE_PMD_NR);
  mm.hugeAnonPmds--;
  if (--f.refcount[head + 1] === 0) {
    const nr = HPAGE_PMD_NR - f.nrPagesMapped(head);
    modStat(k, -nr, -HPAGE_PMD_NR);
    // partially_mapped = nr && nr < nr_pmdmapped: some pages stay mapped by PTEs.
    if (nr > 0 && nr < HPAGE_PMD_NR) deferredSplitFolio(k, head);
  }
  putFolio(k, head);
}

/** A PTE now maps page pfn of a large folio (folio_add_anon_rmap_ptes, one page). */
export function folioAddPte(k: Kernel, mm: Mm, pfn: number, exclusive: boolean): void {
  const f = k.phys.frames;
  const head = f.headOf(pfn);
  f.refcount[head]++;
  if (f.mapcount[pfn]++ === 0) {
    f.refcount[head + 2]++;
    if (f.entireMapcount(head) === 0) modStat(k, 1, 0);
  }
  if (exclusive) f.set(pfn, PG.anonExclusive);
  else f.clear(pfn, PG.anonExclusive);
  mm.addRss(MmCounter.ANONPAGES, 1);
}

/** A PTE mapping page pfn of a large folio goes (folio_remove_rmap_pte and its reference). */
export function folioRemovePte(k: Kernel, mm: Mm, pfn: number, locked: boolean): void {
  const f = k.phys.frames;
  const head = f.headOf(pfn);
  if (locked) munlockFolio(k, head);
  mm.addRss(MmCounter.ANONPAGES, -1);
  if (--f.mapcount[pfn] === 0) {
    const left = --f.refcount[head + 2];
    if (f.entireMapcount(head) === 0) {
      modStat(k, -1, 0);
      // partially_mapped = nr && atomic_read(mapped): other pages are still mapped.
      if (left > 0) deferredSplitFolio(k, head);
    }
  }
  putFolio(k, head);
}

/** folio_put: drop a reference; the last one frees the folio (unqueued from deferred split). */
function putFolio(k: Kernel, head: number): void {
  const f = k.phys.frames;
  if (--f.refcount[head] > 0) return;
  k.thp.deferred.delete(head); // folio_unqueue_deferred_split in the freeing path
  munlockFolio(k, head);
  lruDel(k, head);
  f.resetRange(head, HPAGE_PMD_NR);
  k.phys.free(head, HPAGE_PMD_ORDER);
}

/** mlock_folio: the whole folio counts in Mlocked. */
export function mlockFolio(k: Kernel, head: number): void {
  const f = k.phys.frames;
  if (f.has(head, PG.mlocked) || f.has(head, PG.zero)) return;
  f.set(head, PG.mlocked);
  k.mlockedPages += f.nrPages(head);
  lruMove(k, head, PG.unevictable, PG.active);
}

/** munlock_folio */
export function munlockFolio(k: Kernel, head: number): void {
  const f = k.phys.frames;
  if (!f.has(head, PG.mlocked)) return;
  f.clear(head, PG.mlocked);
  k.mlockedPages -= f.nrPages(head);
  lruMove(k, head, 0, PG.unevictable);
}

/**
 * deferred_split_folio(folio, partially_mapped=true): mark and queue once; thp_deferred_split_page
 * counts the marking. (Linux 6.12+ also queues every new THP with partially_mapped=false for the
 * underused-THP shrinker; with the default max_ptes_none of 511 thp_underused() never splits
 * one, so those entries change nothing observable and are not modelled.)
 */
function deferredSplitFolio(k: Kernel, head: number): void {
  const f = k.phys.frames;
  if (f.has(head, PG.partiallyMapped)) return;
  f.set(head, PG.partiallyMapped);
  k.vmstat.thp_deferred_split_page++;
  k.thp.deferred.add(head);
}

/**
 * __folio_split to order 0 of a folio no PMD maps (those on the deferred queue): each page
 * becomes a folio of its own holding one reference per PTE mapping it, keeping its content,
 * owner, index, anon-exclusive mark and the folio's mlock; pages mapped nowhere are freed.
 * Present PTEs do not change (Linux replaces them with migration entries and back); a
 * device-exclusive entry comes back as a present read-only one (splitExclusiveEntries).
 */
export function splitFolio(k: Kernel, head: number): void {
  const f = k.phys.frames;
  if (f.entireMapcount(head) !== 0) throw new Error(`splitFolio: folio ${head} is still PMD-mapped`);
  k.thp.deferred.delete(head);
  for (let i = 0; i < HPAGE_PMD_NR; i++) if (f.mapcount[head + i] > 0) splitExclusiveEntries(k, head + i);
  const mlocked = f.has(head, PG.mlocked);
  // lru_add_split_folio: the folio's LRU entry becomes one per page that stays.
  const lruFlags = f.flags[head] & (PG.active | PG.workingset);
  lruDel(k, head);
  f.refcount[head + 1] = 0;
  f.refcount[head + 2] = 0;
  const keep = PG.anon | PG.anonExclusive | PG.dirty | PG.referenced;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = head + i;
    const index = f.index(p);
    f.flags[p] = (f.flags[p] & keep) | (mlocked ? PG.mlocked : 0);
    f.setIndex(p, index);
    f.refcount[p] = f.mapcount[p];
  }
  // Mlocked counted the folio's 512 pages; it now counts each page (same total).
  k.vmstat.thp_split_page++;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = head + i;
    if (f.refcount[p] === 0) k.freePage(p);
    else {
      f.flags[p] |= lruFlags;
      lruAdd(k, p);
    }
  }
}

/** deferred_split_scan: split every partially mapped folio queued; returns how many. */
export function deferredSplitScan(k: Kernel): number {
  let n = 0;
  for (const head of [...k.thp.deferred]) {
    splitFolio(k, head);
    n++;
  }
  return n;
}

// ------------------------------------------------------------------ the huge zero page

/**
 * mm_get_huge_zero_folio: the huge zero page, allocated (zeroed, thp_zero_page_alloc) at its
 * first use; each mm takes one reference the first time. -1 when it cannot be allocated.
 */
export function mmGetHugeZero(k: Kernel, mm: Mm): number {
  const t = k.thp;
  if ((mm.thpFlags & MmfThp.HUGE_ZERO_PAGE) !== 0) return t.hugeZeroPfn;
  if (t.hugeZeroPfn < 0) {
    const pfn = k.phys.alloc(HPAGE_PMD_ORDER);
    if (pfn < 0) {
      k.vmstat.thp_zero_page_alloc_failed++;
      return -1;
    }
    const f = k.phys.frames;
    f.makeCompound(pfn, HPAGE_PMD_ORDER, PG.zero | PG.reserved);
    f.token.fill(0, pfn, pfn + HPAGE_PMD_NR);
    t.hugeZeroPfn = pfn;
    t.hugeZeroRefs = 1; // the shrinker's reference
    k.vmstat.thp_zero_page_alloc++;
  }
  t.hugeZeroRefs++;
  mm.thpFlags |= MmfThp.HUGE_ZERO_PAGE;
  return t.hugeZeroPfn;
}

/** mm_put_huge_zero_folio at mm teardown. */
export function mmPutHugeZero(k: Kernel, mm: Mm): void {
  if ((mm.thpFlags & MmfThp.HUGE_ZERO_PAGE) === 0) return;
  mm.thpFlags &= ~MmfThp.HUGE_ZERO_PAGE;
  k.thp.hugeZeroRefs--;
}

/** Whether pfn is the head of the huge zero page. */
export function isHugeZero(k: Kernel, pfn: number): boolean {
  return pfn === k.thp.hugeZeroPfn;
}

/** shrink_huge_zero_page_scan: free the huge zero page when only the shrinker holds it. */
function shrinkHugeZero(k: Kernel): number {
  const t = k.thp;
  if (t.hugeZeroPfn < 0 || t.hugeZeroRefs !== 1) return 0;
  const f = k.phys.frames;
  f.resetRange(t.hugeZeroPfn, HPAGE_PMD_NR);
  k.phys.free(t.hugeZeroPfn, HPAGE_PMD_ORDER);
  t.hugeZeroPfn = -1;
  t.hugeZeroRefs = 0;
  return HPAGE_PMD_NR;
}

/** shrink_slab over the THP shrinkers (deferred split, huge zero page); returns objects freed. */
export function shrinkThp(k: Kernel): number {
  return deferredSplitScan(k) + shrinkHugeZero(k);
}
