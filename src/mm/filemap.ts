// The page cache (mm/filemap.c, mm/truncate.c, mm/page-writeback.c): pages of an inode kept
// by index in its xarray, read from the disk, dirtied, written back, truncated. Each cached
// page holds one reference (the cache's); page-table mappings add theirs.
//
// The disk is instant: a read completes before the reading call returns, so a page is never
// found "not uptodate" and readahead never races with the reader. Writes make large folios
// (filemap-folio.ts); readahead and faults make order-0 folios.

import { PteAttr } from '../arch/pmap.js';
import { XA_NODE_BYTES } from '../lib/xarray.js';
import { PG } from '../phys/frames.js';
import { folioHead, folioOrder, splitFolio } from './filemap-folio.js';
import type { Inode, OpenFile } from './inode.js';
import type { Kernel } from './kernel.js';
import { lruAdd } from './lru.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { refault } from './swap.js';
import { VM } from './vma.js';

/** KiB per page, the unit of /proc/vmstat pgpgin and pgpgout. */
const PAGE_KIB = 4;

/** Record the change in an inode's xarray nodes in the metadata meter. */
function meterNodes(k: Kernel, inode: Inode, before: number): void {
  const d = inode.cache.nodes - before;
  if (d > 0) k.meta.add('xa_node', d * XA_NODE_BYTES);
  else if (d < 0) k.meta.sub('xa_node', -d * XA_NODE_BYTES);
}

/**
 * filemap_add_folio: a new page at `index` holding `token`, with the cache's reference, on
 * the LRU (inactive, or active when it refaults soon after its eviction: workingset_refault).
 * Returns its pfn, or -1 when memory is exhausted.
 */
export function addToCache(k: Kernel, inode: Inode, index: number, token: number): number {
  const pfn = k.phys.alloc(0);
  if (pfn < 0) return -1;
  cachePage(k, inode, index, pfn, token);
  return pfn;
}

/**
 * filemap_alloc_folio + filemap_add_folio of a folio of up to 2^order pages at `index` (which
 * writeFolioOrder chose): an order above 0 is asked for with __GFP_NORETRY and, when no block
 * that large is free, the next lower order is tried (__filemap_get_folio's loop). Every page
 * holds `token`. Returns the first page's pfn (the folio's order is in inode.folios), or -1.
 */
export function addFolio(k: Kernel, inode: Inode, index: number, order: number, token: number): number {
  let pfn = -1;
  for (; order > 0; order--) {
    pfn = k.phys.alloc(order, 0, true);
    if (pfn >= 0) break;
  }
  if (order === 0) return addToCache(k, inode, index, token);
  k.phys.frames.resetRange(pfn + 1, (1 << order) - 1); // the rest of the block: fresh frames
  inode.folios.set(index, order);
  for (let i = 0; i < 1 << order; i++) cachePage(k, inode, index + i, pfn + i, token);
  return pfn;
}

/** One page of a new folio enters the cache: flags, owner, index, the cache's reference, the LRU. */
function cachePage(k: Kernel, inode: Inode, index: number, pfn: number, token: number): void {
  const f = k.phys.frames;
  f.token[pfn] = token;
  f.flags[pfn] |= inode.isShmem() ? PG.shmem : PG.file;
  f.owner[pfn] = inode.id;
  f.setIndex(pfn, index);
  f.refcount[pfn] = 1;
  const before = inode.cache.nodes;
  inode.cache.set(index, pfn);
  meterNodes(k, inode, before);
  if (inode.isShmem()) k.shmemPages++;
  else {
    k.filePages++;
    const shadow = inode.shadows.get(index);
    if (shadow !== undefined) {
      inode.shadows.delete(index);
      refault(k, pfn, shadow, true);
    }
  }
  lruAdd(k, pfn);
}

