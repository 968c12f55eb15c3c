// Differential property test of the hmm design against a plain reference (page -> last
// token written): random CPU and device reads, writes and atomics (device-exclusive pages),
// on device-private and device-coherent memory, migrations both ways, evictions,
// mprotect round trips, MADV_DONTNEED, and fork with a child that writes and exits; and the
// same with gpu0 and gpu1 peers (one pgmap owner): each maps the other's device-private pages
// remotely, and migrating to one takes the other's pages device to device. No data is lost
// or mixed (a device write is what the CPU reads and the reverse, across every migration and
// through a peer's mapping), the invariants (core and devices) hold after every step, and
// nothing is left in device memory when the process exits.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task } from '../mm/mm.js';
import { PG } from '../phys/frames.js';
import { fixedAnon } from '../sim/fixtures.js';
import { System } from '../sim/system.js';
import type { MachineSpec } from '../workload/scenario.js';
import type { HmmDesign } from './hmm.js';

const PAGES = 24;
const BASE = 0x200000000;

const machineOf = (peer: boolean): MachineSpec => ({
  cpus: 2,
  nodes: [32 * 2 ** 20],
  paging: 'x86-64-4level',
  tlb: { entries: 64, ways: 4 },
  maxMapCount: 65530,
  swapBytes: 16 * 2 ** 20,
  oomKiller: false,
  devices: [0, 1, 2].map((i) => ({
    name: `gpu${i}`,
    memory: 4 * 2 ** 20,
    pageSize: i === 1 ? 64 * 1024 : 4096,
    tlb: { entries: 16, ways: 4 },
    replayableFaults: i !== 1,
    faultBatch: 4,
    peer: peer && i < 2,
    link: { bandwidth: 2 ** 30, latencyNs: 500 },
    placement: i === 0 ? ('remote' as const) : ('migrate' as const),
    memoryKind: i === 2 ? ('coherent' as const) : ('private' as const),
  })),
});

/**
 * Device mappings of another device's device-private page seen after device kernels, in the
 * runs with peers and in those without (which must see none).
 */
const peerMapped = { peer: 0, alone: 0 };

/** Pages [first, first + n) that `dev` maps to another device's device-private page. */
function peerPagesMapped(sys: System, task: Task, dev: string, first: number, n: number): number {
  const hmm = sys.hetero as HmmDesign;
  const m = hmm.mirrors.find((x) => x.dev.spec.name === dev && x.ctx.mm === task.mm)!;
  let seen = 0;
  for (let v = first; v < first + n; v++) {
    const pfn = Math.floor(m.ctx.pt.lookup(v) / 8);
    if (pfn > 0 && sys.kernel.phys.frames.has(pfn, PG.devicePrivate) && !m.dev.ownsFrame(pfn)) seen++;
  }
  return seen;
}

type Op =
  | { k: 'cpu'; write: boolean; page: number }
  | { k: 'dev'; dev: number; op: 'read' | 'write' | 'atomic'; page: number; len: number }
  | { k: 'migrate'; dev: number; to: 'device' | 'system'; page: number; len: number }
  | { k: 'evict'; dev: number }
  | { k: 'protect'; page: number; len: number }
  | { k: 'dontneed'; page: number; len: number }
  | { k: 'fork'; page: number; device: boolean }
  | { k: 'pressure' };

const len = fc.integer({ min: 1, max: 8 });
const dev = fc.integer({ min: 0, max: 2 });
const opsOf = (page: fc.Arbitrary<number>): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({ k: fc.constant('cpu' as const), write: fc.boolean(), page }),
    fc.record({
      k: fc.constant('dev' as const),
      dev,
      op: fc.constantFrom('read' as const, 'write' as const, 'atomic' as const),
      page,
      len,
    }),
    fc.record({
      k: fc.constant('migrate' as const),
      dev,
      to: fc.constantFrom('device' as const, 'system' as const),
      page,
      len,
    }),
    fc.record({ k: fc.constant('evict' as const), dev }),
    fc.record({ k: fc.constant('protect' as const), page, len }),
    fc.record({ k: fc.constant('dontneed' as const), page, len }),
    fc.record({ k: fc.constant('fork' as const), page, device: fc.boolean() }),
    fc.record({ k: fc.constant('pressure' as const) }),
  );

/** THPs on: faults, device faults and migrations meet huge PMDs (the THP variant below). */
const THP = {
  enabled: 'always' as const,
  useZeroPage: true,
  pagesToScan: 4096,
  maxPtesNone: 511,
  maxPtesSwap: 64,
  maxPtesShared: 256,
};

