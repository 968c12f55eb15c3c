import { describe, expect, it } from 'vitest';
import { SwpType } from '../arch/pmap.js';
import { reclaimPages } from '../mm/vmscan.js';
import { PG } from '../phys/frames.js';
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
    expect(swapType(addr + (PAGES - 1) * 4096, task)).toBe(SwpType.exclusive);
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
    // 6.15+: the device-exclusive entry keeps the page mapped (NR_ANON_MAPPED unchanged).
    expect(sys.systemCounters().AnonPages).toBe(PAGES * 4096);
    expect(sys.processCounters(task).RssAnon).toBe(PAGES * 4096);
    const pfn = task.mm!.pmap.pteSwapSlot(task.mm!.pmap.pteLookup(addr / 4096));
    expect(sys.kernel.phys.frames.mapcount[pfn]).toBe(1);
    expect(sys.kernel.phys.frames.refcount[pfn]).toBe(1);
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

  it('reclaim swaps a device-exclusive page out and the device loses its atomic mapping (6.15+)', () => {
    const { sys, task, addr } = setup();
    sys.deviceRun(task, 'gpu', atomic(addr, 1));
    const written = sys.kernel.phys.lastToken;
    const pmap = task.mm!.pmap;
    const pfn = pmap.pteSwapSlot(pmap.pteLookup(addr / 4096));
    const ctx = sys.hetero!.devices[0].contexts.get(task.mm!.id)!;
    expect(ctx.pt.lookup(addr / 4096)).not.toBe(0);
    // try_to_unmap_one finds the entry (page_vma_mapped_walk), notifies, and replaces it with
    // a swap entry; the dirty page is written (pswpout) and freed.
    expect(reclaimPages(sys.kernel, [pfn], 0)).toBe(1);
    expect(sys.systemCounters().pswpout).toBe(1);
    expect(sys.systemCounters().AnonPages).toBe(0);
    expect(sys.processCounters(task).RssAnon).toBe(0);
    expect(sys.processCounters(task).VmSwap).toBe(4096);
    expect(swapType(addr, task)).toBe(SwpType.swap);
    expect(ctx.pt.lookup(addr / 4096)).toBe(0);
    expect(sys.check()).toEqual([]);
    // The CPU swaps it back in with the device's write intact.
    expect(sys.access(task, addr, 'read')).toBe(written);
    expect(sys.systemCounters().pswpin).toBe(1);
    expect(sys.check()).toEqual([]);
  });

  it('a MADV_FREE page made device-exclusive is not discarded: get_user_pages dirtied it (FOLL_TOUCH)', () => {
    const { sys, task, addr } = setup();
    sys.touch(task, { addr, length: 4096, op: 'write', pattern: 'sequential' });
    expect(sys.madvise(task, addr, 4096, 'free').ok).toBe(true);
    sys.deviceRun(task, 'gpu', atomic(addr, 1));
    const written = sys.kernel.phys.lastToken;
    const pmap = task.mm!.pmap;
    const pfn = pmap.pteSwapSlot(pmap.pteLookup(addr / 4096));
    expect(swapType(addr, task)).toBe(SwpType.exclusive);
    // The entry is clean to core mm, but the page is dirty: lazyfree keeps it.
    expect(reclaimPages(sys.kernel, [pfn], 0)).toBe(0);
    expect(sys.systemCounters().pglazyfreed).toBe(0);
    expect(sys.check()).toEqual([]);
    expect(sys.access(task, addr, 'read')).toBe(written);
  });

  it('mprotect leaves a device-exclusive entry alone; the restore makes it read-only (6.15+)', () => {
    const { sys, task, addr } = setup();
    sys.deviceRun(task, 'gpu', atomic(addr, 1));
    expect(sys.mprotect(task, addr, PAGES * 4096, 1).ok).toBe(true);
    expect(swapType(addr, task)).toBe(SwpType.exclusive);
    expect(sys.check()).toEqual([]);
    sys.access(task, addr, 'read');
    const pmap = task.mm!.pmap;
    const h = pmap.pteLookup(addr / 4096);
    expect(pmap.ptePresent(h)).toBe(true);
    expect(pmap.pteAttrs(h) & 1).toBe(0); // PteAttr.write
    expect(sys.systemCounters().device_exclusive_restored).toBe(1);
    expect(sys.check()).toEqual([]);
  });

  it('shared memory cannot be made exclusive (EOPNOTSUPP); a read-only area cannot be written (EFAULT)', () => {
    const shared = setup(true);
    const r = shared.sys.deviceRun(shared.task, 'gpu', atomic(shared.addr));
    expect(r.error).toBe('EOPNOTSUPP');
    expect(shared.sys.deviceCounters().gpu.dev_exclusive).toBe(0);
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
    expect(sys.check().some((v) => v.includes('not device-exclusive'))).toBe(true);
  });

  it('the checker finds a device-exclusive page that lost its mapping count (the pre-6.15 rule)', () => {
    const { sys, task, addr } = setup();
    sys.deviceRun(task, 'gpu', atomic(addr, 1));
    const pfn = task.mm!.pmap.pteSwapSlot(task.mm!.pmap.pteLookup(addr / 4096));
    // What make_device_exclusive_range did before 6.15: page_remove_rmap, the reference kept.
    sys.kernel.phys.frames.mapcount[pfn]--;
    sys.kernel.anonPages--;
    expect(sys.check().some((v) => v.includes(`pfn ${pfn} mapcount 0`))).toBe(true);
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
    expect(swapType(to + (PAGES - 1) * 4096, task)).toBe(SwpType.exclusive);
    expect(sys.access(task, to + (PAGES - 1) * 4096, 'read')).toBe(written);
    const free0 = sys.systemCounters().MemFree;
    expect(sys.madvise(task, to, PAGES * 4096, 'dontneed').ok).toBe(true);
    // The PAGES - 1 pages still exclusive and the one restored are all freed.
    expect(sys.systemCounters().MemFree - free0).toBe(PAGES * 4096);
    expect(sys.processCounters(task).RssAnon).toBe(0);
    expect(sys.check()).toEqual([]);
  });

  function thpSetup() {
    const thp = {
      enabled: 'always' as const,
      useZeroPage: true,
      pagesToScan: 4096,
      maxPtesNone: 511,
      maxPtesSwap: 64,
      maxPtesShared: 256,
    };
    const sys = new System({
      machine: { ...machine, thp, swapBytes: 4 * 2 ** 20 },
      design: 'hmm',
      seed: 1,
      check: true,
    });
    const task = sys.spawn('app', 0)!;
    expect(sys.attach(task, 'gpu')).toBeNull();
    const r = sys.mmap(task, fixedAnon(0x200000000, 2 ** 21));
    if (!r.ok) throw new Error(r.errno);
    return { sys, task, addr: r.value };
  }

  it('a page of a THP becomes device-exclusive: get_user_pages splits the PMD, the folio stays whole (6.15+)', () => {
    const { sys, task, addr } = thpSetup();
    // Untouched: the fault for FOLL_WRITE maps a THP, which FOLL_SPLIT_PMD splits.
    expect(sys.deviceRun(task, 'gpu', atomic(addr + 5 * 4096, 1)).error).toBeUndefined();
    const written = sys.kernel.phys.lastToken;
    const c = sys.systemCounters();
    expect(c.thp_fault_alloc).toBe(1);
    expect(c.thp_split_pmd).toBe(1);
    expect(c.thp_split_page).toBe(0);
    expect(c.AnonPages).toBe(2 ** 21);
    expect(sys.deviceCounters().gpu.dev_exclusive).toBe(1);
    const pfn = task.mm!.pmap.pteSwapSlot(task.mm!.pmap.pteLookup(addr / 4096 + 5));
    expect(sys.kernel.phys.frames.has(pfn, PG.compound)).toBe(true);
    expect(swapType(addr + 5 * 4096, task)).toBe(SwpType.exclusive);
    expect(sys.check()).toEqual([]);
    expect(sys.access(task, addr + 5 * 4096, 'read')).toBe(written);
    expect(sys.check()).toEqual([]);
  });

  it('splitting a THP turns its device-exclusive entries into present read-only ones (try_to_migrate_one)', () => {
    const { sys, task, addr } = thpSetup();
    sys.deviceRun(task, 'gpu', atomic(addr + 5 * 4096, 1));
    const written = sys.kernel.phys.lastToken;
    const pmap = task.mm!.pmap;
    const h = pmap.pteLookup(addr / 4096 + 5);
    const pfn = pmap.pteSwapSlot(h);
    const head = sys.kernel.phys.frames.headOf(pfn);
    const ctx = sys.hetero!.devices[0].contexts.get(task.mm!.id)!;
    const inv = sys.systemCounters().hmm_invalidations;
    // Reclaim at the folio: add_to_swap cannot take it whole, so it is split (thp_swpout_fallback).
    reclaimPages(sys.kernel, [head], 0);
    expect(sys.systemCounters().thp_split_page).toBe(1);
    expect(pmap.ptePresent(h)).toBe(true);
    expect(pmap.pteAttrs(h) & 1).toBe(0); // PteAttr.write: a readable migration entry
    expect(sys.kernel.phys.frames.has(pfn, PG.anonExclusive)).toBe(true);
    expect(ctx.pt.lookup(addr / 4096 + 5)).toBe(0);
    expect(sys.systemCounters().hmm_invalidations).toBe(inv + 1);
    expect(sys.check()).toEqual([]);
    expect(sys.access(task, addr + 5 * 4096, 'read')).toBe(written);
    // The CPU write reuses the page (anon-exclusive): no copy.
    const copied = sys.systemCounters().pages_copied;
    sys.access(task, addr + 5 * 4096, 'write');
    expect(sys.systemCounters().pages_copied).toBe(copied);
    expect(sys.check()).toEqual([]);
  });
});
