// The mmu_gather's flush decisions against the numbers of mm/mmu_gather.c and
// include/asm-generic/tlb.h: batch capacities, the delayed-rmap limit, the table batch,
// tlb_get_unmap_shift, and the x86 flush counting of flush_tlb_mm_range.

import { describe, expect, it } from 'vitest';
import { System } from '../sim/system.js';
import { MmuGather } from './mmu-gather.js';

const MiB = 1024 * 1024;

/** A two-CPU machine with one process that has run on both CPUs (mm_cpumask = {0, 1}). */
function setup() {
  const sys = new System({
    machine: {
      cpus: 2,
      nodes: [16 * MiB],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
    },
    design: 'linux',
    seed: 1,
  });
  const task = sys.spawn('t', 0)!;
  sys.kernel.runOn(task, 1);
  sys.kernel.runOn(task, 0);
  const k = sys.kernel;
  const g = new MmuGather(k, task.mm!, 0);
  const flushes = () => ({
    one: k.vmstat.nr_tlb_local_flush_one,
    all: k.vmstat.nr_tlb_local_flush_all,
    remote: k.vmstat.nr_tlb_remote_flush,
    received: k.vmstat.nr_tlb_remote_flush_received,
  });
  return { k, g, flushes };
}

/** Queue `n` pages; returns the 1-based indexes of the pages after which the batches were full. */
function queue(g: MmuGather, n: number, delay = false): number[] {
  const full: number[] = [];
  for (let i = 1; i <= n; i++) {
    g.leaf(1000 + i, 0);
    if (g.page(delay)) {
      full.push(i);
      g.flushMmu();
    }
  }
  return full;
}

describe('MmuGather', () => {
  it('flushes nothing when nothing was cleared or freed', () => {
    const { g, flushes } = setup();
    g.finish();
    expect(flushes()).toEqual({ one: 0, all: 0, remote: 0, received: 0 });
  });

  it('flushes the union of the ranges once, page by page up to the ceiling of 33', () => {
    const { g, flushes } = setup();
    g.leaf(100, 0);
    g.ptes(110, 3);
    g.leaf(132, 0); // [100, 133): 33 pages, not above the ceiling
    g.finish();
    expect(flushes()).toEqual({ one: 33, all: 0, remote: 1, received: 1 });
    g.leaf(100, 0);
    g.leaf(133, 0); // 34 pages: a full flush
    g.finish();
    expect(flushes()).toEqual({ one: 33, all: 1, remote: 2, received: 2 });
  });

  it('fills the bundle (7 of 8) and 19 batches (509 of 510 each): 9678 pages, then flushes', () => {
    const { g, flushes } = setup();
    // MMU_GATHER_BUNDLE 8, MAX_GATHER_BATCH (4096 - 16) / 8 = 510, MAX_GATHER_BATCH_COUNT 10000 / 510 = 19;
    // a batch counts as full one entry early ("another page + nr_pages" must fit).
    expect(queue(g, 20000)).toEqual([9678, 2 * 9678]);
    g.finish();
    expect(flushes().all).toBe(3);
  });

  it('limits batching to the bundle and one batch while delayed rmaps are pending: 7 + 509', () => {
    const { g } = setup();
    expect(queue(g, 1100, true)).toEqual([516, 1032]);
  });

  it('flushes when the table batch fills: 509 tables ((4096 - 24) / 8)', () => {
    const { g, flushes } = setup();
    for (let i = 0; i < 509; i++) g.table(0, i * 512);
    expect(flushes().all).toBe(1);
    expect(g.pending).toBe(false);
    g.table(0, 600 * 512);
    g.finish();
    // One PTE table freed: range [600 * 512, + 1 page), stride PMD (only cleared_pmds): 0 strides counted.
    expect(flushes()).toEqual({ one: 0, all: 1, remote: 2, received: 2 });
  });

  it('strides by PMD when only tables were freed, by page when any PTE was cleared', () => {
    const { g, flushes } = setup();
    // Two adjacent PTE tables: [0, 513) >> 9 = 1 stride, not above the ceiling.
    g.table(0, 0);
    g.table(0, 512);
    g.finish();
    expect(flushes()).toEqual({ one: 1, all: 0, remote: 1, received: 1 });
    // With a PTE cleared too the stride is one page: [0, 513) is 513 pages, a full flush.
    g.table(0, 0);
    g.table(0, 512);
    g.leaf(5, 0);
    g.finish();
    expect(flushes()).toEqual({ one: 1, all: 1, remote: 2, received: 2 });
  });
});
