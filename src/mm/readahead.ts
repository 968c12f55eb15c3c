// Readahead (mm/readahead.c; the window logic of Linux 6.6's on-demand readahead, the folio
// orders of 6.18's page_cache_ra_order) and the mmap fault hooks (mm/filemap.c
// do_sync_mmap_readahead, do_async_mmap_readahead).

import { PG } from '../phys/frames.js';
import { addFolio, readPage } from './filemap.js';
import { folioHead, folioOrder, MAX_PAGECACHE_ORDER } from './filemap-folio.js';
import type { Inode, OpenFile } from './inode.js';
import type { Kernel } from './kernel.js';
import { VM } from './vma.js';

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
function ondemandReadahead(
  k: Kernel,
  file: OpenFile,
  hitMarker: boolean,
  index: number,
  req: number,
  markOrder = 0,
): void {
  // page_cache_async_ra reads the next window in folios two orders above the marked one's;
  // page_cache_sync_ra in order 0 (ra->order = 0).
  const order = hitMarker ? markOrder + 2 : 0;
  const ra = file.ra;
  const inode = file.inode;
  const max = ra.raPages;
  let initial = index === 0;
  if (!initial) {
    // 6.18: the marker folio's index, round_down(start + size - async_size, folio_nr_pages)
    let expected = ra.start + ra.size - ra.asyncSize;
    if (hitMarker) expected -= expected % (1 << markOrder);
    if (index === expected || index === ra.start + ra.size) {
      // The expected callback: sequential; ramp up and push the window forward.
      ra.start += ra.size;
      ra.size = nextRaSize(ra.size, max);
      ra.asyncSize = ra.size;
      readit(k, file, index, order);
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
      readit(k, file, index, order);
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
          readit(k, file, index, order);
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
  readit(k, file, index, order);
}

/** ondemand_readahead's `readit`: merge the next window when this read would hit its own marker. */
function readit(k: Kernel, file: OpenFile, index: number, order: number): void {
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
  pageCacheRaOrder(k, file.inode, ra.start, ra.size, ra.asyncSize, order);
}

/**
 * page_cache_ra_order (6.18): read the window [start, start + size) in folios of `order`,
 * capped at the mapping's largest order and at ilog2(size), each lowered to the alignment of
 * its index (__ffs) and so as not to reach past the window's last page or the end of the file;
 * the folio holding round_down(start + size - asyncSize, its size) gets PG_readahead
 * (ra_alloc_folio). A page already cached (or memory exhausted) stops it there, and the rest
 * of the window is read in order-0 folios (the fallback, do_page_cache_ra).
 */
function pageCacheRaOrder(
  k: Kernel,
  inode: Inode,
  start: number,
  size: number,
  asyncSize: number,
  order: number,
): void {
  const maxOrder = k.config.maxFolioOrder ?? MAX_PAGECACHE_ORDER;
  if (order === 0 || maxOrder === 0 || inode.size === 0) {
    doPageCacheRa(k, inode, start, size, asyncSize);
    return;
  }
  const limit = Math.min(Math.floor((inode.size - 1) / 4096), start + size - 1);
  order = Math.min(order, maxOrder, 31 - Math.clz32(size));
  const mark = start + size - asyncSize;
  const f = k.phys.frames;
  let index = start;
  while (index <= limit) {
    let o = order;
    while (o > 0 && index % (1 << o) !== 0) o--; // __ffs(index)
    while (o > 0 && index + (1 << o) - 1 > limit) o--;
    if (inode.cache.entries(index, index + (1 << o)).length > 0) break; // -EEXIST
    const pfn = addFolio(k, inode, index, o, 0);
    if (pfn < 0) break;
    const nr = 1 << folioOrder(inode, index);
    for (let i = 0; i < nr; i++) {
      const onDisk = inode.disk.get(index + i);
      f.token[pfn + i] = onDisk ?? 0;
      if (onDisk !== undefined) k.vmstat.pgpgin += 4; // a hole is zero-filled without I/O
    }
    if (index === mark - (mark % nr)) f.set(pfn, PG.readahead);
    index += nr;
  }
  if (index <= limit && size > index - start)
    doPageCacheRa(k, inode, index, size - (index - start), asyncSize);
}

/** page_cache_sync_ra: a cache miss at index by a read of `req` pages. */
export function syncReadahead(k: Kernel, file: OpenFile, index: number, req: number): void {
  if (file.ra.raPages === 0) {
    doPageCacheRa(k, file.inode, index, 1, 0); // force_page_cache_ra of the one page
    return;
  }
  ondemandReadahead(k, file, false, index, req);
}

/** page_cache_async_ra: the reader reached a folio marked PG_readahead (its first page `pfn`). */
export function asyncReadahead(k: Kernel, file: OpenFile, index: number, pfn: number, req: number): void {
  if (file.ra.raPages === 0) return;
  k.phys.frames.clear(pfn, PG.readahead);
  const inode = file.inode;
  ondemandReadahead(k, file, true, index, req, folioOrder(inode, folioHead(inode, index)));
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
  const head = pfn - (index - folioHead(file.inode, index)); // PG_readahead is the folio's
  if (!k.phys.frames.has(head, PG.readahead)) return false;
  asyncReadahead(k, file, index, head, ra.raPages);
  return true;
}
