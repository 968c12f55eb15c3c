// Physical memory of a machine: frames numbered from 0, nodes owning consecutive ranges,
// a buddy allocator per node, and the shared zero page.
// Out of memory is a result (-1), never an exception: callers turn it into ENOMEM or an OOM event.

import { BuddyAllocator, MAX_ORDER } from './buddy.js';
import { FrameTable, PG, STRUCT_PAGE_BYTES } from './frames.js';

/**
 * What the allocator asks of memory management when free memory runs low
 * (mm/page_alloc.c __alloc_pages_slowpath): watermarks per node, waking kswapd, direct
 * reclaim, and the OOM killer.
 */
export interface AllocPolicy {
  /** The node's min, low and high watermarks, in pages. */
  watermarks(node: number): { readonly min: number; readonly low: number; readonly high: number };
  /** wakeup_kswapd: the node fell to its low watermark. */
  wakeKswapd(node: number): void;
  /** __alloc_pages_direct_reclaim: pages reclaimed by the allocating task. */
  directReclaim(): number;
  /** out_of_memory: true when a victim was killed (retry), false when nothing can be done. */
  outOfMemory(): boolean;
  /** Whether the allocating task was chosen by the OOM killer: it may use the reserves. */
  readonly allocatorIsOomVictim: boolean;
}

/** MAX_RECLAIM_RETRIES: direct reclaim passes without progress before the OOM killer. */
const MAX_RECLAIM_RETRIES = 16;
/**
 * PAGE_ALLOC_COSTLY_ORDER: larger allocations (a THP's order 9) never invoke the OOM killer and
 * are not retried; here they do not enter direct reclaim either (which frees order-0 pages and
 * cannot make a 2 MiB block without compaction, not modelled): they wake kswapd and fall back.
 */
const PAGE_ALLOC_COSTLY_ORDER = 3;

export interface NodeInfo {
  readonly id: number;
  readonly startPfn: number;
  readonly nframes: number;
}

export class PhysMem {
  readonly frames: FrameTable;
  readonly nodes: readonly NodeInfo[];
  /**
   * Device memory nodes (hnodes), after the CPU nodes: ZONE_DEVICE-like memory that has struct
   * pages (frames here) but that the CPU allocator never hands out and that MemTotal leaves
   * out; only allocDeviceBlock takes from it. Ids continue the CPU nodes' (gmem's hnode ids).
   */
  readonly hnodes: readonly NodeInfo[];
  /** Frames of the CPU nodes: [0, cpuFrames); device frames follow. */
  readonly cpuFrames: number;
  private readonly buddies: BuddyAllocator[];
  private readonly hbuddies: BuddyAllocator[];
  /** The shared zero page (ZERO_PAGE(0)): reserved, content token 0. */
  readonly zeroPfn: number;
  /** Pages ever allocated / freed (vmstat pgalloc / pgfree). */
  pgalloc = 0;
  pgfree = 0;
  /** Allocations that found no memory. */
  allocFailures = 0;
  /** The last content token handed out (tokens are 1, 2, ...; 0 means zero-filled). */
  lastToken = 0;
  /** Memory management's side of allocation; null: no watermarks, no reclaim (tests of phys alone). */
  private policy: AllocPolicy | null = null;
  /** Per node: the min and low watermarks, copied from the policy for the allocation fast path. */
  private readonly wmMin: Int32Array;
  private readonly wmLow: Int32Array;
  /** Set while reclaim runs (PF_MEMALLOC): its allocations ignore the watermarks and do not recurse. */
  inReclaim = false;

  /** `nodeBytes`: the size of each node, each a multiple of 4 MiB; `hnodeBytes` likewise for device memory. */
  constructor(nodeBytes: readonly number[], hnodeBytes: readonly number[] = []) {
    const block = (1 << MAX_ORDER) * 4096;
    let pfn = 0;
    const nodes: NodeInfo[] = [];
    const hnodes: NodeInfo[] = [];
    for (const [i, bytes] of [...nodeBytes, ...hnodeBytes].entries()) {
      if (bytes <= 0 || bytes % block !== 0)
        throw new Error(`PhysMem: node ${i} size ${bytes} is not a positive multiple of 4 MiB`);
      (i < nodeBytes.length ? nodes : hnodes).push({ id: i, startPfn: pfn, nframes: bytes / 4096 });
      pfn += bytes / 4096;
      if (i === nodeBytes.length - 1) this.cpuFrames = pfn;
    }
    this.cpuFrames ??= pfn;
    this.frames = new FrameTable(pfn);
    this.nodes = nodes;
    this.hnodes = hnodes;
    this.hbuddies = hnodes.map((n) => new BuddyAllocator(this.frames, n.startPfn, n.nframes));
    this.wmMin = new Int32Array(nodes.length);
    this.wmLow = new Int32Array(nodes.length);
    this.buddies = nodes.map((n) => new BuddyAllocator(this.frames, n.startPfn, n.nframes));
    const zero = this.buddies[0].alloc(0);
    this.frames.flags[zero] = PG.reserved | PG.zero;
    this.frames.refcount[zero] = 1;
    this.frames.token[zero] = 0;
    this.zeroPfn = zero;
  }