/** Take an unmapped page out of the cache and free it (filemap_remove_folio + folio_put). */
export function removeFromCache(k: Kernel, inode: Inode, index: number): void {
  const pfn = inode.cache.get(index);
  if (pfn === undefined) return;
  splitFolio(inode, index); // a page leaving alone: what stays of its folio is order-0 folios
  const f = k.phys.frames;
  if (f.mapcount[pfn] !== 0) throw new Error(`removeFromCache: page ${pfn} is still mapped`);
  const before = inode.cache.nodes;
  inode.cache.delete(index);
  meterNodes(k, inode, before);
  if (--f.refcount[pfn] !== 0) throw new Error(`removeFromCache: page ${pfn} still referenced`);
  k.uncachePage(pfn);
}

/** Read one page from the disk into the cache (->read_folio); -1 when memory is exhausted. */
export function readPage(k: Kernel, inode: Inode, index: number): number {
  const onDisk = inode.disk.get(index);
  const pfn = addToCache(k, inode, index, onDisk ?? 0);
  // A hole (no block on the disk) is zero-filled without I/O (block_read_full_folio).
  if (pfn >= 0 && onDisk !== undefined) k.vmstat.pgpgin += PAGE_KIB;
  return pfn;
}

/**
 * folio_mark_dirty for a page of a regular file: every page of its folio becomes dirty (a
 * large folio is dirtied and written back whole). shmem pages are not counted as Dirty.
 */
export function markDirty(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.file)) {
    f.set(pfn, PG.dirty);
    return;
  }
  const inode = k.inodes.get(f.owner[pfn])!;
  const index = f.index(pfn);
  const head = folioHead(inode, index);
  const first = pfn - (index - head);
  for (let p = first; p < first + (1 << folioOrder(inode, head)); p++) {
    if (f.has(p, PG.dirty)) continue;
    f.set(p, PG.dirty);
    k.dirtyPages++;
  }
}

/**
 * Write back the dirty pages of inode with first <= index < end (filemap_write_and_wait_range):
 * each goes to the disk and is cleaned, and every shared mapping of it is write-protected
 * and cleaned (folio_clear_dirty_for_io -> folio_mkclean), so that the next write faults and
 * dirties it again. Returns the pages written.
 */
export function writeback(
  k: Kernel,
  inode: Inode,
  cpu: number,
  first = 0,
  end = Number.MAX_SAFE_INTEGER,
): number {
  if (inode.isShmem() || inode.isHugetlbfs()) return 0; // nothing to write back
  const f = k.phys.frames;
  let written = 0;
  // Whole folios: the range grows to the folios at its ends (writeback_iter works by folio).
  first = folioHead(inode, first);
  if (end < Number.MAX_SAFE_INTEGER && end > first) {
    const last = folioHead(inode, end - 1);
    end = Math.max(end, last + (1 << folioOrder(inode, last)));
  }
  inode.cache.forEach(
    (index, pfn) => {
      if (pfn < 0 || !f.has(pfn, PG.dirty)) return;
      if (f.mapcount[pfn] > 0) mkclean(k, inode, index, pfn, cpu);
      f.clear(pfn, PG.dirty);
      k.dirtyPages--;
      inode.disk.set(index, f.token[pfn]);
      k.vmstat.pgpgout += PAGE_KIB;
      k.vmstat.nr_written++;
      written++;
    },
    first,
    end,
  );
  return written;
}

/**
 * folio_mkclean: write-protect and clean the page in every shared mapping (rmap through
 * i_mmap, page_vma_mkclean_one); each changed entry is flushed from `cpu` (ptep_clear_flush).
 */
