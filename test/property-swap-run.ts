// Memory pressure in the differential property test's runner (test/property-run.ts), for the
// swap variant (test/property-swap.test.ts): the balloon, large touches, and the bound that
// keeps the OOM killer out of the runs.
//
// No OOM kill can be right here, by construction: the sequence never makes more anonymous and
// shmem pages than the swap device holds (an operation that could is skipped), never mlocks
// more than LOCK_CAP pages at once (likewise), and the balloon leaves BALLOON_SPARE frames
// above the high watermark and what cannot be reclaimed (page tables, the huge zero page,
// mlocked pages). So reclaim can always make room, by swapping or by writing file pages back
// and dropping them, and the OOM killer (on, as in a default kernel) must never fire: a kill,
// or a failed access (the model has no out-of-memory mode here), is a failure. (The balloon
// itself never calls the OOM killer: __GFP_NORETRY.)

import { HPAGE_PMD_NR } from '../src/arch/pmap.js';
import type { Task } from '../src/mm/mm.js';
import type { System } from '../src/sim/system.js';
import { MAX_PROCS, type Op, resolve } from './property-ops.js';
import type { SwapOp } from './property-swap-ops.js';
import { PAGE_SIZE, type ReferenceModel } from './reference-model.js';

/**
 * Frames the balloon leaves above the high watermark and what cannot be reclaimed at the
 * moment: room for the page tables later steps make while it is inflated, and for LOCK_CAP
 * pages that mlock may lock meanwhile (neither can be reclaimed).
 */
const BALLOON_SPARE = 96 + 48;
/** Pages that may be mlocked at once (all processes): mlock may take them after the balloon inflated. */
const LOCK_CAP = 48;
/** Swap slots kept out of the budget (a margin for THPs split after a partial unmap). */
const SWAP_SPARE = 512;

export class SwapPressure {
  /** Pages the sequence may have brought into being so far (an upper bound; never decreases). */
  private used = 0;
  /** Whether a shmem page (MAP_SHARED|MAP_ANONYMOUS) was ever seen in swap after a step. */
  shmemSwapped = false;
  /** Whether the balloon ever squeezed while pages were mlocked (reclaim must pass them by). */
  lockedSqueezed = false;
  private readonly budget: number;

  constructor(private readonly sys: System) {
    const k = sys.kernel;
    this.budget = (k.swap?.slots ?? 0) - SWAP_SPARE;
  }

  /**
   * Whether op (by process p) may run: what it could make, each page of a mapping once per
   * process, a fork as much again as the parent maps, must fit in the budget. A mapping's pages
   * count from the call that maps them until the end, so that the sum bounds every anonymous
   * and shmem page that can exist at once (a shmem object outlives a partial unmap, a THP
   * outlives the unmap of part of it until it is split). And it may not mlock more than
   * LOCK_CAP pages in all. Counts the op in when it may run; else says why not.
   */
  admit(model: ReferenceModel, p: number, op: Op): string | null {
    let cost = 0;
    if (op.op === 'mmap' || op.op === 'mmapFile') cost = op.len;
    else if (op.op === 'fork') cost = model.mappedCount(p);
    else if (op.op === 'mremap') {
      const { pages } = resolve(model, p, op.r);
      cost = op.mode === 'dontunmap' ? pages : op.newLen;
    }
    if (this.used + cost > this.budget) return 'could make more pages than swap holds';
    const locking = this.lockCost(model, p, op);
    if (locking > 0 && lockedPages(model) + locking > LOCK_CAP)
      return `could mlock more than ${LOCK_CAP} pages`;
    this.used += cost;
    return null;
  }

  /** Pages op may mlock (and so populate): a locked mapping, mlock, mremap growing a locked area. */
  private lockCost(model: ReferenceModel, p: number, op: Op): number {
    if ((op.op === 'mmap' || op.op === 'mmapFile') && op.locked) return op.len;
    if (op.op === 'mlock') return resolve(model, p, op.r).pages;
    if (op.op === 'mremap') {
      const { page, pages } = resolve(model, p, op.r);
      for (let v = page; v < page + pages; v++) if (model.pageInfo(p, v)?.locked) return op.newLen;
    }
    return 0;
  }

