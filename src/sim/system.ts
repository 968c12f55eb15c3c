// The System: one simulated machine running one design, with the calls a workload makes
// (spawn, exit, the memory syscalls, CPU accesses) and the counters a report reads.
// This is the typed library API's centre; scenario files drive it through workload/run.ts.

import { DEVICE_VPN_LIMIT } from '../arch/device-mmu.js';
import { Access } from '../arch/pmap.js';
import { DESIGNS, type DesignName } from '../designs/index.js';
import type { DeviceRunRequest, DeviceRunResult, HeteroDesign, MigrateOutcome } from '../hetero/design.js';
import type { Device } from '../hetero/device.js';
import type { Errno, SysResult } from '../lib/errno.js';
import { Rng } from '../lib/rng.js';
import { PAGE_SIZE, PMD_SIZE } from '../lib/units.js';
import { AccessError, access, accessRun, Pattern, type RunResult, type RunSpec } from '../mm/access.js';
import { setBalloon } from '../mm/balloon.js';
import { checkInvariants } from '../mm/check.js';
import {
  closeFiles,
  dropCaches,
  MS_ASYNC,
  MS_INVALIDATE,
  MS_SYNC,
  sysCreate,
  sysFsync,
  sysMsync,
  sysRead,
  sysSync,
  sysTruncate,
  sysWrite,
  taskFile,
} from '../mm/file-io.js';
import { doExec, doFork } from '../mm/fork.js';
import { shrinkThp } from '../mm/huge-rmap.js';
import { hstateIndexOfSize, hugetlbfsCreate, hugetlbVmtruncate } from '../mm/hugetlbfs.js';
import type { Kernel } from '../mm/kernel.js';
import { khugepagedFullScans, khugepagedRun } from '../mm/khugepaged.js';
import { type Advice, sysMadvise } from '../mm/madvise.js';
import { sysMlock, sysMunlock } from '../mm/mlock.js';
import { MmCounter, type Task } from '../mm/mm.js';
import { doMmap, type MmapRequest, sysBrk, sysMunmap } from '../mm/mmap.js';
import { sysMprotect } from '../mm/mprotect.js';
import { type MremapRequest, sysMremap } from '../mm/mremap.js';
import { type OomKill, reap } from '../mm/oom.js';
import { exitMmap } from '../mm/unmap.js';
import { PG } from '../phys/frames.js';
import type { MachineSpec, TouchOp, TouchPattern } from '../workload/scenario.js';
import { type CostName, estimateTime } from './cost.js';
import {
  DEVICE_COUNTERS,
  type DeviceCounter,
  META_STRUCTURES,
  type MetaStructure,
  type ProcessCounter,
  type SystemCounter,
} from './counter-names.js';

export interface SystemOptions {
  readonly machine: MachineSpec;
  readonly design: DesignName;
  readonly seed: number;
  /** Run the invariant checker after every call (VMLAB_CHECK=1 turns it on by default). */
  readonly check?: boolean;
}

export interface TouchRequest {
  readonly addr: number;
  readonly length: number;
  readonly op: TouchOp;
  readonly pattern: TouchPattern;
  readonly stride?: number;
  readonly count?: number;
  readonly cpu?: number;
}

/** Outcome of a touch: accesses made, and the failure that stopped it, if any. */
export interface TouchResult {
  readonly accesses: number;
  readonly error?: 'SIGSEGV' | 'SIGBUS' | 'SIGKILL' | 'ENOMEM';
  /** Address of the failing access. */
  readonly faultAddr?: number;
}

export type ProcessCounters = Record<ProcessCounter, number>;
export type SystemCounters = Record<SystemCounter, number> &
  Record<`meta.${MetaStructure}` | `meta_peak.${MetaStructure}`, number>;

const OPS: Record<TouchOp, Access> = { read: Access.read, write: Access.write, exec: Access.exec };
const PATTERNS: Record<TouchPattern, Pattern> = {
  sequential: Pattern.sequential,
  random: Pattern.random,
  strided: Pattern.strided,
};

