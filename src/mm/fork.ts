// fork and exec (kernel/fork.c dup_mmap, mm/memory.c copy_page_range; fs/exec.c).
//
// fork copies the address space: every VMA but MADV_DONTFORK ones, without mlock (the child
// does not inherit VM_LOCKED); private anonymous pages are shared, their entries
// write-protected in parent and child alike so that the first write copies (copy_present_pte);
// shared mappings are not copied at all, the child faults them in from the shmem object
// (vma_needs_copy); MADV_WIPEONFORK areas reach the child empty.

import { HPAGE_PMD_NR, isDeviceExclusiveType, isDevicePrivateType, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { restoreExclusivePte } from './device-exclusive.js';
import { dupDevicePrivate } from './device-private.js';
import { closeFiles } from './file-io.js';
import { copyHugePmd } from './huge-pmd-ops.js';
import { folioAddPte } from './huge-rmap.js';
import { copyHugetlbPageRange } from './hugetlb-unmap.js';
import { type Kernel, TLB_FLUSH_ALL } from './kernel.js';
import { khugepagedFork } from './khugepaged.js';
import { type Mm, MmCounter, type Task } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { dupSwapEntry } from './swap.js';
import { exitMmap } from './unmap.js';
import { VM, Vma } from './vma.js';
import { insertVma } from './vma-ops.js';

/** Fork `parent` into a new task named `name`; null when memory ran out (nothing is left behind). */
export function doFork(k: Kernel, parent: Task, name: string): Task | null {
  const child = k.spawn(name, parent.cpu);
  if (child === null) return null;
  const pmm = parent.mm!;
  const cmm = child.mm!;
  // dup_mmap: mmap_write_lock_killable(oldmm), then mmap_write_lock_nested on the new mm.
  k.locks.mmapWrite += 2;
  cmm.startBrk = pmm.startBrk;
  cmm.brk = pmm.brk;
  // The child shares the parent's open files (dup_fd: the same struct files).
  for (const [id, f] of parent.files) {
    f.users++;
    child.files.set(id, f);
  }
  let ok = true;
  for (const v of pmm.vmas.values()) {
    if ((v.flags & VM.DONTCOPY) !== 0) continue;
    const c = new Vma(v.start, v.end, v.flags & ~VM.LOCKED_MASK, v.pgoff, v.file);
    insertVma(k, cmm, c);
    cmm.totalVm += c.pages;
    if ((v.flags & VM.WIPEONFORK) !== 0) continue;
    // vmlab's choice for gmem (the RFC does not say): pages of a peer-shared area that are on a
    // device or held after eviction come back into the parent's page table first, so that
    // copy_page_range shares them with the child copy-on-write like any anonymous page.
    if ((v.flags & VM.PEER_SHARED) !== 0 && k.peer !== null) k.peer.forkPrepare(pmm, v, parent.cpu);
    k.anonVmaFork(c, v);
    // copy_page_range (vma_needs_copy: only areas with an anon_vma); hugetlb areas have their own.
    const copy = v.isHugetlb() ? copyHugetlbPageRange : copyPageRange;
    if (v.anonVma !== null && !copy(k, pmm, cmm, v)) {
      ok = false;
      break;
    }
  }
  // dup_mmap ends with flush_tlb_mm(oldmm), whether or not an entry lost its write permission.
  k.flushTlbMmRange(pmm, parent.cpu, 0, TLB_FLUSH_ALL);
  if (!ok) {
    exitMmap(k, cmm);
    closeFiles(k, child);
    k.tasks.delete(child.pid);
    return null;
  }
  k.runOn(child, parent.cpu);
  khugepagedFork(k, pmm, cmm);
  return child;
}

/**
 * copy_pte_range over one VMA: each present entry is duplicated into the child; a writable
 * private (CoW) entry is write-protected on both sides; the page gains a mapping and loses
 * its anon-exclusive mark; child entries start old. False when page-table memory ran out.
 * The child's table is allocated before the parent's entry is read (pte_alloc_map_lock, then
 * the source entries under their lock): the allocation may reclaim, which may swap the
 * parent's page out or drop a clean file page's entry in the meantime.
 */
function copyPageRange(k: Kernel, pmm: Mm, cmm: Mm, v: Vma): boolean {
  const f = k.phys.frames;
  const cow = (v.flags & (VM.SHARED | VM.MAYWRITE)) === VM.MAYWRITE;
  let ok = true;
  const copyPte = (vpn: number): void => {
    if (!ok) return;
    const h = cmm.pmap.pteAlloc(vpn);
    if (h < 0) {
      ok = false;
      return;
    }
    const ph = pmm.pmap.pteLookup(vpn);
    if (ph < 0 || pmm.pmap.pteNone(ph)) return; // reclaim unmapped it (a clean file page)
    if (pmm.pmap.pteIsSwap(ph) && isDeviceExclusiveType(pmm.pmap.pteSwapType(ph))) {
      // copy_nonpresent_pte: try_restore_exclusive_pte makes the parent's entry present again
      // (-ENOENT), and it is copied as a present one below (device-exclusive entries exist
      // only in CoW mappings).
      restoreExclusivePte(k, pmm, v, ph);
    }
    if (pmm.pmap.pteIsSwap(ph)) {
      const slot = pmm.pmap.pteSwapSlot(ph);
      const type = pmm.pmap.pteSwapType(ph);
      if (isDevicePrivateType(type)) {
        cmm.pmap.pteSetSwap(h, slot, dupDevicePrivate(k, pmm, cmm, v, vpn, slot, type));
      } else {
        cmm.pmap.pteSetSwap(h, slot);
        dupSwapEntry(k, cmm, slot);
      }
      k.vmstat.ptes_copied++;
      return;
    }
    const pfn = pmm.pmap.ptePfn(ph);
    const attrs = pmm.pmap.pteAttrs(ph);
    let a = attrs & ~PteAttr.accessed;
    if ((attrs & PteAttr.special) === 0) {
      if (cow && (attrs & PteAttr.write) !== 0) {
        pmm.pmap.pteUpdate(ph, 0, PteAttr.write);
        a &= ~PteAttr.write;
      }
      if (f.has(pfn, PG.compound)) {
        folioAddPte(k, cmm, pfn, false); // folio_try_dup_anon_rmap_ptes on a PTE-mapped THP
      } else {
        f.mapcount[pfn]++;
        f.refcount[pfn]++;
        f.clear(pfn, PG.anonExclusive);
        if (f.has(pfn, PG.anon)) cmm.addRss(MmCounter.ANONPAGES, 1);
        else cmm.addRss(f.has(pfn, PG.shmem) ? MmCounter.SHMEMPAGES : MmCounter.FILEPAGES, 1);
      }
    }
    cmm.pmap.pteSet(h, pfn, a);
    k.vmstat.ptes_copied++;
  };
  // copy_pte_range: the child's table is locked (pte_alloc_map_lock; pmd_install when it is
  // new), then the parent's (spin_lock_nested): two PTE locks per parent table, mapped or not.
  const locks = k.locks;
  // A parent table that maps nothing in the range (its entries went: lazily freed pages,
  // reclaimed clean file pages) still gets its child table: copy_pmd_range skips only a none
  // PMD, and copy_pte_range allocates before it reads an entry.
  const tableDone = (start: number): void => {
    locks.ptl += 2;
    if (ok && cmm.pmap.pteAlloc(start) < 0) ok = false;
  };
  const copy = (vpn: number, _pfn: number, _attrs: number, order: number): void => {
    if (!ok) return;
    if (order === 0) {
      copyPte(vpn);
      return;
    }
    const r = copyHugePmd(k, pmm, cmm, vpn);
    if (r === 'oom') {
      ok = false; // pte_alloc_one failed before any lock
      return;
    }
    locks.pmd += 2; // copy_huge_pmd: the child's PMD lock, then the parent's
    if (r === 'again') pmm.pmap.forEachLeaf(vpn, vpn + HPAGE_PMD_NR, copy, copyPte, tableDone);
  };
  // copy_page_range: a CoW range is write-protected in the parent; its mirrors are told.
  if (cow) mmuNotifierInvalidate(pmm, v.start, v.end, NotifyEvent.protectionPage);
  const installs = cmm.pmap.pteInstalls;
  pmm.pmap.forEachLeaf(v.start, v.end, copy, copyPte, tableDone);
  locks.pmd += cmm.pmap.pteInstalls - installs; // pmd_install of each new child table
  return ok;
}

/** exec: the task's address space is replaced by an empty one; its counters carry on. */
export function doExec(k: Kernel, task: Task): boolean {
  const fresh = k.newMm(task.pid);
  if (fresh === null) return false;
  // exec_mmap: mmap_read_lock_killable(old_mm) while the new mm is switched in, then mmput's
  // exit_mmap. (The new image's setup, the stack VMA and the ELF mappings, each under
  // mmap_lock for write, is not modelled: vmlab's exec leaves an empty address space.)
  k.locks.mmapRead++;
  exitMmap(k, task.mm!);
  task.mm = fresh;
  k.runOn(task, task.cpu);
  return true;
}
