// The kernel model's shared state: physical memory, page-table storage, CPUs and their
// TLBs, processes, and the meters. Syscalls (mmap.ts, mprotect.ts, ...) and the fault path
// (fault.ts, access.ts) are functions over it. A design supplies the page-table format.

import type { Pmap } from '../arch/pmap.js';
import { Tlb } from '../arch/tlb.js';
import { TablePool } from '../arch/x86/table-pool.js';
import { XA_NODE_BYTES } from '../lib/xarray.js';
import { PG } from '../phys/frames.js';
import { PhysMem } from '../phys/physmem.js';
import { CpuLocks, MetaMeter, Vmstat } from '../sim/meter.js';
import type { ThpConfig, TlbConfig } from '../workload/scenario.js';
import { ANON_VMA_BYTES, ANON_VMA_CHAIN_BYTES, AnonVma } from './anon-vma.js';
import { Balloon } from './balloon.js';
import { type HugepagesConfig, type Hugetlb, hugetlbInit, NO_HUGEPAGES } from './hugetlb.js';
import { hugetlbVmClose } from './hugetlb-reserve.js';
import { hugetlbfsEvict } from './hugetlbfs.js';
import { Inode, InodeKind, OpenFile } from './inode.js';
import { Lru, lruDel } from './lru.js';
import { Mm, Task } from './mm.js';
import type { DevicePagemap } from './mmu-notifier.js';
import { type OomKill, outOfMemory } from './oom.js';
import type { PeerSharedOps } from './peer-shared.js';
import { freeSwapEntry, SwapDevice } from './swap.js';
import { DEFAULT_THP, ThpState } from './thp-state.js';
import { VMA_BYTES, type Vma } from './vma.js';
import { directReclaim, kswapd, NodeReclaimState } from './vmscan.js';

export interface KernelConfig {
  readonly cpus: number;
  readonly nodes: readonly number[];
  readonly tlb: TlbConfig;
  readonly maxMapCount: number;
  /** Page-table levels of the CPU format (4 or 5). */
  readonly levels: 4 | 5;
  /** fault_around_bytes / PAGE_SIZE (debugfs fault_around_bytes, default 64 KiB). */
  readonly faultAroundPages: number;
  /** The largest page-cache folio order of regular files (mapping_max_folio_order): 9, as ext4
   * on 6.16+ (MAX_PAGECACHE_ORDER); 0 for order-0 folios only. Default 9. */
  readonly maxFolioOrder?: number;
  /** Readahead window of the disk, pages (read_ahead_kb / 4; 128 KiB by default). */
  readonly raPages: number;
  /** Pages of the swap device (0: no swap). */
  readonly swapPages: number;
  /** Whether an allocation that reclaim cannot satisfy kills a process (else it fails). */
  readonly oomKiller: boolean;
  /** vm.min_free_kbytes, or undefined for the kernel's default (int_sqrt(lowmem_kbytes * 16)). */
  readonly minFreeKbytes?: number;
  /** vm.watermark_scale_factor (default 10: 0.1% of memory between watermarks). */
  readonly watermarkScaleFactor?: number;
  /** Transparent huge pages; default DEFAULT_THP. */
  readonly thp?: ThpConfig;
  /** hugetlb pools set up at boot; default none. */
  readonly hugepages?: HugepagesConfig;
  /** Bytes of each device memory node (hnode), after the CPU nodes; default none. */
  readonly hnodes?: readonly number[];
}

/** A node's watermarks, in pages (zone->_watermark). */
export interface Watermarks {
  readonly min: number;
  readonly low: number;
  readonly high: number;
}

/** What a design provides to the core. */
export interface PmapFactory {
  /** A fresh, empty address-space page table, or null when memory is exhausted. */
  create(k: Kernel): Pmap | null;
}

export const enum FaultLock {
  mmap = 0,
  vma = 1,
}