export class System {
  readonly kernel: Kernel;
  readonly machine: MachineSpec;
  readonly rng: Rng;
  /** The devices and the design that puts them in address spaces (null: no devices). */
  readonly hetero: HeteroDesign | null;
  private readonly checking: boolean;
  /** Counters of tasks that have exited, kept for system totals. */
  private readonly exited = { tlbHits: 0, tlbMisses: 0, pageWalks: 0, walkLevels: 0 };
  oomEvents = 0;

  constructor(opts: SystemOptions) {
    this.machine = opts.machine;
    this.kernel = DESIGNS[opts.design].create({
      cpus: opts.machine.cpus,
      nodes: opts.machine.nodes,
      tlb: opts.machine.tlb,
      maxMapCount: opts.machine.maxMapCount,
      levels: opts.machine.paging === 'x86-64-5level' ? 5 : 4,
      faultAroundPages: faultAroundPages(opts.machine.faultAroundBytes ?? 65536),
      raPages: Math.floor((opts.machine.readAheadKb ?? 128) / 4),
      maxFolioOrder: opts.machine.maxFolioOrder ?? 9,
      swapPages: Math.floor((opts.machine.swapBytes ?? 0) / PAGE_SIZE),
      oomKiller: opts.machine.oomKiller ?? true,
      ...(opts.machine.minFreeKbytes !== undefined && { minFreeKbytes: opts.machine.minFreeKbytes }),
      ...(opts.machine.thp !== undefined && { thp: opts.machine.thp }),
      ...(opts.machine.hugepages !== undefined && { hugepages: opts.machine.hugepages }),
      hnodes: (opts.machine.devices ?? []).map((d) => d.memory),
    });
    const devices = opts.machine.devices ?? [];
    const design = DESIGNS[opts.design];
    if (devices.length > 0 && design.hetero === undefined)
      throw new Error(`System: design ${opts.design} has no device support`);
    this.rng = new Rng(opts.seed);
    // A policy that draws (random eviction) forks its own stream; others leave it untouched.
    this.hetero = devices.length > 0 ? design.hetero!(this.kernel, devices, () => this.rng.fork()) : null;
    this.checking = opts.check ?? process.env.VMLAB_CHECK === '1';
  }

  /** Create a process on `cpu`; null when memory for its page table ran out. */
  spawn(name: string, cpu: number): Task | null {
    const t = this.kernel.spawn(name, cpu);
    if (t !== null) this.kernel.runOn(t, cpu);
    this.afterCall('spawn');
    return t;
  }

  /** The process exits: its address space is torn down. */
  exit(task: Task): void {
    if (task.mm === null) return;
    exitMmap(this.kernel, task.mm);
    closeFiles(this.kernel, task);
    task.mm = null;
    this.exited.tlbHits += task.tlbHits;
    this.exited.tlbMisses += task.tlbMisses;
    this.exited.pageWalks += task.pageWalks;
    this.exited.walkLevels += task.walkLevels;
    this.kernel.tasks.delete(task.pid);
    this.afterCall('exit');
  }

  /** fork(2): the child, or null when memory ran out (ENOMEM). */
  fork(parent: Task, childName: string): Task | null {
    this.kernel.current = parent;
    return this.afterCall('fork', doFork(this.kernel, parent, childName));
  }

  /** execve(2) of an empty program: a new, empty address space; false when memory ran out. */
  exec(task: Task): boolean {
    this.kernel.current = task;
    return this.afterCall('exec', doExec(this.kernel, task));
  }

  mmap(task: Task, req: MmapRequest): SysResult<number> {
    this.kernel.current = task;
    return this.afterCall('mmap', doMmap(this.kernel, task, req));
  }

  /** mmap of the named file at byte `offset`; ENOENT when no such file exists. */
  mmapFile(task: Task, name: string, offset: number, req: MmapRequest): SysResult<number> {
    const inode = this.kernel.files.get(name);
    if (inode === undefined) return { ok: false, errno: 'ENOENT' };
    const file = taskFile(this.kernel, task, inode);
    this.kernel.current = task;
    return this.afterCall('mmap', doMmap(this.kernel, task, { ...req, file, offset }));
  }

  /** The page size of the named file's hugetlbfs mount, or 0 when it is not a hugetlbfs file. */
  hugetlbfsPageSize(name: string): number {
    const inode = this.kernel.files.get(name);
    if (inode === undefined || !inode.isHugetlbfs()) return 0;
    return this.kernel.hugetlb.hstates[inode.hstate].nrPages * PAGE_SIZE;
  }

