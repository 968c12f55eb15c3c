// CPU accesses by a task: TLB, then the hardware page walk, then the page-fault handler
// (arch/x86/mm/fault.c do_user_addr_fault), then the access is retried as the CPU re-executes
// the instruction. Reads return the page's content token; writes store a fresh one.
//
// accessRun is the hot loop: its TLB-hit path is written out inline (v86's lesson: the hit
// path is a load, a compare and a mask), and everything else goes through accessSlow.

import { Access, TlbPerm, WalkStatus } from '../arch/pmap.js';
import type { Tlb } from '../arch/tlb.js';
import type { Rng } from '../lib/rng.js';
import { accessAllowed, handleMmFault, VmFault } from './fault.js';
import { FaultLock, type Kernel } from './kernel.js';
import type { Task } from './mm.js';

/** access() results below zero: the access did not complete. */
export const enum AccessError {
  SIGSEGV = -1,
  SIGBUS = -2,
  /** Memory ran out in the fault handler (VM_FAULT_OOM). */
  OOM = -3,
  /** The OOM killer chose this task while it faulted: it dies (SIGKILL). */
  KILLED = -4,
}

export const enum Pattern {
  sequential = 0,
  random = 1,
  strided = 2,
}

/** A run of accesses: which pages, in which order, how many. */
export interface RunSpec {
  readonly pattern: Pattern;
  /** First page of the range and its length in pages (sequential, random). */
  readonly firstVpn: number;
  readonly pages: number;
  /** Strided: first byte address, stride in bytes, accesses per pass over the range. */
  readonly addr: number;
  readonly stride: number;
  readonly perPass: number;
  /** Accesses to make (passes wrap around the range). */
  readonly count: number;
  /** Random: the generator the page indexes are drawn from (Rng.nextInt's sequence). */
  readonly rng: Rng;
}

export interface RunResult {
  done: number;
  /** 0 or an AccessError. */
  error: number;
  /** Page of the failed access. */
  failVpn: number;
}

/** Make the accesses of `spec` on `cpu`; stops at the first that fails. */
export function accessRun(
  k: Kernel,
  task: Task,
  cpu: number,
  kind: Access,
  spec: RunSpec,
  out: RunResult,
): void {
  const mm = task.mm!;
  const asid = mm.id;
  const tlb = k.tlbs[cpu];
  const tv = tlb.vpn;
  const ta = tlb.asid;
  const tp = tlb.perm;
  const tpfn = tlb.pfn;
  const stamp = tlb.stamp;
  const mask = tlb.setMask;
  const hint = tlb.hint;
  const hintMask = tlb.hintMask;
  const ways = tlb.ways;
  const token = k.phys.frames.token;
  const phys = k.phys;
  // Accesses allowed by a cached translation: reads always; writes need W and D; exec needs X.
  const need =
    kind === Access.write ? TlbPerm.write | TlbPerm.dirty : kind === Access.exec ? TlbPerm.exec : 0;
  const write = kind === Access.write;
  const pattern = spec.pattern;
  const count = spec.count;
  const firstVpn = spec.firstVpn;
  const pages = spec.pages;
  const rng = spec.rng;
  // Uniform page indexes from 31-bit draws (int32 arithmetic on the hot path), rejecting the
  // biased tail above the last multiple of pages; larger ranges use Rng.nextInt.
  const small = pages <= 0x8000_0000;
  const limit = small ? 0x8000_0000 - (0x8000_0000 % pages) : 0;
  let clock = tlb.clock;
  let hits = 0;
  let seq = 0;
  let done = 0;
  out.error = 0;
  for (; done < count; done++) {
    let vpn: number;
    if (pattern === Pattern.sequential) {
      vpn = firstVpn + seq;
      if (++seq === pages) seq = 0;
    } else if (pattern === Pattern.random) {
      let index: number;
      if (small) {
        let u = rng.nextU32() >>> 1;
        while (u >= limit) u = rng.nextU32() >>> 1;
        index = u % pages;
      } else {
        index = rng.nextInt(pages);
      }
      vpn = firstVpn + index;
    } else {
      vpn = Math.floor((spec.addr + seq * spec.stride) / 4096);
      if (++seq === spec.perPass) seq = 0;
    }
    let s = hint[vpn & hintMask];
    let end = s + 1;
    if (tv[s] !== vpn || ta[s] !== asid) {
      const base = (vpn & mask) * ways;
      end = base + ways;
      for (s = base; s < end && (tv[s] !== vpn || ta[s] !== asid); s++);
      if (s < end) hint[vpn & hintMask] = s;
    }
    if (s < end && (tp[s] & need) === need) {
      stamp[s] = ++clock;
      hits++;
      if (write) token[tpfn[s]] = ++phys.lastToken;
      continue;
    }
    let cached = s < end;
    if (!cached && tlb.huge > 0) {
      // A 2 MiB entry covering vpn (one entry serves 512 pages).
      const hs = tlb.probeHuge(asid, vpn);
      if (hs >= 0 && (tp[hs] & need) === need) {
        stamp[hs] = ++clock;
        hits++;
        if (write) token[tpfn[hs] + tlb.lastSub] = ++phys.lastToken;
        continue;
      }
      cached = hs >= 0;
    }
    tlb.clock = clock;
    const r = accessSlow(k, task, tlb, cpu, vpn, kind, cached);
    clock = tlb.clock;
    if (r < 0) {
      out.error = r;
      out.failVpn = vpn;
      break;
    }
  }
  tlb.clock = clock;
  tlb.hits += hits;
  task.tlbHits += hits;
  out.done = done;
}

