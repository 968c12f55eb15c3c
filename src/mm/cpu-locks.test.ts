// The CPU-side lock counts where the kernel's rule is subtle: madvise's lock by advice,
// vmf_anon_prepare's trylock (only under the per-VMA lock), the retries of migrate_to_ram,
// huge-PMD faults, and the downgrades of brk and mremap. Numbers from mainline 6.x.

import { describe, expect, it } from 'vitest';
import { deviceSpec, fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System, type SystemCounters } from '../sim/system.js';
import type { ThpEnabled } from '../workload/scenario.js';
import { DEFAULT_THP } from './thp-state.js';

const MiB = 2 ** 20;
const BASE = 0x7f00_0000_0000;
const PAGE = 4096;

type LockCounter =
  | 'lock_cpu_mmap_read'
  | 'lock_cpu_mmap_write'
  | 'lock_cpu_mmap_downgrade'
  | 'lock_cpu_vma_read'
  | 'lock_cpu_ptl'
  | 'lock_cpu_pmd'
  | 'vma_lock_success'
  | 'vma_lock_abort'
  | 'vma_lock_retry';
const NAMES: LockCounter[] = [
  'lock_cpu_mmap_read',
  'lock_cpu_mmap_write',
  'lock_cpu_mmap_downgrade',
  'lock_cpu_vma_read',
  'lock_cpu_ptl',
  'lock_cpu_pmd',
  'vma_lock_success',
  'vma_lock_abort',
  'vma_lock_retry',
];

/** The lock counters' growth over fn, zeros left out. */
function delta(sys: System, fn: () => void): Partial<Record<LockCounter, number>> {
  const before: SystemCounters = sys.systemCounters();
  fn();
  const after = sys.systemCounters();
  const out: Partial<Record<LockCounter, number>> = {};
  for (const n of NAMES) if (after[n] !== before[n]) out[n] = after[n] - before[n];
  return out;
}

function linux(thp: ThpEnabled = 'madvise') {
  const sys = new System({
    machine: machineSpec(64 * MiB, { thp: { ...DEFAULT_THP, enabled: thp } }),
    design: 'linux',
    seed: 1,
    check: true,
  });
  const task = sys.spawn('app', 0)!;
  return { sys, task };
}

describe('madvise takes the lock its advice needs', () => {
  function mapped() {
    const { sys, task } = linux();
    expect(sys.mmap(task, fixedAnon(BASE, 16 * PAGE)).ok).toBe(true);
    expect(sys.mmap(task, fixedAnon(BASE + 16 * PAGE, 16 * PAGE, { prot: 1 })).ok).toBe(true);
    return { sys, task };
  }

  it('flag changes write-lock mmap_lock, COLD and PAGEOUT read-lock it', () => {
    const { sys, task } = mapped();
    expect(delta(sys, () => sys.madvise(task, BASE, PAGE, 'dontfork'))).toEqual({ lock_cpu_mmap_write: 1 });
    expect(delta(sys, () => sys.madvise(task, BASE, PAGE, 'cold'))).toEqual({ lock_cpu_mmap_read: 1 });
  });

  it('DONTNEED inside one VMA needs only its VMA lock; across two, mmap_lock after it', () => {
    const { sys, task } = mapped();
    sys.touch(task, { addr: BASE, length: 32 * PAGE, op: 'read', pattern: 'sequential' });
    expect(delta(sys, () => sys.madvise(task, BASE, 4 * PAGE, 'dontneed'))).toEqual({
      lock_cpu_vma_read: 1,
      lock_cpu_ptl: 1,
    });
    // is_vma_lock_sufficient: the range ends past the first VMA; each VMA's zap locks the table.
    expect(delta(sys, () => sys.madvise(task, BASE, 32 * PAGE, 'dontneed'))).toEqual({
      lock_cpu_vma_read: 1,
      lock_cpu_mmap_read: 1,
      lock_cpu_ptl: 2,
    });
  });

  it('DONTNEED starting in a hole: lock_vma_under_rcu aborts and mmap_lock is taken', () => {
    const { sys, task } = mapped();
    const r = sys.madvise(task, BASE - 4 * PAGE, 8 * PAGE, 'dontneed');
    expect(r.ok).toBe(false);
    expect(sys.systemCounters().vma_lock_abort).toBe(1);
    expect(sys.systemCounters().lock_cpu_vma_read).toBe(0);
  });
});

