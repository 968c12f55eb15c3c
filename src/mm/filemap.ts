// The page cache (mm/filemap.c, mm/truncate.c, mm/page-writeback.c): pages of an inode kept
// by index in its xarray, read from the disk, dirtied, written back, truncated. Each cached
// page holds one reference (the cache's); page-table mappings add theirs.
//
// The disk is instant: a read completes before the reading call returns, so a page is never
// found "not uptodate" and readahead never races with the reader. Writes and asynchronous
// readahead make large folios (filemap-folio.ts, readahead.ts); a fault or read that finds
// no page reads an order-0 one.

import { PteAttr } from '../arch/pmap.js';
import { XA_NODE_BYTES } from '../lib/xarray.js';
import { PG } from '../phys/frames.js';
import { folioHead, folioOrder, splitFolio } from './filemap-folio.js';
import type { Inode } from './inode.js';
import type { Kernel } from './kernel.js';
import { lruAdd } from './lru.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { refault } from './swap.js';
import { VM } from './vma.js';

/** KiB per page, the unit of /proc/vmstat pgpgin and pgpgout. */
const PAGE_KIB = 4;

/** Record the change in an inode's xarray nodes in the metadata meter. */
export function meterNodes(k: Kernel, inode: Inode, before: number): void {
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