/**
 * One access of the page `vpn` on `cpu`. Returns the content token read or written (>= 0),
 * or an AccessError. The caller has moved the task to `cpu` (Kernel.runOn).
 */
export function access(k: Kernel, task: Task, cpu: number, vpn: number, kind: Access): number {
  const tlb = k.tlbs[cpu];
  let s = tlb.probe(task.mm!.id, vpn);
  let sub = 0;
  if (s < 0 && tlb.huge > 0) {
    s = tlb.probeHuge(task.mm!.id, vpn);
    sub = tlb.lastSub;
  }
  const need =
    kind === Access.write ? TlbPerm.write | TlbPerm.dirty : kind === Access.exec ? TlbPerm.exec : 0;
  if (s >= 0 && (tlb.perm[s] & need) === need) {
    tlb.stamp[s] = ++tlb.clock;
    tlb.hits++;
    task.tlbHits++;
    return complete(k, tlb.pfn[s] + sub, kind);
  }
  return accessSlow(k, task, tlb, cpu, vpn, kind, s >= 0);
}

/**
 * The access after the TLB could not serve it: `cached` says whether an entry existed (a hit
 * whose permissions fell short: a write through a clean entry walks to set D; a forbidden
 * access walks and faults) or not (a miss).
 */
function accessSlow(
  k: Kernel,
  task: Task,
  tlb: Tlb,
  cpu: number,
  vpn: number,
  kind: Access,
  cached: boolean,
): number {
  const mm = task.mm!;
  if (cached) {
    task.tlbHits++;
    tlb.hits++;
  } else {
    task.tlbMisses++;
    tlb.misses++;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    task.pageWalks++;
    const st = mm.pmap.walk(vpn, kind);
    task.walkLevels += mm.pmap.walkLevels;
    if (st === WalkStatus.ok) {
      const pfn = mm.pmap.outPfn;
      if (mm.pmap.outOrder === 9) {
        const sub = vpn % 512;
        tlb.fillHuge(mm.id, vpn - sub, pfn - sub, mm.pmap.outPerm);
      } else if (mm.pmap.outOrder === 18) {
        const sub = vpn % (512 * 512);
        tlb.fillGiant(mm.id, vpn - sub, pfn - sub, mm.pmap.outPerm);
      } else {
        tlb.fill(mm.id, vpn, pfn, mm.pmap.outPerm);
      }
      return complete(k, pfn, kind);
    }
    // #PF: do_user_addr_fault. lock_vma_under_rcu first: no VMA there is an abort, and
    // lock_mm_and_find_vma (mmap_lock, read) finds none either: bad_area.
    const vma = mm.vmaAt(vpn);
    const locks = k.locks;
    if (vma === undefined) {
      k.vmstat.vma_lock_abort++;
      locks.mmapRead++;
      task.sigsegv++;
      return AccessError.SIGSEGV;
    }
    locks.vmaRead++;
    if (!accessAllowed(vma, kind, st === WalkStatus.protection)) {
      // access_error under the VMA lock: vma_end_read and the mmap_lock path, which finds the
      // same error (bad_area_access_error). No vma_lock_* event is counted.
      locks.mmapRead++;
      task.sigsegv++;
      return AccessError.SIGSEGV;
    }
    k.current = task;
    k.faultLock = FaultLock.vma;
    let r = handleMmFault(k, mm, vma, vpn, kind, cpu);
    k.faultLock = FaultLock.mmap;
    if ((r & VmFault.retry) !== 0) {
      // VM_FAULT_RETRY: the fault ran again under mmap_lock (read); vmlab did both attempts.
      k.vmstat.vma_lock_retry++;
      locks.mmapRead++;
      r &= ~VmFault.retry;
    } else {
      k.vmstat.vma_lock_success++;
    }
    if (task.oomKilled) return AccessError.KILLED;
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
  if (pfn >= k.phys.cpuFrames) k.pgmap?.cpuAccess?.(pfn); // device-coherent memory
  if (kind === Access.write) {
    const t = k.phys.newToken();
    token[pfn] = t;
    return t;
  }
  return token[pfn];
}
