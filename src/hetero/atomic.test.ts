import { describe, expect, it } from 'vitest';
import { SwpType } from '../arch/pmap.js';
import { reclaimPages } from '../mm/vmscan.js';
import { deviceSpec, fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System } from '../sim/system.js';

const machine = machineSpec(64 * 2 ** 20, { devices: [deviceSpec()] });

const PAGES = 16;

function setup(shared = false, prot = 3) {
  const sys = new System({
    machine: { ...machine, swapBytes: 2 ** 20 },
    design: 'hmm',
    seed: 1,
    check: true,
  });
  const task = sys.spawn('app', 0)!;
  expect(sys.attach(task, 'gpu')).toBeNull();
  const r = sys.mmap(task, fixedAnon(0x200000000, PAGES * 4096, { prot, shared }));
  if (!r.ok) throw new Error(r.errno);
  return { sys, task, addr: r.value };
}

const atomic = (addr: number, pages = PAGES) =>
  ({ addr, length: pages * 4096, op: 'atomic', pattern: 'sequential', stride: 4096 }) as const;

/** The swap type of the CPU entry at addr (-1: none or present). */
function swapType(addr: number, task: ReturnType<System['spawn']>): number {
  const pmap = task!.mm!.pmap;
  const h = pmap.pteLookup(addr / 4096);
  return h >= 0 && pmap.pteIsSwap(h) ? pmap.pteSwapType(h) : -1;
}

