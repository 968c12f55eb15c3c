// Device-private entries in CPU page tables (MEMORY_DEVICE_PRIVATE, include/linux/swapops.h):
// a page migrated to device memory leaves a non-present swap entry of type SWP_DEVICE_WRITE
// or SWP_DEVICE_READ whose offset is the device page's pfn. The page is anonymous, counted in
// the mm's MM_ANONPAGES (RssAnon: zap_nonpresent_ptes and copy_nonpresent_pte use
// mm_counter(folio), not MM_SWAPENTS), mapped (mapcount) and referenced by each such entry,
// and counted in AnonPages while mapped (the entry is an rmap: folio_add_anon_rmap_pte in
// remove_migration_pte, folio_add_new_anon_rmap in migrate_vma_insert_page, both through
// __folio_mod_stat's NR_ANON_MAPPED). What the core
// does with these entries when it zaps, forks or mprotects follows mm/memory.c and
// mm/mprotect.c; what the device does with them is hetero/'s business.

import { isDeviceExclusiveType, isDevicePrivateType, SwpType } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { zapExclusiveEntry } from './device-exclusive.js';
import type { Kernel } from './kernel.js';
import { type Mm, MmCounter } from './mm.js';
import { freeSwapEntry } from './swap.js';
import { VM, type Vma } from './vma.js';

/**
 * zap_nonpresent_ptes for any swap entry: a device-private one drops its page's mapping and
 * reference (folio_remove_rmap_pte, folio_put: the last one returns the page to its driver,
 * free_zone_device_folio -> page_free); a device-exclusive one likewise for its system page
 * (6.15+, munlocking it in a `locked` area as for a present entry); a swap-device one drops
 * its slot reference.
 */
export function zapSwpEntry(k: Kernel, mm: Mm, offset: number, type: number, locked: boolean): void {
  if (isDeviceExclusiveType(type)) {
    zapExclusiveEntry(k, mm, offset, locked);
    return;
  }
  if (!isDevicePrivateType(type)) {
    freeSwapEntry(k, mm, offset);
    return;
  }
  mm.addRss(MmCounter.ANONPAGES, -1);
  putDevicePrivate(k, offset);
}

/**
 * One mapping of device-private page pfn goes (its entry was cleared or replaced):
 * folio_remove_rmap_pte, which takes the page out of AnonPages with its last mapping.
 */
export function putDevicePrivate(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  if (--f.mapcount[pfn] === 0) k.anonPages--;
  if (--f.refcount[pfn] === 0) k.pgmap!.pageFree(pfn);
}

/**
 * copy_nonpresent_pte for a device-private entry: the child's entry refers to the same device
 * page (folio_get, folio_try_dup_anon_rmap_pte: no longer anon-exclusive, counted in the
 * child's RSS); in a CoW mapping a writable entry becomes readable in the parent and the
 * child (make_readable_device_private_entry), so that a write migrates the page back and
 * copies it. Returns the type the child's entry takes.
 */
export function dupDevicePrivate(
  k: Kernel,
  pmm: Mm,
  cmm: Mm,
  vma: Vma,
  vpn: number,
  pfn: number,
  type: number,
): number {
  const f = k.phys.frames;
  f.refcount[pfn]++;
  f.mapcount[pfn]++;
  f.clear(pfn, PG.anonExclusive);
  cmm.addRss(MmCounter.ANONPAGES, 1);
  const cow = (vma.flags & (VM.SHARED | VM.MAYWRITE)) === VM.MAYWRITE;
  if (type === SwpType.deviceWrite && cow) {
    pmm.pmap.pteSetSwap(pmm.pmap.pteLookup(vpn), pfn, SwpType.deviceRead);
    return SwpType.deviceRead;
  }
  return type;
}

/**
 * change_pte_range's swap-entry branch: a writable device-private entry in a range whose
 * protection changes becomes readable (write access is restored by the next fault, which
 * migrates the page back). A device-exclusive entry is left as it is (6.15+: there is one
 * type, and restore_exclusive_pte decides writability from the area when it is restored).
 */
export function protectDevicePrivate(mm: Mm, start: number, end: number): void {
  const pmap = mm.pmap;
  const writable: number[] = [];
  pmap.forEachLeaf(
    start,
    end,
    () => {},
    (vpn, _pfn, type) => {
      if (type === SwpType.deviceWrite) writable.push(vpn);
    },
  );
  for (const vpn of writable) {
    const h = pmap.pteLookup(vpn);
    pmap.pteSetSwap(h, pmap.pteSwapSlot(h), SwpType.deviceRead);
  }
}
