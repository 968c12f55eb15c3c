// Eviction policies: which 2 MiB chunk of device memory to give back when the device is full.
//
// lru follows UVM's physical memory manager (uvm_pmm_gpu.c): user memory is handed out from
// 2 MiB root chunks; a root chunk moves to the tail of the `va_block_used` list when a VA block
// makes it resident (uvm_pmm_gpu_mark_root_chunk_used, root_chunk_update_eviction_list), and
// pick_root_chunk_to_evict takes the head of that list: the chunk least recently allocated
// into. GPU accesses themselves never reorder the list (the driver does not see them).
// random picks uniformly among the chunks that hold pages, from the scenario's seeded stream.

import type { Rng } from '../lib/rng.js';
import type { EvictionName, EvictionPolicy } from './policy.js';

/** Pages by chunk, in least-recently-used-first order (a Map keeps insertion order). */
class ChunkCounts {
  readonly counts = new Map<number, number>();

  /** Count a page and move the chunk to the most recent end. */
  add(chunk: number): void {
    const n = this.counts.get(chunk) ?? 0;
    this.counts.delete(chunk);
    this.counts.set(chunk, n + 1);
  }

  /** Move the chunk to the most recent end, if it holds pages. */
  touch(chunk: number): void {
    const n = this.counts.get(chunk);
    if (n === undefined) return;
    this.counts.delete(chunk);
    this.counts.set(chunk, n);
  }

  remove(chunk: number): void {
    const n = this.counts.get(chunk);
    if (n === undefined) throw new Error(`EvictionPolicy.freed: chunk ${chunk} holds no pages`);
    if (n === 1) this.counts.delete(chunk);
    else this.counts.set(chunk, n - 1); // an existing key keeps its place
  }
}

class NoEviction implements EvictionPolicy {
  readonly name = 'none';
  private readonly c = new ChunkCounts();
  allocated(chunk: number): void {
    this.c.add(chunk);
  }
  freed(chunk: number): void {
    this.c.remove(chunk);
  }
  touched(_chunk: number): void {}
  victim(): number {
    return -1;
  }
  pages(chunk: number): number {
    return this.c.counts.get(chunk) ?? 0;
  }
}

class LruEviction implements EvictionPolicy {
  readonly name = 'lru';
  private readonly c = new ChunkCounts();
  allocated(chunk: number): void {
    this.c.add(chunk);
  }
  freed(chunk: number): void {
    this.c.remove(chunk);
  }
  touched(chunk: number): void {
    this.c.touch(chunk);
  }
  victim(pinned?: ReadonlySet<number>): number {
    for (const chunk of this.c.counts.keys()) if (pinned === undefined || !pinned.has(chunk)) return chunk;
    return -1;
  }
  pages(chunk: number): number {
    return this.c.counts.get(chunk) ?? 0;
  }
}

class RandomEviction implements EvictionPolicy {
  readonly name = 'random';
  private readonly c = new ChunkCounts();
  private readonly rng: Rng;
  constructor(rng: Rng) {
    this.rng = rng;
  }
  allocated(chunk: number): void {
    this.c.add(chunk);
  }
  freed(chunk: number): void {
    this.c.remove(chunk);
  }
  touched(_chunk: number): void {}
  victim(pinned?: ReadonlySet<number>): number {
    let size = 0;
    for (const chunk of this.c.counts.keys()) if (pinned === undefined || !pinned.has(chunk)) size++;
    if (size === 0) return -1;
    let i = this.rng.nextInt(size);
    for (const chunk of this.c.counts.keys())
      if ((pinned === undefined || !pinned.has(chunk)) && i-- === 0) return chunk;
    return -1;
  }
  pages(chunk: number): number {
    return this.c.counts.get(chunk) ?? 0;
  }
}

/** The named policy; `rng` is called (forked) only by `random`, so others leave streams alone. */
export function createEviction(name: EvictionName, rng: () => Rng): EvictionPolicy {
  switch (name) {
    case 'none':
      return new NoEviction();
    case 'lru':
      return new LruEviction();
    case 'random':
      return new RandomEviction(rng());
  }
}
