// A binary buddy allocator for one memory node (after mm/page_alloc.c).
//
// Free blocks sit on one doubly linked list per order; the links live in the frame
// table's owner (next) and indexLo (prev) words of the block's head frame, as struct
// page keeps its buddy list in page->lru. A free block's head carries PG.buddy and its
// order. Freeing merges with the buddy block (pfn ^ (1 << order), relative to the node
// base) while the buddy is free and of the same order, as __free_one_page does.
// Lists are LIFO, so a page freed is the next one handed out (cache-hot first).

import { type FrameTable, PG } from './frames.js';

/** Largest order (MAX_PAGE_ORDER on x86-64): blocks of 1024 pages, 4 MiB. */
export const MAX_ORDER = 10;
const NIL = 0xffff_ffff;

export class BuddyAllocator {
  /** First frame of the node; a multiple of 2^MAX_ORDER. */
  readonly base: number;
  /** Frames in the node; a multiple of 2^MAX_ORDER. */
  readonly nframes: number;
  private readonly frames: FrameTable;
  /** Head pfn of each order's free list, NIL when empty. */
  private readonly heads = new Uint32Array(MAX_ORDER + 1).fill(NIL);
  /** Free blocks per order (/proc/buddyinfo). */
  readonly nrFree = new Int32Array(MAX_ORDER + 1);
  /** Free pages in the node. */
  freePages = 0;

  constructor(frames: FrameTable, base: number, nframes: number) {
    const block = 1 << MAX_ORDER;
    if (base % block !== 0 || nframes % block !== 0 || nframes === 0) {
      throw new Error(`BuddyAllocator: node [${base}, +${nframes}) is not a multiple of ${block} frames`);
    }
    this.frames = frames;
    this.base = base;
    this.nframes = nframes;
    // Hand the node over in max-order blocks, highest first so that the lowest block is
    // at the head of the list (allocation then proceeds upwards from the node base).
    for (let pfn = base + nframes - block; pfn >= base; pfn -= block) {
      this.push(pfn, MAX_ORDER);
      this.freePages += block;
    }
  }

  /** Allocate 2^order contiguous frames; returns the head pfn or -1 when no block is free. */
  alloc(order: number): number {
    let k = order;
    while (k <= MAX_ORDER && this.heads[k] === NIL) k++;
    if (k > MAX_ORDER) return -1;
    const pfn = this.heads[k];
    this.unlink(pfn, k);
    // expand(): split off upper halves until the block has the wanted order.
    while (k > order) {
      k--;
      this.push(pfn + (1 << k), k);
    }
    this.freePages -= 1 << order;
    this.frames.resetMeta(pfn);
    return pfn;
  }

  /** Free a block previously allocated with the same order. */
  free(pfn: number, order: number): void {
    const f = this.frames;
    let rel = pfn - this.base;
    // A double free finds pfn inside a free block: its own, or a larger one it has merged
    // into since (whose head is then pfn aligned down to that block's order).
    for (let k = 0; k <= MAX_ORDER; k++) {
      const head = this.base + (rel & ~((1 << k) - 1));
      if (f.has(head, PG.buddy) && f.order(head) >= k) {
        throw new Error(`BuddyAllocator.free: pfn ${pfn} is already free`);
      }
    }
    this.freePages += 1 << order;
    while (order < MAX_ORDER) {
      const buddy = this.base + (rel ^ (1 << order));
      if (!f.has(buddy, PG.buddy) || f.order(buddy) !== order) break;
      this.unlink(buddy, order);
      rel &= ~(1 << order);
      order++;
    }
    this.push(this.base + rel, order);
  }

  /**
   * Take the frames [start, start + n) off the free lists when every one of them is free
   * (alloc_contig_range without migration: a range holding an allocated frame fails; what
   * Linux would migrate away is not modelled). `start` and `n` are multiples of 2^MAX_ORDER,
   * so every free block lies wholly inside the range or outside it. Returns success.
   */
  allocRange(start: number, n: number): boolean {
    const block = 1 << MAX_ORDER;
    if (start % block !== 0 || n % block !== 0 || n === 0)
      throw new Error(`BuddyAllocator.allocRange: [${start}, +${n}) is not made of ${block}-frame blocks`);
    if (start < this.base || start + n > this.base + this.nframes) return false;
    const f = this.frames;
    for (let p = start; p < start + n; p += 1 << f.order(p)) if (!f.has(p, PG.buddy)) return false;
    for (let p = start; p < start + n; ) {
      const order = f.order(p);
      this.unlink(p, order);
      this.freePages -= 1 << order;
      f.resetMeta(p);
      p += 1 << order;
    }
    return true;
  }

  /** free_contig_range: give [start, start + n) back (a range allocRange took), max-order blocks at a time. */
  freeRange(start: number, n: number): void {
    const block = 1 << MAX_ORDER;
    for (let p = start; p < start + n; p += block) this.free(p, MAX_ORDER);
  }

  /** Whether pfn is the head of a free block (for invariant checks). */
  isFreeHead(pfn: number): boolean {
    return this.frames.has(pfn, PG.buddy);
  }

  /** Visit every free block (head pfn, order); for checks and reports. */
  forEachFree(fn: (pfn: number, order: number) => void): void {
    for (let k = 0; k <= MAX_ORDER; k++) {
      for (let p = this.heads[k]; p !== NIL; p = this.frames.owner[p]) fn(p, k);
    }
  }

  private push(pfn: number, order: number): void {
    const f = this.frames;
    f.flags[pfn] = PG.buddy;
    f.setOrder(pfn, order);
    f.refcount[pfn] = 0;
    f.mapcount[pfn] = 0;
    const head = this.heads[order];
    f.owner[pfn] = head;
    f.indexLo[pfn] = NIL;
    if (head !== NIL) f.indexLo[head] = pfn;
    this.heads[order] = pfn;
    this.nrFree[order]++;
  }

  private unlink(pfn: number, order: number): void {
    const f = this.frames;
    const next = f.owner[pfn];
    const prev = f.indexLo[pfn];
    if (prev === NIL) this.heads[order] = next;
    else f.owner[prev] = next;
    if (next !== NIL) f.indexLo[next] = prev;
    f.flags[pfn] = 0;
    this.nrFree[order]--;
  }
}
