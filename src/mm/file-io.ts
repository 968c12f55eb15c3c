// File system calls on the simulated file system: create, read, write, truncate, fsync,
// msync, sync and drop_caches (mm/filemap.c filemap_read and generic_perform_write,
// mm/truncate.c, mm/msync.c, fs/sync.c, fs/drop_caches.c). Offsets and lengths are bytes.
//
// Files live on one disk-backed file system with a 4 KiB block size. A process opens a file
// the first time it reads, writes or maps it and keeps it open (one struct file per process
// and file), so its reads and its mappings share one readahead state, as a program that
// opens a file once and then reads or maps it does.

import { type Errno, err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { PG } from '../phys/frames.js';
import { addFolio, addToCache, markDirty, readPage, removeFromCache, writeback } from './filemap.js';
import {
  folioHead,
  folioOrder,
  MAX_PAGECACHE_ORDER,
  splitFolioAt,
  writeFolioOrder,
} from './filemap-folio.js';
import { type Inode, InodeKind, type OpenFile } from './inode.js';
import type { Kernel } from './kernel.js';
import { markAccessed } from './lru.js';
import type { Task } from './mm.js';
import { asyncReadahead, syncReadahead } from './readahead.js';
import { zapRange } from './unmap.js';
import { VM } from './vma.js';

/** The first and last page index a byte range [offset, end) touches (end > offset). */
function pageSpan(offset: number, end: number): [number, number] {
  return [Math.floor(offset / PAGE_SIZE), Math.floor((end - 1) / PAGE_SIZE)];
}

/** The task's open file for inode, opening it on first use. */
export function taskFile(k: Kernel, task: Task, inode: Inode): OpenFile {
  let f = task.files.get(inode.id);
  if (f === undefined) {
    f = k.openFile(inode);
    f.users++;
    task.files.set(inode.id, f);
  }
  return f;
}

/** Close every file of the task (exit). */
export function closeFiles(k: Kernel, task: Task): void {
  for (const f of task.files.values()) k.putFile(f);
  task.files.clear();
}

/**
 * Create the file `name` of `size` bytes whose contents are on the disk (distinct data in
 * every page, as if written and synced before the run) and, with `cached`, also in the page
 * cache, clean (as after an earlier read).
 */
export function sysCreate(k: Kernel, name: string, size: number, cached: boolean): SysResult<0> {
  if (k.files.has(name)) return err('EEXIST');
  if (size < 0) return err('EINVAL');
  const inode = k.newInode(InodeKind.file, name, size);
  for (let i = 0; i < inode.sizePages; i++) inode.disk.set(i, k.phys.newToken());
  if (cached) {
    for (let i = 0; i < inode.sizePages; i++) {
      if (readPage(k, inode, i) < 0) return err('ENOMEM');
    }
  }
  return ok(0);
}

/**
 * read(): copy [offset, offset + len) out of the page cache (filemap_read). A missing page
 * starts synchronous readahead for the rest of the request; a PG_readahead page starts the
 * next window asynchronously. Reading at or past the end of the file returns 0 bytes.
 */
export function sysRead(k: Kernel, task: Task, inode: Inode, offset: number, len: number): SysResult<number> {
  if (offset < 0 || len < 0) return err('EINVAL');
  const file = taskFile(k, task, inode);
  const end = Math.min(offset + len, inode.size);
  if (end <= offset) return ok(0);
  const [first, last] = pageSpan(offset, end);
  const f = k.phys.frames;
  for (let index = first; index <= last; index++) {
    let pfn = inode.cache.get(index);
    if (pfn === undefined) {
      syncReadahead(k, file, index, last - index + 1);
      pfn = inode.cache.get(index) ?? readPage(k, inode, index);
      if (pfn < 0) return index === first ? err('ENOMEM') : ok(index * PAGE_SIZE - offset);
    }
    // filemap_readahead for a folio marked PG_readahead (the flag is the folio's: its head's)
    const head = folioHead(inode, index);
    const headPfn = pfn - (index - head);
    if (f.has(headPfn, PG.readahead)) asyncReadahead(k, file, head, headPfn, last - head + 1);
    markAccessed(k, pfn); // folio_mark_accessed: a second read() activates the page
  }
  file.ra.prevPos = end;
  return ok(end - offset);
}

/**
 * write(): the pages of [offset, offset + len) get new contents and are dirtied (each folio
 * whole: folio_mark_dirty). generic_perform_write copies at most up to the next boundary of
 * the mapping's largest folio size at a time, and write_begin finds the folio at the position
 * or creates one sized by that piece (writeFolioOrder). A new folio's first page the write
 * covers only in part is read first when it holds data on the disk (block_write_begin); only
 * the first can be partial, as the folio ends within the piece. The file grows to cover the write.
 */
export function sysWrite(
  k: Kernel,
  task: Task,
  inode: Inode,
  offset: number,
  len: number,
): SysResult<number> {
  if (offset < 0 || len < 0) return err('EINVAL');
  taskFile(k, task, inode);
  if (len === 0) return ok(0);
  const end = offset + len;
  const maxOrder = k.config.maxFolioOrder ?? MAX_PAGECACHE_ORDER;
  const chunk = PAGE_SIZE << maxOrder; // mapping_max_folio_size
  const f = k.phys.frames;
  let pos = offset;
  while (pos < end) {
    const index = Math.floor(pos / PAGE_SIZE);
    let pfn = inode.cache.get(index);
    if (pfn === undefined) {
      const bytes = Math.min(chunk - (pos % chunk), end - pos);
      const whole = pos % PAGE_SIZE === 0 && end >= (index + 1) * PAGE_SIZE;
      const data = index * PAGE_SIZE < inode.size && inode.disk.has(index);
      pfn = addFolio(k, inode, index, writeFolioOrder(inode, index, bytes, maxOrder), 0);
      if (pfn >= 0 && !whole && data) {
        f.token[pfn] = inode.disk.get(index)!; // the block is read in (->read_folio's I/O)
        k.vmstat.pgpgin += PAGE_SIZE / 1024;
      }
      if (pfn < 0) {
        if (pos === offset) return err('ENOMEM');
        inode.size = Math.max(inode.size, pos);
        return ok(pos - offset);
      }
    }
    const head = folioHead(inode, index);
    const folioEnd = (head + (1 << folioOrder(inode, head))) * PAGE_SIZE;
    const stop = Math.min(end, folioEnd);
    const first = pfn - (index - head);
    for (let i = index; i * PAGE_SIZE < stop; i++) f.token[first + (i - head)] = k.phys.newToken();
    markDirty(k, pfn);
    pos = stop;
  }
  inode.size = Math.max(inode.size, end);
  return ok(len);
}

/**
 * truncate(): set the size. Shrinking unmaps every page past the new end from every mapping,
 * private copies included (unmap_mapping_range with even_cows), drops those pages from the
 * cache and the disk, and zeroes the tail of a partial last page (zeroTail). Growing adds a
 * hole that reads as zeros. ENOMEM when the partial page could not be brought into the cache
 * (ext4_truncate fails so, after the size changed and the pages went).
 */
export function sysTruncate(k: Kernel, task: Task, inode: Inode, size: number): SysResult<0> {
  if (size < 0) return err('EINVAL');
  const keep = Math.ceil(size / PAGE_SIZE);
  const shrink = size < inode.size;
  if (shrink) {
    unmapMappingRange(k, inode, keep, task.cpu);
    // truncate_inode_partial_folio: a folio the new end cuts is split at the page holding it
    const at = Math.floor(size / PAGE_SIZE);
    const head = folioHead(inode, at);
    if (head < at || (head === at && size % PAGE_SIZE !== 0)) splitFolioAt(inode, head, at);
    for (const [index] of inode.cache.entries(keep)) removeFromCache(k, inode, index);
    for (const index of [...inode.disk.keys()]) if (index >= keep) inode.disk.delete(index);
  }
  inode.size = size;
  if (shrink && size % PAGE_SIZE !== 0 && !zeroTail(k, inode, keep - 1)) return err('ENOMEM');
  return ok(0);
}

/**
 * The page holding the new last byte loses its tail. The cached folio is zeroed past the end
 * (truncate_inode_partial_folio), and the file system zeroes the block through the page
 * cache and dirties it (ext4_block_truncate_page -> __ext4_block_zero_page_range: the folio
 * is found or created, a mapped block read in, zeroed, mark_buffer_dirty), so the new
 * contents reach the disk at writeback and survive eviction. A hole gets a folio but no I/O
 * and stays clean. Returns false when no page could be had.
 */
function zeroTail(k: Kernel, inode: Inode, index: number): boolean {
  let pfn = inode.cache.get(index);
  if (pfn === undefined) {
    pfn = inode.disk.has(index) ? readPage(k, inode, index) : addToCache(k, inode, index, 0);
    if (pfn < 0) return false;
  }
  const f = k.phys.frames;
  if (f.token[pfn] === 0) return true;
  f.token[pfn] = k.phys.newToken();
  markDirty(k, pfn);
  return true;
}

/** unmap_mapping_range(mapping, from, 0, even_cows=1): zap every mapping of pages >= from. */
function unmapMappingRange(k: Kernel, inode: Inode, from: number, cpu: number): void {
  for (const vma of inode.mmaps.keys()) {
    const start = Math.max(vma.start, vma.start + (from - vma.pgoff));
    if (start >= vma.end) continue;
    zapRange(k, vma, start, vma.end, cpu);
  }
}

/** fsync(): write back every dirty page of the file. */
export function sysFsync(k: Kernel, task: Task, inode: Inode): SysResult<0> {
  taskFile(k, task, inode);
  writeback(k, inode, task.cpu);
  return ok(0);
}

/** sync(): write back every dirty page of every file (what the flusher threads do in time). */
export function sysSync(k: Kernel, cpu: number): void {
  for (const inode of k.files.values()) writeback(k, inode, cpu);
}

/**
 * echo 1 > /proc/sys/vm/drop_caches: drop the clean, unmapped page-cache folios of every file
 * (invalidate_mapping_pages -> mapping_evict_folio leaves a folio that is dirty or has any
 * page mapped, a large folio whole). Returns the pages dropped.
 */
export function dropCaches(k: Kernel): number {
  const f = k.phys.frames;
  let n = 0;
  for (const inode of k.files.values()) {
    if (inode.isHugetlbfs()) continue; // hugetlb folios are kept dirty in their cache: never dropped
    for (const [index, pfn] of inode.cache.entries()) {
      if (inode.cache.get(index) !== pfn) continue; // went with its folio
      if (folioHead(inode, index) !== index) continue; // a tail page: its head decided
      const nr = 1 << folioOrder(inode, index);
      let busy = false;
      for (let p = pfn; p < pfn + nr; p++) if (f.has(p, PG.dirty) || f.mapcount[p] > 0) busy = true;
      if (busy) continue;
      for (let i = nr - 1; i >= 0; i--) removeFromCache(k, inode, index + i);
      n += nr;
    }
  }
  return n;
}

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

/**
 * msync(addr, len, flags) (mm/msync.c): MS_SYNC writes back the dirty pages of each shared
 * file mapping in the range; MS_ASYNC does nothing (dirty pages are tracked through write
 * faults); MS_INVALIDATE fails with EBUSY on a locked area. A hole gives ENOMEM after the rest.
 */
export function sysMsync(k: Kernel, task: Task, addr: number, len: number, flags: number): SysResult<0> {
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return err('EINVAL');
  if (addr % PAGE_SIZE !== 0) return err('EINVAL');
  if ((flags & MS_ASYNC) !== 0 && (flags & MS_SYNC) !== 0) return err('EINVAL');
  const mm = task.mm!;
  let start = addr / PAGE_SIZE;
  const end = start + Math.ceil(len / PAGE_SIZE);
  if (end < start) return err('ENOMEM');
  let error: Errno | null = null;
  while (start < end) {
    const vma = mm.findVma(start);
    if (vma === undefined) return err('ENOMEM');
    if (start < vma.start) {
      if (end <= vma.start) return err('ENOMEM');
      error = 'ENOMEM';
      start = vma.start;
    }
    if ((flags & MS_INVALIDATE) !== 0 && (vma.flags & VM.LOCKED) !== 0) return err('EBUSY');
    const stop = Math.min(end, vma.end);
    if ((flags & MS_SYNC) !== 0 && vma.file !== null && vma.isShared()) {
      writeback(k, vma.file.inode, task.cpu, vma.pageIndex(start), vma.pageIndex(stop));
    }
    start = stop;
  }
  return error === null ? ok(0) : err(error);
}