describe('device atomics (make_device_exclusive)', () => {
  it('an atomic is a write the CPU reads back after taking the page back', () => {
    const { sys, task, addr } = setup();
    sys.touch(task, { addr, length: PAGES * 4096, op: 'write', pattern: 'sequential' });
    expect(sys.deviceRun(task, 'gpu', atomic(addr)).error).toBeUndefined();
    const written = sys.kernel.phys.lastToken;
    expect(swapType(addr + (PAGES - 1) * 4096, task)).toBe(SwpType.exclusiveWrite);
    expect(sys.access(task, addr + (PAGES - 1) * 4096, 'read')).toBe(written);
    expect(swapType(addr + (PAGES - 1) * 4096, task)).toBe(-1);
    expect(sys.systemCounters().device_exclusive_restored).toBe(1);
    expect(sys.check()).toEqual([]);
  });

  it('untouched memory is faulted in writable by get_user_pages first', () => {
    const { sys, task, addr } = setup();
    expect(sys.deviceRun(task, 'gpu', atomic(addr)).error).toBeUndefined();
    expect(sys.processCounters(task).min_flt).toBe(PAGES);
    expect(sys.deviceCounters().gpu.dev_exclusive).toBe(PAGES);
    expect(sys.systemCounters().AnonPages).toBe(0);
    expect(sys.processCounters(task).RssAnon).toBe(PAGES * 4096);
  });

  it('munmap frees device-exclusive pages (the entry held the last reference)', () => {
    const { sys, task, addr } = setup();
    const free0 = sys.systemCounters().MemFree;
    sys.deviceRun(task, 'gpu', atomic(addr));
    expect(sys.systemCounters().MemFree).toBeLessThan(free0);
    expect(sys.munmap(task, addr, PAGES * 4096).ok).toBe(true);
    expect(sys.processCounters(task).RssAnon).toBe(0);
    expect(sys.check()).toEqual([]);
    // Only page-table pages remain of what the run allocated.
    expect(free0 - sys.systemCounters().MemFree).toBeLessThanOrEqual(4 * 4096);
  });

  it('reclaim writes a device-exclusive page to swap but cannot free it', () => {
    const { sys, task, addr } = setup();
    sys.deviceRun(task, 'gpu', atomic(addr, 1));
    const written = sys.kernel.phys.lastToken;
    const pfn = task.mm!.pmap.pteSwapSlot(task.mm!.pmap.pteLookup(addr / 4096));
    // add_to_swap, pageout (pswpout), then __remove_mapping fails on the entry's reference.
    expect(reclaimPages(sys.kernel, [pfn], 0)).toBe(0);
    expect(sys.systemCounters().pswpout).toBe(1);
    expect(sys.systemCounters().SwapCached).toBe(4096);
    expect(sys.check()).toEqual([]);
    // Clean now: a second pass writes nothing and still cannot free it.
    expect(reclaimPages(sys.kernel, [pfn], 0)).toBe(0);
    expect(sys.systemCounters().pswpout).toBe(1);
    expect(swapType(addr, task)).toBe(SwpType.exclusiveWrite);
    expect(sys.access(task, addr, 'read')).toBe(written);
    expect(sys.check()).toEqual([]);
  });

  it('shared memory cannot be made exclusive (EBUSY); a read-only area cannot be written (EFAULT)', () => {
    const shared = setup(true);
    const r = shared.sys.deviceRun(shared.task, 'gpu', atomic(shared.addr));
    expect(r.error).toBe('EBUSY');
    expect(shared.sys.check()).toEqual([]);
    const ro = setup(false, 1);
    expect(ro.sys.deviceRun(ro.task, 'gpu', atomic(ro.addr)).error).toBe('EFAULT');
  });

  it("atomics on the device's own memory need no exclusive entry", () => {
    const { sys, task, addr } = setup();
    sys.touch(task, { addr, length: PAGES * 4096, op: 'write', pattern: 'sequential' });
    expect(sys.migrate(task, 'gpu', addr, PAGES * 4096, 'device').error).toBeUndefined();
    expect(sys.deviceRun(task, 'gpu', atomic(addr)).error).toBeUndefined();
    const c = sys.deviceCounters().gpu;
    expect(c.dev_faults).toBe(0);
    expect(c.dev_exclusive).toBe(0);
    expect(c.dev_remote_accesses).toBe(0);
  });

  it('the checker finds an atomic mapping whose CPU entry is no longer device-exclusive', () => {
    const { sys, task, addr } = setup();
    sys.deviceRun(task, 'gpu', atomic(addr, 1));
    expect(sys.check()).toEqual([]);
    // Restore the CPU entry behind the notifier's back, as a missing hook would.
    const pmap = task.mm!.pmap;
    const h = pmap.pteLookup(addr / 4096);
    const pfn = pmap.pteSwapSlot(h);
    pmap.pteSet(h, pfn, 1);
    sys.kernel.phys.frames.mapcount[pfn]++;
    sys.kernel.anonPages++;
    expect(sys.check().some((v) => v.includes('not device-exclusive'))).toBe(true);
  });

  it('mremap moves device-exclusive entries; MADV_DONTNEED drops them', () => {
    const { sys, task, addr } = setup();
    sys.touch(task, { addr, length: PAGES * 4096, op: 'write', pattern: 'sequential' });
    sys.deviceRun(task, 'gpu', atomic(addr));
    const written = sys.kernel.phys.lastToken;
    const to = 0x300000000;
    const r = sys.mremap(task, {
      addr,
      oldLen: PAGES * 4096,
      newLen: PAGES * 4096,
      maymove: true,
      fixed: true,
      dontunmap: false,
      newAddr: to,
    });
    expect(r.ok).toBe(true);
    expect(sys.check()).toEqual([]);
    expect(swapType(to + (PAGES - 1) * 4096, task)).toBe(SwpType.exclusiveWrite);
    expect(sys.access(task, to + (PAGES - 1) * 4096, 'read')).toBe(written);
    const free0 = sys.systemCounters().MemFree;
    expect(sys.madvise(task, to, PAGES * 4096, 'dontneed').ok).toBe(true);
    // The PAGES - 1 pages still exclusive and the one restored are all freed.
    expect(sys.systemCounters().MemFree - free0).toBe(PAGES * 4096);
    expect(sys.processCounters(task).RssAnon).toBe(0);
    expect(sys.check()).toEqual([]);
  });

  it('an atomic on THP memory fails with EBUSY: get_user_pages splits the PMD, the folio stays whole', () => {
    const thp = {
      enabled: 'always' as const,
      useZeroPage: true,
      pagesToScan: 4096,
      maxPtesNone: 511,
      maxPtesSwap: 64,
      maxPtesShared: 256,
    };
    const sys = new System({ machine: { ...machine, thp }, design: 'hmm', seed: 1, check: true });
    const task = sys.spawn('app', 0)!;
    expect(sys.attach(task, 'gpu')).toBeNull();
    const r = sys.mmap(task, fixedAnon(0x200000000, 2 ** 21));
    if (!r.ok) throw new Error(r.errno);
    // Untouched: the fault for FOLL_WRITE maps a THP, which FOLL_SPLIT_PMD splits.
    expect(sys.deviceRun(task, 'gpu', atomic(r.value + 5 * 4096, 1)).error).toBe('EBUSY');
    const c = sys.systemCounters();
    expect(c.thp_fault_alloc).toBe(1);
    expect(c.thp_split_pmd).toBe(1);
    expect(sys.deviceCounters().gpu.dev_exclusive).toBe(0);
    expect(sys.check()).toEqual([]);
    expect(sys.access(task, r.value + 5 * 4096, 'read')).toBe(0);
  });
});