  /** The named file's size in bytes, or undefined when there is no such file. */
  fileSize(name: string): number | undefined {
    return this.kernel.files.get(name)?.size;
  }

  /**
   * Inspection, no side effects: the content token of page `index` of the named file as a
   * read would find it (the page cache's page, else the disk's block, else 0 for a hole);
   * undefined when there is no such file. For tests that must learn contents a syscall does
   * not return (write, truncate).
   */
  filePageToken(name: string, index: number): number | undefined {
    const inode = this.kernel.files.get(name);
    if (inode === undefined) return undefined;
    const pfn = inode.cache.get(index);
    return pfn !== undefined ? this.kernel.phys.frames.token[pfn] : (inode.disk.get(index) ?? 0);
  }

  /**
   * Create a file of `size` bytes with data on the disk (and in the page cache, `cached`), or,
   * with `hugetlbfsPageSize` (bytes), an empty file of that size on a hugetlbfs mount.
   */
  createFile(name: string, size: number, cached: boolean, hugetlbfsPageSize?: number): SysResult<0> {
    const r =
      hugetlbfsPageSize === undefined
        ? sysCreate(this.kernel, name, size, cached)
        : hugetlbfsCreate(this.kernel, name, size, hstateIndexOfSize(hugetlbfsPageSize));
    return this.afterCall('create', r);
  }

  /** read(2) of [offset, offset + length) of the named file; the bytes read. */
  read(task: Task, name: string, offset: number, length: number): SysResult<number> {
    const inode = this.kernel.files.get(name);
    if (inode === undefined) return { ok: false, errno: 'ENOENT' };
    this.kernel.current = task;
    if (inode.isHugetlbfs()) {
      // hugetlbfs_read_iter copies out of the cache (holes read as zeros) and fills nothing.
      taskFile(this.kernel, task, inode);
      return this.afterCall('read', { ok: true, value: Math.max(0, Math.min(length, inode.size - offset)) });
    }
    return this.afterCall('read', sysRead(this.kernel, task, inode, offset, length));
  }

  /** write(2) of [offset, offset + length) of the named file; the bytes written. */
  write(task: Task, name: string, offset: number, length: number): SysResult<number> {
    const inode = this.kernel.files.get(name);
    if (inode === undefined) return { ok: false, errno: 'ENOENT' };
    this.kernel.current = task;
    // hugetlbfs has no write(): its pages are written through mappings only.
    if (inode.isHugetlbfs()) return this.afterCall('write', { ok: false, errno: 'EINVAL' });
    return this.afterCall('write', sysWrite(this.kernel, task, inode, offset, length));
  }

  truncate(task: Task, name: string, size: number): SysResult<0> {
    const inode = this.kernel.files.get(name);
    if (inode === undefined) return { ok: false, errno: 'ENOENT' };
    this.kernel.current = task;
    if (inode.isHugetlbfs()) {
      taskFile(this.kernel, task, inode);
      return this.afterCall('truncate', hugetlbVmtruncate(this.kernel, inode, size, task.cpu));
    }
    return this.afterCall('truncate', sysTruncate(this.kernel, task, inode, size));
  }

  fsync(task: Task, name: string): SysResult<0> {
    const inode = this.kernel.files.get(name);
    if (inode === undefined) return { ok: false, errno: 'ENOENT' };
    this.kernel.current = task;
    return this.afterCall('fsync', sysFsync(this.kernel, task, inode));
  }

  msync(
    task: Task,
    addr: number,
    len: number,
    flags: readonly ('sync' | 'async' | 'invalidate')[],
  ): SysResult<0> {
    const bits =
      (flags.includes('sync') ? MS_SYNC : 0) |
      (flags.includes('async') ? MS_ASYNC : 0) |
      (flags.includes('invalidate') ? MS_INVALIDATE : 0);
    this.kernel.current = task;
    return this.afterCall('msync', sysMsync(this.kernel, task, addr, len, bits));
  }

  /** sync(2): every dirty page to the disk. */
  sync(): void {
    sysSync(this.kernel, 0);
    this.afterCall('sync');
  }

