// The reverse map walk (mm/rmap.c rmap_walk): from a page to every page-table entry mapping
// it. Anonymous pages are found through their anon_vma's VMAs (the anon_vma_chain interval
// tree), page-cache pages through their file's i_mmap; in both the address follows from the
// page's index and the VMA's pgoff (vma_address). page_vma_mapped_walk also finds the
// device-exclusive entries that name the page (6.15+: check_pte treats such a PFN swap entry
// as a mapping, except for PVMW_MIGRATION); callers that handle them (try_to_unmap_one,
// folio_referenced_one) ask for them.

import { isDeviceExclusiveType } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import type { Vma } from './vma.js';

/** Called for each entry mapping the page; `h` is the entry's handle in mm's page table. */
export type RmapVisitor = (mm: Mm, vma: Vma, vpn: number, h: number) => void;

/**
 * Visit every present page-table entry that maps pfn, and with `exclusive` every
 * device-exclusive entry naming it too (the visitor tells them apart with ptePresent).
 */
export function rmapWalk(k: Kernel, pfn: number, visit: RmapVisitor, exclusive = false): void {
  const f = k.phys.frames;
  const index = f.index(pfn);
  let vmas: Iterable<Vma> | undefined;
  if (f.has(pfn, PG.anon)) vmas = k.anonVmas.get(f.owner[pfn])?.vmas;
  else if (f.has(pfn, PG.file) || f.has(pfn, PG.shmem)) vmas = k.inodes.get(f.owner[pfn])?.mmaps.keys();
  if (vmas === undefined) return;
  // The visitor may unmap entries, never VMAs: the set does not change under the walk.
  for (const vma of vmas) {
    const mm = vma.mm;
    if (mm === null || vma.dead) continue;
    const vpn = vma.start + (index - vma.pgoff);
    if (vpn < vma.start || vpn >= vma.end) continue;
    const h = mm.pmap.pteLookup(vpn);
    if (h < 0) continue;
    if (mm.pmap.ptePresent(h)) {
      if (mm.pmap.ptePfn(h) === pfn) visit(mm, vma, vpn, h);
    } else if (
      exclusive &&
      mm.pmap.pteIsSwap(h) &&
      isDeviceExclusiveType(mm.pmap.pteSwapType(h)) &&
      mm.pmap.pteSwapSlot(h) === pfn
    )
      visit(mm, vma, vpn, h);
  }
}
