// Swap (mm/swapfile.c, mm/swap_state.c, mm/memory.c do_swap_page, mm/shmem.c) and the final
// step of reclaim that frees a page (__remove_mapping), with the workingset shadow entries
// that let a refault tell how long its page was away (mm/workingset.c).
//
// The swap device is one synchronous device, like zram with vm.page-cluster 0: a swap-in
// reads exactly the faulting page and, when no other entry refers to its slot, skips the
// swap cache (the SWP_SYNCHRONOUS_IO path of do_swap_page), freeing the slot at once.
// Swap entries in page tables and in shmem page caches hold one reference on their slot
// (swap_map); a page in the swap cache holds another.

import { PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import type { AnonVma } from './anon-vma.js';
import { anonVmaPrepare, mlockPage, VmFault } from './fault.js';
import { markDirty, removeFromCache } from './filemap.js';
import type { Inode } from './inode.js';
import type { Kernel } from './kernel.js';
import { LruList, lruAdd } from './lru.js';
import { type Mm, MmCounter } from './mm.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/**
 * A workingset shadow, packed in a number: the non-resident age at eviction times 2, plus 1 if
 * the page was in the workingset; 0 means none (ages start at 1).
 */
export type Shadow = number;

export class SwapDevice {
  readonly slots: number;
  /** swap_map: entries (page tables, shmem caches) referring to each slot. */
  readonly count: Int32Array;
  /** What each slot holds (the content token written to it). */
  readonly contents: Uint32Array;
  /** The swap cache: slot -> pfn (-1: none), and the reverse (folio->swap). */
  readonly cachePfn: Int32Array;
  cacheSize = 0;
  readonly slotOf = new Map<number, number>();
  /** Shadows of anonymous pages evicted from the swap cache, by slot (0: none). */
  readonly shadows: Float64Array;
  freeSlots: number;
  private cursor = 0;
  private readonly used: Uint8Array;

  constructor(slots: number) {
    this.slots = slots;
    this.count = new Int32Array(slots);
    this.contents = new Uint32Array(slots);
    this.used = new Uint8Array(slots);
    this.cachePfn = new Int32Array(slots).fill(-1);
    this.shadows = new Float64Array(slots);
    this.freeSlots = slots;
  }

  /** The page in the swap cache for slot, or -1. */
  cached(slot: number): number {
    return this.cachePfn[slot];
  }

  /** get_swap_page: the next free slot after the last one handed out, or -1. */
  alloc(): number {
    if (this.freeSlots === 0) return -1;
    for (let i = 0; i < this.slots; i++) {
      const s = (this.cursor + i) % this.slots;
      if (this.used[s] === 0) {
        this.used[s] = 1;
        this.freeSlots--;
        this.cursor = s + 1;
        return s;
      }
    }
    throw new Error('SwapDevice.alloc: free count and map disagree');
  }

  /** The slot is free again once nothing refers to it and it left the swap cache. */
  releaseIfUnused(slot: number): void {
    if (this.count[slot] > 0 || this.cachePfn[slot] >= 0 || this.used[slot] === 0) return;
    this.used[slot] = 0;
    this.freeSlots++;
    this.shadows[slot] = 0;
  }

  isUsed(slot: number): boolean {
    return this.used[slot] === 1;
  }

  /** vm_swap_full: less than half of swap is free. */
  get full(): boolean {
    return this.freeSlots * 2 < this.slots;
  }
}

// ---------------------------------------------------------------- swap-out

/**
 * add_to_swap: give an anonymous page a slot and a place in the swap cache (one more
 * reference); it is dirty until written. False when swap is full.
 */
export function swapOutAnon(k: Kernel, pfn: number): boolean {
  const sw = k.swap;
  if (sw === null) return false;
  const slot = sw.alloc();
  if (slot < 0) return false;
  addToSwapCache(k, pfn, slot);
  k.phys.frames.set(pfn, PG.dirty);
  return true;
}

function addToSwapCache(k: Kernel, pfn: number, slot: number): void {
  const sw = k.swap!;
  const f = k.phys.frames;
  sw.cachePfn[slot] = pfn;
  sw.cacheSize++;
  sw.slotOf.set(pfn, slot);
  f.set(pfn, PG.swapcache);
  f.refcount[pfn]++;
  k.swapCachePages++;
}

/** delete_from_swap_cache: the page leaves the swap cache (and drops its reference). */
function deleteFromSwapCache(k: Kernel, pfn: number): number {
  const sw = k.swap!;
  const f = k.phys.frames;
  const slot = sw.slotOf.get(pfn)!;
  sw.cachePfn[slot] = -1;
  sw.cacheSize--;
  sw.slotOf.delete(pfn);
  f.clear(pfn, PG.swapcache);
  f.refcount[pfn]--;
  k.swapCachePages--;
  return slot;
}

/** try_to_unmap_one for an anonymous page in the swap cache: the entry becomes a swap entry. */
export function mapSwapEntry(k: Kernel, mm: Mm, h: number, pfn: number): void {
  const sw = k.swap!;
  const slot = sw.slotOf.get(pfn)!;
  mm.pmap.pteSetSwap(h, slot);
  sw.count[slot]++;
  mm.addRss(MmCounter.SWAPENTS, 1);
}

/**
 * The last step of reclaim for an unmapped page (pageout + __remove_mapping): a dirty
 * swap-backed page is written to its slot (a shmem page first gets one: shmem_writepage moves
 * it from its file's cache to the swap cache); then the page leaves its cache, a shadow entry
 * records its eviction, and it is freed. False when a dirty shmem page finds swap full.
 */
export function evictPage(k: Kernel, pfn: number): boolean {
  const f = k.phys.frames;
  const sw = k.swap;
  const node = k.phys.nodeOf(pfn);
  if (f.has(pfn, PG.shmem)) {
    const inode = k.inodes.get(f.owner[pfn])!;
    const index = f.index(pfn);
    if (!f.has(pfn, PG.dirty)) {
      removeFromCache(k, inode, index); // never written: it held zeros
      return true;
    }
    const slot = sw === null ? -1 : sw.alloc();
    if (slot < 0) return false;
    writeSlot(k, slot, pfn);
    sw!.count[slot] = 1; // the shmem cache's entry
    inode.cache.set(index, -(slot + 1));
    inode.swapped++;
    f.refcount[pfn]--; // the page cache's reference goes
    k.shmemPages--;
    sw!.shadows[slot] = shadowOf(k, pfn, node);
    k.freePage(pfn);
    return true;
  }
  if (f.has(pfn, PG.swapcache)) {
    if (f.has(pfn, PG.dirty)) writeSlot(k, sw!.slotOf.get(pfn)!, pfn);
    const shadow = shadowOf(k, pfn, node);
    const slot = deleteFromSwapCache(k, pfn);
    sw!.shadows[slot] = shadow;
    sw!.releaseIfUnused(slot);
    if (f.refcount[pfn] !== 0) throw new Error(`evictPage: anon page ${pfn} still referenced`);
    k.freePage(pfn);
    return true;
  }
  // A clean page of a regular file.
  const inode = k.inodes.get(f.owner[pfn])!;
  const index = f.index(pfn);
  const shadow = shadowOf(k, pfn, node);
  removeFromCache(k, inode, index);
  inode.shadows.set(index, shadow);
  return true;
}

/** anon_vma->root: the oldest anon_vma of a fork family. */
function rootAnonVma(av: AnonVma): AnonVma {
  let r = av;
  while (r.parent !== null) r = r.parent;
  return r;
}

/** swap_writepage: the page's contents go to its slot. */
function writeSlot(k: Kernel, slot: number, pfn: number): void {
  const f = k.phys.frames;
  k.swap!.contents[slot] = f.token[pfn];
  f.clear(pfn, PG.dirty);
  k.vmstat.pswpout++;
}

/** workingset_eviction: age the node's non-resident clock and remember the time. */
function shadowOf(k: Kernel, pfn: number, node: number): Shadow {
  k.nonresidentAge[node]++;
  return k.nonresidentAge[node] * 2 + (k.phys.frames.has(pfn, PG.workingset) ? 1 : 0);
}

/**
 * workingset_refault: a page comes back where a shadow was. Counted as a refault; if it was
 * away for less than the size of the workingset it could have displaced (the refault
 * distance), it is activated at once (and marked workingset if it was before).
 */
export function refault(k: Kernel, pfn: number, shadow: Shadow | undefined, file: boolean): void {
  if (shadow === undefined || shadow === 0) return;
  const eviction = Math.floor(shadow / 2);
  const workingset = shadow % 2 === 1;
  const f = k.phys.frames;
  const node = k.phys.nodeOf(pfn);
  const v = k.vmstat;
  if (file) v.workingset_refault_file++;
  else v.workingset_refault_anon++;
  const distance = k.nonresidentAge[node] - eviction;
  const lru = k.lru;
  let size = lru.count(node, LruList.activeFile);
  if (!file) size += lru.count(node, LruList.inactiveFile);
  if (k.swap !== null && k.swap.freeSlots > 0) {
    size += lru.count(node, LruList.activeAnon);
    if (file) size += lru.count(node, LruList.inactiveAnon);
  }
  if (distance > size) return;
  f.set(pfn, PG.active);
  k.nonresidentAge[node]++;
  if (file) v.workingset_activate_file++;
  else v.workingset_activate_anon++;
  if (workingset) {
    f.set(pfn, PG.workingset);
    if (file) v.workingset_restore_file++;
    else v.workingset_restore_anon++;
  }
}

// ---------------------------------------------------------------- swap-in

/**
 * do_swap_page: a fault on a swap entry. A page still in the swap cache is mapped again (a
 * minor fault); otherwise the slot is read into a new page (a major fault), which goes to the
 * swap cache only when other entries still refer to the slot. The entry's reference goes; a
 * page left in the swap cache leaves it too when this was a write by its only user, swap is
 * over half full, or the area is locked (should_try_to_free_swap).
 */
export function doSwapPage(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number, write: boolean): VmFault {
  const sw = k.swap!;
  const f = k.phys.frames;
  const slot = mm.pmap.pteSwapSlot(h);
  let pfn = sw.cached(slot);
  let major = false;
  if (pfn < 0) {
    anonVmaPrepare(k, mm, vma);
    pfn = k.phys.alloc(0); // its reference becomes the mapping's
    if (pfn < 0) return VmFault.oom;
    k.vmstat.pgmajfault++;
    k.vmstat.pswpin++;
    major = true;
    f.token[pfn] = sw.contents[slot];
    f.flags[pfn] |= PG.anon;
    // __folio_set_anon: a page that is not exclusive to this VMA (other entries still refer to
    // its slot: it was shared at fork) takes the oldest anon_vma, the root, which every
    // process sharing it links to; the faulting VMA's own would hide the others from rmap.
    f.owner[pfn] = (sw.count[slot] > 1 ? rootAnonVma(vma.anonVma!) : vma.anonVma!).id;
    f.setIndex(pfn, vma.pageIndex(vpn));
    if (sw.count[slot] > 1) addToSwapCache(k, pfn, slot);
    refault(k, pfn, sw.shadows[slot], false);
    sw.shadows[slot] = 0;
    if ((vma.flags & VM.LOCKED) !== 0) mlockPage(k, pfn);
    lruAdd(k, pfn);
  } else f.refcount[pfn]++;
  sw.count[slot]--;
  mm.addRss(MmCounter.SWAPENTS, -1);
  if (
    f.has(pfn, PG.swapcache) &&
    sw.count[slot] === 0 &&
    (sw.full || (vma.flags & VM.LOCKED) !== 0 || (write && f.mapcount[pfn] === 0))
  ) {
    deleteFromSwapCache(k, pfn);
    markDirty(k, pfn); // the swap copy is gone (folio_free_swap)
  }
  sw.releaseIfUnused(slot);
  const exclusive = !f.has(pfn, PG.swapcache) && f.mapcount[pfn] === 0;
  if (f.mapcount[pfn]++ === 0) k.anonPages++;
  let attrs = basePteAttrs(vma.flags);
  if (exclusive) {
    f.set(pfn, PG.anonExclusive);
    if (write && (vma.flags & VM.WRITE) !== 0) attrs |= PteAttr.write | PteAttr.dirty;
  }
  if ((vma.flags & VM.LOCKED) !== 0) mlockPage(k, pfn);
  mm.pmap.pteSet(h, pfn, attrs);
  mm.addRss(MmCounter.ANONPAGES, 1);
  return major ? VmFault.major : VmFault.done;
}

/** free_swap_and_cache for a zapped swap entry: its reference goes; an unused cached page goes too. */
export function freeSwapEntry(k: Kernel, mm: Mm | null, slot: number): void {
  const sw = k.swap!;
  sw.count[slot]--;
  if (mm !== null) mm.addRss(MmCounter.SWAPENTS, -1);
  if (sw.count[slot] > 0) return;
  const pfn = sw.cached(slot);
  if (pfn >= 0) {
    const f = k.phys.frames;
    deleteFromSwapCache(k, pfn);
    if (f.refcount[pfn] === 0) k.freePage(pfn);
    else markDirty(k, pfn);
  }
  sw.releaseIfUnused(slot);
}

/** copy_nonpresent_pte: a forked child's entry refers to the slot too. */
export function dupSwapEntry(k: Kernel, cmm: Mm, slot: number): void {
  k.swap!.count[slot]++;
  cmm.addRss(MmCounter.SWAPENTS, 1);
}

/**
 * wp_can_reuse_anon_folio's swap part: a page in the swap cache that no swap entry refers to
 * any more leaves it (folio_free_swap), so that its only mapper may write it in place.
 */
export function freeSwapCacheIfUnused(k: Kernel, pfn: number): void {
  const sw = k.swap;
  if (sw === null || !k.phys.frames.has(pfn, PG.swapcache)) return;
  const slot = sw.slotOf.get(pfn)!;
  if (sw.count[slot] > 0) return;
  deleteFromSwapCache(k, pfn);
  markDirty(k, pfn);
  sw.releaseIfUnused(slot);
}

/**
 * free_swap_cache, for a page a zap has just unmapped (free_pages_and_swap_cache in the
 * gather's flush, mm/swap_state.c): a page left in the swap cache that nothing maps and no
 * swap entry refers to any more leaves it (folio_free_swap), and is freed when that was its
 * last reference. Without this, a page swapped in by two processes that shared it at fork
 * stayed in the swap cache, holding a frame and a slot, after both had exited.
 */
export function freeSwapCache(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.swapcache) || f.mapcount[pfn] !== 0) return;
  freeSwapCacheIfUnused(k, pfn);
  if (!f.has(pfn, PG.swapcache) && f.refcount[pfn] === 0) k.freePage(pfn);
}