  /** Inflate or deflate the memory balloon to `bytes`; the bytes it holds afterwards. */
  balloon(bytes: number): number {
    return this.afterCall('balloon', setBalloon(this.kernel, Math.ceil(bytes / PAGE_SIZE)) * PAGE_SIZE);
  }

  munmap(task: Task, addr: number, len: number): SysResult<0> {
    this.kernel.current = task;
    return this.afterCall('munmap', sysMunmap(this.kernel, task, addr, len));
  }

  mprotect(task: Task, addr: number, len: number, prot: number): SysResult<0> {
    this.kernel.current = task;
    return this.afterCall('mprotect', sysMprotect(this.kernel, task, addr, len, prot));
  }

  mremap(task: Task, req: MremapRequest): SysResult<number> {
    this.kernel.current = task;
    return this.afterCall('mremap', sysMremap(this.kernel, task, req));
  }

  madvise(task: Task, addr: number, len: number, advice: Advice): SysResult<0> {
    this.kernel.current = task;
    return this.afterCall('madvise', sysMadvise(this.kernel, task, addr, len, advice));
  }

  mlock(task: Task, addr: number, len: number, onfault = false): SysResult<0> {
    this.kernel.current = task;
    return this.afterCall('mlock', sysMlock(this.kernel, task, addr, len, onfault));
  }

  munlock(task: Task, addr: number, len: number): SysResult<0> {
    this.kernel.current = task;
    return this.afterCall('munlock', sysMunlock(this.kernel, task, addr, len));
  }

  brk(task: Task, addr: number): SysResult<number> {
    this.kernel.current = task;
    return this.afterCall('brk', sysBrk(this.kernel, task, addr));
  }

  /**
   * Run khugepaged: `passes` wake-ups (each scans up to pages_to_scan), or as many as it takes
   * to complete `fullScans` more passes over its mm list.
   */
  khugepaged(req: { passes?: number; fullScans?: number }): void {
    if (req.passes !== undefined) khugepagedRun(this.kernel, req.passes);
    if (req.fullScans !== undefined) khugepagedFullScans(this.kernel, req.fullScans);
    this.afterCall('khugepaged');
  }

  /**
   * echo N > /proc/sys/vm/drop_caches: 1 (or 3) drops the clean, unmapped page-cache pages; 2
   * (or 3) shrinks slab objects (drop_slab runs every shrinker: here the deferred THP split
   * queue and the huge zero page). Returns the pages and objects freed.
   */
  dropCaches(mode: 1 | 2 | 3): number {
    let n = (mode & 1) !== 0 ? dropCaches(this.kernel) : 0;
    if ((mode & 2) !== 0) n += shrinkThp(this.kernel);
    return this.afterCall('drop_caches', n);
  }

  /**
   * One access by the task on `cpu` (default: where it last ran). Returns the content token
   * read or written (>= 0), or an AccessError.
   */
  access(task: Task, addr: number, op: TouchOp, cpu = task.cpu): number {
    if (cpu !== task.cpu || (task.mm!.cpuMask & (1n << BigInt(cpu))) === 0n) this.kernel.runOn(task, cpu);
    const r = access(this.kernel, task, cpu, Math.floor(addr / PAGE_SIZE), OPS[op]);
    if (r === AccessError.OOM) this.oomEvents++;
    if (this.checking) this.afterCall('access');
    return r;
  }

  /** A run of accesses over [addr, addr + length) with a pattern; stops at the first failure. */
  touch(task: Task, req: TouchRequest): TouchResult {
    const cpu = req.cpu ?? task.cpu;
    if (cpu !== task.cpu || (task.mm!.cpuMask & (1n << BigInt(cpu))) === 0n) this.kernel.runOn(task, cpu);
    const firstVpn = Math.floor(req.addr / PAGE_SIZE);
    const pages = Math.ceil((req.addr + req.length) / PAGE_SIZE) - firstVpn;
    const stride = req.stride ?? PAGE_SIZE;
    const perPass = req.pattern === 'strided' ? Math.ceil(req.length / stride) : pages;
    const spec: RunSpec = {
      pattern: PATTERNS[req.pattern],
      firstVpn,
      pages,
      addr: req.addr,
      stride,
      perPass,
      count: req.count ?? perPass,
      rng: this.rng,
    };
    const out: RunResult = { done: 0, error: 0, failVpn: 0 };
    this.kernel.current = task;
    accessRun(this.kernel, task, cpu, OPS[req.op], spec, out);
    this.afterCall('touch');
    if (out.error === 0) return { accesses: out.done };
    if (out.error === AccessError.OOM) this.oomEvents++;
    const error =
      out.error === AccessError.SIGSEGV
        ? 'SIGSEGV'
        : out.error === AccessError.SIGBUS
          ? 'SIGBUS'
          : out.error === AccessError.KILLED
            ? 'SIGKILL'
            : 'ENOMEM';
    return { accesses: out.done, error, faultAddr: out.failVpn * PAGE_SIZE };
  }

