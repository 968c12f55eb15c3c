// Differential property test of the hmm design with every policy switched on, under device
// memory pressure: random CPU and device reads and writes, explicit migrations and
// evictions, mprotect round trips, MADV_DONTNEED, a filler kernel that migrates more than the
// device holds (so that eviction takes the program's pages) and random kernels over all. gpu0 migrates on fault with the tree prefetcher, LRU eviction
// and pinning of thrashing pages; gpu1 maps remotely, migrates by access counters (64 KiB
// regions, 4 accesses) with the sequential prefetcher, random eviction and remote mapping
// of thrashing pages. No data is lost or mixed, invariants (eviction counts included) hold
// after every step, and nothing is left in device memory at exit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { System } from '../sim/system.js';
import type { MachineSpec } from '../workload/scenario.js';
import type { DeviceSpec } from './device.js';
import { DEFAULT_POLICIES, type DevicePolicies } from './policy.js';

const PAGES = 40;
const BASE = 0x200000000;
const FILL = BASE + PAGES * 4096; // right after the program's pages (the areas merge)
const FILL_PAGES = 1100; // more than a 4 MiB device holds

function device(i: number, placement: DeviceSpec['placement'], policies: DevicePolicies): DeviceSpec {
  return {
    name: `gpu${i}`,
    memory: 4 * 2 ** 20,
    // Large device pages: whole ones are one block of device memory mapped by one large leaf,
    // which eviction, notifiers and CPU faults must split or drop (arch/device-mmu.ts).
    pageSize: i === 0 ? 64 * 1024 : 2 * 2 ** 20,
    tlb: { entries: 16, ways: 4 },
    replayableFaults: true,
    faultBatch: 8,
    peer: false,
    link: { bandwidth: 2 ** 30, latencyNs: 500 },
    placement,
    policies,
  };
}

const machine: MachineSpec = {
  cpus: 1,
  nodes: [64 * 2 ** 20],
  paging: 'x86-64-4level',
  tlb: { entries: 64, ways: 4 },
  maxMapCount: 65530,
  oomKiller: false,
  devices: [
    device(0, 'migrate', {
      ...DEFAULT_POLICIES,
      prefetch: { ...DEFAULT_POLICIES.prefetch, policy: 'tree' },
      eviction: { policy: 'lru' },
      thrashing: { policy: 'pin', threshold: 1, lapse: 4, pin: 3 },
    }),
    device(1, 'access_counters', {
      placement: { policy: 'access_counters', threshold: 4, granularity: 64 * 1024 },
      prefetch: { ...DEFAULT_POLICIES.prefetch, policy: 'sequential', size: 16384 },
      eviction: { policy: 'random' },
      thrashing: { policy: 'remote', threshold: 1, lapse: 4, pin: 3 },
    }),
  ],
};

type Op =
  | { k: 'cpu'; write: boolean; page: number }
  | { k: 'dev'; dev: number; write: boolean; page: number; len: number }
  | { k: 'migrate'; dev: number; to: 'device' | 'system'; page: number; len: number }
  | { k: 'evict'; dev: number }
  | { k: 'fill'; dev: number }
  | { k: 'scan'; dev: number }
  | { k: 'protect'; page: number; len: number }
  | { k: 'dontneed'; page: number; len: number };

const page = fc.integer({ min: 0, max: PAGES - 1 });
const len = fc.integer({ min: 1, max: 16 });
const dev = fc.integer({ min: 0, max: 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('cpu' as const), write: fc.boolean(), page }),
  fc.record({ k: fc.constant('dev' as const), dev, write: fc.boolean(), page, len }),
  fc.record({
    k: fc.constant('migrate' as const),
    dev,
    to: fc.constantFrom('device' as const, 'system' as const),
    page,
    len,
  }),
  fc.record({ k: fc.constant('evict' as const), dev }),
  fc.record({ k: fc.constant('fill' as const), dev }),
  fc.record({ k: fc.constant('scan' as const), dev }),
  fc.record({ k: fc.constant('protect' as const), page, len }),
  fc.record({ k: fc.constant('dontneed' as const), page, len }),
);

const mmapArgs = (addr: number, pages: number) => ({
  addr,
  len: pages * 4096,
  prot: 3,
  fixed: true,
  shared: false,
  fixedNoReplace: false,
  populate: false,
  locked: false,
  noreserve: false,
});

/** Policy events over all runs: the property must have exercised each policy. */
const seen = {
  dev_evictions: 0,
  dev_prefetch_pages: 0,
  dev_thrashing_pages: 0,
  dev_access_notifications: 0,
  dev_leaf_splits: 0,
  dev_pt_pages_freed: 0,
};

