// mprotect (mm/mprotect.c do_mprotect_pkey, mprotect_fixup, change_protection).

import { PteAttr } from '../arch/pmap.js';
import { type Errno, err, ok, type SysResult } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { PG } from '../phys/frames.js';
import { changeHugePmd } from './huge-pmd-ops.js';
import { hugetlbChangeProtection } from './hugetlb-unmap.js';
import type { Kernel } from './kernel.js';
import type { Mm, Task } from './mm.js';
import { populateVmaRange } from './populate.js';
import { basePteAttrs, protToVmFlags, VM, type Vma } from './vma.js';
import { modifyVmaFlags } from './vma-ops.js';

export function sysMprotect(k: Kernel, task: Task, addr: number, len: number, prot: number): SysResult<0> {
  const mm = task.mm!;
  if (addr % PAGE_SIZE !== 0) return err('EINVAL');
  if (prot & ~7) return err('EINVAL');
  if (len === 0) return ok(0);
  const start = addr / PAGE_SIZE;
  const end = start + Math.ceil(len / PAGE_SIZE);
  if (end > mm.taskSize) return err('ENOMEM');
  let vma = mm.findVma(start);
  if (vma === undefined || vma.start > start) return err('ENOMEM');
  let tmp = vma.start;
  while (vma !== undefined && vma.start < end) {
    if (vma.start !== tmp) return err('ENOMEM');
    let newFlags = protToVmFlags(prot) | (vma.flags & ~VM.PROT_MASK);
    // The new protection must be allowed by VM_MAY*: VM_MAYREAD is VM_READ << 4.
    if ((newFlags & ~(newFlags >> 4) & VM.PROT_MASK) !== 0) return err('EACCES');
    newFlags = accountFlags(vma, newFlags);
    const r = mprotectFixup(k, task, vma, Math.max(start, vma.start), Math.min(vma.end, end), newFlags);
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
  vma: Vma,
  start: number,
  end: number,
  newFlags: number,
): Vma | Errno {
  const oldFlags = vma.flags;
  if (newFlags === oldFlags) return vma;
  const r = modifyVmaFlags(k, task.mm!, vma, start, end, newFlags);
  if (typeof r === 'string') return r; // ENOMEM, or EINVAL for a hugetlb split off a huge page boundary
  changeProtection(k, task.mm!, r, start, end, task.cpu);
  // A locked private area made writable is populated to break CoW (mprotect_fixup).
  if ((oldFlags & (VM.WRITE | VM.SHARED | VM.LOCKED)) === VM.LOCKED && (newFlags & VM.WRITE) !== 0) {
    populateVmaRange(k, task, r, start, end);
  }
  return r;
}

/**
 * change_protection: rewrite present entries of [start, end) for vma's flags. Private
 * writable areas map anon-exclusive pages writable at once (can_change_pte_writable);
 * other private pages stay write-protected for CoW.
 */
export function changeProtection(k: Kernel, mm: Mm, vma: Vma, start: number, end: number, cpu: number): void {
  if (vma.isHugetlb()) {
    hugetlbChangeProtection(k, mm, vma, start, end, cpu);
    return;
  }
  const base = basePteAttrs(vma.flags);
  const f = k.phys.frames;
  const pmap = mm.pmap;
  const tryWrite = (vma.flags & (VM.WRITE | VM.SHARED)) === VM.WRITE;
  let changed = false;
  pmap.forEachLeaf(start, end, (vpn, pfn, attrs, order) => {
    if (order !== 0) {
      if (changeHugePmd(k, mm, vma, vpn, pfn, attrs)) changed = true;
      return;
    }
    let a = (attrs & (PteAttr.dirty | PteAttr.accessed | PteAttr.special)) | base;
    if (tryWrite && (a & PteAttr.special) === 0 && f.has(pfn, PG.anon) && f.has(pfn, PG.anonExclusive))
      a |= PteAttr.write;
    if (a !== attrs) {
      pmap.pteSet(pmap.pteLookup(vpn), pfn, a);
      changed = true;
    }
  });
  if (changed) k.flushTlbRange(mm, cpu, start, end);
}