  /** The process's counters, with /proc's names; sizes in bytes. */
  processCounters(task: Task): ProcessCounters {
    const mm = task.mm;
    const page = (n: number) => n * PAGE_SIZE;
    return {
      min_flt: task.minFlt,
      maj_flt: task.majFlt,
      VmSize: mm ? page(mm.totalVm) : 0,
      VmRSS: mm ? page(mm.rssPages) : 0,
      VmHWM: mm ? page(mm.hiwaterRss) : 0,
      RssAnon: mm ? page(mm.rss[MmCounter.ANONPAGES]) : 0,
      RssFile: mm ? page(mm.rss[MmCounter.FILEPAGES]) : 0,
      RssShmem: mm ? page(mm.rss[MmCounter.SHMEMPAGES]) : 0,
      VmPTE: mm ? mm.pmap.pgtablesBytes : 0,
      VmLck: mm ? page(mm.lockedVm) : 0,
      VmSwap: mm ? page(mm.rss[MmCounter.SWAPENTS]) : 0,
      AnonHugePages: mm ? mm.hugeAnonPmds * PMD_SIZE : 0,
      HugetlbPages: mm ? page(mm.hugetlbUsage) : 0,
      map_count: mm ? mm.mapCount : 0,
      tlb_hits: task.tlbHits,
      tlb_misses: task.tlbMisses,
      page_walks: task.pageWalks,
      walk_levels: task.walkLevels,
      sigsegv: task.sigsegv,
      sigbus: task.sigbus,
    };
  }