function run(ops: readonly Op[]): void {
  const sys = new System({ machine, design: 'hmm', seed: 5, check: false });
  const task = sys.spawn('app', 0)!;
  expect(sys.attach(task, 'gpu0')).toBeNull();
  expect(sys.attach(task, 'gpu1')).toBeNull();
  expect(sys.mmap(task, mmapArgs(BASE, PAGES)).ok).toBe(true);
  expect(sys.mmap(task, mmapArgs(FILL, FILL_PAGES)).ok).toBe(true);
  const ref = new Array<number>(PAGES).fill(0);
  const at = (p: number) => BASE + p * 4096;
  const clip = (p: number, n: number) => Math.min(n, PAGES - p);
  const kernel = (addr: number, pages: number, write: boolean) => ({
    addr,
    length: pages * 4096,
    op: write ? ('write' as const) : ('read' as const),
    pattern: 'sequential' as const,
    stride: 4096,
  });
  for (const o of ops) {
    switch (o.k) {
      case 'cpu': {
        const t = sys.access(task, at(o.page), o.write ? 'write' : 'read');
        if (o.write) ref[o.page] = t;
        else expect(t).toBe(ref[o.page]);
        break;
      }
      case 'dev': {
        const n = clip(o.page, o.len);
        const before = sys.kernel.phys.lastToken;
        const r = sys.deviceRun(task, `gpu${o.dev}`, kernel(at(o.page), n, o.write));
        expect(r.error).toBeUndefined();
        for (let p = o.page; p < o.page + n; p++) {
          const one = sys.deviceRun(task, `gpu${o.dev}`, kernel(at(p), 1, false));
          expect(one.error).toBeUndefined();
          if (o.write) {
            expect(one.lastToken).toBeGreaterThan(before);
            ref[p] = one.lastToken!;
          } else expect(one.lastToken).toBe(ref[p]);
        }
        break;
      }
      case 'migrate': {
        const r = sys.migrate(task, `gpu${o.dev}`, at(o.page), clip(o.page, o.len) * 4096, o.to);
        if (r.error !== undefined) expect(r.error).toBe('ENOENT');
        break;
      }
      case 'evict':
        sys.evict(`gpu${o.dev}`);
        break;
      case 'fill':
        expect(sys.deviceRun(task, `gpu${o.dev}`, kernel(FILL, FILL_PAGES, true)).error).toBeUndefined();
        break;
      case 'scan': {
        // Random reads over the program's pages and the filler: faults queue while
        // notifications migrate and evict.
        const r = sys.deviceRun(task, `gpu${o.dev}`, {
          ...kernel(BASE, PAGES + FILL_PAGES, false),
          pattern: 'random',
          count: 1500,
        });
        expect(r.error).toBeUndefined();
        break;
      }
      case 'protect': {
        // Read-only and back: the device mappings go; a device-private page stays read-only
        // until the CPU writes it, so device writes below stay away from such pages.
        const n = clip(o.page, o.len) * 4096;
        expect(sys.mprotect(task, at(o.page), n, 1).ok).toBe(true);
        expect(sys.mprotect(task, at(o.page), n, 3).ok).toBe(true);
        for (let p = o.page; p < o.page + clip(o.page, o.len); p++) ref[p] = sys.access(task, at(p), 'write');
        break;
      }
      case 'dontneed': {
        const n = clip(o.page, o.len);
        expect(sys.madvise(task, at(o.page), n * 4096, 'dontneed').ok).toBe(true);
        for (let p = o.page; p < o.page + n; p++) ref[p] = 0;
        break;
      }
    }
    expect(sys.check()).toEqual([]);
  }
  for (let p = 0; p < PAGES; p++) expect(sys.access(task, at(p), 'read')).toBe(ref[p]);
  expect(sys.check()).toEqual([]);
  const c = sys.systemCounters();
  for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] += c[k];
  sys.exit(task);
  for (const d of sys.hetero!.devices) {
    expect(d.memoryUsed).toBe(0);
    expect(sys.kernel.phys.hnodeFreePages(d.hnode)).toBe(1024);
  }
  expect(sys.check()).toEqual([]);
}

describe('hmm design with policies: differential property test', () => {
  it('keeps every page’s contents under prefetch, eviction, thrashing mitigation and access counters', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        run(ops);
      }),
      { numRuns: 60, seed: 2026 },
    );
    for (const n of Object.values(seen)) expect(n).toBeGreaterThan(0);
  });
});