/** Pages above which a range flush becomes a full flush (tlb_single_page_flush_ceiling). */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;
/** flush_tlb_mm_range's `end` for "the whole address space" (TLB_FLUSH_ALL). */
export const TLB_FLUSH_ALL = Number.POSITIVE_INFINITY;
/** mmap_min_addr default (65536), in pages. */
export const MMAP_MIN_PAGE = 16;
/** stack_guard_gap default: 256 pages. */
export const STACK_GUARD_GAP = 256;

export class Kernel {
  readonly config: KernelConfig;
  readonly phys: PhysMem;
  readonly pool: TablePool;
  readonly tlbs: Tlb[];
  readonly vmstat = new Vmstat();
  readonly locks = new CpuLocks();
  /**
   * How the running page fault holds its address space: FaultLock.mmap (mmap_lock, also GUP
   * and device work) or FaultLock.vma (the per-VMA lock only, FAULT_FLAG_VMA_LOCK).
   */
  faultLock: FaultLock = FaultLock.mmap;
  readonly meta = new MetaMeter();
  readonly tasks = new Map<number, Task>();
  readonly thp: ThpState;
  /** The hugetlb pools (hstates). */
  readonly hugetlb: Hugetlb;
  private readonly pmaps: PmapFactory;
  private nextPid = 1;
  private nextObjId = 1;
  /** Pages of anonymous memory mapped (meminfo AnonPages), shmem pages (Shmem), mlocked pages. */
  anonPages = 0;
  shmemPages = 0;
  mlockedPages = 0;
  /** Page-cache pages of regular files (Cached minus Shmem), and those dirty (Dirty), mapped (part of Mapped). */
  filePages = 0;
  dirtyPages = 0;
  /** Page-cache pages (file and shmem) mapped by at least one page-table entry (meminfo Mapped). */
  mappedFilePages = 0;
  /** The file system's namespace: name -> inode. */
  readonly files = new Map<string, Inode>();
  /** Live objects by id, for the reverse map (a page's owner field names one). */
  readonly anonVmas = new Map<number, AnonVma>();
  readonly inodes = new Map<number, Inode>();
  /** The LRU lists of every node. */
  readonly lru: Lru;
  /** Per node: the non-resident age clock of workingset detection (lruvec->nonresident_age). */
  readonly nonresidentAge: Float64Array;
  /** Per node: watermarks and reclaim state. */
  readonly watermarks: Watermarks[];
  readonly reclaimState: NodeReclaimState[];
  /** The swap device, or null without swap. */
  readonly swap: SwapDevice | null;
  /** Pages in the swap cache (meminfo SwapCached). */
  swapCachePages = 0;
  /** The task on whose behalf the kernel runs now (the allocator's `current`), if any. */
  current: Task | null = null;
  /** OOM kills so far, in order. */
  readonly oomKills: OomKill[] = [];
  /** Pages a memory balloon holds. */
  readonly balloon = new Balloon();
  /** The driver of device-private memory (dev_pagemap_ops), when a design has devices. */
  pgmap: DevicePagemap | null = null;
  /** VM_PEER_SHARED memory's logical page table (the gmem design); null otherwise. */
  peer: PeerSharedOps | null = null;

  constructor(config: KernelConfig, pmaps: PmapFactory) {
    this.config = config;
    this.phys = new PhysMem(config.nodes, config.hnodes ?? []);
    this.pool = new TablePool(this.phys);
    this.tlbs = Array.from({ length: config.cpus }, () => new Tlb(config.tlb));
    this.pmaps = pmaps;
    this.meta.set('struct_page', this.phys.memmapBytes);
    this.lru = new Lru(this.phys.frames.nframes, config.nodes.length);
    this.nonresidentAge = new Float64Array(config.nodes.length);
    this.watermarks = setupWatermarks(
      this.phys.nodes.map((n) => n.nframes),
      config,
    );
    this.reclaimState = config.nodes.map(() => new NodeReclaimState());
    this.swap = config.swapPages > 0 ? new SwapDevice(config.swapPages) : null;
    this.thp = new ThpState(config.thp ?? DEFAULT_THP);
    const k = this;
    this.phys.setPolicy({
      watermarks: (node) => k.watermarks[node],
      wakeKswapd: (node) => kswapd(k, node),
      directReclaim: () => directReclaim(k, k.current?.cpu ?? 0),
      outOfMemory: () => outOfMemory(k),
      get allocatorIsOomVictim() {
        return k.current?.oomKilled === true;
      },
    });
    this.hugetlb = hugetlbInit(this, config.hugepages ?? NO_HUGEPAGES);
  }

