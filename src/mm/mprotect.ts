// mprotect (mm/mprotect.c do_mprotect_pkey, mprotect_fixup, change_protection). One
// mmu_gather spans the call: each entry whose change needs a flush (pte_needs_flush) adds
// to its range, and x86 (MMU_GATHER_MERGE_VMAS) flushes once, at tlb_finish_mmu, even when
// the call fails part way.

import { PteAttr } from '../arch/pmap.js';
import { type Errno, err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { PG } from '../phys/frames.js';
import { protectDevicePrivate } from './device-private.js';
import { changeHugePmd } from './huge-pmd-ops.js';
import { hugetlbChangeProtection } from './hugetlb-unmap.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';
import { MmuGather } from './mmu-gather.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { populateVmaRange } from './populate.js';
import { basePteAttrs, protToVmFlags, VM, type Vma } from './vma.js';
import { modifyVmaFlags } from './vma-ops.js';

export function sysMprotect(k: Kernel, task: Task, addr: number, len: number, prot: number): SysResult<0> {
  const mm = task.mm!;
  if (addr % PAGE_SIZE !== 0) return err('EINVAL');
  if (prot & ~7) return err('EINVAL');
  if (len === 0) return ok(0);
  k.locks.mmapWrite++; // do_mprotect_pkey: mmap_write_lock_killable after these checks
  const start = addr / PAGE_SIZE;
  const end = start + Math.ceil(len / PAGE_SIZE);
  if (end > mm.taskSize) return err('ENOMEM');
  const vma = mm.findVma(start);
  if (vma === undefined || vma.start > start) return err('ENOMEM');
  const g = new MmuGather(k, mm, task.cpu);
  const r = mprotectVmas(k, task, g, vma, start, end, prot);
  g.finish();
  return r;
}

/** do_mprotect_pkey's walk over the VMAs of [start, end), the first of which is vma. */
function mprotectVmas(
  k: Kernel,
  task: Task,
  g: MmuGather,
  first: Vma,
  start: number,
  end: number,
  prot: number,
): SysResult<0> {
  const mm = task.mm!;
  let vma: Vma | undefined = first;
  let tmp = first.start;
  while (vma !== undefined && vma.start < end) {
    if (vma.start !== tmp) return err('ENOMEM');
    let newFlags = protToVmFlags(prot) | (vma.flags & ~VM.PROT_MASK);
    // The new protection must be allowed by VM_MAY*: VM_MAYREAD is VM_READ << 4.
    if ((newFlags & ~(newFlags >> 4) & VM.PROT_MASK) !== 0) return err('EACCES');
    newFlags = accountFlags(vma, newFlags);
    const r = mprotectFixup(k, task, g, vma, Math.max(start, vma.start), Math.min(vma.end, end), newFlags);
    if (typeof r === 'string') return err(r);
    // tmp = vma_iter_end(&vmi): the VMA now holding the range may have merged with the next
    // one, so go on after it, not at the next VMA seen before the change.
    tmp = r.end;
    if (tmp >= end) break;
    vma = mm.nextOf(r);
  }
  if (tmp < end) return err('ENOMEM');
  return ok(0);
}

/** mprotect_fixup's VM_ACCOUNT rules: charge on gaining write; an untouched anonymous area loses it. */
function accountFlags(vma: Vma, newFlags: number): number {
  const old = vma.flags;
  if (newFlags & VM.WRITE) {
    if ((old & (VM.ACCOUNT | VM.WRITE | VM.HUGETLB | VM.SHARED | VM.NORESERVE)) === 0) newFlags |= VM.ACCOUNT;
  } else if ((old & VM.ACCOUNT) !== 0 && vma.file === null && vma.anonVma === null) {
    newFlags &= ~VM.ACCOUNT;
  }
  return newFlags;
}

function mprotectFixup(
  k: Kernel,
  task: Task,
  g: MmuGather,
  vma: Vma,
  start: number,
  end: number,
  newFlags: number,
): Vma | Errno {
  const oldFlags = vma.flags;
  if (newFlags === oldFlags) return vma;
  const r = modifyVmaFlags(k, task.mm!, vma, start, end, newFlags);
  if (typeof r === 'string') return r; // ENOMEM, or EINVAL for a hugetlb split off a huge page boundary
  changeProtection(g, r, start, end);
  // gmem: the devices' mappings of a peer-shared area follow its protection.
  if ((r.flags & VM.PEER_SHARED) !== 0 && k.peer !== null) k.peer.protect(task.mm!, r, start, end);
  // A locked private area made writable is populated to break CoW (mprotect_fixup).
  if ((oldFlags & (VM.WRITE | VM.SHARED | VM.LOCKED)) === VM.LOCKED && (newFlags & VM.WRITE) !== 0) {
    populateVmaRange(k, task, r, start, end);
  }
  return r;
}

/**
 * change_protection: rewrite present entries of [start, end) for vma's flags. Private
 * writable areas map anon-exclusive pages writable at once (can_change_pte_writable);
 * other private pages stay write-protected for CoW. An entry goes into the gather's range
 * only when the arch says the change needs a flush (pte_needs_flush, tlb_flush_pte_range).
 */
export function changeProtection(g: MmuGather, vma: Vma, start: number, end: number): void {
  if (vma.isHugetlb()) {
    // hugetlb_change_protection flushes its own range (flush_hugetlb_tlb_range).
    mmuNotifierInvalidate(g.mm, start, end, NotifyEvent.protectionVma);
    hugetlbChangeProtection(g.k, g.mm, vma, start, end, g.cpu);
    return;
  }
  const base = basePteAttrs(vma.flags);
  const f = g.k.phys.frames;
  const pmap = g.mm.pmap;
  const tryWrite = (vma.flags & (VM.WRITE | VM.SHARED)) === VM.WRITE;
  mmuNotifierInvalidate(g.mm, start, end, NotifyEvent.protectionVma);
  protectDevicePrivate(g.mm, start, end);
  const locks = g.k.locks;
  pmap.forEachLeaf(
    start,
    end,
    (vpn, pfn, attrs, order) => {
      if (order !== 0) {
        // change_huge_pmd: the whole leaf (mprotect split any leaf the range cuts); a PMD flush.
        locks.pmd++; // __pmd_trans_huge_lock
        if (changeHugePmd(g.k, g.mm, vma, vpn, pfn, attrs)) g.leaf(vpn, order);
        return;
      }
      let a = (attrs & (PteAttr.dirty | PteAttr.accessed | PteAttr.special)) | base;
      if (tryWrite && (a & PteAttr.special) === 0 && f.has(pfn, PG.anon) && f.has(pfn, PG.anonExclusive))
        a |= PteAttr.write;
      if (a === attrs) return;
      pmap.pteSet(pmap.pteLookup(vpn), pfn, a);
      if (pmap.pteNeedsFlush(attrs, a)) g.ptes(vpn, 1);
    },
    undefined,
    () => locks.ptl++, // change_pte_range: one PTE lock per table, entries present or not
  );
}
