// Device-exclusive entries (Linux 6.x, CONFIG_DEVICE_PRIVATE; mm/rmap.c make_device_exclusive,
// mm/memory.c remove_device_exclusive_entry): a device that wants atomic access to a system
// page it cannot reach coherently asks for the page to be made exclusive to it. Each CPU
// entry mapping the page becomes a non-present SWP_DEVICE_EXCLUSIVE_WRITE/_READ entry whose
// offset is the page's pfn: the page stays in system memory, in the process's RSS and on its
// LRU list, keeps the reference the mapping held, but loses the mapping itself (the mapcount,
// and with the last one the page leaves AnonPages, as page_remove_rmap accounts it). A CPU
// access faults and restores an ordinary entry (restore_exclusive_pte), telling the device
// first (MMU_NOTIFY_EXCLUSIVE with no owner) so that it drops its atomic mapping; fork
// restores the entry before copying it; zap drops the reference; mprotect makes a writable
// entry readable; reclaim may write the page to swap but cannot free it (vmscan.ts). Only
// private anonymous pages are made exclusive.

import { PteAttr, SwpType } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import type { Kernel } from './kernel.js';
import { type Mm, MmCounter } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { rmapWalk } from './rmap.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/**
 * page_make_device_exclusive_one over every mapping of the anonymous page pfn (rmap_walk):
 * each mapping's mirrors are told (MMU_NOTIFY_EXCLUSIVE, `owner` the device asking, which
 * its own notifier ignores), the entry is cleared and flushed and replaced by a
 * device-exclusive entry, writable where the entry was; the mapping goes, its reference stays.
 * True when the page is now mapped nowhere and the caller's entry (mm, vpn) was writable
 * (folio_make_device_exclusive's args.valid && !folio_mapcount).
 */
export function makePageDeviceExclusive(
  k: Kernel,
  pfn: number,
  mm: Mm,
  vpn: number,
  owner: unknown,
  cpu: number,
): boolean {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.anon) || f.has(pfn, PG.compound)) return false;
  let valid = false;
  rmapWalk(k, pfn, (m, _vma, v, h) => {
    mmuNotifierInvalidate(m, v, v + 1, NotifyEvent.exclusive, owner);
    const attrs = m.pmap.pteClear(h);
    k.flushTlbRange(m, cpu, v, v + 1);
    if ((attrs & PteAttr.dirty) !== 0) f.set(pfn, PG.dirty); // folio_mark_dirty
    const write = (attrs & PteAttr.write) !== 0;
    if (m === mm && v === vpn && write) valid = true;
    m.pmap.pteSetSwap(h, pfn, write ? SwpType.exclusiveWrite : SwpType.exclusiveRead);
    // page_remove_rmap without folio_put: the entry keeps the mapping's reference. (An mlocked
    // page is munlocked here and mlocked again on restore; vmlab leaves it mlocked throughout.)
    if (--f.mapcount[pfn] === 0) k.anonPages--;
  });
  return valid && f.mapcount[pfn] === 0;
}

/**
 * restore_exclusive_pte: the device-exclusive entry with handle h becomes an ordinary
 * entry for its page again: old, dirty and writable where the entry was writable and the
 * area may be written (pte_mkdirty, maybe_mkwrite); the page is mapped once more
 * (folio_add_anon_rmap_pte), with the reference the entry kept. No flush: it was not present.
 */
export function restoreExclusivePte(k: Kernel, mm: Mm, vma: Vma, h: number): void {
  const f = k.phys.frames;
  const pmap = mm.pmap;
  const pfn = pmap.pteSwapSlot(h);
  let attrs = basePteAttrs(vma.flags) & ~PteAttr.accessed;
  if (pmap.pteSwapType(h) === SwpType.exclusiveWrite) {
    attrs |= PteAttr.dirty;
    if ((vma.flags & VM.WRITE) !== 0) attrs |= PteAttr.write;
  }
  pmap.pteSet(h, pfn, attrs);
  if (f.mapcount[pfn]++ === 0) k.anonPages++;
  k.vmstat.device_exclusive_restored++;
}

/**
 * remove_device_exclusive_entry (do_swap_page): the mirrors of the page are told
 * (MMU_NOTIFY_EXCLUSIVE, no owner: every device drops its mapping of it), then the entry is
 * restored. The fault completes; the access retries (a write through a restored read-only
 * entry faults again, for copy-on-write).
 */
export function removeDeviceExclusiveEntry(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number): void {
  mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.exclusive, null);
  restoreExclusivePte(k, mm, vma, h);
}

/**
 * zap_nonpresent_ptes for a device-exclusive entry: the process's RSS loses the page and the
 * page the entry's reference (folio_put; the last one frees it). Its mapping went already.
 */
export function zapExclusiveEntry(k: Kernel, mm: Mm, pfn: number): void {
  mm.addRss(MmCounter.ANONPAGES, -1);
  if (--k.phys.frames.refcount[pfn] === 0) k.freePage(pfn);
}

/** change_pte_range: a writable device-exclusive entry becomes readable. */
export function protectExclusiveEntry(mm: Mm, vpn: number): void {
  const h = mm.pmap.pteLookup(vpn);
  if (mm.pmap.pteSwapType(h) === SwpType.exclusiveWrite)
    mm.pmap.pteSetSwap(h, mm.pmap.pteSwapSlot(h), SwpType.exclusiveRead);
}
