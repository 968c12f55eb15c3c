// The page-fault handler (mm/memory.c handle_mm_fault and its stages).
// Returns a set of VmFault bits, as the kernel does, instead of throwing.

import { Access, isDeviceExclusiveType, isDevicePrivateType, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { removeDeviceExclusiveEntry } from './device-exclusive.js';
import { fileFault, wpPageShared } from './file-fault.js';
import { FALLBACK, hugePmdFault, thpAllowed } from './huge-memory.js';
import { folioRemovePte, mlockFolio, munlockFolio } from './huge-rmap.js';
import { hugetlbFault } from './hugetlb-fault.js';
import { FaultLock, type Kernel } from './kernel.js';
import { lruAdd, lruMove } from './lru.js';
import { type Mm, MmCounter } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { doSwapPage, freeSwapCacheIfUnused } from './swap.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

export const enum VmFault {
  done = 0,
  oom = 1,
  sigsegv = 2,
  sigbus = 4,
  major = 8,
  /**
   * VM_FAULT_RETRY under the per-VMA lock: the handler dropped the lock (or refused to work
   * under it) and the fault ran again under mmap_lock. vmlab does both attempts' work in one
   * call; the bit only tells do_user_addr_fault to count the fallback. Set only when
   * k.faultLock is FaultLock.vma.
   */
  retry = 16,
}

/**
 * x86 access_error (arch/x86/mm/fault.c): a write needs VM_WRITE; any other access counts as a
 * read: a protection fault on a present page is refused (an instruction fetch from an NX page),
 * a not-present one needs an accessible VMA. So the first fetch from a readable, non-executable
 * page is handled as a read fault, and its retry gets SIGSEGV.
 */
export function accessAllowed(vma: Vma, access: Access, protFault: boolean): boolean {
  if (access === Access.write) return (vma.flags & VM.WRITE) !== 0;
  if (protFault) return false;
  return (vma.flags & (VM.READ | VM.WRITE | VM.EXEC)) !== 0;
}

/**
 * handle_mm_fault for a 4 KiB page of vma. The caller checked the access against the VMA
 * and accounts the fault to the task (mm_account_fault). Counts vmstat pgfault.
 */
export function handleMmFault(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  vpn: number,
  access: Access,
  cpu: number,
): VmFault {
  k.vmstat.pgfault++;
  if ((vma.flags & VM.HUGETLB) !== 0) return hugetlbFault(k, mm, vma, vpn, access, cpu);
  const pmap = mm.pmap;
  // __handle_mm_fault's PMD level: a THP, or the 4 KiB path (VM_FAULT_FALLBACK). Skipped when
  // the area may not have THPs and the mm maps none (each huge PMD has a deposited table).
  if (vma.file === null && (pmap.depositedTables > 0 || thpAllowed(k, vma, true))) {
    const r = hugePmdFault(k, mm, vma, vpn, access, cpu);
    if (r !== FALLBACK) return r;
  }
  // A file fault may end in SIGBUS; it must not leave behind a PTE table it allocated.
  const freshTable = vma.file !== null && pmap.pteLookup(vpn) < 0;
  const installs = pmap.pteInstalls;
  const h = pmap.pteAlloc(vpn);
  if (h < 0) return VmFault.oom;
  // __pte_alloc -> pmd_install: a new PTE table goes in under the PMD lock.
  if (pmap.pteInstalls !== installs) k.locks.pmd++;
  const locks = k.locks;
  if (pmap.pteNone(h)) {
    if (vma.file !== null) {
      const r = fileFault(k, mm, vma, vpn, h, access, freshTable);
      // __do_fault failed before finish_fault installed the table (vmlab took it back).
      if ((r & (VmFault.sigbus | VmFault.oom)) !== 0 && freshTable) locks.pmd--;
      return r;
    }
    // gmem patch 6/6: a peer-shared area's empty entry asks the logical page table first.
    if ((vma.flags & VM.PEER_SHARED) !== 0 && k.peer !== null)
      return k.peer.hostFault(mm, vma, vpn, h, access === Access.write, cpu);
    return anonymousPage(k, mm, vma, vpn, h, access);
  }
  if (pmap.pteIsSwap(h)) {
    // do_swap_page: a device-private entry is the driver's (pgmap->ops->migrate_to_ram). Under
    // the per-VMA lock it refuses ("migrate_to_ram is not yet ready to operate under VMA
    // lock": VM_FAULT_RETRY) before taking any lock; the retry checks the entry under the PTE lock.
    const type = pmap.pteSwapType(h);
    if (isDevicePrivateType(type)) {
      locks.ptl++;
      const r = k.pgmap!.migrateToRam(mm, vma, vpn, cpu);
      return k.faultLock === FaultLock.vma ? r | VmFault.retry : r;
    }
    locks.ptl++; // remove_device_exclusive_entry, do_swap_page: pte_offset_map_lock
    if (isDeviceExclusiveType(type)) {
      removeDeviceExclusiveEntry(k, mm, vma, vpn, h);
      return VmFault.done;
    }
    const r = doSwapPage(k, mm, vma, vpn, h, access === Access.write);
    if (r === VmFault.oom) locks.ptl--; // the folio allocation failed before the lock
    return r;
  }
  // handle_pte_fault: a present entry is examined under the PTE lock.
  locks.ptl++;
  const attrs = pmap.pteAttrs(h);
  if (access === Access.write && (attrs & PteAttr.write) === 0) return wpPage(k, mm, vma, vpn, h, cpu);
  // Present and permitted: a spurious fault (a stale TLB entry); mark young (and dirty).
  pmap.pteUpdate(h, PteAttr.accessed | (access === Access.write ? PteAttr.dirty : 0), 0);
  return VmFault.done;
}

/**
 * vmf_anon_prepare (mm/memory.c __vmf_anon_prepare, recent mainline): a fault that holds
 * only the per-VMA lock must take mmap_lock for anon_vma_prepare (it looks at the
 * neighbouring VMAs): mmap_read_trylock, which always succeeds in a sequential model, so the
 * fault goes on; it would return VM_FAULT_RETRY only when the trylock failed. (Earlier 6.x
 * kernels fell back to mmap_lock here: first lock_vma_under_rcu refused an anonymous VMA
 * without an anon_vma, later vmf_anon_prepare returned VM_FAULT_RETRY for it.)
 */
export function vmfAnonPrepare(k: Kernel, mm: Mm, vma: Vma): void {
  if (vma.anonVma === null && k.faultLock === FaultLock.vma) k.locks.mmapRead++;
  anonVmaPrepare(k, mm, vma);
}

/** anon_vma_prepare: give vma an anon_vma, reusing a mergeable neighbour's (find_mergeable_anon_vma). */
export function anonVmaPrepare(k: Kernel, mm: Mm, vma: Vma): void {
  if (vma.anonVma !== null) return;
  // find_mergeable_anon_vma: "Try next first."
  for (const n of [mm.nextOf(vma), mm.prevOf(vma)]) {
    if (n === undefined || n.anonVma === null) continue;
    const adjacent = n.end === vma.start || vma.end === n.start;
    const compatible =
      ((n.flags ^ vma.flags) & ~(VM.READ | VM.WRITE | VM.EXEC)) === 0 &&
      n.file === null &&
      n.pgoff + (vma.start - n.start) === vma.pgoff;
    // reusable_anon_vma: only a neighbour whose chain is just its own anon_vma.
    if (adjacent && compatible && n.avcs.length === 1) {
      k.setOwnAnonVma(vma, n.anonVma);
      return;
    }
  }
  k.setOwnAnonVma(vma, k.newAnonVma());
}

/** do_anonymous_page: read maps the zero page, write allocates a zeroed page. */
function anonymousPage(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number, access: Access): VmFault {
  const base = basePteAttrs(vma.flags);
  if (access !== Access.write) {
    k.locks.ptl++; // pte_offset_map_lock, then set the zero-page entry
    mm.pmap.pteSet(h, k.phys.zeroPfn, base | PteAttr.special);
    return VmFault.done;
  }
  vmfAnonPrepare(k, mm, vma);
  const pfn = k.allocZeroedPage();
  if (pfn < 0) return VmFault.oom;
  k.locks.ptl++; // the folio is allocated and cleared, then the PTE lock taken
  newAnonRmap(k, vma, vpn, pfn);
  mm.pmap.pteSet(h, pfn, base | PteAttr.write | PteAttr.dirty);
  mm.addRss(MmCounter.ANONPAGES, 1);
  return VmFault.done;
}

/** folio_add_new_anon_rmap: a fresh page now mapped once, exclusively, by vma. */
export function newAnonRmap(k: Kernel, vma: Vma, vpn: number, pfn: number): void {
  const f = k.phys.frames;
  f.flags[pfn] |= PG.anon | PG.anonExclusive;
  f.owner[pfn] = vma.anonVma!.id;
  f.setIndex(pfn, vma.pageIndex(vpn));
  f.mapcount[pfn] = 1;
  k.anonPages++;
  if ((vma.flags & VM.LOCKED) !== 0) mlockPage(k, pfn);
  lruAdd(k, pfn);
}

/** mlock_folio: the page is Mlocked and moves to the unevictable list. */
export function mlockPage(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  // A device-coherent page is ZONE_DEVICE memory: mlock_pte_range skips it, it is on no LRU.
  if (f.has(pfn, PG.deviceCoherent)) return;
  if (f.has(pfn, PG.compound)) {
    mlockFolio(k, f.headOf(pfn)); // the folio is mlocked whole
    return;
  }
  if (f.has(pfn, PG.compound)) {
    mlockFolio(k, f.headOf(pfn)); // the folio is mlocked whole
    return;
  }
  if (!f.has(pfn, PG.mlocked) && !f.has(pfn, PG.zero)) {
    f.set(pfn, PG.mlocked);
    k.mlockedPages++;
    lruMove(k, pfn, PG.unevictable, PG.active);
  }
}

/** munlock_folio: no longer Mlocked, the page goes back to an evictable list. */
export function munlockPage(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  if (f.has(pfn, PG.compound)) {
    munlockFolio(k, f.headOf(pfn));
    return;
  }
  if (!f.has(pfn, PG.mlocked)) return;
  f.clear(pfn, PG.mlocked);
  k.mlockedPages--;
  lruMove(k, pfn, 0, PG.unevictable);
}

/** do_wp_page: a write to a present, write-protected page of a writable VMA. */
function wpPage(k: Kernel, mm: Mm, vma: Vma, vpn: number, h: number, cpu: number): VmFault {
  const pmap = mm.pmap;
  const f = k.phys.frames;
  const pfn = pmap.ptePfn(h);
  const attrs = pmap.pteAttrs(h);
  const isZero = (attrs & PteAttr.special) !== 0 && pfn === k.phys.zeroPfn;
  if (!isZero && !f.has(pfn, PG.anon) && vma.isShared()) {
    // wp_page_shared: ->page_mkwrite runs unlocked, finish_mkwrite_fault locks again (shmem has
    // no page_mkwrite and makes the entry writable under the first lock).
    if (!vma.file!.inode.isShmem()) k.locks.ptl++;
    return wpPageShared(k, mm, h, pfn);
  }
  const compound = f.has(pfn, PG.compound);
  if (!isZero && !compound && f.has(pfn, PG.anon) && f.mapcount[pfn] === 1) freeSwapCacheIfUnused(k, pfn);
  // A page of a large folio is reused only when anon-exclusive (wp_can_reuse_anon_folio).
  const only = !compound && f.refcount[pfn] === 1;
  if (!isZero && f.has(pfn, PG.anon) && (f.has(pfn, PG.anonExclusive) || only)) {
    // wp_page_reuse: the only user may write in place. An upgrade needs no TLB flush.
    f.set(pfn, PG.anonExclusive);
    pmap.pteUpdate(h, PteAttr.write | PteAttr.dirty | PteAttr.accessed, 0);
    return VmFault.done;
  }
  // wp_page_copy: a new page (zeroed for the zero page, else a copy), the old mapping dropped.
  vmfAnonPrepare(k, mm, vma);
  // The old page is held (folio_get + lock) while the copy is allocated: reclaim skips it.
  if (!isZero) f.set(pfn, PG.locked);
  const npfn = isZero ? k.allocZeroedPage() : k.phys.alloc(0);
  if (!isZero) f.clear(pfn, PG.locked);
  if (npfn < 0) return VmFault.oom;
  k.locks.ptl++; // wp_page_copy dropped the PTE lock to allocate and takes it again
  if (!isZero) {
    f.token[npfn] = f.token[pfn];
    k.vmstat.pages_copied++;
    if (pfn >= k.phys.cpuFrames) k.pgmap?.cpuCopy?.(pfn); // from device-coherent memory
  }
  mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.clear); // wp_page_copy: the entry is replaced
  newAnonRmap(k, vma, vpn, npfn);
  pmap.pteSet(h, npfn, basePteAttrs(vma.flags) | PteAttr.write | PteAttr.dirty);
  k.flushTlbRange(mm, cpu, vpn, vpn + 1); // ptep_clear_flush
  mm.addRss(MmCounter.ANONPAGES, 1);
  if (!isZero) dropMapping(k, mm, pfn, (vma.flags & VM.LOCKED) !== 0);
  return VmFault.done;
}

/**
 * Remove one mapping's hold on a normal page (zap_present_pte's page part): mapcount and
 * refcount drop, the RSS counter of its kind goes down, and a page whose last reference
 * went is freed. A mapping from a VM_LOCKED area takes its mlock along (__folio_remove_rmap ->
 * munlock_vma_folio). The zero page and other special pages are not passed here.
 */
export function dropMapping(k: Kernel, mm: Mm, pfn: number, locked: boolean): void {
  const f = k.phys.frames;
  if (f.has(pfn, PG.compound)) {
    folioRemovePte(k, mm, pfn, locked);
    return;
  }
  if (locked) munlockPage(k, pfn);
  f.mapcount[pfn]--;
  if (f.has(pfn, PG.anon)) {
    mm.addRss(MmCounter.ANONPAGES, -1);
    if (f.mapcount[pfn] === 0) k.anonPages--;
  } else {
    mm.addRss(f.has(pfn, PG.shmem) ? MmCounter.SHMEMPAGES : MmCounter.FILEPAGES, -1);
    if (f.mapcount[pfn] === 0) k.mappedFilePages--;
  }
  // A page-cache page keeps the cache's reference, so only an anonymous page is freed here.
  if (--f.refcount[pfn] === 0) k.freePage(pfn);
}