function mkclean(k: Kernel, inode: Inode, index: number, pfn: number, cpu: number): void {
  for (const [vma, mm] of inode.mmaps) {
    if ((vma.flags & VM.SHARED) === 0) continue;
    const vpn = vma.start + (index - vma.pgoff);
    if (vpn < vma.start || vpn >= vma.end) continue;
    const h = mm.pmap.pteLookup(vpn);
    if (h < 0 || !mm.pmap.ptePresent(h) || mm.pmap.ptePfn(h) !== pfn) continue;
    mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.protectionPage); // page_vma_mkclean_one
    const attrs = mm.pmap.pteAttrs(h);
    if ((attrs & (PteAttr.write | PteAttr.dirty)) === 0) continue;
    mm.pmap.pteUpdate(h, 0, PteAttr.write | PteAttr.dirty);
    k.flushTlbRange(mm, cpu, vpn, vpn + 1);
  }
}

// ---------------------------------------------------------------- readahead (mm/readahead.c, 6.6)

/** get_init_ra_size: the first window for a read of `size` pages. */
function initRaSize(size: number, max: number): number {
  let n = 1;
  while (n < size) n *= 2; // roundup_pow_of_two
  if (n <= max / 32) return n * 4;
  if (n <= max / 4) return n * 2;
  return max;
}

