// Device-exclusive entries as Linux 6.15+ has them (CONFIG_DEVICE_PRIVATE; David Hildenbrand's
// "mm: fixes for device-exclusive entries (hmm)" and its cleanups, merged for 6.15; mm/rmap.c
// make_device_exclusive, mm/memory.c remove_device_exclusive_entry and restore_exclusive_pte).
// A device that wants atomic access to a system page it cannot reach coherently asks for the
// page to be made exclusive to it: the one CPU entry mapping the page writable becomes a
// non-present SWP_DEVICE_EXCLUSIVE entry whose offset is the page's pfn. The entry still maps
// the page as far as the rest of mm is concerned: the page keeps its mapcount, its place in
// AnonPages (NR_ANON_MAPPED), the process's RssAnon and the reference the mapping held, and
// page_vma_mapped_walk finds the entry, so rmap walks (reclaim's try_to_unmap_one,
// try_to_migrate_one) handle it like a present entry that is old and clean (rmap.ts). A CPU
// access faults and restores an ordinary entry, telling the mirrors first (MMU_NOTIFY_CLEAR,
// no owner) so that the device drops its atomic mapping; fork restores the entry before
// copying it; zap unmaps it like a present entry; mprotect leaves it alone (the restore decides
// writability afresh). Pre-6.15 kernels instead took the page's mapping away (page_remove_rmap:
// out of AnonPages, invisible to rmap, so reclaim and migration could not move it).

import { PteAttr, SwpType } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { dropMapping } from './fault.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { rmapWalk } from './rmap.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/**
 * make_device_exclusive (6.15+) after get_user_pages faulted the page at vpn in writable: the
 * mirrors are told (MMU_NOTIFY_EXCLUSIVE, `owner` the device asking, which its own notifier
 * ignores), the entry is cleared and flushed (its dirty bit moves to the page), and a
 * device-exclusive entry takes its place. Mapcount, AnonPages, RSS and refcount do not change.
 * A page of a THP works the same: FOLL_SPLIT_PMD left the folio PTE-mapped, and only this
 * page's PTE changes (the folio stays large). The caller checked that the entry is present,
 * writable and maps an anonymous page.
 */
export function makePageDeviceExclusive(k: Kernel, mm: Mm, vpn: number, owner: unknown, cpu: number): number {
  const f = k.phys.frames;
  const h = mm.pmap.pteLookup(vpn);
  const pfn = mm.pmap.ptePfn(h);
  mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.exclusive, owner);
  const attrs = mm.pmap.pteClear(h);
  k.flushTlbRange(mm, cpu, vpn, vpn + 1);
  if ((attrs & PteAttr.dirty) !== 0) f.set(pfn, PG.dirty); // folio_mark_dirty (vmlab: per page)
  mm.pmap.pteSetSwap(h, pfn, SwpType.exclusive); // make_device_exclusive_entry
  return pfn;
}

/**
 * restore_exclusive_pte (6.15+): the device-exclusive entry with handle h becomes an ordinary
 * entry for its page again, old; writable (and dirty if the page is) only where the area may
 * be written and can_change_pte_writable allows it: an anon-exclusive page (a page fork shared
 * stays read-only, for copy-on-write). No rmap change: the entry was a mapping all along. No
 * flush: it was not present.
 */
export function restoreExclusivePte(k: Kernel, mm: Mm, vma: Vma, h: number): void {
  const f = k.phys.frames;
  const pmap = mm.pmap;
  const pfn = pmap.pteSwapSlot(h);
  let attrs = basePteAttrs(vma.flags) & ~(PteAttr.accessed | PteAttr.write);
  if ((vma.flags & VM.WRITE) !== 0 && (vma.flags & VM.SHARED) === 0 && f.has(pfn, PG.anonExclusive)) {
    attrs |= PteAttr.write;
    if (f.has(pfn, PG.dirty)) attrs |= PteAttr.dirty;
  }
  pmap.pteSet(h, pfn, attrs);
  k.vmstat.device_exclusive_restored++;
}

/**
 * remove_device_exclusive_entry (do_swap_page, 6.15+): the mirrors are told with
 * MMU_NOTIFY_CLEAR and no owner (6.15 keeps MMU_NOTIFY_EXCLUSIVE for the conversion alone), so
 * every device drops its mapping of the page; then the entry is restored. The fault completes;
 * the access retries (a write through a restored read-only entry faults again, for CoW).
 */
export function removeDeviceExclusiveEntry(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number): void {
  mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.clear, null);
  restoreExclusivePte(k, mm, vma, h);
}

/**
 * zap_nonpresent_ptes for a device-exclusive entry (6.15+): as for a present entry, the page
 * leaves the process's RSS, loses this mapping (folio_remove_rmap_pte: out of AnonPages with
 * the last one, munlocked in a VM_LOCKED area) and the mapping's reference (folio_put).
 */
export function zapExclusiveEntry(k: Kernel, mm: Mm, pfn: number, locked: boolean): void {
  dropMapping(k, mm, pfn, locked);
}

/**
 * A THP split (__folio_split: unmap_folio's try_to_migrate, then remap_page) meets the
 * device-exclusive entries of page pfn: try_to_migrate_one (6.15+) notifies (MMU_NOTIFY_CLEAR,
 * so the device loses its atomic mapping) and replaces each with a migration entry, readable
 * (is_writable_device_private_entry is false for it) and anon-exclusive; remove_migration_pte
 * then maps the page with a present entry: read-only, old and clean (the entry had no bits to
 * carry), the page still anon-exclusive, so a CPU write reuses it. Mapcounts do not change.
 */
export function splitExclusiveEntries(k: Kernel, pfn: number): void {
  rmapWalk(
    k,
    pfn,
    (mm, vma, vpn, h) => {
      if (mm.pmap.ptePresent(h)) return;
      mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.clear);
      const attrs = basePteAttrs(vma.flags) & ~(PteAttr.write | PteAttr.dirty | PteAttr.accessed);
      mm.pmap.pteSet(h, pfn, attrs);
    },
    true,
  );
}