  systemCounters(): SystemCounters {
    const k = this.kernel;
    const sum = { ...this.exited };
    for (const t of k.tasks.values()) {
      sum.tlbHits += t.tlbHits;
      sum.tlbMisses += t.tlbMisses;
      sum.pageWalks += t.pageWalks;
      sum.walkLevels += t.walkLevels;
    }
    const out: Record<string, number> = {
      pgfault: k.vmstat.pgfault,
      pgmajfault: k.vmstat.pgmajfault,
      pgalloc: k.phys.pgalloc,
      pgfree: k.phys.pgfree,
      MemTotal: k.phys.totalPages * PAGE_SIZE,
      MemFree: k.phys.freePages * PAGE_SIZE,
      AnonPages: k.anonPages * PAGE_SIZE,
      Shmem: k.shmemPages * PAGE_SIZE,
      Cached: (k.filePages + k.shmemPages) * PAGE_SIZE,
      Dirty: k.dirtyPages * PAGE_SIZE,
      Mapped: k.mappedFilePages * PAGE_SIZE,
      pgpgin: k.vmstat.pgpgin,
      pgpgout: k.vmstat.pgpgout,
      nr_written: k.vmstat.nr_written,
      ...this.lruCounters(),
      SwapTotal: (k.swap?.slots ?? 0) * PAGE_SIZE,
      SwapFree: (k.swap?.freeSlots ?? 0) * PAGE_SIZE,
      SwapCached: k.swapCachePages * PAGE_SIZE,
      pswpin: k.vmstat.pswpin,
      pswpout: k.vmstat.pswpout,
      pgscan_kswapd: k.vmstat.pgscan_kswapd,
      pgscan_direct: k.vmstat.pgscan_direct,
      pgsteal_kswapd: k.vmstat.pgsteal_kswapd,
      pgsteal_direct: k.vmstat.pgsteal_direct,
      pgscan_anon: k.vmstat.pgscan_anon,
      pgscan_file: k.vmstat.pgscan_file,
      pgsteal_anon: k.vmstat.pgsteal_anon,
      pgsteal_file: k.vmstat.pgsteal_file,
      pgrefill: k.vmstat.pgrefill,
      pgactivate: k.vmstat.pgactivate,
      pgdeactivate: k.vmstat.pgdeactivate,
      pgrotated: k.vmstat.pgrotated,
      pageoutrun: k.vmstat.pageoutrun,
      allocstall: k.vmstat.allocstall,
      workingset_refault_anon: k.vmstat.workingset_refault_anon,
      workingset_refault_file: k.vmstat.workingset_refault_file,
      workingset_activate_anon: k.vmstat.workingset_activate_anon,
      workingset_activate_file: k.vmstat.workingset_activate_file,
      workingset_restore_anon: k.vmstat.workingset_restore_anon,
      workingset_restore_file: k.vmstat.workingset_restore_file,
      oom_kill: k.vmstat.oom_kill,
      balloon: k.balloon.pages.length * PAGE_SIZE,
      pglazyfree: k.vmstat.pglazyfree,
      pglazyfreed: k.vmstat.pglazyfreed,
      PageTables: k.pool.live * PAGE_SIZE,
      Mlocked: k.mlockedPages * PAGE_SIZE,
      AnonHugePages: k.thp.anonHugePages * PAGE_SIZE,
      ...hugetlbCounters(k),
      thp_fault_alloc: k.vmstat.thp_fault_alloc,
      thp_fault_fallback: k.vmstat.thp_fault_fallback,
      thp_collapse_alloc: k.vmstat.thp_collapse_alloc,
      thp_collapse_alloc_failed: k.vmstat.thp_collapse_alloc_failed,
      thp_split_page: k.vmstat.thp_split_page,
      thp_split_pmd: k.vmstat.thp_split_pmd,
      thp_deferred_split_page: k.vmstat.thp_deferred_split_page,
      thp_zero_page_alloc: k.vmstat.thp_zero_page_alloc,
      thp_zero_page_alloc_failed: k.vmstat.thp_zero_page_alloc_failed,
      thp_swpout_fallback: k.vmstat.thp_swpout_fallback,
      khugepaged_pages_collapsed: k.thp.pagesCollapsed,
      khugepaged_full_scans: k.thp.fullScans,
      nr_tlb_remote_flush: k.vmstat.nr_tlb_remote_flush,
      nr_tlb_remote_flush_received: k.vmstat.nr_tlb_remote_flush_received,
      nr_tlb_local_flush_all: k.vmstat.nr_tlb_local_flush_all,
      nr_tlb_local_flush_one: k.vmstat.nr_tlb_local_flush_one,
      tlb_hits: sum.tlbHits,
      tlb_misses: sum.tlbMisses,
      page_walks: sum.pageWalks,
      walk_levels: sum.walkLevels,
      pages_zeroed: k.vmstat.pages_zeroed,
      pages_copied: k.vmstat.pages_copied,
      ptes_copied: k.vmstat.ptes_copied,
      device_exclusive_restored: k.vmstat.device_exclusive_restored,
      vma_lock_success: k.vmstat.vma_lock_success,
      vma_lock_abort: k.vmstat.vma_lock_abort,
      vma_lock_retry: k.vmstat.vma_lock_retry,
      lock_cpu_mmap_read: k.locks.mmapRead,
      lock_cpu_mmap_write: k.locks.mmapWrite,
      lock_cpu_mmap_downgrade: k.locks.mmapDowngrade,
      lock_cpu_vma_read: k.locks.vmaRead,
      lock_cpu_ptl: k.locks.ptl,
      lock_cpu_pmd: k.locks.pmd,
      est_time: 0,
      oom_events: this.oomEvents,
      processes: k.tasks.size,
      device_private_entries: devicePrivateEntries(k),
    };
    for (const name of Object.keys(DEVICE_COUNTERS) as DeviceCounter[]) out[name] = 0;
    for (const c of Object.values(this.deviceCounters()))
      for (const name of Object.keys(DEVICE_COUNTERS) as DeviceCounter[]) out[name] += c[name];
    for (const s of Object.keys(META_STRUCTURES) as MetaStructure[]) {
      out[`meta.${s}`] = k.meta.live.get(s) ?? 0;
      out[`meta_peak.${s}`] = k.meta.peak.get(s) ?? 0;
    }
    // Page tables are metered by their pool.
    out['meta.page_table'] = k.pool.live * PAGE_SIZE;
    out['meta_peak.page_table'] = k.pool.peak * PAGE_SIZE;
    out.est_time = estimateTime(out as SystemCounters, k.pool.allocs, this.machine.costs).total;
    return out as SystemCounters;
  }