function run(ops: readonly Op[], pages = PAGES, thp = false, peer = false): void {
  const PAGES = pages;
  const machine = machineOf(peer);
  const sys = new System({
    machine: thp ? { ...machine, thp: THP } : machine,
    design: 'hmm',
    seed: 7,
    check: true,
  });
  const task = sys.spawn('app', 0)!;
  expect(sys.attach(task, 'gpu0')).toBeNull();
  expect(sys.attach(task, 'gpu1')).toBeNull();
  expect(sys.attach(task, 'gpu2')).toBeNull();
  const m = sys.mmap(task, fixedAnon(BASE, PAGES * 4096));
  expect(m.ok).toBe(true);
  const ref = new Array<number>(PAGES).fill(0);
  const at = (p: number) => BASE + p * 4096;
  const clip = (p: number, n: number) => Math.min(n, PAGES - p);
  let children = 0;
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
        const r = sys.deviceRun(task, `gpu${o.dev}`, {
          addr: at(o.page),
          length: n * 4096,
          op: o.op,
          pattern: 'sequential',
          stride: 4096,
        });
        const write = o.op !== 'read';
        peerMapped[peer ? 'peer' : 'alone'] += peerPagesMapped(
          sys,
          task,
          `gpu${o.dev}`,
          at(o.page) / 4096,
          n,
        );
        if (r.error !== undefined) {
          // A device write to a device-private page of its owner (its own, or a peer's) left
          // read-only (by fork, mprotect): hmm_range_fault reports it read-only without
          // faulting it (dev_private_owner), and
          // the driver fails the fault (dmirror_do_fault: EFAULT). Each page of the range
          // holds its old contents or one the device wrote before the failure.
          expect(write && r.error === 'EFAULT').toBe(true);
          for (let p = o.page; p < o.page + n; p++) {
            const v = sys.access(task, at(p), 'read');
            expect(v === ref[p] || v > before).toBe(true);
            ref[p] = v;
          }
          break;
        }
        if (write) {
          // Every page of the range got a new token: read them back through the CPU (which
          // takes device-exclusive pages back from the device).
          for (let p = o.page; p < o.page + n; p++) {
            const v = sys.access(task, at(p), 'read');
            expect(v).toBeGreaterThan(before);
            ref[p] = v;
          }
        }
        // What the device sees now, page by page (one-page kernels, mapped already).
        for (let p = o.page; p < o.page + n; p++) {
          const one = sys.deviceRun(task, `gpu${o.dev}`, {
            addr: at(p),
            length: 4096,
            op: 'read',
            pattern: 'sequential',
            stride: 4096,
          });
          expect(one.error).toBeUndefined();
          expect(one.lastToken).toBe(ref[p]);
        }
        break;
      }
      case 'migrate': {
        const r = sys.migrate(task, `gpu${o.dev}`, at(o.page), clip(o.page, o.len) * 4096, o.to);
        // ENOENT: pages the device does not map afterwards (on a device of another owner); not
        // an error here.
        if (r.error !== undefined) expect(r.error).toBe('ENOENT');
        break;
      }
      case 'evict':
        sys.evict(`gpu${o.dev}`);
        break;
      case 'protect':
        expect(sys.mprotect(task, at(o.page), clip(o.page, o.len) * 4096, 1).ok).toBe(true);
        expect(sys.mprotect(task, at(o.page), clip(o.page, o.len) * 4096, 3).ok).toBe(true);
        break;
      case 'dontneed': {
        const n = clip(o.page, o.len);
        expect(sys.madvise(task, at(o.page), n * 4096, 'dontneed').ok).toBe(true);
        for (let p = o.page; p < o.page + n; p++) ref[p] = 0;
        break;
      }
      case 'fork': {
        const child = sys.fork(task, `child${children++}`)!;
        // The child sees the parent's data, writes its own copy (by the CPU, or by a device
        // it opens), and exits.
        expect(sys.access(child, at(o.page), 'read')).toBe(ref[o.page]);
        if (o.device) {
          expect(sys.attach(child, 'gpu0')).toBeNull();
          const w = {
            addr: at(o.page),
            length: 4096,
            op: 'write' as const,
            pattern: 'sequential' as const,
            stride: 4096,
          };
          expect(sys.deviceRun(child, 'gpu0', w).error).toBeUndefined();
        } else sys.access(child, at(o.page), 'write');
        sys.exit(child);
        break;
      }
      case 'pressure':
        // Reclaim swaps out what it can (pages the devices map remotely included), then the
        // memory comes back.
        sys.balloon(32 * 2 ** 20 - 16 * 4096);
        sys.balloon(0);
        break;
    }
    expect(sys.check()).toEqual([]);
  }
  for (let p = 0; p < PAGES; p++) expect(sys.access(task, at(p), 'read')).toBe(ref[p]);
  sys.exit(task);
  for (const d of sys.hetero!.devices) {
    expect(d.memoryUsed).toBe(0);
    expect(sys.kernel.phys.hnodeFreePages(d.hnode)).toBe(1024);
  }
  expect(sys.check()).toEqual([]);
}

describe('hmm design: differential property test', () => {
  it('keeps every page’s contents across CPU and device accesses, migrations, fork and exit', () => {
    const ops = opsOf(fc.integer({ min: 0, max: PAGES - 1 }));
    fc.assert(
      fc.property(fc.array(ops, { minLength: 1, maxLength: 40 }), (o) => {
        run(o);
      }),
      { numRuns: 200, seed: 4242 },
    );
    expect(peerMapped.alone).toBe(0); // no owner in common: never another device's private page
  });

  it('does so with peer devices: remote mappings of a peer’s pages, device-to-device migration', () => {
    const ops = opsOf(fc.integer({ min: 0, max: PAGES - 1 }));
    fc.assert(
      fc.property(fc.array(ops, { minLength: 1, maxLength: 40 }), (o) => {
        run(o, PAGES, false, true);
      }),
      { numRuns: 150, seed: 4343 },
    );
    expect(peerMapped.peer).toBeGreaterThan(0); // the runs did map a peer's pages
  });

  it('does so with THPs: huge PMDs split for migration and for atomics, contents intact', () => {
    // 512 pages (one 2 MiB region); the pages picked lie near its start and end.
    const near = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 480, max: 511 }));
    fc.assert(
      fc.property(fc.array(opsOf(near), { minLength: 1, maxLength: 20 }), (o) => {
        run(o, 512, true);
      }),
      { numRuns: 20, seed: 4242 },
    );
  });
});