/** get_next_ra_size: ramp the window up. */
function nextRaSize(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

/**
 * do_page_cache_ra + page_cache_ra_unbounded: read the pages of [index, index + nr) that are
 * not cached, up to the page holding the file's last byte; the page `nr - lookahead` into the
 * window, if this call reads it, gets PG_readahead (the async readahead trigger).
 */
export function doPageCacheRa(k: Kernel, inode: Inode, index: number, nr: number, lookahead: number): void {
  if (inode.size === 0) return;
  const endIndex = Math.floor((inode.size - 1) / 4096);
  if (index > endIndex) return;
  if (nr > endIndex - index) nr = endIndex - index + 1;
  for (let i = 0; i < nr; i++) {
    if (inode.cache.has(index + i)) continue;
    const pfn = readPage(k, inode, index + i);
    if (pfn < 0) return; // allocation failed: read what we have
    if (i === nr - lookahead) k.phys.frames.set(pfn, PG.readahead);
  }
}

/** page_cache_next_miss: the first index in [index, index + max) that is not cached, or index + max. */
function nextMiss(inode: Inode, index: number, max: number): number {
  for (let i = index; i < index + max; i++) if (!inode.cache.has(i)) return i;
  return index + max;
}

/** page_cache_prev_miss: the last index in (index - max, index] that is not cached, or index - max. */
function prevMiss(inode: Inode, index: number, max: number): number {
  for (let i = index; i > index - max && i >= 0; i--) if (!inode.cache.has(i)) return i;
  return index - max;
}

/**
 * ondemand_readahead (Linux 6.6): `hitMarker` when called for a page carrying PG_readahead.
 * bdi->io_pages is taken equal to ra_pages (no window beyond read_ahead_kb).
 */
function ondemandReadahead(k: Kernel, file: OpenFile, hitMarker: boolean, index: number, req: number): void {
  const ra = file.ra;
  const inode = file.inode;
  const max = ra.raPages;
  let initial = index === 0;
  if (!initial) {
    const expected = ra.start + ra.size - ra.asyncSize;
    if (index === expected || index === ra.start + ra.size) {
      // The expected callback: sequential; ramp up and push the window forward.
      ra.start += ra.size;
      ra.size = nextRaSize(ra.size, max);
      ra.asyncSize = ra.size;
      readit(k, file, index);
      return;
    }
    if (hitMarker) {
      // A marked page without matching state (interleaved streams): size from the cache.
      const start = nextMiss(inode, index + 1, max);
      if (start === 0 || start - index > max) return;
      ra.start = start;
      ra.size = start - index + req;
      ra.size = nextRaSize(ra.size, max);
      ra.asyncSize = ra.size;
      readit(k, file, index);
      return;
    }
    if (req > max) initial = true;
    else {
      const prevIndex = ra.prevPos < 0 ? Number.POSITIVE_INFINITY : Math.floor(ra.prevPos / 4096);
      if (index >= prevIndex && index - prevIndex <= 1) initial = true;
      else {
        // try_context_readahead: cached history right below index suggests a stream.
        let size = index - 1 - prevMiss(inode, index - 1, max);
        if (size > req) {
          if (size >= index) size *= 2;
          ra.start = index;
          ra.size = Math.min(size + req, max);
          ra.asyncSize = 1;
          readit(k, file, index);
          return;
        }
        // A small random read: read just that, and leave the state alone.
        doPageCacheRa(k, inode, index, req, 0);
        return;
      }
    }
  }
  ra.start = index;
  ra.size = initRaSize(req, max);
  ra.asyncSize = ra.size > req ? ra.size - req : ra.size;
  readit(k, file, index);
}

/** ondemand_readahead's `readit`: merge the next window when this read would hit its own marker. */
function readit(k: Kernel, file: OpenFile, index: number): void {
  const ra = file.ra;
  const max = ra.raPages;
  if (index === ra.start && ra.size === ra.asyncSize) {
    const add = nextRaSize(ra.size, max);
    if (ra.size + add <= max) {
      ra.asyncSize = add;
      ra.size += add;
    } else {
      ra.size = max;
      ra.asyncSize = max >> 1;
    }
  }
  doPageCacheRa(k, file.inode, ra.start, ra.size, ra.asyncSize);
}

/** page_cache_sync_ra: a cache miss at index by a read of `req` pages. */
export function syncReadahead(k: Kernel, file: OpenFile, index: number, req: number): void {
  if (file.ra.raPages === 0) {
    doPageCacheRa(k, file.inode, index, 1, 0); // force_page_cache_ra of the one page
    return;
  }
  ondemandReadahead(k, file, false, index, req);
}

/** page_cache_async_ra: the reader reached a PG_readahead page. */
export function asyncReadahead(k: Kernel, file: OpenFile, index: number, pfn: number, req: number): void {
  if (file.ra.raPages === 0) return;
  k.phys.frames.clear(pfn, PG.readahead);
  ondemandReadahead(k, file, true, index, req);
}

/** MMAP_LOTSAMISS: past this many unbalanced misses, mmap faults stop reading around. */
const MMAP_LOTSAMISS = 100;

/**
 * do_sync_mmap_readahead: a fault found no page. VM_RAND_READ reads nothing extra,
 * VM_SEQ_READ reads ahead as a sequential read() would, otherwise read-around: a window of
 * ra_pages centred on the fault (unless mmap faults have missed much more than hit).
 */
export function syncMmapReadahead(k: Kernel, file: OpenFile, index: number, vmFlags: number): void {
  const ra = file.ra;
  if ((vmFlags & VM.RAND_READ) !== 0 || ra.raPages === 0) return;
  if ((vmFlags & VM.SEQ_READ) !== 0) {
    syncReadahead(k, file, index, ra.raPages);
    return;
  }
  if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
  if (ra.mmapMiss > MMAP_LOTSAMISS) return;
  ra.start = Math.max(0, index - Math.floor(ra.raPages / 2));
  ra.size = ra.raPages;
  ra.asyncSize = Math.floor(ra.raPages / 4);
  doPageCacheRa(k, file.inode, ra.start, ra.size, ra.asyncSize);
}

/**
 * do_async_mmap_readahead: a fault found its page; a PG_readahead one pushes the window on.
 * Returns whether it did, releasing the fault lock for the I/O (maybe_unlock_mmap_for_io).
 */
export function asyncMmapReadahead(
  k: Kernel,
  file: OpenFile,
  index: number,
  pfn: number,
  vmFlags: number,
): boolean {
  const ra = file.ra;
  if ((vmFlags & VM.RAND_READ) !== 0 || ra.raPages === 0) return false;
  if (ra.mmapMiss > 0) ra.mmapMiss--;
  if (!k.phys.frames.has(pfn, PG.readahead)) return false;
  asyncReadahead(k, file, index, pfn, ra.raPages);
  return true;
}
