// A CPU access by a task: TLB, then the hardware page walk, then the page-fault handler
// (arch/x86/mm/fault.c do_user_addr_fault), then the access is retried as the CPU re-executes
// the instruction. Reads return the page's content token; writes store a fresh one.

import { Access, TlbPerm, WalkStatus } from '../arch/pmap.js';
import { accessAllowed, handleMmFault, VmFault } from './fault.js';
import type { Kernel } from './kernel.js';
import type { Task } from './mm.js';

/** access() results below zero: the access did not complete. */
export const enum AccessError {
  SIGSEGV = -1,
  SIGBUS = -2,
  /** Memory ran out in the fault handler (VM_FAULT_OOM). */
  OOM = -3,
}

/**
 * Access the page holding `vpn` on `cpu`. Returns the content token read or written (>= 0),
 * or an AccessError. The caller has moved the task to `cpu` (Kernel.runOn).
 */
export function access(k: Kernel, task: Task, cpu: number, vpn: number, kind: Access): number {
  const mm = task.mm!;
  const tlb = k.tlbs[cpu];
  if (tlb.lookup(mm.id, vpn)) {
    task.tlbHits++;
    const perm = tlb.outPerm;
    const ok =
      kind === Access.read ||
      (kind === Access.write ? (perm & (TlbPerm.write | TlbPerm.dirty)) === (TlbPerm.write | TlbPerm.dirty) : (perm & TlbPerm.exec) !== 0);
    if (ok) return complete(k, tlb.outPfn, kind);
    // A write through a clean entry walks to set D; a forbidden access walks and faults.
  } else {
    task.tlbMisses++;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    task.pageWalks++;
    const st = mm.pmap.walk(vpn, kind);
    task.walkLevels += mm.pmap.walkLevels;
    if (st === WalkStatus.ok) {
      const pfn = mm.pmap.outPfn;
      tlb.fill(mm.id, vpn, pfn, mm.pmap.outPerm);
      return complete(k, pfn, kind);
    }
    // #PF: find the VMA and check the access against it (bad_area / access_error).
    const vma = mm.vmaAt(vpn);
    if (vma === undefined || !accessAllowed(vma, kind)) {
      task.sigsegv++;
      return AccessError.SIGSEGV;
    }
    const r = handleMmFault(k, mm, vma, vpn, kind, cpu);
    // mm_account_fault: vmstat pgfault counts every fault (handleMmFault did), the task
    // only those that succeeded (VM_FAULT_ERROR faults are not accounted).
    if ((r & (VmFault.oom | VmFault.sigbus | VmFault.sigsegv)) === 0) {
      if ((r & VmFault.major) !== 0) task.majFlt++;
      else task.minFlt++;
    }
    if ((r & VmFault.oom) !== 0) return AccessError.OOM;
    if ((r & VmFault.sigbus) !== 0) {
      task.sigbus++;
      return AccessError.SIGBUS;
    }
    if ((r & VmFault.sigsegv) !== 0) {
      task.sigsegv++;
      return AccessError.SIGSEGV;
    }
  }
  throw new Error(`access: vpn ${vpn} still faults after the fault handler ran three times`);
}

function complete(k: Kernel, pfn: number, kind: Access): number {
  const token = k.phys.frames.token;
  if (kind === Access.write) {
    const t = k.phys.newToken();
    token[pfn] = t;
    return t;
  }
  return token[pfn];
}
