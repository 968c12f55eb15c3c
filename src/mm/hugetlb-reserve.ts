// hugetlb reservations (mm/hugetlb.c; Documentation/mm/hugetlbfs_reserv.rst): taking them at
// mmap (hugetlb_reserve_pages), giving them back (hugetlb_unreserve_pages, hugetlb_vm_op_close),
// the per-fault questions (vma_needs_reservation, vma_has_reserves) and the allocation of a
// hugetlb folio for a fault (alloc_hugetlb_folio). The hugetlbfs mount is the default one: its
// subpool has no size limits, so hugepage_subpool_get_pages/put_pages pass counts through.

import { PG } from '../phys/frames.js';
import { allocSurplus, availableHugePages, dequeue, type HState, hugetlbAcctMemory } from './hugetlb.js';
import { ResvMap } from './hugetlb-resv.js';
import type { Inode } from './inode.js';
import type { Kernel } from './kernel.js';
import { VM, type Vma } from './vma.js';

/** HPAGE_RESV_* flags of a private hugetlb VMA (vm_private_data's low bits). */
export const enum ResvFlag {
  /** The VMA mmap() made: it owns the reservation map, and its faults may use reservations. */
  OWNER = 1,
  /** unmap_ref_private took a page from this (child's) VMA: a fault here is SIGBUS. */
  UNMAPPED = 2,
}

/** hstate_vma */
export function vmaHstate(k: Kernel, vma: Vma): HState {
  return k.hugetlb.hstates[vma.file!.inode.hstate];
}

/** vma_hugecache_offset: the huge-page index in the file of the (aligned) page vpn. */
export function hugecacheOffset(h: HState, vma: Vma, vpn: number): number {
  return Math.floor((vma.pgoff + (vpn - vma.start)) / h.nrPages);
}

function mayShare(vma: Vma): boolean {
  return (vma.flags & VM.MAYSHARE) !== 0;
}

/** vma_resv_map: the inode's map for shared areas, the VMA's own for private ones. */
function vmaResvMap(vma: Vma): ResvMap | null {
  return mayShare(vma) ? vma.file!.inode.resv : vma.resvMap;
}

/** __vma_private_lock: a private VMA holding its reservation map as the owner. */
export function isResvOwner(vma: Vma): boolean {
  return !mayShare(vma) && vma.resvMap !== null && (vma.resvFlags & ResvFlag.OWNER) !== 0;
}

/**
 * vma_needs_reservation: 1 when the page at vpn has no reservation to use, 0 when it has.
 * A shared map records reservations; a private one records consumed ones (the opposite sense).
 * A VMA without a map (a child's private area) never has one.
 */
export function vmaNeedsReservation(k: Kernel, vma: Vma, vpn: number): number {
  const resv = vmaResvMap(vma);
  if (resv === null) return 1;
  const present = resv.has(hugecacheOffset(vmaHstate(k, vma), vma, vpn));
  if (mayShare(vma)) return present ? 0 : 1;
  return present ? 1 : 0;
}

/** vma_commit_reservation: the page was allocated; record it in the map. */
function vmaCommitReservation(k: Kernel, vma: Vma, vpn: number): void {
  const resv = vmaResvMap(vma);
  if (resv === null) return;
  const idx = hugecacheOffset(vmaHstate(k, vma), vma, vpn);
  resv.add(idx, idx + 1);
}

/** vma_add_reservation: the page's reservation is there again (a private map forgets its use). */
export function vmaAddReservation(k: Kernel, vma: Vma, vpn: number): void {
  const resv = vmaResvMap(vma);
  if (resv === null) return;
  const idx = hugecacheOffset(vmaHstate(k, vma), vma, vpn);
  if (mayShare(vma)) resv.add(idx, idx + 1);
  else resv.del(idx, idx + 1);
}

/** vma_has_reserves: whether a fault with this vma_needs_reservation result (chg) may use a reservation. */
function vmaHasReserves(vma: Vma, chg: number): boolean {
  if ((vma.flags & VM.NORESERVE) !== 0) return mayShare(vma) && chg === 0;
  if (mayShare(vma)) return chg === 0;
  if ((vma.resvFlags & ResvFlag.OWNER) !== 0) return chg === 0;
  return false;
}

/**
 * alloc_hugetlb_folio for the page at vpn of vma: a pool folio (refcount 1, zeroing is the
 * caller's), using the page's reservation when it has one and `avoidReserve` is not set (a CoW
 * by the reservation owner after fork must not use reservations meant for other pages). Without
 * a reservation only a page no reservation holds will do (available_huge_pages), or a new
 * surplus page within nr_overcommit_hugepages. Returns -1 when there is none (ENOSPC: the fault
 * is SIGBUS). A folio that consumed a reservation carries PG.hugetlbRestoreReserve until it is
 * mapped or added to the page cache.
 */
