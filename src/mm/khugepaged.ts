// khugepaged (mm/khugepaged.c): collapses ranges mapped with 4 KiB pages into THPs.
//
// The simulator has no wall clock, so the daemon does not wake every scan_sleep_millisecs: a
// scenario step runs it. One pass is khugepaged_do_scan: it walks the registered mms from the
// scan cursor, 2 MiB at a time, until it has made pages_to_scan of progress (a scanned PMD
// range counts HPAGE_PMD_NR, an mm or a VMA skipped counts 1) or has gone past the list head
// twice. The cursor (mm, address) persists between passes, so N passes always do the same
// work for the same state: deterministic.
//
// An mm is registered (__khugepaged_enter) when a huge fault maps a THP, when madvise(HUGEPAGE)
// makes a VMA eligible, and at fork if its parent was; thp_vma_allowable_order refuses an area
// without an anon_vma outside a fault, so mmap alone registers nothing. exit takes it off.

import { PmdState, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { dropMapping } from './fault.js';
import { thpAllowed } from './huge-memory.js';
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, newAnonFolioPmd } from './huge-rmap.js';
import type { Kernel } from './kernel.js';
import { type Mm, MmfThp } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/** The scan results that matter to the caller (enum scan_result). */
const enum Scan {
  fail = 0,
  succeed = 1,
  allocFail = 2,
}

/** khugepaged_enter_vma: register mm when the area is eligible (and the mode is not never). */
export function khugepagedEnterVma(k: Kernel, mm: Mm, vma: Vma): void {
  if ((mm.thpFlags & MmfThp.VM_HUGEPAGE) !== 0) return;
  if (!thpAllowed(k, vma, false)) return;
  enter(k, mm);
}

/** __khugepaged_enter: add behind the cursor (at the list's tail). */
function enter(k: Kernel, mm: Mm): void {
  mm.thpFlags |= MmfThp.VM_HUGEPAGE;
  k.thp.khugepagedMms.push(mm);
}

/** khugepaged_fork: a child of a registered mm is registered too. */
export function khugepagedFork(k: Kernel, parent: Mm, child: Mm): void {
  if ((parent.thpFlags & MmfThp.VM_HUGEPAGE) !== 0 && (child.thpFlags & MmfThp.VM_HUGEPAGE) === 0)
    enter(k, child);
}

/** khugepaged_exit (+ collect_mm_slot): the mm leaves the list; a cursor on it moves on. */
export function khugepagedExit(k: Kernel, mm: Mm): void {
  const t = k.thp;
  const i = t.khugepagedMms.indexOf(mm);
  if (i < 0) return;
  t.khugepagedMms.splice(i, 1);
  mm.thpFlags &= ~MmfThp.VM_HUGEPAGE;
  if (t.scanMm === mm) advance(k, i);
}

/** The cursor moves to the mm now at index i of the list, or to the head (a full scan done). */
function advance(k: Kernel, i: number): void {
  const t = k.thp;
  if (i < t.khugepagedMms.length) {
    t.scanMm = t.khugepagedMms[i];
  } else {
    t.scanMm = null;
    t.fullScans++;
  }
  t.scanAddress = 0;
}

/** Run `passes` passes of khugepaged (khugepaged_do_scan each). */
export function khugepagedRun(k: Kernel, passes: number): void {
  for (let n = 0; n < passes; n++) doScan(k);
}

/** Run passes until full_scans has grown by `scans` (or a pass finds nothing to scan). */
export function khugepagedFullScans(k: Kernel, scans: number): void {
  const target = k.thp.fullScans + scans;
  while (k.thp.fullScans < target && hasWork(k)) doScan(k);
}

function hasWork(k: Kernel): boolean {
  return k.thp.khugepagedMms.length > 0 && k.thp.config.enabled !== 'never';
}

/** khugepaged_do_scan */
function doScan(k: Kernel): void {
  const pages = k.thp.config.pagesToScan;
  let progress = 0;
  let passThroughHead = 0;
  let wait = true;
  for (;;) {
    if (k.thp.scanMm === null) passThroughHead++;
    let result: Scan = Scan.succeed;
    if (hasWork(k) && passThroughHead < 2) {
      const r = scanMmSlot(k, pages - progress);
      progress += r.progress;
      result = r.result;
    } else {
      progress = pages;
    }
    if (progress >= pages) break;
    if (result === Scan.allocFail) {
      // khugepaged_alloc_sleep once, then give up this pass.
      if (!wait) break;
      wait = false;
    }
  }
}

/** khugepaged_scan_mm_slot: scan the cursor's mm from the cursor's address. */
function scanMmSlot(k: Kernel, pages: number): { progress: number; result: Scan } {
  const t = k.thp;
  if (t.scanMm === null) {
    t.scanMm = t.khugepagedMms[0];
    t.scanAddress = 0;
  }
  const mm = t.scanMm;
  let progress = 1;
  let result: Scan = Scan.fail;
  let exhausted = true;
  const first = mm.findVma(t.scanAddress);
  outer: for (const vma of first === undefined ? [] : [...mm.vmas.values(first.start)]) {
    if (!thpAllowed(k, vma, false)) {
      progress++;
      continue;
    }
    const hstart = Math.ceil(vma.start / HPAGE_PMD_NR) * HPAGE_PMD_NR;
    const hend = vma.end - (vma.end % HPAGE_PMD_NR);
    if (t.scanAddress > hend) {
      progress++;
      continue;
    }
    if (t.scanAddress < hstart) t.scanAddress = hstart;
    while (t.scanAddress < hend) {
      const r = scanPmd(k, mm, vma, t.scanAddress);
      result = r.result;
      if (result === Scan.succeed) t.pagesCollapsed++;
      t.scanAddress += HPAGE_PMD_NR;
      progress += HPAGE_PMD_NR;
      // A collapse attempt drops mmap_lock: back to khugepaged_do_scan, same mm.
      if (r.attempted || progress >= pages) {
        exhausted = false;
        break outer;
      }
    }
  }
  if (exhausted) advance(k, t.khugepagedMms.indexOf(mm) + 1);
  return { progress, result };
}