  /** Install memory management's allocation policy (watermarks, reclaim, OOM). */
  setPolicy(policy: AllocPolicy): void {
    this.policy = policy;
    for (let i = 0; i < this.nodes.length; i++) {
      const wm = policy.watermarks(i);
      this.wmMin[i] = wm.min;
      this.wmLow[i] = wm.low;
    }
  }

  /** Pages of the CPU nodes (MemTotal; device memory is not counted). */
  get totalPages(): number {
    return this.cpuFrames;
  }

  get freePages(): number {
    let n = 0;
    for (const b of this.buddies) n += b.freePages;
    return n;
  }

  nodeFreePages(node: number): number {
    return this.buddies[node].freePages;
  }

  /** struct page bytes the real kernel would spend on this machine's memmap. */
  get memmapBytes(): number {
    return this.frames.nframes * STRUCT_PAGE_BYTES;
  }

  nodeOf(pfn: number): number {
    for (const n of this.nodes) if (pfn < n.startPfn + n.nframes) return n.id;
    for (const n of this.hnodes) if (pfn < n.startPfn + n.nframes) return n.id;
    throw new Error(`PhysMem.nodeOf: pfn ${pfn} is outside every node`);
  }

  /**
   * Allocate 2^order frames, from `node` first and then the other nodes in id order
   * (the zonelist fallback). Returns the head pfn with refcount 1, or -1 when memory is
   * exhausted. The caller decides what the frame's content is (see zero()). `noretry`
   * (__GFP_NORETRY): one direct reclaim pass, then failure; never the OOM killer.
   */
  alloc(order: number, node = 0, noretry = false): number {
    const p = this.policy;
    if (p === null || this.inReclaim) {
      const raw = this.allocAbove(order, node, null);
      if (raw < 0) this.allocFailures++;
      return raw;
    }
    // Fast path: a node that stays above its low watermark.
    let pfn = this.allocAbove(order, node, 'low');
    if (pfn >= 0) return pfn;
    // Slow path: wake kswapd where memory is low, then allow down to the min watermark.
    for (let i = 0; i < this.buddies.length; i++) {
      if (this.buddies[i].freePages - ((1 << order) - 1) <= this.wmLow[i]) this.wakeKswapd(i);
    }
    for (let oomRounds = 0; oomRounds < 1 + this.buddies.length * 64; oomRounds++) {
      pfn = this.allocAbove(order, node, 'min');
      if (pfn >= 0) return pfn;
      if (order > PAGE_ALLOC_COSTLY_ORDER) break;
      if (p.allocatorIsOomVictim) return this.allocAbove(order, node, null); // ALLOC_OOM: the reserves
      let noProgress = 0;
      while (noProgress <= MAX_RECLAIM_RETRIES) {
        const reclaimed = this.reclaiming(() => p.directReclaim());
        pfn = this.allocAbove(order, node, 'min');
        if (pfn >= 0) return pfn;
        if (noretry) break; // __alloc_pages_slowpath: "Do not loop if specifically requested"
        noProgress = reclaimed > 0 ? 0 : noProgress + 1;
      }
      if (noretry || !this.reclaiming(() => p.outOfMemory())) break;
    }
    this.allocFailures++;
    return -1;
  }

  /**
   * A boot-time allocation (hugetlb's pool set up from the kernel command line): from `node`
   * only (__GFP_THISNODE), down to its min watermark, before kswapd runs and with nothing to
   * reclaim. -1 when the node has no such block. Not counted in pgalloc: vmlab's counters
   * start when the run does.
   */
  allocBoot(order: number, node: number): number {
    const pfn = this.allocAbove(order, node, 'min', true);
    if (pfn < 0) this.allocFailures++;
    else this.pgalloc -= 1 << order; // before the run: not in its pgalloc, as the zero page is not
    return pfn;
  }

