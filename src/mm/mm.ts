// A process: its task counters and its address space (struct mm_struct), with the VMAs
// in an ordered tree keyed by vm_start (the maple tree's role: O(log n) find_vma).

import type { Pmap } from '../arch/pmap.js';
import { OrderedMap } from '../lib/ordered-map.js';
import type { OpenFile } from './inode.js';
import type { MmuNotifierSubscriptions } from './mmu-notifier.js';
import type { Vma } from './vma.js';

/** RSS counter slots (include/linux/mm_types_task.h). */
export const enum MmCounter {
  FILEPAGES = 0,
  ANONPAGES = 1,
  SWAPENTS = 2,
  SHMEMPAGES = 3,
}

/** mm->flags bits used by transparent huge pages (include/linux/sched/coredump.h). */
export const enum MmfThp {
  /** MMF_VM_HUGEPAGE: registered with khugepaged. */
  VM_HUGEPAGE = 1,
  /** MMF_HUGE_ZERO_PAGE: holds a reference on the huge zero page. */
  HUGE_ZERO_PAGE = 2,
}

export class Mm {
  /** Also the TLB's address-space id (PCID). */
  readonly id: number;
  readonly pmap: Pmap;
  readonly vmas = new OrderedMap<Vma>();
  /** mm->map_count */
  mapCount = 0;
  /** mm->total_vm, pages */
  totalVm = 0;
  /** mm->locked_vm, pages */
  lockedVm = 0;
  /**
   * Pages locked_vm counts with no VM_LOCKED VMA behind them: MREMAP_DONTUNMAP clears the
   * old VMA's lock without taking its pages out of locked_vm (Linux's accounting; see mremap).
   * For the invariant check only.
   */
  lockedVmUnbacked = 0;
  /** rss_stat, pages, by MmCounter */
  readonly rss = new Float64Array(4);
  /** Peak of file + anon + shmem RSS (hiwater_rss), pages. */
  hiwaterRss = 0;
  /** First page of the heap and the break, in bytes (mm->start_brk, mm->brk). */
  startBrk: number;
  brk: number;
  /** mmap_base: top of the top-down allocation area, in pages. */
  readonly mmapBase: number;
  /** Highest user page + 1 for mappings without a high hint (DEFAULT_MAP_WINDOW). */
  readonly mapWindow: number;
  /** TASK_SIZE in pages: the top user page stays unmapped (TASK_SIZE_MAX = 2^47 or 2^56 - PAGE_SIZE). */
  readonly taskSize: number;
  /**
   * free_area_cache and cached_hole_size, after Linux 2.6's top-down allocator, made exact: the
   * top-down search may start at `freeAreaCache` (a page with no gap straddling it; -1 for
   * mmap_base) because every gap above it is at most `cachedHole` pages; a request of more
   * pages than that cannot fit above. Linux 6.x finds the same gap in O(log n) with gap sizes
   * in the maple tree; this gives the same answer without them. `gapOpened` keeps it true.
   */
  freeAreaCache = -1;
  cachedHole = 0;
  private lastVma: Vma | null = null;
  /** CPUs that may hold TLB entries of this mm (mm_cpumask). */
  cpuMask = 0n;
  /** mm->flags bits of transparent huge pages (MmfThp). */
  thpFlags = 0;
  /** Anonymous THPs this mm maps with a PMD (smaps AnonHugePages, in 2 MiB units). */
  hugeAnonPmds = 0;
  /** mm->hugetlb_usage: base pages of hugetlb pages mapped (/proc/PID/status HugetlbPages);
   * hugetlb pages are not in the RSS counters. */
  hugetlbUsage = 0;
  /** mm->notifier_subscriptions: device mirrors of this address space (null: none). */
  notifier: MmuNotifierSubscriptions | null = null;

  constructor(id: number, pmap: Pmap, mmapBase: number, mapWindow: number, startBrk: number) {
    this.id = id;
    this.pmap = pmap;
    this.mmapBase = mmapBase;
    this.mapWindow = mapWindow;
    this.taskSize = pmap.vpnLimit - 1;
    this.startBrk = startBrk;
    this.brk = startBrk;
  }

  /** A gap opened or grew up to page `end` (a VMA went or shrank): the search cache may lie. */
  gapOpened(end: number): void {
    if (this.freeAreaCache >= 0 && end > this.freeAreaCache) this.resetFreeArea();
  }

  resetFreeArea(): void {
    this.freeAreaCache = -1;
    this.cachedHole = 0;
  }

  /** find_vma: the first VMA with end > vpn (it may start above vpn). */
  findVma(vpn: number): Vma | undefined {
    const v = this.vmas.floor(vpn);
    if (v !== undefined && v.end > vpn) return v;
    return this.vmas.higher(vpn);
  }

  /** The VMA containing vpn, if any (vma_lookup). */
  vmaAt(vpn: number): Vma | undefined {
    // A one-entry cache, as Linux's per-thread vmacache had: a removed VMA is marked dead,
    // and a live one's bounds are always current, so the check below is exact.
    const c = this.lastVma;
    if (c !== null && !c.dead && c.start <= vpn && vpn < c.end) return c;
    const v = this.vmas.floor(vpn);
    if (v !== undefined && v.end > vpn) {
      this.lastVma = v;
      return v;
    }
    return undefined;
  }

  prevOf(v: Vma): Vma | undefined {
    return this.vmas.lower(v.start);
  }

  nextOf(v: Vma): Vma | undefined {
    return this.vmas.higher(v.start);
  }

  get rssPages(): number {
    return this.rss[MmCounter.FILEPAGES] + this.rss[MmCounter.ANONPAGES] + this.rss[MmCounter.SHMEMPAGES];
  }

  addRss(counter: MmCounter, pages: number): void {
    this.rss[counter] += pages;
    if (pages > 0) {
      const r = this.rssPages;
      if (r > this.hiwaterRss) this.hiwaterRss = r;
    }
  }
}

/** A single-threaded process: a task and its mm. */
export class Task {
  readonly pid: number;
  readonly name: string;
  mm: Mm | null;
  /** CPU the task last ran on. */
  cpu: number;
  minFlt = 0;
  majFlt = 0;
  sigsegv = 0;
  sigbus = 0;
  tlbHits = 0;
  tlbMisses = 0;
  pageWalks = 0;
  walkLevels = 0;
  /** Set when a fatal signal killed the task. */
  killedBy: string | null = null;
  /** Chosen by the OOM killer (SIGKILL). */
  oomKilled = false;
  /** Open files (the fd table), by inode id: a process opens a file once and keeps it. */
  files = new Map<number, OpenFile>();

  constructor(pid: number, name: string, mm: Mm, cpu: number) {
    this.pid = pid;
    this.name = name;
    this.mm = mm;
    this.cpu = cpu;
  }
}