  // ------------------------------------------------------------------ processes

  /** Create a process with an empty address space; null when memory is exhausted. */
  spawn(name: string, cpu: number): Task | null {
    const pid = this.nextPid;
    const mm = this.newMm(pid);
    if (mm === null) return null;
    this.nextPid++;
    const task = new Task(pid, name, mm, cpu);
    this.tasks.set(pid, task);
    return task;
  }

  /** An empty address space (mm_alloc + arch_pick_mmap_layout); null when memory is exhausted. */
  newMm(id: number): Mm | null {
    const pmap = this.pmaps.create(this);
    if (pmap === null) return null;
    // Layout without randomisation (setarch -R): mmap_base = TASK_SIZE - max(128 MiB, stack gap),
    // the heap after a notional executable at 0x555555554000 (mm/util.c mmap_base, arch_pick_mmap_layout).
    const taskTop = 2 ** (47 - 12) - 1; // DEFAULT_MAP_WINDOW - PAGE_SIZE, in pages
    const mmapBase = taskTop - (128 * 1024 * 1024) / 4096;
    return new Mm(id, pmap, mmapBase, taskTop, 0x5555_5555_9000);
  }

  // ------------------------------------------------------------------ objects

  /** A new anon_vma (anon_vma_alloc); `parent` for one made at fork. */
  newAnonVma(parent: AnonVma | null = null): AnonVma {
    this.meta.add('anon_vma', ANON_VMA_BYTES);
    const av = new AnonVma(this.nextObjId++, parent);
    this.anonVmas.set(av.id, av);
    if (parent === null)
      av.numChildren = 1; // a root anon_vma counts itself
    else parent.numChildren++;
    return av;
  }

  /** Link vma to av with one anon_vma_chain (anon_vma_chain_link). */
  private chain(vma: Vma, av: AnonVma): void {
    if (vma.avcs.includes(av)) return;
    vma.avcs.push(av);
    av.vmas.add(vma);
    this.meta.add('anon_vma_chain', ANON_VMA_CHAIN_BYTES);
  }

  /** Make av the VMA's own anon_vma, linking it if needed. */
  setOwnAnonVma(vma: Vma, av: AnonVma): void {
    if (vma.anonVma !== null) throw new Error('setOwnAnonVma: the VMA already has an anon_vma');
    this.chain(vma, av);
    vma.anonVma = av;
    av.numActiveVmas++;
  }

  /** anon_vma_clone: dst (empty) takes src's chain and its own anon_vma (split, merge, move). */
  adoptAnonVmas(dst: Vma, src: Vma): void {
    for (const av of src.avcs) this.chain(dst, av);
    if (src.anonVma !== null && dst.anonVma === null) {
      dst.anonVma = src.anonVma;
      src.anonVma.numActiveVmas++;
    }
  }

  /**
   * anon_vma_fork: the child VMA links to all of the parent's anon_vmas and gets its own: an
   * ancestor with no active VMAs and fewer than two children is reused (anon_vma_clone's reuse
   * heuristic), otherwise a new one whose parent is the parent VMA's anon_vma.
   */
  anonVmaFork(child: Vma, parent: Vma): void {
    if (parent.anonVma === null) return;
    let reuse: AnonVma | null = null;
    for (const av of parent.avcs) {
      this.chain(child, av);
      if (reuse === null && av.numChildren < 2 && av.numActiveVmas === 0) reuse = av;
    }
    if (reuse !== null) {
      child.anonVma = reuse;
      reuse.numActiveVmas++;
      return;
    }
    this.setOwnAnonVma(child, this.newAnonVma(parent.anonVma));
  }