  /**
   * A contiguous, naturally aligned range of 2^order frames in `node`, the highest one whose
   * frames are all free (memblock_alloc_try_nid_raw at boot allocates top-down), taken off the
   * buddy free lists. Not counted in pgalloc: memblock is not the page allocator. Returns the
   * first pfn, or -1.
   */
  allocContig(order: number, node: number): number {
    const n = 1 << order;
    const info = this.nodes[node];
    const b = this.buddies[node];
    const first = Math.ceil(info.startPfn / n) * n;
    for (let start = Math.floor((info.startPfn + info.nframes - n) / n) * n; start >= first; start -= n) {
      if (b.allocRange(start, n)) return start;
    }
    return -1;
  }

  /** free_contig_range: give back a range allocContig took. */
  freeContig(start: number, order: number): void {
    this.pgfree += 1 << order;
    this.buddies[this.nodeOf(start)].freeRange(start, 1 << order);
  }

  private wakeKswapd(node: number): void {
    this.reclaiming(() => this.policy!.wakeKswapd(node));
  }

  /** Run memory management's reclaim with PF_MEMALLOC set: its own allocations ignore watermarks. */
  private reclaiming<T>(fn: () => T): T {
    this.inReclaim = true;
    try {
      return fn();
    } finally {
      this.inReclaim = false;
    }
  }

  /**
   * get_page_from_freelist: the first node, from `node` on in id order (the zonelist), whose
   * free pages stay above the watermark `mark` after the allocation (__zone_watermark_ok:
   * free - (2^order - 1) > mark); null mark: any free block. Returns -1 when none.
   */
  private allocAbove(order: number, node: number, mark: 'low' | 'min' | null, thisNode = false): number {
    const n = thisNode ? 1 : this.buddies.length;
    const marks = mark === 'low' ? this.wmLow : mark === 'min' ? this.wmMin : null;
    for (let i = 0; i < n; i++) {
      const id = (node + i) % this.buddies.length;
      const b = this.buddies[id];
      if (marks !== null && b.freePages - ((1 << order) - 1) <= marks[id]) continue;
      const pfn = b.alloc(order);
      if (pfn >= 0) {
        this.frames.refcount[pfn] = 1;
        this.pgalloc += 1 << order;
        return pfn;
      }
    }
    return -1;
  }

  /** Return 2^order frames to their node. The frame must hold no references. */
  free(pfn: number, order = 0): void {
    const f = this.frames;
    if (f.has(pfn, PG.reserved)) throw new Error(`PhysMem.free: pfn ${pfn} is reserved`);
    if (pfn >= this.cpuFrames) {
      this.hbuddies[this.nodeOf(pfn) - this.nodes.length].free(pfn, order);
      return;
    }
    this.pgfree += 1 << order;
    this.buddies[this.nodeOf(pfn)].free(pfn, order);
  }

  /**
   * 2^order contiguous frames of device memory node `hnode` (an index into hnodes), naturally
   * aligned (a buddy block: node bases are 4 MiB-aligned), or -1 when no free block is that
   * large. The device's driver owns this memory: no watermarks, no reclaim, not counted in
   * pgalloc. Each frame is the caller's to free one at a time; the head holds one reference.
   */
  allocDeviceBlock(hnode: number, order = 0): number {
    const pfn = this.hbuddies[hnode].alloc(order);
    if (pfn >= 0) this.frames.refcount[pfn] = 1;
    return pfn;
  }

  /** Free frames of device memory node `hnode`. */
  hnodeFreePages(hnode: number): number {
    return this.hbuddies[hnode].freePages;
  }

  /** Visit free blocks of the device nodes, for invariant checks. */
  forEachFreeDevice(fn: (pfn: number, order: number) => void): void {
    for (const b of this.hbuddies) b.forEachFree(fn);
  }

  /** Fill a frame with zeroes (clear_page): its content becomes token 0. */
  zero(pfn: number): void {
    this.frames.token[pfn] = 0;
  }

  /** A fresh content token, for a write. Tokens are never reused; 0 means zero-filled.
   * The token array holds 32 bits: a run of more than 2^32 writes would wrap (none does). */
  newToken(): number {
    return ++this.lastToken;
  }

  /** Visit free blocks of every node, for invariant checks. */
  forEachFree(fn: (pfn: number, order: number) => void): void {
    for (const b of this.buddies) b.forEachFree(fn);
  }
}
