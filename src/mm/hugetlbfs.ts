// hugetlbfs files (fs/hugetlbfs/inode.c): named files created on a hugetlbfs mount of one page
// size, the unnamed file behind every MAP_HUGETLB mapping (hugetlb_file_setup), their page cache
// of hugetlb folios (hugetlb_add_to_page_cache; indexed by huge page), truncation
// (hugetlb_vmtruncate) and eviction (remove_inode_hugepages). hugetlb folios in a page cache are
// not counted in Cached or Shmem (__filemap_add_folio skips NR_FILE_PAGES for them) and are
// never written back, dropped by drop_caches or reclaimed.

import { err, ok, type SysResult } from '../lib/errno.js';
import { PG } from '../phys/frames.js';
import { meterNodes } from './filemap.js';
import { putHugetlbFolio } from './hugetlb-fault.js';
import { hugetlbUnreservePages } from './hugetlb-reserve.js';
import { ResvMap } from './hugetlb-resv.js';
import { unmapHugepageRange } from './hugetlb-unmap.js';
import { type Inode, InodeKind, type OpenFile } from './inode.js';
import type { Kernel } from './kernel.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';

/** The hstate index (Kernel.hugetlb.hstates) of a huge page size in bytes, or -1 (hstate_sizelog). */
export function hstateIndexOfSize(bytes: number): number {
  return bytes === 2 * 1024 * 1024 ? 0 : bytes === 1024 * 1024 * 1024 ? 1 : -1;
}

function newHugetlbfsInode(k: Kernel, name: string, size: number, hstate: number): Inode {
  const inode = k.newInode(InodeKind.hugetlbfs, name, size);
  inode.hstate = hstate;
  inode.resv = new ResvMap();
  return inode;
}

/**
 * open(O_CREAT) + ftruncate(size) of `name` on a hugetlbfs mount whose page size is that of
 * hstate `hstate`: the file has no pages yet. The size must be a multiple of the huge page size
 * (hugetlbfs_setattr: EINVAL).
 */
export function hugetlbfsCreate(k: Kernel, name: string, size: number, hstate: number): SysResult<0> {
  if (k.files.has(name)) return err('EEXIST');
  if (size < 0 || size % (k.hugetlb.hstates[hstate].nrPages * 4096) !== 0) return err('EINVAL');
  const inode = newHugetlbfsInode(k, name, size, hstate);
  k.files.set(name, inode);
  inode.users++; // the directory entry's reference
  return ok(0);
}

/**
 * hugetlb_file_setup for MAP_HUGETLB: an unnamed hugetlbfs file of `size` bytes (already a
 * multiple of the huge page size), created with VM_NORESERVE: the mmap that follows reserves.
 */
export function hugetlbFileSetup(k: Kernel, size: number, hstate: number): OpenFile {
  return k.openFile(newHugetlbfsInode(k, '', size, hstate));
}

/**
 * hugetlb_add_to_page_cache: the folio joins the inode's cache at huge-page index idx, with the
 * cache's reference; the reservation it consumed stays consumed (restore flag cleared).
 */
export function addToHugetlbCache(k: Kernel, inode: Inode, idx: number, head: number): void {
  const f = k.phys.frames;
  const before = inode.cache.nodes;
  inode.cache.set(idx, head);
  meterNodes(k, inode, before);
  f.refcount[head]++;
  f.clear(head, PG.hugetlbRestoreReserve);
  f.owner[head] = inode.id;
  f.setIndex(head, idx);
}

/**
 * remove_inode_hugepages from huge-page index `start` to the end: each folio leaves the cache
 * and, unmapped everywhere by then, goes back to the pool; then hugetlb_unreserve_pages gives
 * back the reservations of the file's pages never instantiated.
 */
function removeInodeHugepages(k: Kernel, inode: Inode, start: number): void {
  let freed = 0;
  for (const [idx, head] of [...inode.cache.entries(start)]) {
    if (k.phys.frames.refcount[head + 1] !== 0)
      throw new Error(`removeInodeHugepages: folio ${head} at ${idx} is still mapped`);
    const before = inode.cache.nodes;
    inode.cache.delete(idx);
    meterNodes(k, inode, before);
    putHugetlbFolio(k, head);
    freed++;
  }
  hugetlbUnreservePages(k, inode, start, Number.POSITIVE_INFINITY, freed);
}

/**
 * truncate of a hugetlbfs file (hugetlbfs_setattr -> hugetlb_vmtruncate): the size must be a
 * multiple of the huge page size. Shrinking unmaps the pages past the new end from every
 * mapping of the file, shared and private (hugetlb_vmdelete_list), and frees them.
 */
export function hugetlbVmtruncate(k: Kernel, inode: Inode, size: number, cpu: number): SysResult<0> {
  const h = k.hugetlb.hstates[inode.hstate];
  if (size < 0 || size % (h.nrPages * 4096) !== 0) return err('EINVAL');
  const shrink = size < inode.size;
  inode.size = size;
  if (!shrink) return ok(0);
  const pgoff = size / 4096;
  for (const [vma, mm] of inode.mmaps) {
    const from = Math.max(vma.start, vma.start + (pgoff - vma.pgoff));
    // The truncating CPU flushes every mm (flush_tlb_mm_range: IPIs to the CPUs in its mask).
    if (from < vma.end) {
      mmuNotifierInvalidate(mm, from, vma.end, NotifyEvent.unmap); // unmap_hugepage_range
      unmapHugepageRange(k, mm, vma, from, vma.end, cpu);
    }
  }
  removeInodeHugepages(k, inode, pgoff / h.nrPages);
  return ok(0);
}

/** hugetlbfs_evict_inode: the last reference to the inode went; its pages and reservations go. */
export function hugetlbfsEvict(k: Kernel, inode: Inode): void {
  removeInodeHugepages(k, inode, 0);
  inode.cache.clear();
}
