// Transparent huge pages for private anonymous memory: which areas may have them, the PMD
// fault paths and PMD splits (mm/huge_memory.c, the PMD branch of mm/memory.c
// __handle_mm_fault). Each function names the kernel function it follows. PMD work that other
// calls do (fork, zap, mprotect, mlock, populate, mremap) is in huge-pmd-ops.ts.
//
// A THP is an order-9 folio mapped by one PMD leaf whose PTE table is deposited
// (pgtable_trans_huge_deposit): VmPTE counts it, and a split needs no memory.

import { Access, PmdState, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { VmFault, vmfAnonPrepare } from './fault.js';
import {
  folioAddPte,
  folioRemovePmd,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  isHugeZero,
  mmGetHugeZero,
  newAnonFolioPmd,
} from './huge-rmap.js';
import type { Kernel } from './kernel.js';
import { khugepagedEnterVma } from './khugepaged.js';
import type { Mm } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/** Returned by hugePmdFault when the 4 KiB path must handle the fault (VM_FAULT_FALLBACK). */
export const FALLBACK = -1;

/**
 * thp_vma_allowable_order(vma, vm_flags, TVA_ENFORCE_SYSFS [| TVA_IN_PF], PMD_ORDER) for the
 * areas vmlab has: private anonymous ones (shmem areas follow shmem_enabled, "never" by
 * default; file-backed areas, private copies included, get no anonymous THP). VM_NOHUGEPAGE refuses (vma_thp_disabled); "always" allows every area, "madvise"
 * those with VM_HUGEPAGE. Outside a fault (khugepaged) the area must also hold an aligned
 * 2 MiB range and have an anon_vma.
 */
export function thpAllowed(k: Kernel, vma: Vma, inFault: boolean): boolean {
  const mode = k.thp.config.enabled;
  if (vma.file !== null || (vma.flags & VM.NOHUGEPAGE) !== 0 || mode === 'never') return false;
  if (mode === 'madvise' && (vma.flags & VM.HUGEPAGE) === 0) return false;
  if (inFault) return true;
  const haddr = vma.end - HPAGE_PMD_NR - ((vma.end - HPAGE_PMD_NR) % HPAGE_PMD_NR);
  return haddr >= vma.start && vma.anonVma !== null;
}

/** The page-table attributes a new THP mapping gets: vm_page_prot, pmd_mkdirty, maybe_pmd_mkwrite. */
function newPmdAttrs(vma: Vma): number {
  return basePteAttrs(vma.flags) | PteAttr.dirty | ((vma.flags & VM.WRITE) !== 0 ? PteAttr.write : 0);
}

/**
 * The PMD part of __handle_mm_fault: an empty PMD in an area allowed THPs gets one
 * (create_huge_pmd); a write to a write-protected huge PMD goes to do_huge_pmd_wp_page; other
 * faults on a huge PMD only mark it young (huge_pmd_set_accessed). Returns a VmFault, or
 * FALLBACK for the PTE path (a PTE table there, no THP allowed, or a fallback that split or
 * found no huge page).
 */
export function hugePmdFault(k: Kernel, mm: Mm, vma: Vma, vpn: number, access: Access, cpu: number): number {
  const pmap = mm.pmap;
  const st = pmap.pmdState(vpn);
  if (st === PmdState.none) {
    if (!thpAllowed(k, vma, true)) return FALLBACK;
    return doHugePmdAnonymousPage(k, mm, vma, vpn, access);
  }
  if (st !== PmdState.huge) return FALLBACK;
  const write = access === Access.write;
  if (write && (pmap.hugeAttrs & PteAttr.write) === 0) return doHugePmdWpPage(k, mm, vma, vpn, cpu);
  k.locks.pmd++; // huge_pmd_set_accessed
  pmap.hugeUpdate(vpn, PteAttr.accessed | (write ? PteAttr.dirty : 0), 0);
  return VmFault.done;
}

/**
 * do_huge_pmd_anonymous_page: the aligned 2 MiB around vpn must lie inside the area
 * (thp_vma_suitable_order). A read maps the huge zero page when use_zero_page is on; otherwise
 * a zeroed order-9 folio is mapped writable (__do_huge_pmd_anonymous_page). No free 2 MiB
 * block: thp_fault_fallback and the 4 KiB path.
 */
function doHugePmdAnonymousPage(k: Kernel, mm: Mm, vma: Vma, vpn: number, access: Access): number {
  const haddr = vpn - (vpn % HPAGE_PMD_NR);
  if (haddr < vma.start || haddr + HPAGE_PMD_NR > vma.end) return FALLBACK;
  vmfAnonPrepare(k, mm, vma); // read faults too
  khugepagedEnterVma(k, mm, vma);
  if (access !== Access.write && k.thp.config.useZeroPage) {
    const zero = mmGetHugeZero(k, mm);
    if (zero < 0) {
      k.vmstat.thp_fault_fallback++;
      return FALLBACK;
    }
    // set_huge_zero_folio: vm_page_prot, never writable.
    if (!mm.pmap.hugeEnter(haddr, zero, basePteAttrs(vma.flags) | PteAttr.special)) return VmFault.oom;
    k.locks.pmd++; // under pmd_lock
    return VmFault.done;
  }
  return mapNewFolio(k, mm, vma, haddr);
}

/**
 * vma_alloc_anon_folio_pmd + map_anon_folio_pmd: a zeroed THP mapped at haddr (thp_fault_alloc).
 * FALLBACK (thp_fault_fallback) when no 2 MiB block is free; VmFault.oom when the table for
 * the PMD could not be had (the folio goes back).
 */
function mapNewFolio(k: Kernel, mm: Mm, vma: Vma, haddr: number): number {
  const head = k.phys.alloc(HPAGE_PMD_ORDER);
  if (head < 0) {
    k.vmstat.thp_fault_fallback++;
    return FALLBACK;
  }
  const f = k.phys.frames;
  f.token.fill(0, head, head + HPAGE_PMD_NR); // clear_huge_page (folio_zero_user), before the PMD is had
  k.vmstat.pages_zeroed += HPAGE_PMD_NR;
  if (!mm.pmap.hugeEnter(haddr, head, newPmdAttrs(vma))) {
    f.resetMeta(head);
    k.phys.free(head, HPAGE_PMD_ORDER);
    return VmFault.oom;
  }
  newAnonFolioPmd(k, mm, head, vma.anonVma!.id, vma.pageIndex(haddr), (vma.flags & VM.LOCKED) !== 0);
  k.vmstat.thp_fault_alloc++;
  k.locks.pmd++; // map_anon_folio_pmd under pmd_lock
  return VmFault.done;
}

/**
 * do_huge_pmd_wp_page: a write to a write-protected huge PMD. The huge zero page is replaced
 * by a new THP (do_huge_zero_wp_pmd). A folio whose head page is anon-exclusive, or that no one
 * else references, is reused in place; otherwise the PMD is split and the fault falls back to
 * the PTE path, which copies the one page written (Linux 6.x no longer copies whole THPs).
 */
function doHugePmdWpPage(k: Kernel, mm: Mm, vma: Vma, vpn: number, cpu: number): number {
  const pmap = mm.pmap;
  const haddr = vpn - (vpn % HPAGE_PMD_NR);
  const pfn = pmap.hugePfn;
  const f = k.phys.frames;
  if (isHugeZero(k, pfn)) {
    const head = k.phys.alloc(HPAGE_PMD_ORDER);
    if (head >= 0) {
      k.locks.pmd++; // do_huge_zero_wp_pmd: pmd_lock after the allocation
      f.token.fill(0, head, head + HPAGE_PMD_NR);
      flushHugeTlb(k, mm, cpu, haddr); // pmdp_huge_clear_flush; the deposit stays
      pmap.hugeSet(haddr, head, newPmdAttrs(vma));
      newAnonFolioPmd(k, mm, head, vma.anonVma!.id, vma.pageIndex(haddr), (vma.flags & VM.LOCKED) !== 0);
      k.vmstat.thp_fault_alloc++;
      return VmFault.done;
    }
    k.vmstat.thp_fault_fallback++;
  } else {
    k.locks.pmd++; // do_huge_pmd_wp_page locks the PMD before it looks at the folio
    if (f.has(pfn, PG.anonExclusive) || f.refcount[pfn] === 1) {
      // reuse: folio_move_anon_rmap + SetPageAnonExclusive when we hold the only reference.
      f.set(pfn, PG.anonExclusive);
      pmap.hugeUpdate(haddr, PteAttr.write | PteAttr.dirty | PteAttr.accessed, 0);
      return VmFault.done;
    }
  }
  splitHugePmd(k, mm, vma, haddr, cpu);
  return FALLBACK;
}

/**
 * __split_huge_pmd of the huge PMD covering vpn, if there is one (thp_split_pmd). The deposited
 * table takes the PMD's place; its PTEs keep the PMD's permissions and young/dirty bits and map
 * the folio's pages (each gaining a PTE mapping and the head's anon-exclusive mark), or the
 * small zero page for the huge zero page. The folio stays whole.
 */
export function splitHugePmd(k: Kernel, mm: Mm, vma: Vma, vpn: number, cpu: number): void {
  const pmap = mm.pmap;
  if (vma.isHugetlb()) return; // a hugetlb PMD leaf is never split
  if (pmap.pmdState(vpn) !== PmdState.huge) return;
  const haddr = vpn - (vpn % HPAGE_PMD_NR);
  const pfn = pmap.hugePfn;
  const attrs = pmap.hugeAttrs;
  k.vmstat.thp_split_pmd++;
  k.locks.pmd++; // __split_huge_pmd: pmd_lock
  mmuNotifierInvalidate(mm, haddr, haddr + HPAGE_PMD_NR, NotifyEvent.clear); // __split_huge_pmd
  flushHugeTlb(k, mm, cpu, haddr); // pmdp_invalidate / pmdp_huge_clear_flush
  if (isHugeZero(k, pfn)) {
    // __split_huge_zero_page_pmd: vm_page_prot, special.
    pmap.hugeSplit(haddr, basePteAttrs(vma.flags) | PteAttr.special, k.phys.zeroPfn);
    return;
  }
  const f = k.phys.frames;
  const exclusive = f.has(pfn, PG.anonExclusive);
  for (let i = 0; i < HPAGE_PMD_NR; i++) folioAddPte(k, mm, pfn + i, exclusive);
  pmap.hugeSplit(haddr, attrs, -1);
  folioRemovePmd(k, mm, pfn, false);
}

/**
 * zap_pmd_range's rule: a huge PMD that [start, end) covers only in part (at either end) is
 * split; one it covers whole stays for zap_huge_pmd.
 */
export function splitHugeCut(k: Kernel, mm: Mm, vma: Vma, start: number, end: number, cpu: number): void {
  for (const v of [start, end - 1]) {
    const haddr = v - (v % HPAGE_PMD_NR);
    if (haddr < start || haddr + HPAGE_PMD_NR > end) splitHugePmd(k, mm, vma, v, cpu);
  }
}

/** split_huge_pmd_if_needed: a VMA boundary is about to fall at vpn; split a huge PMD across it. */
export function splitHugePmdAt(k: Kernel, mm: Mm, vpn: number): void {
  if (vpn % HPAGE_PMD_NR === 0) return;
  const vma = mm.vmaAt(vpn);
  if (vma !== undefined) splitHugePmd(k, mm, vma, vpn, cpuOf(k, mm));
}

/** The CPU where mm's task last ran: the flush initiator for calls that have no task at hand. */
function cpuOf(k: Kernel, mm: Mm): number {
  for (const t of k.tasks.values()) if (t.mm === mm) return t.cpu;
  return 0;
}

/**
 * flush_pmd_tlb_range for the 2 MiB at haddr: one invalidation (stride PMD_SHIFT) on every CPU
 * that may cache the mm, counted as one page flush.
 */
export function flushHugeTlb(k: Kernel, mm: Mm, cpu: number, haddr: number): void {
  let remote = 0;
  for (let c = 0; c < k.tlbs.length; c++) {
    if (c !== cpu && (mm.cpuMask & (1n << BigInt(c))) === 0n) continue;
    if (c !== cpu) remote++;
    k.tlbs[c].flushPage(mm.id, haddr);
  }
  k.vmstat.nr_tlb_local_flush_one++;
  if (remote > 0) {
    k.vmstat.nr_tlb_remote_flush++;
    k.vmstat.nr_tlb_remote_flush_received += remote;
  }
}
