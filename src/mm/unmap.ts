// Tearing down mappings: zap (unmap pages), free page tables, remove VMAs (mm/memory.c
// unmap_page_range and free_pgtables, mm/vma.c do_vmi_munmap).

import { PteAttr } from '../arch/pmap.js';
import type { Errno } from '../lib/errno.js';
import { dropMapping } from './fault.js';
import { zapHugeLeaf } from './huge-pmd-ops.js';
import { mmPutHugeZero } from './huge-rmap.js';
import { unmapHugepageRange } from './hugetlb-unmap.js';
import type { Kernel } from './kernel.js';
import { khugepagedExit } from './khugepaged.js';
import type { Mm } from './mm.js';
import { freeSwapEntry } from './swap.js';
import { VM, type Vma } from './vma.js';
import { removeVma, splitVma } from './vma-ops.js';

/**
 * Unmap the pages of [start, end) of one VMA and flush the TLBs that may hold them
 * (zap_page_range); `locked`: the VMA is VM_LOCKED.
 */
export function zapRange(k: Kernel, mm: Mm, start: number, end: number, cpu: number, locked: boolean): void {
  const zero = k.phys.zeroPfn;
  let any = false;
  mm.pmap.zapRange(
    start,
    end,
    (_vpn, pfn, attrs, order) => {
      any = true;
      if (order !== 0) return zapHugeLeaf(k, mm, pfn, locked);
      if ((attrs & PteAttr.special) !== 0 && pfn === zero) return;
      dropMapping(k, mm, pfn, locked);
    },
    (_vpn, slot) => freeSwapEntry(k, mm, slot),
  );
  if (any) k.flushTlbRange(mm, cpu, start, end);
}

/**
 * munmap of pages [start, end): split the VMAs at the ends, zap, free the page tables that
 * only mapped the range (floor/ceiling at the neighbouring VMAs), remove the VMAs.
 */
export function doMunmap(k: Kernel, mm: Mm, start: number, end: number, cpu: number): Errno | null {
  let vma = mm.findVma(start);
  if (vma === undefined || vma.start >= end) return null;
  if (vma.start < start) {
    // An unmap in the middle of one VMA needs one more VMA.
    // (vms_gather_munmap_vmas: the only check; the splits themselves are unchecked.)
    if (end < vma.end && mm.mapCount >= k.config.maxMapCount) return 'ENOMEM';
    const e = splitVma(k, mm, vma, start, false);
    if (e !== null) return e;
    vma = mm.vmaAt(start)!;
  }
  const last = mm.vmaAt(end - 1);
  if (last !== undefined && last.end > end) {
    const e = splitVma(k, mm, last, end, false);
    if (e !== null) return e;
  }
  const doomed: Vma[] = [];
  for (const v of mm.vmas.values(start)) {
    if (v.start >= end) break;
    doomed.push(v);
  }
  if (doomed.length === 0) return null;
  const prev = mm.vmas.lower(start);
  const next = mm.vmas.ceiling(end);
  for (const v of doomed) {
    if (v.isHugetlb())
      unmapHugepageRange(k, mm, v, v.start, v.end, cpu); // unmap_single_vma
    else zapRange(k, mm, v.start, v.end, cpu, (v.flags & VM.LOCKED) !== 0);
  }
  mm.pmap.freeTables(
    doomed[0].start,
    doomed[doomed.length - 1].end,
    prev?.end ?? 0,
    next?.start ?? mm.pmap.vpnLimit,
  );
  for (const v of doomed) {
    mm.totalVm -= v.pages;
    if ((v.flags & VM.LOCKED) !== 0) mm.lockedVm -= v.pages;
    removeVma(k, mm, v);
  }
  return null;
}

/** exit_mmap: unmap everything, free every table, flush. */
export function exitMmap(k: Kernel, mm: Mm): void {
  const all = [...mm.vmas.values()];
  for (const v of all) {
    if (v.isHugetlb()) {
      unmapHugepageRange(k, mm, v, v.start, v.end, -1); // the TLBs are dropped below
      continue;
    }
    const locked = (v.flags & VM.LOCKED) !== 0;
    mm.pmap.zapRange(
      v.start,
      v.end,
      (_vpn, pfn, attrs, order) => {
        if (order !== 0) return zapHugeLeaf(k, mm, pfn, locked);
        if ((attrs & PteAttr.special) !== 0 && pfn === k.phys.zeroPfn) return;
        dropMapping(k, mm, pfn, locked);
      },
      (_vpn, slot) => freeSwapEntry(k, mm, slot),
    );
  }
  for (const v of all) removeVma(k, mm, v);
  mm.totalVm = 0;
  mm.lockedVm = 0;
  mm.pmap.destroy();
  k.dropTlbs(mm);
  mmPutHugeZero(k, mm); // __mmput: mm_put_huge_zero_folio
  khugepagedExit(k, mm);
}
