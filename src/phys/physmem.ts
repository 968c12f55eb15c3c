// Physical memory of a machine: frames numbered from 0, nodes owning consecutive ranges,
// a buddy allocator per node, and the shared zero page.
// Out of memory is a result (-1), never an exception: callers turn it into ENOMEM or an OOM event.

import { BuddyAllocator, MAX_ORDER } from './buddy.js';
import { FrameTable, PG, STRUCT_PAGE_BYTES } from './frames.js';

export interface NodeInfo {
  readonly id: number;
  readonly startPfn: number;
  readonly nframes: number;
}

export class PhysMem {
  readonly frames: FrameTable;
  readonly nodes: readonly NodeInfo[];
  private readonly buddies: BuddyAllocator[];
  /** The shared zero page (ZERO_PAGE(0)): reserved, content token 0. */
  readonly zeroPfn: number;
  /** Pages ever allocated / freed (vmstat pgalloc / pgfree). */
  pgalloc = 0;
  pgfree = 0;
  /** Allocations that found no memory. */
  allocFailures = 0;
  /** The last content token handed out (tokens are 1, 2, ...; 0 means zero-filled). */
  lastToken = 0;
  /**
   * Called when an order-0 allocation finds no memory (direct reclaim's shrink_slab): returns
   * how much it freed; the allocation is then tried once more. Set by the memory manager.
   */
  shrinker: (() => number) | null = null;

  /** `nodeBytes`: the size of each node, each a multiple of 4 MiB. */
  constructor(nodeBytes: readonly number[]) {
    const block = (1 << MAX_ORDER) * 4096;
    let pfn = 0;
    const nodes: NodeInfo[] = [];
    for (const [id, bytes] of nodeBytes.entries()) {
      if (bytes <= 0 || bytes % block !== 0)
        throw new Error(`PhysMem: node ${id} size ${bytes} is not a positive multiple of 4 MiB`);
      nodes.push({ id, startPfn: pfn, nframes: bytes / 4096 });
      pfn += bytes / 4096;
    }
    this.frames = new FrameTable(pfn);
    this.nodes = nodes;
    this.buddies = nodes.map((n) => new BuddyAllocator(this.frames, n.startPfn, n.nframes));
    const zero = this.buddies[0].alloc(0);
    this.frames.flags[zero] = PG.reserved | PG.zero;
    this.frames.refcount[zero] = 1;
    this.frames.token[zero] = 0;
    this.zeroPfn = zero;
  }

  get totalPages(): number {
    return this.frames.nframes;
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
    throw new Error(`PhysMem.nodeOf: pfn ${pfn} is outside every node`);
  }

  /**
   * Allocate 2^order frames, from `node` first and then the other nodes in id order
   * (the zonelist fallback). Returns the head pfn with refcount 1, or -1 when memory is
   * exhausted. The caller decides what the frame's content is (see zero()).
   */
  alloc(order: number, node = 0): number {
    let pfn = this.tryAlloc(order, node);
    if (pfn < 0 && order === 0 && this.shrinker !== null && this.shrinker() > 0)
      pfn = this.tryAlloc(order, node);
    if (pfn < 0) this.allocFailures++;
    return pfn;
  }

  private tryAlloc(order: number, node: number): number {
    const n = this.buddies.length;
    for (let i = 0; i < n; i++) {
      const b = this.buddies[(node + i) % n];
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
    this.pgfree += 1 << order;
    this.buddies[this.nodeOf(pfn)].free(pfn, order);
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
