// fork under memory pressure (mm/memory.c copy_pmd_range, copy_huge_pmd): the child's tables
// are allocated before the parent's entries are read, because the allocation may reclaim and
// reclaim may change those entries (swap a page out, split a THP to swap it). copy_huge_pmd
// allocates first and re-reads the parent's PMD under its lock; a THP split meanwhile makes it
// return -EAGAIN and copy_pmd_range copies the range PTE by PTE.

import { describe, expect, it } from 'vitest';
import { System } from '../sim/system.js';
import type { ThpEnabled } from '../workload/scenario.js';
import { DEFAULT_THP } from './thp-state.js';

const MiB = 2 ** 20;
const BASE = 0x7f00_0000_0000;

function machine(thp: ThpEnabled): System {
  return new System({
    machine: {
      cpus: 1,
      nodes: [8 * MiB],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      swapBytes: 32 * MiB,
      thp: { ...DEFAULT_THP, enabled: thp },
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
}

/** A private, writable, fixed mapping of len bytes at BASE. */
function req(len: number) {
  return {
    addr: BASE,
    len,
    prot: 3,
    fixed: true,
    shared: false,
    fixedNoReplace: false,
    populate: false,
    locked: false,
    noreserve: false,
  };
}

describe('fork while the allocations it makes reclaim', () => {
  it('copies a page that kswapd swaps out while the child gets its tables', () => {
    const sys = machine('never');
    const t = sys.spawn('parent', 0)!;
    expect(sys.mmap(t, req(64 * 4096)).ok).toBe(true);
    const tokens: number[] = [];
    for (let i = 0; i < 64; i++) tokens.push(sys.access(t, BASE + i * 4096, 'write'));
    // The child's PGD is allocated; its PUD wakes kswapd, which swaps out the oldest pages,
    // the first one the walk has just read among them.
    const k = sys.kernel;
    sys.balloon((k.phys.freePages - k.watermarks[0].low - 1) * 4096);
    const child = sys.fork(t, 'child')!;
    const c = sys.systemCounters();
    expect(c.pswpout).toBeGreaterThan(0);
    expect(sys.processCounters(child).VmSwap).toBe(c.pswpout * 4096);
    sys.balloon(0);
    for (let i = 0; i < 64; i++) {
      expect(sys.access(child, BASE + i * 4096, 'read')).toBe(tokens[i]);
      expect(sys.access(t, BASE + i * 4096, 'read')).toBe(tokens[i]);
    }
    sys.exit(child);
    sys.exit(t);
    expect(sys.systemCounters().SwapFree).toBe(32 * MiB);
  });

  it('copies a THP that kswapd splits and swaps out while the child gets its tables', () => {
    const sys = machine('always');
    const t = sys.spawn('parent', 0)!;
    expect(sys.mmap(t, req(2 * MiB)).ok).toBe(true);
    const tokens: number[] = [];
    for (let i = 0; i < 512; i++) tokens.push(sys.access(t, BASE + i * 4096, 'write'));
    expect(sys.systemCounters().AnonHugePages).toBe(2 * MiB);
    // Free memory down to one page above the low watermark: the child's PGD is allocated, its
    // next table wakes kswapd, which can only reclaim the THP the walk has just reached.
    const k = sys.kernel;
    sys.balloon((k.phys.freePages - k.watermarks[0].low - 1) * 4096);
    const before = sys.systemCounters();
    const child = sys.fork(t, 'child')!;
    const after = sys.systemCounters();
    expect(after.thp_split_pmd - before.thp_split_pmd).toBe(1);
    expect(after.pswpout).toBeGreaterThan(0);
    sys.balloon(0);
    for (let i = 0; i < 512; i++) {
      expect(sys.access(child, BASE + i * 4096, 'read')).toBe(tokens[i]);
      expect(sys.access(t, BASE + i * 4096, 'read')).toBe(tokens[i]);
    }
    sys.exit(child);
    sys.exit(t);
    expect(sys.systemCounters().SwapFree).toBe(32 * MiB);
  });
});