/**
 * hpage_collapse_scan_pmd: collapse the PTE-mapped 2 MiB at haddr when at most max_ptes_none
 * entries are empty (or map the zero page), at most max_ptes_swap are swap entries, at most
 * max_ptes_shared map pages another mapping shares, one is writable and one young.
 */
function scanPmd(k: Kernel, mm: Mm, vma: Vma, haddr: number): { result: Scan; attempted: boolean } {
  const no = { result: Scan.fail, attempted: false };
  const pmap = mm.pmap;
  if (pmap.pmdState(haddr) !== PmdState.table) return no; // SCAN_PMD_NULL / NONE / MAPPED
  const cfg = k.thp.config;
  const f = k.phys.frames;
  let noneOrZero = 0;
  let swap = 0;
  let shared = 0;
  let referenced = 0;
  let writable = false;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const h = pmap.pteLookup(haddr + i);
    if (pmap.pteNone(h)) {
      if (++noneOrZero > cfg.maxPtesNone) return no;
      continue;
    }
    if (!pmap.ptePresent(h)) {
      if (++swap > cfg.maxPtesSwap) return no;
      continue;
    }
    const attrs = pmap.pteAttrs(h);
    const pfn = pmap.ptePfn(h);
    if ((attrs & PteAttr.special) !== 0) {
      if (++noneOrZero > cfg.maxPtesNone) return no;
      continue;
    }
    if ((attrs & PteAttr.write) !== 0) writable = true;
    if (!f.has(pfn, PG.anon)) return no; // SCAN_PAGE_ANON
    if (f.has(pfn, PG.deviceCoherent)) return no; // is_zone_device_page: SCAN_PAGE_NULL
    if (likelyMappedShared(k, pfn) && ++shared > cfg.maxPtesShared) return no;
    if ((attrs & PteAttr.accessed) !== 0) referenced++;
  }
  // Swapped-out entries would need __collapse_huge_page_swapin (and referenced >= HPAGE_PMD_NR
  // / 2), which is not modelled: a range with any is left alone.
  if (!writable || referenced === 0 || swap > 0) return no; // SCAN_PAGE_RO, SCAN_LACK_REFERENCED_PAGE
  return { result: collapseHugePage(k, mm, vma, haddr), attempted: true };
}

/** folio_likely_mapped_shared: an order-0 page mapped twice; a THP mapped twice by a PMD or at its head. */
function likelyMappedShared(k: Kernel, pfn: number): boolean {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.compound)) return f.mapcount[pfn] > 1;
  const head = f.headOf(pfn);
  return f.entireMapcount(head) > 0 || f.mapcount[head] > 1 || f.mapcount[pfn] > 1;
}

/**
 * collapse_huge_page: a new THP (thp_collapse_alloc) receives the contents of the 512 pages
 * (zero for empty entries and the zero page), the old PTEs and their pages' mappings go (pages
 * nobody else maps are freed), and the emptied PTE table becomes the new PMD leaf's deposit, so
 * VmPTE does not change. RSS grows by the entries that were empty.
 */
function collapseHugePage(k: Kernel, mm: Mm, vma: Vma, haddr: number): Scan {
  const head = k.phys.alloc(HPAGE_PMD_ORDER);
  if (head < 0) {
    k.vmstat.thp_collapse_alloc_failed++;
    return Scan.allocFail;
  }
  k.vmstat.thp_collapse_alloc++;
  mmuNotifierInvalidate(mm, haddr, haddr + HPAGE_PMD_NR, NotifyEvent.clear); // collapse_huge_page
  // pmdp_collapse_flush: flush_tlb_range over the 2 MiB (khugepaged runs on CPU 0).
  k.flushTlbRange(mm, 0, haddr, haddr + HPAGE_PMD_NR);
  const pmap = mm.pmap;
  const f = k.phys.frames;
  const locked = (vma.flags & VM.LOCKED) !== 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const h = pmap.pteLookup(haddr + i);
    if (pmap.pteNone(h)) {
      f.token[head + i] = 0;
      continue;
    }
    const pfn = pmap.ptePfn(h);
    const special = (pmap.pteAttrs(h) & PteAttr.special) !== 0;
    f.token[head + i] = special ? 0 : f.token[pfn];
    pmap.pteClear(h);
    if (!special) dropMapping(k, mm, pfn, locked);
  }
  pmap.hugeCollapse(
    haddr,
    head,
    basePteAttrs(vma.flags) | PteAttr.dirty | (vma.flags & VM.WRITE ? PteAttr.write : 0),
  );
  newAnonFolioPmd(k, mm, head, vma.anonVma!.id, vma.pageIndex(haddr), locked);
  return Scan.succeed;
}
