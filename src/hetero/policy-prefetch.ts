// Prefetch policies: what a fault batch services beyond the faulted pages, within one 2 MiB
// region (UVM's va_block).
//
// tree follows uvm_perf_prefetch.c: a bitmap over the region's pages marks those resident on
// the destination or faulted now; every 64 KiB big page with a fault is filled first
// (grow_fault_granularity: "assume big pages by default"); then for each faulted page the
// walk goes up the binary tree over the region and keeps the largest subtree whose occupancy
// is strictly above the threshold (compute_prefetch_region: counter * 100 > pages * threshold,
// UVM_PREFETCH_THRESHOLD_DEFAULT 51), stopping once a region reaches the end of the block.
// The subtrees considered run from 64 KiB (16 pages) to the 2 MiB block; below 64 KiB the
// filled big page always qualifies. Subtrees are cut to the pages the caller allows (the
// faulting VMA's part of the region), as UVM clamps to max_prefetch_region. UVM's first-touch
// shortcut (populate the whole block when the destination is the preferred location) does
// not apply: no preferred location is set here. Pages already resident are not prefetched.
//
// sequential is vmlab's own baseline: after each faulted page, the next `size` bytes.

import { CHUNK_PAGES, type PrefetchName, type PrefetchPolicy, type PrefetchSpec } from './policy.js';

/** Pages of UVM's 64 KiB big page: the smallest subtree the tree prefetcher considers. */
const BIG_PAGE_PAGES = 16;

class NoPrefetch implements PrefetchPolicy {
  readonly name = 'none';
  expand(): number {
    return 0;
  }
}

/** Sets out[i] for i in [a, b) that is neither faulted nor resident; returns how many. */
function mark(faulted: Uint8Array, resident: Uint8Array, out: Uint8Array, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) {
    if (faulted[i] === 0 && resident[i] === 0 && out[i] === 0) {
      out[i] = 1;
      n++;
    }
  }
  return n;
}

class SequentialPrefetch implements PrefetchPolicy {
  readonly name = 'sequential';
  private readonly pages: number;
  constructor(size: number) {
    this.pages = Math.ceil(size / 4096);
  }
  expand(faulted: Uint8Array, resident: Uint8Array, first: number, outer: number, out: Uint8Array): number {
    out.fill(0);
    let n = 0;
    for (let i = first; i < outer; i++) {
      if (faulted[i] === 0) continue;
      n += mark(faulted, resident, out, i + 1, Math.min(outer, i + 1 + this.pages));
    }
    return n;
  }
}

class TreePrefetch implements PrefetchPolicy {
  readonly name = 'tree';
  private readonly threshold: number;
  /** The bitmap tree's leaves, and their prefix sums (a subtree's count in O(1)). */
  private readonly tree = new Uint8Array(CHUNK_PAGES);
  private readonly prefix = new Uint16Array(CHUNK_PAGES + 1);
  constructor(threshold: number) {
    this.threshold = threshold;
  }
  expand(faulted: Uint8Array, resident: Uint8Array, first: number, outer: number, out: Uint8Array): number {
    out.fill(0);
    const tree = this.tree;
    for (let i = 0; i < CHUNK_PAGES; i++)
      tree[i] = i >= first && i < outer && (faulted[i] | resident[i]) !== 0 ? 1 : 0;
    // grow_fault_granularity: a big page with a fault counts as fully present.
    for (let b = 0; b < CHUNK_PAGES; b += BIG_PAGE_PAGES) {
      const lo = Math.max(b, first);
      const hi = Math.min(b + BIG_PAGE_PAGES, outer);
      let any = false;
      for (let i = lo; i < hi && !any; i++) any = faulted[i] !== 0;
      if (any) tree.fill(1, lo, hi);
    }
    const prefix = this.prefix;
    for (let i = 0; i < CHUNK_PAGES; i++) prefix[i + 1] = prefix[i] + tree[i];
    let n = 0;
    for (let p = first; p < outer; p++) {
      if (faulted[p] === 0) continue;
      let lo = -1;
      let hi = -1;
      for (let size = BIG_PAGE_PAGES; size <= CHUNK_PAGES; size *= 2) {
        const a = Math.max(p - (p % size), first);
        const b = Math.min(p - (p % size) + size, outer);
        if ((prefix[b] - prefix[a]) * 100 > (b - a) * this.threshold) {
          lo = a;
          hi = b;
        }
      }
      if (lo < 0) continue;
      n += mark(faulted, resident, out, lo, hi);
      if (hi === outer) break; // compute_prefetch_mask: the rest of the block is covered
    }
    return n;
  }
}

export function createPrefetch(spec: PrefetchSpec): PrefetchPolicy {
  const name: PrefetchName = spec.policy;
  switch (name) {
    case 'none':
      return new NoPrefetch();
    case 'sequential':
      return new SequentialPrefetch(spec.size);
    case 'tree':
      return new TreePrefetch(spec.threshold);
  }
}