/**
 * read_swap_cache_async for MADV_WILLNEED: the slot's page is read into the swap cache (a
 * swap-in, not mapped yet). False when memory is exhausted.
 */
export function swapinToCache(k: Kernel, vma: Vma, vpn: number, slot: number): boolean {
  const sw = k.swap!;
  if (sw.cached(slot) >= 0) return true;
  const f = k.phys.frames;
  const pfn = k.phys.alloc(0);
  if (pfn < 0) return false;
  k.vmstat.pswpin++;
  f.token[pfn] = sw.contents[slot];
  f.flags[pfn] |= PG.anon;
  f.owner[pfn] = (sw.count[slot] > 1 ? rootAnonVma(vma.anonVma!) : vma.anonVma!).id;
  f.setIndex(pfn, vma.pageIndex(vpn));
  addToSwapCache(k, pfn, slot);
  f.refcount[pfn]--; // only the swap cache holds it
  refault(k, pfn, sw.shadows[slot], false);
  sw.shadows[slot] = 0;
  lruAdd(k, pfn);
  return true;
}

// ---------------------------------------------------------------- shmem

/**
 * shmem_swapin_folio: a shmem page that was swapped out comes back into its file's cache (a
 * major fault); its slot is freed. Returns the pfn, or -1 when memory is exhausted.
 */
export function shmemSwapin(k: Kernel, inode: Inode, index: number, slot: number): number {
  const sw = k.swap!;
  const f = k.phys.frames;
  const pfn = k.phys.alloc(0);
  if (pfn < 0) return -1;
  k.vmstat.pgmajfault++;
  k.vmstat.pswpin++;
  f.token[pfn] = sw.contents[slot];
  f.flags[pfn] |= PG.shmem | PG.dirty; // its only copy is in memory now
  f.owner[pfn] = inode.id;
  f.setIndex(pfn, index);
  inode.cache.set(index, pfn); // replaces the swap entry: the tree keeps its shape
  inode.swapped--;
  k.shmemPages++;
  refault(k, pfn, sw.shadows[slot], false);
  sw.count[slot]--;
  sw.releaseIfUnused(slot);
  lruAdd(k, pfn);
  return pfn;
}

/** A shmem cache entry that is a swap entry: the slot, else -1. */
export function shmemSwapSlot(entry: number): number {
  return entry < 0 ? -entry - 1 : -1;
}