export function allocHugetlbFolio(k: Kernel, vma: Vma, vpn: number, avoidReserve: boolean): number {
  const h = vmaHstate(k, vma);
  const mapChg = vmaNeedsReservation(k, vma, vpn);
  const gblChg = mapChg !== 0 || avoidReserve ? 1 : 0;
  const useReserve = !avoidReserve && vmaHasReserves(vma, gblChg);
  let head = -1;
  // dequeue_hugetlb_folio_vma: without a reservation, only unreserved free pages.
  if ((useReserve || availableHugePages(h) > 0) && (!avoidReserve || availableHugePages(h) > 0))
    head = dequeue(k, h, 0);
  if (head < 0) {
    // alloc_buddy_hugetlb_folio_with_mpol: a surplus page, if overcommit allows.
    head = allocSurplus(k, h);
    if (head < 0) return -1;
    k.phys.frames.refcount[head] = 1;
  }
  if (useReserve) {
    k.phys.frames.set(head, PG.hugetlbRestoreReserve);
    h.resv--;
  }
  vmaCommitReservation(k, vma, vpn);
  return head;
}

/**
 * hugetlb_reserve_pages for huge pages [from, to) of inode, mapped by vma (null: a SysV shm
 * segment, not modelled). VM_NORESERVE takes none. A shared mapping reserves the file's pages
 * not yet reserved (region_chg) and records them in the inode's map; a private one reserves its
 * whole length, recorded nowhere but in a new map whose owner the VMA becomes. False when the
 * pool cannot cover it (mmap fails with ENOMEM).
 */
export function hugetlbReservePages(
  k: Kernel,
  inode: Inode,
  from: number,
  to: number,
  vma: Vma,
  vmFlags: number,
): boolean {
  if ((vmFlags & VM.NORESERVE) !== 0) return true;
  const h = k.hugetlb.hstates[inode.hstate];
  const shared = (vmFlags & VM.MAYSHARE) !== 0;
  const chg = shared ? inode.resv!.chg(from, to) : to - from;
  if (!hugetlbAcctMemory(k, h, chg)) return false;
  if (shared) inode.resv!.add(from, to);
  else {
    vma.resvMap = new ResvMap();
    vma.resvFlags = ResvFlag.OWNER;
  }
  return true;
}

/**
 * hugetlb_unreserve_pages: the file's pages [start, end) leave (truncate, eviction); `freed`
 * of them were instantiated. The reservations the rest held go back.
 */
export function hugetlbUnreservePages(
  k: Kernel,
  inode: Inode,
  start: number,
  end: number,
  freed: number,
): void {
  const chg = inode.resv?.del(start, end) ?? 0;
  hugetlbAcctMemory(k, k.hugetlb.hstates[inode.hstate], -(chg - freed));
}

/** hugetlb_vm_op_open: dst, a copy of src (split, mremap's copy_vma), shares its reservation map. */
export function hugetlbVmOpen(src: Vma, dst: Vma): void {
  dst.resvMap = src.resvMap;
  dst.resvFlags = src.resvFlags;
  if (isResvOwner(dst)) dst.resvMap!.refs++;
}

/**
 * hugetlb_vm_op_close: an owner's VMA goes; the reservations of its range that were never
 * consumed go back to the pool.
 */
export function hugetlbVmClose(k: Kernel, vma: Vma): void {
  if (!isResvOwner(vma)) return;
  const h = vmaHstate(k, vma);
  const start = hugecacheOffset(h, vma, vma.start);
  const end = hugecacheOffset(h, vma, vma.end);
  const reserve = end - start - vma.resvMap!.count(start, end);
  hugetlbAcctMemory(k, h, -reserve);
  vma.resvMap!.refs--;
  vma.resvMap = null;
  vma.resvFlags = 0;
}

/**
 * clear_vma_resv_huge_pages (mremap's move_vma, on the old VMA, after copy_vma gave the new one
 * a reference): the old VMA drops its map. When only part of it moved, the reservations of the
 * rest are stranded: still counted in HugePages_Rsvd, returned by no VMA (HState.stranded).
 */
export function clearVmaResvHugePages(k: Kernel, vma: Vma, movedStart: number, movedEnd: number): void {
  if (isResvOwner(vma)) {
    const h = vmaHstate(k, vma);
    const resv = vma.resvMap!;
    const [a, b] = [hugecacheOffset(h, vma, vma.start), hugecacheOffset(h, vma, vma.end)];
    const [ma, mb] = [hugecacheOffset(h, vma, movedStart), hugecacheOffset(h, vma, movedEnd)];
    h.stranded += resv.chg(a, ma) + resv.chg(mb, b);
    resv.refs--;
  }
  vma.resvMap = null;
  vma.resvFlags = 0;
}