  /** unlink_anon_vmas: drop every chain of vma; an anon_vma linked to nothing is freed. */
  unlinkAnonVmas(vma: Vma): void {
    if (vma.anonVma !== null) vma.anonVma.numActiveVmas--;
    vma.anonVma = null;
    for (const av of vma.avcs) {
      av.vmas.delete(vma);
      this.meta.sub('anon_vma_chain', ANON_VMA_CHAIN_BYTES);
      if (av.vmas.size === 0) {
        this.anonVmas.delete(av.id);
        this.meta.sub('anon_vma', ANON_VMA_BYTES);
        if (av.parent !== null) av.parent.numChildren--;
      }
    }
    vma.avcs = [];
  }

  /** A new inode; a regular file is also entered in the namespace under its name. */
  newInode(kind: InodeKind, name: string, size: number): Inode {
    const inode = new Inode(this.nextObjId++, kind, name, size);
    this.inodes.set(inode.id, inode);
    if (kind === InodeKind.file) {
      this.files.set(name, inode);
      inode.users++;
    }
    return inode;
  }

  /** open(): a new struct file on inode, with the disk's readahead window. */
  openFile(inode: Inode): OpenFile {
    inode.users++;
    return new OpenFile(inode, inode.isShmem() ? 0 : this.config.raPages);
  }

  /** shmem_zero_setup: the unnamed shmem file behind a shared anonymous area of `pages` pages. */
  newShmemFile(pages: number): OpenFile {
    return this.openFile(this.newInode(InodeKind.shmem, '', pages * 4096));
  }

  /** fput: drop a reference to an open file; the last one releases the inode. */
  putFile(file: OpenFile): void {
    if (--file.users > 0) return;
    this.putInode(file.inode);
  }

  /** iput: the last reference frees the inode's page cache (a shmem object's pages go with it). */
  putInode(inode: Inode): void {
    if (--inode.users > 0) return;
    if (inode.isHugetlbfs()) {
      hugetlbfsEvict(this, inode);
      this.inodes.delete(inode.id);
      return;
    }
    const f = this.phys.frames;
    inode.cache.forEach((_index, pfn) => {
      if (pfn < 0) {
        freeSwapEntry(this, null, -pfn - 1); // a swapped-out shmem page
        return;
      }
      if (--f.refcount[pfn] !== 0) throw new Error(`putInode: page ${pfn} still referenced`);
      this.uncachePage(pfn);
    });
    this.meta.sub('xa_node', inode.cache.nodes * XA_NODE_BYTES);
    inode.cache.clear();
    inode.folios.clear();
    this.inodes.delete(inode.id);
  }

  /** A page-cache page leaves the cache for good (its last reference is gone): free it. */
  uncachePage(pfn: number): void {
    const f = this.phys.frames;
    if (f.has(pfn, PG.shmem)) this.shmemPages--;
    else this.filePages--;
    if (f.has(pfn, PG.dirty) && !f.has(pfn, PG.shmem)) this.dirtyPages--;
    this.freePage(pfn);
  }

  vmaCreated(): void {
    this.meta.add('vm_area_struct', VMA_BYTES);
  }

  vmaFreed(vma: Vma): void {
    this.meta.sub('vm_area_struct', VMA_BYTES);
    this.unlinkAnonVmas(vma);
    if (vma.isHugetlb()) hugetlbVmClose(this, vma); // vm_ops->close
    if (vma.file !== null) {
      vma.file.inode.mmaps.delete(vma);
      this.putFile(vma.file);
    }
  }

  // ------------------------------------------------------------------ pages

  /** Allocate a zeroed order-0 page; -1 when memory is exhausted. */
  allocZeroedPage(): number {
    const pfn = this.phys.alloc(0);
    if (pfn >= 0) {
      this.phys.zero(pfn);
      this.vmstat.pages_zeroed++;
    }
    return pfn;
  }

  /** Return a page whose last reference is gone (it leaves the LRU: __folio_put). */
  freePage(pfn: number): void {
    const f = this.phys.frames;
    if (f.has(pfn, PG.deviceCoherent)) {
      this.pgmap!.pageFree(pfn); // free_zone_device_folio: back to its driver
      return;
    }
    if (f.has(pfn, PG.mlocked)) this.mlockedPages--;
    lruDel(this, pfn);
    this.phys.free(pfn, 0);
  }