describe('vmf_anon_prepare', () => {
  it('takes mmap_lock (trylock) only for a fault under the VMA lock alone', () => {
    const { sys, task } = linux();
    // MAP_POPULATE: GUP faults under the populate's mmap_lock: anon_vma_prepare needs no more.
    expect(delta(sys, () => sys.mmap(task, fixedAnon(BASE, 4 * PAGE, { populate: true })))).toEqual({
      lock_cpu_mmap_write: 1,
      lock_cpu_mmap_read: 1,
      lock_cpu_ptl: 4,
      lock_cpu_pmd: 1,
    });
    // A CPU write fault on a fresh area of the same table: VMA lock, then the trylock.
    sys.mmap(task, fixedAnon(BASE + 8 * PAGE, 4 * PAGE));
    expect(delta(sys, () => sys.access(task, BASE + 8 * PAGE, 'write'))).toEqual({
      lock_cpu_vma_read: 1,
      vma_lock_success: 1,
      lock_cpu_mmap_read: 1,
      lock_cpu_ptl: 1,
    });
    // A read fault maps the zero page: no anon_vma needed, no mmap_lock.
    expect(delta(sys, () => sys.access(task, BASE + 9 * PAGE, 'read'))).toEqual({
      lock_cpu_vma_read: 1,
      vma_lock_success: 1,
      lock_cpu_ptl: 1,
    });
  });
});

describe('huge PMD faults take the PMD lock', () => {
  it('a THP write fault: the trylock for the anon_vma, one PMD lock, no PTE lock', () => {
    const { sys, task } = linux('always');
    sys.mmap(task, fixedAnon(BASE, 4 * MiB));
    expect(delta(sys, () => sys.access(task, BASE, 'write'))).toEqual({
      lock_cpu_vma_read: 1,
      vma_lock_success: 1,
      lock_cpu_mmap_read: 1,
      lock_cpu_pmd: 1,
    });
    // munmap of the whole THP: zap_huge_pmd under the PMD lock.
    expect(delta(sys, () => sys.munmap(task, BASE, 2 * MiB))).toEqual({
      lock_cpu_mmap_write: 1,
      lock_cpu_mmap_downgrade: 1,
      lock_cpu_pmd: 1,
    });
  });
});

describe('unmapping with unlock downgrades mmap_lock', () => {
  it('brk shrink and mremap shrink downgrade; growth and a no-op do not', () => {
    const { sys, task } = linux();
    const start = task.mm!.startBrk;
    expect(delta(sys, () => sys.brk(task, start + 8 * PAGE))).toEqual({ lock_cpu_mmap_write: 1 });
    expect(delta(sys, () => sys.brk(task, start + 4 * PAGE))).toEqual({
      lock_cpu_mmap_write: 1,
      lock_cpu_mmap_downgrade: 1,
    });
    sys.mmap(task, fixedAnon(BASE, 8 * PAGE));
    const shrink = { addr: BASE, oldLen: 8 * PAGE, newLen: 4 * PAGE, maymove: false, fixed: false };
    expect(delta(sys, () => sys.mremap(task, { ...shrink, dontunmap: false, newAddr: 0 }))).toEqual({
      lock_cpu_mmap_write: 1,
      lock_cpu_mmap_downgrade: 1,
    });
    // munmap of a hole takes the write lock and has nothing to downgrade for.
    expect(delta(sys, () => sys.munmap(task, BASE + 64 * PAGE, PAGE))).toEqual({ lock_cpu_mmap_write: 1 });
  });
});

describe('migrate_to_ram refuses the VMA lock', () => {
  it('a CPU fault on a device-private page retries under mmap_lock', () => {
    const sys = new System({
      machine: machineSpec(64 * MiB, { devices: [deviceSpec()] }),
      design: 'hmm',
      seed: 1,
      check: true,
    });
    const task = sys.spawn('app', 0)!;
    expect(sys.attach(task, 'gpu')).toBeNull();
    sys.mmap(task, fixedAnon(BASE, 4 * PAGE));
    sys.access(task, BASE, 'write');
    expect(sys.migrate(task, 'gpu', BASE, PAGE, 'device').error).toBeUndefined();
    const d = delta(sys, () => sys.access(task, BASE, 'read'));
    expect(d.lock_cpu_vma_read).toBe(1);
    expect(d.vma_lock_retry).toBe(1);
    expect(d.vma_lock_success).toBeUndefined();
    expect(d.lock_cpu_mmap_read).toBe(1);
  });
});