  /** The cost model's estimate, by category (nanoseconds). */
  estimatedTime(): { total: number; parts: Record<CostName, number> } {
    return estimateTime(this.systemCounters(), this.kernel.pool.allocs, this.machine.costs);
  }

  /**
   * The OOM killer's victims since the last call: each one's address space is gone (or goes
   * now, for a victim killed while it faulted) and the process is removed.
   */
  /** meminfo's LRU sizes, summed over the nodes. */
  private lruCounters(): Record<string, number> {
    const k = this.kernel;
    const sum = (list: number) => {
      let n = 0;
      for (let node = 0; node < k.phys.nodes.length; node++) n += k.lru.count(node, list);
      return n * PAGE_SIZE;
    };
    return {
      'Inactive(anon)': sum(0),
      'Active(anon)': sum(1),
      'Inactive(file)': sum(2),
      'Active(file)': sum(3),
      Unevictable: sum(4),
    };
  }

  peekOomKills(): readonly OomKill[] {
    return this.kernel.oomKills;
  }

  takeOomKills(): OomKill[] {
    const k = this.kernel;
    const kills = k.oomKills.splice(0);
    for (const kill of kills) {
      const t = k.tasks.get(kill.pid);
      if (t === undefined) continue;
      reap(k, t);
      this.exited.tlbHits += t.tlbHits;
      this.exited.tlbMisses += t.tlbMisses;
      this.exited.pageWalks += t.pageWalks;
      this.exited.walkLevels += t.walkLevels;
      k.tasks.delete(t.pid);
    }
    if (kills.length > 0) this.afterCall('oom-kill');
    return kills;
  }

  /** Invariant violations now (empty when all hold). No side effects. */
  check(): string[] {
    return [...checkInvariants(this.kernel), ...(this.hetero?.check() ?? [])];
  }

  // ------------------------------------------------------------------ devices

  /** The device of that name (the scenario checked it exists). */
  device(name: string): Device {
    const d = this.hetero?.devices.find((x) => x.spec.name === name);
    if (d === undefined) throw new Error(`System.device: no device ${name}`);
    return d;
  }

  attach(task: Task, device: string): Errno | null {
    this.kernel.current = task;
    return this.afterCall('attach', this.hetero!.attach(task, this.device(device)));
  }

  detach(task: Task, device: string): Errno | null {
    return this.afterCall('detach', this.hetero!.detach(task, this.device(device)));
  }

  /** A device kernel over [addr, addr + length). */
  deviceRun(task: Task, device: string, req: Omit<DeviceRunRequest, 'rng'>): DeviceRunResult {
    this.kernel.current = task;
    // The device translates DEVICE_VA_BITS-bit addresses: memory above (5-level paging) is out
    // of its reach; its driver fails the kernel's first access there (EFAULT).
    if (req.addr + req.length > DEVICE_VPN_LIMIT * PAGE_SIZE)
      return { accesses: 0, error: 'EFAULT', faultAddr: Math.max(req.addr, DEVICE_VPN_LIMIT * PAGE_SIZE) };
    return this.afterCall('device', this.hetero!.run(task, this.device(device), { ...req, rng: this.rng }));
  }

  migrate(task: Task, device: string, addr: number, length: number, to: 'device' | 'system'): MigrateOutcome {
    this.kernel.current = task;
    // A range the device cannot address is an invalid argument to its driver.
    if (addr + length > DEVICE_VPN_LIMIT * PAGE_SIZE) return { cpages: 0, error: 'EINVAL' };
    return this.afterCall('migrate', this.hetero!.migrate(task, this.device(device), addr, length, to));
  }