  // ------------------------------------------------------------------ TLB shootdown

  /** The task now runs on cpu: the mm may be cached there. */
  runOn(task: Task, cpu: number): void {
    task.cpu = cpu;
    if (task.mm !== null) task.mm.cpuMask |= 1n << BigInt(cpu);
  }

  /**
   * flush_tlb_mm_range (arch/x86/mm/tlb.c) for pages [start, end) of mm, from `cpu`, where the
   * mm is loaded. `stride` is the log2 of the pages between invalidated addresses (0 for 4 KiB
   * entries, 9 when the gather cleared only PMD-level entries: tlb_get_unmap_shift). A range of
   * more than tlb_single_page_flush_ceiling strides, or end = TLB_FLUSH_ALL, flushes the whole
   * address space. Every other CPU in mm_cpumask gets an IPI (one nr_tlb_remote_flush, one
   * _received per target). nr_tlb_local_flush_one counts (end - start) >> stride on the
   * initiating CPU (flush_tlb_func, `local`): a PMD-stride flush of one table's page counts 0
   * although it invalidates one address.
   */
  flushTlbMmRange(mm: Mm, cpu: number, start: number, end: number, stride = 0): void {
    if (end <= start) return;
    const step = 2 ** stride;
    const strides = Math.floor((end - start) / step);
    const all = end === TLB_FLUSH_ALL || strides > TLB_SINGLE_PAGE_FLUSH_CEILING;
    let remote = 0;
    // The initiating CPU flushes locally only when the mm is loaded there (a kswapd, or another
    // process truncating a file, runs elsewhere: flush_tlb_mm_range sends IPIs only).
    const local = (mm.cpuMask & (1n << BigInt(cpu))) !== 0n;
    for (let c = 0; c < this.tlbs.length; c++) {
      if ((mm.cpuMask & (1n << BigInt(c))) === 0n) continue;
      if (c !== cpu) remote++;
      const tlb = this.tlbs[c];
      if (all) tlb.flushAsid(mm.id);
      else for (let v = start; v < end; v += step) tlb.flushPage(mm.id, v);
    }
    if (local && all) this.vmstat.nr_tlb_local_flush_all++;
    else if (local) this.vmstat.nr_tlb_local_flush_one += strides;
    if (remote > 0) {
      this.vmstat.nr_tlb_remote_flush++;
      this.vmstat.nr_tlb_remote_flush_received += remote;
    }
  }

  /** flush_tlb_range / flush_tlb_page of 4 KiB pages [start, end). */
  flushTlbRange(mm: Mm, cpu: number, start: number, end: number): void {
    this.flushTlbMmRange(mm, cpu, start, end, 0);
  }

  /** Every translation of mm, everywhere (exit). Not counted as a shootdown: the mm is gone. */
  dropTlbs(mm: Mm): void {
    for (const tlb of this.tlbs) tlb.flushAsid(mm.id);
    mm.cpuMask = 0n;
  }
}

/**
 * __setup_per_zone_wmarks with one zone per node: min_free_kbytes (default
 * int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]) is shared out by node size; low and
 * high are min plus one and two steps of max(min / 4, managed * watermark_scale_factor / 10000).
 */
export function setupWatermarks(nodePages: readonly number[], config: KernelConfig): Watermarks[] {
  const total = nodePages.reduce((a, b) => a + b, 0);
  const minFreeKbytes =
    config.minFreeKbytes ?? Math.min(262144, Math.max(128, Math.floor(Math.sqrt(total * 4 * 16))));
  const pagesMin = Math.floor(minFreeKbytes / 4);
  const scale = config.watermarkScaleFactor ?? 10;
  return nodePages.map((managed) => {
    const min = Math.floor((pagesMin * managed) / total);
    const step = Math.max(Math.floor(min / 4), Math.floor((managed * scale) / 10000));
    return { min, low: min + step, high: min + 2 * step };
  });
}
