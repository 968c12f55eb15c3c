// Faults on hugetlb areas (mm/hugetlb.c hugetlb_fault, hugetlb_no_page, hugetlb_wp,
// unmap_ref_private): one fault maps a whole 2 MiB page with a PMD leaf or a whole 1 GiB page
// with a PUD leaf. There is no zero page: a read fault allocates a page too. Pages come from
// the pool only; a fault that finds none is SIGBUS, never OOM.

import { Access, PmdState, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { VmFault, vmfAnonPrepare } from './fault.js';
import { freeHugeFolio, type HState } from './hugetlb.js';
import { allocHugetlbFolio, hugecacheOffset, isResvOwner, ResvFlag, vmaHstate } from './hugetlb-reserve.js';
import { flushHugetlbRange, unmapHugepageRange } from './hugetlb-unmap.js';
import { addToHugetlbCache } from './hugetlbfs.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { basePteAttrs, VM, type Vma } from './vma.js';

/** make_huge_pte(vma, folio, try_mkwrite): vm_page_prot, young; writable (and dirty) when asked and VM_WRITE. */
export function makeHugePte(vma: Vma, tryWrite: boolean): number {
  const base = basePteAttrs(vma.flags) & ~PteAttr.write;
  const writable = tryWrite && (vma.flags & VM.WRITE) !== 0;
  return base | PteAttr.accessed | (writable ? PteAttr.write | PteAttr.dirty : 0);
}

/** hugetlb_fault for the page vpn of the hugetlb area vma (handle_mm_fault's hugetlb branch). */
export function hugetlbFault(k: Kernel, mm: Mm, vma: Vma, vpn: number, access: Access, cpu: number): VmFault {
  const h = vmaHstate(k, vma);
  const haddr = vpn - (vpn % h.nrPages);
  const pmap = mm.pmap;
  // huge_pte_alloc comes first: the tables stay even when the fault ends in SIGBUS.
  if (!pmap.hugetlbPrepare(haddr, h.order)) return VmFault.oom;
  if (pmap.hugetlbState(haddr, h.order) !== PmdState.huge)
    return hugetlbNoPage(k, mm, vma, h, haddr, access, cpu);
  const write = access === Access.write;
  if (write && (pmap.hugeAttrs & PteAttr.write) === 0) return hugetlbWp(k, mm, vma, h, haddr, cpu);
  // A spurious fault: huge_ptep_set_access_flags marks it young (and dirty).
  pmap.hugetlbUpdate(haddr, h.order, PteAttr.accessed | (write ? PteAttr.dirty : 0), 0);
  return VmFault.done;
}

/**
 * hugetlb_no_page: the page comes from the file's page cache (shared areas, and private
 * mappings of a hugetlbfs file whose page exists), or is allocated: zeroed, added to the cache
 * for a shared area, a new anonymous folio for a private one. The entry is writable only in a
 * shared writable area; a write to a private area goes on to hugetlb_wp at once (which reuses a
 * new anonymous page, or copies a page-cache one). SIGBUS: this VMA had its page taken by
 * unmap_ref_private, the page lies past i_size, or no page is left for it.
 */
function hugetlbNoPage(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  h: HState,
  haddr: number,
  access: Access,
  cpu: number,
): VmFault {
  if ((vma.resvFlags & ResvFlag.UNMAPPED) !== 0) return VmFault.sigbus; // "killed due to inadequate hugepage pool"
  const inode = vma.file!.inode;
  const idx = hugecacheOffset(h, vma, haddr);
  const f = k.phys.frames;
  const shared = (vma.flags & VM.MAYSHARE) !== 0;
  let head = inode.cache.get(idx) ?? -1;
  let anon = false;
  if (head >= 0) {
    f.refcount[head]++; // filemap_lock_hugetlb_folio's reference becomes the mapping's
  } else {
    if (idx >= Math.floor(inode.size / (h.nrPages * 4096))) return VmFault.sigbus;
    if (!shared) vmfAnonPrepare(k, mm, vma);
    head = allocHugetlbFolio(k, vma, haddr, false);
    if (head < 0) return VmFault.sigbus; // vmf_error(-ENOSPC)
    f.token.fill(0, head, head + h.nrPages); // clear_huge_page
    k.vmstat.pages_zeroed += h.nrPages;
    if (shared) addToHugetlbCache(k, inode, idx, head);
    else anon = true;
  }
  if (anon) newHugetlbAnonRmap(k, vma, haddr, head);
  else f.refcount[head + 1]++; // hugetlb_add_file_rmap
  mm.pmap.hugetlbSet(haddr, h.order, head, makeHugePte(vma, (vma.flags & VM.SHARED) !== 0));
  mm.hugetlbUsage += h.nrPages; // hugetlb_count_add
  if (access === Access.write && (vma.flags & VM.SHARED) === 0) return hugetlbWp(k, mm, vma, h, haddr, cpu);
  return VmFault.done;
}

/** hugetlb_add_new_anon_rmap: a new anonymous folio mapped once, exclusively (its allocation reference is the mapping's). */
function newHugetlbAnonRmap(k: Kernel, vma: Vma, haddr: number, head: number): void {
  const f = k.phys.frames;
  f.refcount[head + 1] = 1;
  f.clear(head, PG.hugetlbRestoreReserve);
  f.set(head, PG.anon | PG.anonExclusive);
  f.owner[head] = vma.anonVma!.id;
  f.setIndex(head, vma.pageIndex(haddr));
}

/** Drop one mapping of a hugetlb folio (hugetlb_remove_rmap + folio_put): the last reference frees it. */
export function hugetlbRemoveMapping(k: Kernel, head: number): void {
  const f = k.phys.frames;
  f.refcount[head + 1]--;
  putHugetlbFolio(k, head);
}

/** folio_put of a hugetlb folio: the last reference frees it into the pool. */
export function putHugetlbFolio(k: Kernel, head: number): void {
  if (--k.phys.frames.refcount[head] === 0) freeHugeFolio(k, head);
}

/**
 * hugetlb_wp: a write to a present, write-protected hugetlb page. A shared area just makes it
 * writable. A private area reuses an anonymous page mapped only here; otherwise it copies the
 * page into a new one. The reservation owner copying after fork uses no reservation; when no
 * page is left it takes the page away from the other processes instead (unmap_ref_private) and
 * then reuses it. Anyone else with no page left gets SIGBUS.
 */
function hugetlbWp(k: Kernel, mm: Mm, vma: Vma, h: HState, haddr: number, cpu: number): VmFault {
  const pmap = mm.pmap;
  const f = k.phys.frames;
  if ((vma.flags & VM.MAYSHARE) !== 0) {
    pmap.hugetlbUpdate(haddr, h.order, PteAttr.write | PteAttr.dirty | PteAttr.accessed, 0);
    return VmFault.done;
  }
  pmap.hugetlbState(haddr, h.order);
  const old = pmap.hugePfn;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (f.refcount[old + 1] === 1 && f.has(old, PG.anon)) {
      // Reuse: folio_move_anon_rmap + SetPageAnonExclusive.
      f.set(old, PG.anonExclusive);
      f.owner[old] = vma.anonVma!.id;
      pmap.hugetlbUpdate(haddr, h.order, PteAttr.write | PteAttr.dirty | PteAttr.accessed, 0);
      return VmFault.done;
    }
    // cow_from_owner: the owner's anonymous page consumed its reservation already.
    const fromOwner = isResvOwner(vma) && f.has(old, PG.anon);
    const head = allocHugetlbFolio(k, vma, haddr, fromOwner);
    if (head >= 0) {
      vmfAnonPrepare(k, mm, vma);
      mmuNotifierInvalidate(mm, haddr, haddr + h.nrPages, NotifyEvent.clear); // hugetlb_wp's range
      f.token.copyWithin(head, old, old + h.nrPages); // copy_user_large_folio
      k.vmstat.pages_copied += h.nrPages;
      flushHugetlbRange(k, mm, cpu, haddr, haddr + h.nrPages, h.nrPages); // huge_ptep_clear_flush
      newHugetlbAnonRmap(k, vma, haddr, head);
      pmap.hugetlbSet(haddr, h.order, head, makeHugePte(vma, true));
      hugetlbRemoveMapping(k, old);
      return VmFault.done;
    }
    if (!fromOwner) return VmFault.sigbus;
    unmapRefPrivate(k, vma, old, haddr, cpu);
  }
  throw new Error(`hugetlbWp: folio ${old} is still shared after unmap_ref_private`);
}

/**
 * unmap_ref_private: the owner of a private mapping could not copy a page it shares with
 * children: the page is unmapped from every other private VMA of the file at that offset that
 * is not an owner, and those VMAs are marked so that a later fault there is SIGBUS (rather than
 * a silently zeroed page).
 */
function unmapRefPrivate(k: Kernel, vma: Vma, head: number, haddr: number, cpu: number): void {
  const pgoff = vma.pageIndex(haddr);
  for (const [other, otherMm] of vma.file!.inode.mmaps) {
    if (other === vma || (other.flags & VM.MAYSHARE) !== 0 || isResvOwner(other)) continue;
    if (pgoff < other.pgoff || pgoff >= other.pgoff + other.pages) continue;
    const addr = other.start + (pgoff - other.pgoff);
    // The faulting CPU flushes the other mm (IPIs to the CPUs in its mask).
    const end = addr + vmaHstate(k, other).nrPages;
    mmuNotifierInvalidate(otherMm, addr, end, NotifyEvent.unmap); // unmap_hugepage_range
    unmapHugepageRange(k, otherMm, other, addr, end, cpu, head);
  }
}
