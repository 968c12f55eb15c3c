// The hugetlb pools at boot and their accounting (mm/hugetlb.c), and the contents of hugetlb
// pages: every 4 KiB page of a 2 MiB or 1 GiB page keeps its own token through faults, fork,
// copy-on-write and mremap. The scenarios (test/scenarios/hugetlb-*.yaml) pin the counters.

import { describe, expect, it } from 'vitest';
import { PG } from '../phys/frames.js';
import { System } from '../sim/system.js';
import type { HugepagesSpec } from '../workload/scenario.js';
import { hugetlbAcctMemory } from './hugetlb.js';
import type { Task } from './mm.js';

const PAGE = 4096;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function machine(nodes: number[], hugepages: HugepagesSpec): System {
  return new System({
    machine: {
      cpus: 2,
      nodes,
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      hugepages,
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
}

function hugeMmap(sys: System, t: Task, len: number, shared: boolean, hugeSize = 2 * MiB): number {
  const r = sys.mmap(t, {
    addr: 0,
    len,
    prot: 3,
    shared,
    fixed: false,
    fixedNoReplace: false,
    populate: false,
    locked: false,
    noreserve: false,
    hugetlb: true,
    hugeSize,
  });
  if (!r.ok) throw new Error(`mmap: ${r.errno}`);
  return r.value;
}

describe('hugetlb pools at boot', () => {
  it('interleave pages over the nodes; 1 GiB pages come top-down from memblock, before the 2 MiB ones', () => {
    const G = 262144; // frames in 1 GiB
    const sys = machine([2 * GiB, 2 * GiB], { pages2M: 5, pages1G: 2, overcommit: 0 });
    const [h2m, h1g] = sys.kernel.hugetlb.hstates;
    expect([h1g.nr, h1g.freeLists]).toEqual([2, [[G], [3 * G]]]); // each node's top GiB
    expect([h2m.nr, h2m.free, Array.from(h2m.nrNode)]).toEqual([5, 5, [3, 2]]);
    const f = sys.kernel.phys.frames;
    expect([f.order(G + 12345), f.headOf(G + 12345), f.has(G, PG.hugetlbFreed)]).toEqual([18, G, true]);
    expect(sys.kernel.phys.freePages).toBe((4 * GiB - 2 * GiB - 5 * 2 * MiB) / PAGE - 1);
    expect(sys.check()).toEqual([]);
    // A third 1 GiB page: node 0's only other aligned GiB holds the zero page; memblock falls
    // back to node 1, which then has no memory left for 2 MiB pages: they all come from node 0.
    const more = machine([2 * GiB, 2 * GiB], { pages2M: 5, pages1G: 3, overcommit: 0 });
    const [m2m, m1g] = more.kernel.hugetlb.hstates;
    expect(m1g.freeLists).toEqual([[G], [3 * G, 2 * G]]);
    expect([Array.from(m2m.nrNode), more.kernel.hugetlb.buddyAllocFail]).toEqual([[5, 0], 4]);
  });

  it('stop at what memory allows: no aligned 1 GiB range left free, 2 MiB pages down to the min watermark', () => {
    // [0, 1 GiB) holds the zero page: only [1 GiB, 2 GiB) can be a gigantic page.
    const sys = machine([2 * GiB + 64 * MiB], { pages2M: 1000, pages1G: 2, overcommit: 0 });
    const [h2m, h1g] = sys.kernel.hugetlb.hstates;
    expect([h1g.nr, h1g.freeLists[0][0]]).toEqual([1, 262144]);
    // __zone_watermark_ok at ALLOC_WMARK_MIN: free - (512 - 1) must stay above min.
    const before = (2 * GiB + 64 * MiB - GiB) / PAGE - 1;
    const min = sys.kernel.watermarks[0].min;
    expect(h2m.nr).toBe(Math.ceil((before - min - 511) / 512));
    expect(sys.kernel.hugetlb.buddyAllocFail).toBe(1);
    expect(sys.kernel.phys.pgalloc).toBe(0); // before the run
  });
});

describe('hugetlb reservations', () => {
  it('hugetlb_acct_memory takes surplus pages within the overcommit limit, all or none', () => {
    const sys = machine([64 * MiB], { pages2M: 1, pages1G: 0, overcommit: 2 });
    const k = sys.kernel;
    const h = k.hugetlb.hstates[0];
    const free = k.phys.freePages;
    expect(hugetlbAcctMemory(k, h, 4)).toBe(false); // 3 more needed, 2 allowed
    expect([h.nr, h.surplus, h.resv, k.phys.freePages]).toEqual([1, 0, 0, free]);
    expect(hugetlbAcctMemory(k, h, 3)).toBe(true);
    expect([h.nr, h.free, h.surplus, h.resv, k.phys.freePages]).toEqual([3, 3, 2, 3, free - 1024]);
    expect(hugetlbAcctMemory(k, h, -3)).toBe(true);
    expect([h.nr, h.free, h.surplus, h.resv, k.phys.freePages]).toEqual([1, 1, 0, 0, free]);
  });
});

describe('hugetlb contents', () => {
  it('every 4 KiB page of a 2 MiB page keeps its token through fork and copy-on-write', () => {
    const sys = machine([64 * MiB], { pages2M: 4, pages1G: 0, overcommit: 0 });
    const t = sys.spawn('a', 0)!;
    const addr = hugeMmap(sys, t, 4 * MiB, false);
    const tokens = [0, 1, 511, 512, 1023].map((i) => sys.access(t, addr + i * PAGE, 'write'));
    expect(sys.access(t, addr + 7 * PAGE, 'read')).toBe(0);
    const c = sys.fork(t, 'c')!;
    expect([0, 1, 511, 512, 1023].map((i) => sys.access(c, addr + i * PAGE, 'read'))).toEqual(tokens);
    const w = sys.access(c, addr + PAGE, 'write'); // copies the first huge page for the child
    expect(sys.systemCounters().pages_copied).toBe(512);
    expect([0, 1, 511].map((i) => sys.access(c, addr + i * PAGE, 'read'))).toEqual([tokens[0], w, tokens[2]]);
    expect([0, 1, 511].map((i) => sys.access(t, addr + i * PAGE, 'read'))).toEqual(tokens.slice(0, 3));
  });

  it('a 1 GiB page is one fault and one TLB entry, its pages distinct; mremap moves it whole', () => {
    const sys = machine([2 * GiB], { pages2M: 0, pages1G: 1, overcommit: 0 });
    const t = sys.spawn('a', 0)!;
    const addr = hugeMmap(sys, t, GiB, true, GiB);
    expect(addr % GiB).toBe(0);
    const last = 262143 * PAGE;
    const a = sys.access(t, addr, 'write');
    const b = sys.access(t, addr + last, 'write');
    expect(sys.access(t, addr + last, 'read')).toBe(b);
    expect(sys.processCounters(t)).toMatchObject({ min_flt: 1, tlb_misses: 1, HugetlbPages: GiB });
    const r = sys.mremap(t, {
      addr,
      oldLen: GiB,
      newLen: GiB,
      maymove: true,
      fixed: true,
      dontunmap: false,
      newAddr: addr - 4 * GiB,
    });
    expect(r).toEqual({ ok: true, value: addr - 4 * GiB });
    expect([sys.access(t, addr - 4 * GiB, 'read'), sys.access(t, addr - 4 * GiB + last, 'read')]).toEqual([
      a,
      b,
    ]);
    expect(sys.processCounters(t).min_flt).toBe(1);
  });
});