  /** A pressure operation: what it was, and the first difference from the model (or null). */
  run(model: ReferenceModel, p: number, task: Task | null, op: SwapOp): { what: string; bad: string | null } {
    if (op.op === 'balloon') {
      const k = this.sys.kernel;
      const held = k.balloon.pages.length;
      if (op.squeeze === -2) {
        if (k.mlockedPages > 0) this.lockedSqueezed = true;
        const got = this.sys.balloon(k.phys.totalPages * PAGE_SIZE) / PAGE_SIZE;
        this.sys.balloon(held * PAGE_SIZE);
        return { what: `balloon pulse: ${got}p, back to ${held}p`, bad: null };
      }
      // What it may hold: all but the high watermark, what reclaim cannot free (the page
      // tables, the huge zero page, mlocked pages) and the spare.
      const hugeZero = k.thp.hugeZeroPfn >= 0 ? HPAGE_PMD_NR : 0;
      const fixed = k.watermarks[0].high + k.pool.live + hugeZero + k.mlockedPages + BALLOON_SPARE;
      const cap = Math.max(held, k.phys.totalPages - fixed);
      const target = op.squeeze < 0 ? 0 : Math.min(cap, held + k.phys.freePages + op.squeeze);
      // It may stop short (__GFP_NORETRY: one direct reclaim pass per page), e.g. when the
      // huge zero page or page tables hold what it would need.
      if (target > held && k.mlockedPages > 0) this.lockedSqueezed = true;
      const got = this.sys.balloon(target * PAGE_SIZE) / PAGE_SIZE;
      return { what: `balloon ${target}p = ${got}p`, bad: null };
    }
    const { page, pages } = resolve(model, p, op.r);
    let n = 0;
    for (let v = page; v < page + pages; v++) {
      if (model.pageInfo(p, v) === undefined) continue;
      const r = this.sys.access(task!, v * PAGE_SIZE, op.kind, op.cpu);
      n++;
      const bad = model.access(p, v, op.kind, r);
      if (bad !== null) {
        return {
          what: `p${p} touch ${op.kind} 0x${(v * PAGE_SIZE).toString(16)} on cpu ${op.cpu} = ${r}`,
          bad,
        };
      }
    }
    return {
      what: `p${p} touch ${op.kind} 0x${(page * PAGE_SIZE).toString(16)} +${pages}p: ${n} pages`,
      bad: null,
    };
  }

  /** After every step: the invariants hold and the OOM killer stayed away. */
  check(): string | null {
    const bad = this.sys.check();
    if (bad.length > 0) return `invariants broken:\n  ${bad.join('\n  ')}`;
    for (const t of this.sys.kernel.tasks.values()) {
      for (const v of t.mm?.vmas.values() ?? []) {
        if (v.file?.inode.isShmem() && v.file.inode.swapped > 0) this.shmemSwapped = true;
      }
    }
    const kills = this.sys.kernel.oomKills;
    if (kills.length === 0) return null;
    const v = kills[0];
    return `the OOM killer killed ${v.name} (${v.points} points), with room in swap`;
  }

  /** After every process exited: every swap slot is free and the swap cache is empty. */
  leaks(): string[] {
    const k = this.sys.kernel;
    const out: string[] = [];
    const sw = k.swap!;
    if (sw.freeSlots !== sw.slots) out.push(`${sw.slots - sw.freeSlots} swap slots leaked`);
    if (sw.cacheSize !== 0 || k.swapCachePages !== 0) {
      out.push(`swap cache: ${sw.cacheSize} entries, SwapCached ${k.swapCachePages} pages after every exit`);
    }
    return out;
  }
}

/** Mapped pages in a VM_LOCKED area, over every process of the model. */
function lockedPages(model: ReferenceModel): number {
  let n = 0;
  for (let p = 0; p < MAX_PROCS; p++) {
    for (const v of model.mappedPages(p)) if (model.pageInfo(p, v)!.locked) n++;
  }
  return n;
}