  /**
   * hmadvise (design gmem): `device` names the hnode's device; a number is a raw hnid (-1: none).
   * The design without hmadvise refuses with EINVAL (the syscall does not exist there).
   */
  hmadvise(
    task: Task,
    device: string | number,
    addr: number,
    length: number,
    advice: 'prefetch' | 'dontneed',
  ): { readonly error?: Errno; readonly ret: number } {
    this.kernel.current = task;
    const h = this.hetero;
    if (h?.hmadvise === undefined || h.hnid === undefined)
      return this.afterCall('hmadvise', { error: 'EINVAL', ret: -1 });
    const hnid = typeof device === 'number' ? device : h.hnid(this.device(device));
    // PREFETCH's gm_dev_fault cannot map what lies beyond the device's address space.
    if (advice === 'prefetch' && addr + length > DEVICE_VPN_LIMIT * PAGE_SIZE)
      return this.afterCall('hmadvise', { error: 'EFAULT', ret: -1 });
    return this.afterCall('hmadvise', h.hmadvise(task, hnid, addr, length, advice));
  }

  /** The driver releases its memory; the pages moved back. */
  evict(device: string): number {
    return this.afterCall('evict', this.hetero!.evict(this.device(device)));
  }

  /** Each device's counters, by device name. */
  deviceCounters(): Record<string, Record<DeviceCounter, number>> {
    const out: Record<string, Record<DeviceCounter, number>> = {};
    for (const d of this.hetero?.devices ?? [])
      out[d.spec.name] = { ...d.stats, dev_memory_used: d.memoryUsed };
    return out;
  }

  private afterCall<T>(what: string, r?: T): T {
    if (this.checking) {
      const v = this.check();
      if (v.length > 0) {
        // One broken rule often breaks it for every page of a range: the first 20 say enough.
        const shown = v.length > 20 ? [...v.slice(0, 20), `... and ${v.length - 20} more`] : v;
        throw new Error(`invariant broken after ${what}:\n  ${shown.join('\n  ')}`);
      }
    }
    return r as T;
  }
}

/** fault_around_bytes_set: pages = rounddown_pow_of_two(bytes) / PAGE_SIZE, at least 1. */
function faultAroundPages(bytes: number): number {
  let p = 1;
  while (p * 2 * PAGE_SIZE <= bytes) p *= 2;
  return p;
}

/** meminfo's HugePages_* (the default, 2 MiB size) and Hugetlb, sysfs's per-size counts, vmstat's htlb_*. */
function hugetlbCounters(k: Kernel): Record<string, number> {
  const out: Record<string, number> = {};
  const [def] = k.hugetlb.hstates;
  out.HugePages_Total = def.nr;
  out.HugePages_Free = def.free;
  out.HugePages_Rsvd = def.resv;
  out.HugePages_Surp = def.surplus;
  out.Hugepagesize = def.nrPages * PAGE_SIZE;
  out.Hugetlb = 0;
  for (const h of k.hugetlb.hstates) {
    out.Hugetlb += h.nr * h.nrPages * PAGE_SIZE;
    out[`${h.name}.nr_hugepages`] = h.nr;
    out[`${h.name}.free_hugepages`] = h.free;
    out[`${h.name}.resv_hugepages`] = h.resv;
    out[`${h.name}.surplus_hugepages`] = h.surplus;
  }
  out.htlb_buddy_alloc_success = k.hugetlb.buddyAllocSuccess;
  out.htlb_buddy_alloc_fail = k.hugetlb.buddyAllocFail;
  return out;
}

/**
 * Device-private swap entries in CPU page tables: hmm's record of which pages live on a
 * device, 8 B each inside the page tables (`page_table`), no structure of their own. Each is
 * a mapping of its device page (remove_migration_pte's rmap), so their number is the
 * device-private pages' mapcounts summed (a walk over device memory's frames).
 */
function devicePrivateEntries(k: System['kernel']): number {
  const f = k.phys.frames;
  let n = 0;
  for (const node of k.phys.hnodes)
    for (let pfn = node.startPfn; pfn < node.startPfn + node.nframes; pfn++)
      if (f.has(pfn, PG.devicePrivate)) n += f.mapcount[pfn];
  return n;
}
