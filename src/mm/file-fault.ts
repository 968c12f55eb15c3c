// Faults on file-backed areas, regular files and shmem alike (mm/memory.c do_read_fault,
// do_cow_fault, do_shared_fault, do_fault_around, wp_page_shared; mm/filemap.c filemap_fault,
// filemap_map_pages; mm/shmem.c shmem_fault).

import { Access, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { mlockPage, newAnonRmap, VmFault, vmfAnonPrepare } from './fault.js';
import { addToCache, markDirty, readPage } from './filemap.js';
import { folioHead, folioOrder } from './filemap-folio.js';
import { FaultLock, type Kernel } from './kernel.js';
import { type Mm, MmCounter } from './mm.js';
import { asyncMmapReadahead, syncMmapReadahead } from './readahead.js';
import { shmemSwapin, shmemSwapSlot } from './swap.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/**
 * A fault on a not-present entry of a file-backed VMA: a read maps the page-cache page
 * (after mapping its cached neighbours: fault-around), a private write maps a private copy
 * (do_cow_fault), a shared write maps the cache page writable and dirty (do_shared_fault).
 * A page at or past the end of the file is SIGBUS; the PTE table Linux preallocated for it
 * (__do_fault's prealloc_pte) is freed again unless fault-around used it: `freshTable` says
 * that no PTE table covered vpn before this fault.
 */
export function fileFault(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  vpn: number,
  h: number,
  access: Access,
  freshTable: boolean,
): VmFault {
  lastDropped = false;
  let r =
    access !== Access.write
      ? readFault(k, mm, vma, vpn, h, freshTable)
      : vma.isShared()
        ? sharedWriteFault(k, mm, vma, vpn, h)
        : cowFault(k, mm, vma, vpn, h);
  if ((r & (VmFault.sigbus | VmFault.oom)) !== 0 && freshTable) {
    const base = vpn - (vpn % 512);
    mm.pmap.reclaimEmptyPteTables(base, base + 512);
  }
  // filemap_fault dropped the per-VMA lock for I/O (maybe_unlock_mmap_for_io): VM_FAULT_RETRY,
  // and the fault ran again under mmap_lock.
  if (lastDropped && k.faultLock === FaultLock.vma) r |= VmFault.retry;
  return r;
}

/**
 * do_read_fault. When filemap_fault had to read the page (sync readahead), it dropped the
 * fault lock for the I/O and returned VM_FAULT_MAJOR | VM_FAULT_RETRY; the retried fault finds
 * the pages cached and maps the fault-around window, the faulting page with it. One fault,
 * counted major (mm_account_fault: FAULT_FLAG_TRIED after a major attempt).
 */
function readFault(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number, fresh: boolean): VmFault {
  const around = k.config.faultAroundPages > 1;
  if (around) {
    faultAround(k, mm, vma, vpn, fresh);
    if (!mm.pmap.pteNone(h)) return VmFault.done; // VM_FAULT_NOPAGE: mapped from the cache
  }
  // A failed __do_fault takes no PTE lock; mapFilePage's finish_fault takes one.
  const pfn = getPage(k, vma, vpn);
  if (pfn < 0) return -pfn as VmFault;
  const major = lastMajor;
  if (major && around && !vma.file!.inode.isShmem()) {
    faultAround(k, mm, vma, vpn, fresh); // the retry: the PMD is still empty when it was
    if (!mm.pmap.pteNone(h)) return VmFault.major;
  }
  k.locks.ptl++; // finish_fault
  finishFault(k, mm, vma, vpn, h, pfn, 0);
  return major ? VmFault.major : VmFault.done;
}

/** do_cow_fault: a private copy of the file page, made before the page is looked up. */
function cowFault(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number): VmFault {
  vmfAnonPrepare(k, mm, vma);
  const npfn = k.phys.alloc(0); // filled by the copy below
  if (npfn < 0) return VmFault.oom;
  const pfn = getPage(k, vma, vpn);
  if (pfn < 0) {
    k.freePage(npfn);
    return -pfn as VmFault;
  }
  k.phys.frames.token[npfn] = k.phys.frames.token[pfn];
  k.vmstat.pages_copied++;
  k.locks.ptl++; // finish_fault
  newAnonRmap(k, vma, vpn, npfn);
  mm.pmap.pteSet(h, npfn, basePteAttrs(vma.flags) | PteAttr.write | PteAttr.dirty);
  mm.addRss(MmCounter.ANONPAGES, 1);
  return lastMajor ? VmFault.major : VmFault.done;
}

/** do_shared_fault: the cache page, dirtied (->page_mkwrite) and mapped writable. */
function sharedWriteFault(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number): VmFault {
  const pfn = getPage(k, vma, vpn);
  if (pfn < 0) return -pfn as VmFault;
  const major = lastMajor;
  markDirty(k, pfn);
  k.locks.ptl++; // finish_fault
  finishFault(k, mm, vma, vpn, h, pfn, PteAttr.write | PteAttr.dirty);
  return major ? VmFault.major : VmFault.done;
}

/**
 * wp_page_shared: a write to a present, write-protected page of a shared file mapping (write
 * notification: the page was clean). ->page_mkwrite dirties it; the entry becomes writable.
 */
export function wpPageShared(k: Kernel, mm: Mm, h: number, pfn: number): VmFault {
  markDirty(k, pfn);
  mm.pmap.pteUpdate(h, PteAttr.write | PteAttr.dirty | PteAttr.accessed, 0);
  return VmFault.done;
}

/** Whether the last getPage had to read from the disk (VM_FAULT_MAJOR). */
let lastMajor = false;
/**
 * Whether filemap_fault released the fault lock during this fault (maybe_unlock_mmap_for_io):
 * for the synchronous read of a missing page, and for async readahead started at a page
 * marked PG_readahead. shmem_fault never drops it.
 */
let lastDropped = false;

/**
 * __do_fault: the page-cache page for vpn (filemap_fault or shmem_fault), or -VmFault on
 * failure. A regular file's page not in the cache is a major fault: it is read with
 * readahead around it; a cached one may push async readahead on. shmem allocates a zeroed page.
 */
function getPage(k: Kernel, vma: Vma, vpn: number): number {
  const file = vma.file!;
  const inode = file.inode;
  const index = vma.pageIndex(vpn);
  lastMajor = false;
  if (index >= inode.sizePages) return -VmFault.sigbus;
  let pfn = inode.cache.get(index);
  if (inode.isShmem()) {
    if (pfn === undefined) {
      pfn = addToCache(k, inode, index, 0);
      if (pfn >= 0) k.vmstat.pages_zeroed++; // shmem_alloc_folio + clear_highpage
    } else if (pfn < 0) {
      pfn = shmemSwapin(k, inode, index, shmemSwapSlot(pfn));
      lastMajor = pfn >= 0;
    }
    return pfn < 0 ? -VmFault.oom : pfn;
  }
  if (pfn !== undefined) {
    if (asyncMmapReadahead(k, file, index, pfn, vma.flags)) lastDropped = true;
    return pfn;
  }
  k.vmstat.pgmajfault++;
  lastMajor = true;
  lastDropped = true;
  syncMmapReadahead(k, file, index, vma.flags);
  pfn = inode.cache.get(index) ?? readPage(k, inode, index);
  return pfn < 0 ? -VmFault.oom : pfn;
}

/**
 * finish_fault for a page-cache page: a large folio that lies within the VMA and the PTE table
 * and whose entries are all empty is mapped whole (set_pte_range over the folio; measured on
 * 6.18: a shared write fault on a 256 KiB folio maps its 64 pages writable and dirty, reading
 * or writing them faults no more); otherwise the one page (the fallback to a per-page fault).
 */
function finishFault(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number, pfn: number, extra: number): void {
  const inode = vma.file!.inode;
  const index = vma.pageIndex(vpn);
  const head = folioHead(inode, index);
  const nr = 1 << folioOrder(inode, head);
  const vHead = vpn - (index - head);
  if (nr > 1 && folioFits(vma, vHead, nr)) {
    let none = true;
    for (let i = 0; i < nr && none; i++) none = mm.pmap.pteNone(mm.pmap.pteLookup(vHead + i));
    if (none) {
      const headPfn = pfn - (index - head);
      for (let i = 0; i < nr; i++) mapFilePage(k, mm, vma, mm.pmap.pteLookup(vHead + i), headPfn + i, extra);
      return;
    }
  }
  mapFilePage(k, mm, vma, h, pfn, extra);
}

/** Whether the folio of nr pages mapped from vHead lies within the VMA and one PTE table. */
function folioFits(vma: Vma, vHead: number, nr: number): boolean {
  return (
    vHead >= vma.start &&
    vHead + nr <= vma.end &&
    Math.floor(vHead / 512) === Math.floor((vHead + nr - 1) / 512)
  );
}

/** set_pte_range for one page-cache page: one more mapping of it. */
function mapFilePage(k: Kernel, mm: Mm, vma: Vma, h: number, pfn: number, extra: number): void {
  const f = k.phys.frames;
  f.refcount[pfn]++;
  if (f.mapcount[pfn]++ === 0) k.mappedFilePages++;
  if ((vma.flags & VM.LOCKED) !== 0) mlockPage(k, pfn);
  mm.pmap.pteSet(h, pfn, basePteAttrs(vma.flags) | extra);
  mm.addRss(f.has(pfn, PG.shmem) ? MmCounter.SHMEMPAGES : MmCounter.FILEPAGES, 1);
}

/**
 * do_fault_around + filemap_map_pages: map the cached, uptodate pages around vpn within a
 * fault_around_bytes-aligned window clipped to the VMA, the PTE table and the end of the file.
 * A large folio found in the window is mapped whole when the fault found no PTE table (`fresh`:
 * the PMD was empty) and the folio lies within the VMA and one PTE table; otherwise only its
 * pages in the window. Measured on 6.18: a 256 KiB folio takes one fault in a new 1 MiB
 * mapping, but 16-page windows once a PTE table covers the range (made by a neighbouring VMA,
 * an earlier fault, or kept after MADV_DONTNEED); a 2 MiB folio in a 1 MiB mapping takes one
 * fault per 64 KiB. Linux maps a PMD-sized folio
 * at a PMD-suitable place with one PMD (filemap_map_pmd -> do_set_pmd); vmlab maps its 512
 * pages with PTEs instead: the same faults and RssFile, one PTE table more.
 * Pages marked PG_readahead are left for the fault that will start the next readahead. The
 * pages found balance the file's mmap miss count.
 */
function faultAround(k: Kernel, mm: Mm, vma: Vma, vpn: number, fresh: boolean): void {
  const file = vma.file!;
  const inode = file.inode;
  const n = k.config.faultAroundPages;
  const pteOff = vpn % 512;
  const vmaOff = vpn - vma.start;
  const from = Math.max(pteOff - (pteOff % n), pteOff - Math.min(pteOff, vmaOff));
  const to = Math.min(from + n, 512, pteOff + vma.pages - vmaOff) - 1;
  const first = vpn - pteOff + from;
  const last = Math.min(vpn - pteOff + to, vma.start + (inode.sizePages - 1 - vma.pgoff));
  const f = k.phys.frames;
  let found = 0;
  let locked = false;
  for (let v = first; v <= last; v++) {
    const index = vma.pageIndex(v);
    const pfn = inode.cache.get(index);
    if (pfn === undefined || pfn < 0) continue; // absent, swapped
    const head = folioHead(inode, index);
    if (f.has(pfn - (index - head), PG.readahead)) continue; // a marked folio (next_uptodate_folio)
    // filemap_map_pages takes the PTE lock once it has found a first folio to map.
    if (!locked) {
      k.locks.ptl++;
      locked = true;
    }
    const nr = 1 << folioOrder(inode, head);
    const vHead = v - (index - head);
    if (nr > 1 && fresh && folioFits(vma, vHead, nr)) {
      const headPfn = pfn - (index - head);
      for (let i = 0; i < nr; i++) mapAround(k, mm, vma, vHead + i, headPfn + i);
      found += nr;
      v = vHead + nr - 1;
      continue;
    }
    found++;
    mapAround(k, mm, vma, v, pfn);
  }
  file.ra.mmapMiss = found >= file.ra.mmapMiss ? 0 : file.ra.mmapMiss - found;
}

/** filemap_map_folio_range for one page: map it unless its entry is already in use. */
function mapAround(k: Kernel, mm: Mm, vma: Vma, v: number, pfn: number): void {
  const h = mm.pmap.pteAlloc(v);
  if (h < 0 || !mm.pmap.pteNone(h)) return;
  mapFilePage(k, mm, vma, h, pfn, 0);
}
