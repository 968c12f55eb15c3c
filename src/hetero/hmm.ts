// The `hmm` design's device side (Documentation/mm/hmm.rst), with a driver written after
// lib/test_hmm.c's dmirror: each attached process gets a device page table that mirrors its
// CPU page table through an mmu_interval_notifier over the whole address space (dmirror
// registers 0..ULONG_MAX on open). A device fault runs hmm_range_fault under the notifier's
// sequence protocol and maps what it returns (system pages, used remotely over the link, the
// device's own private pages, or a peer's, used remotely: owner.ts); with placement `migrate`, a fault in private anonymous
// memory first migrates the device page's worth of pages into device memory (migrate_vma_*).
// CPU-side changes reach the mirror as invalidations; a CPU touch of a device-private page
// migrates it back (dev_pagemap_ops.migrate_to_ram).

import type { Errno } from '../lib/errno.js';
import type { Rng } from '../lib/rng.js';
import { VmFault } from '../mm/fault.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm, Task } from '../mm/mm.js';
import type { DevicePagemap } from '../mm/mmu-notifier.js';
import { NotifyEvent } from '../mm/mmu-notifier.js';
import type { Vma } from '../mm/vma.js';
import { atomicFault } from './atomic.js';
import { checkHetero } from './check.js';
import type { DeviceRunRequest, DeviceRunResult, HeteroDesign, MigrateOutcome } from './design.js';
import { Device, type DeviceContext, type DeviceSpec, withPageSize } from './device.js';
import { mapRun } from './device-pages.js';
import { runDeviceKernel } from './device-run.js';
import { migrateRangeToDevice, migrateRangeToSystem } from './hmm-migrate.js';
import {
  checkEvictionCounts,
  deviceToSystem,
  evictChunk,
  type MirrorPolicies,
  mirrorPolicies,
  placeRange,
  prefetchBlocks,
  remoteAccess,
} from './hmm-policy.js';
import { HmmPfn, type HmmRange, hmmRangeFault } from './hmm-range.js';
import { deviceOf, devicePages, devicePrivateWalk, migrateBack } from './migrate.js';
import { type IntervalNotifier, MMU_INTERVAL_NOTIFIER_BYTES, subscriptionsOf } from './notifier.js';
import { sameOwner } from './owner.js';

/** dmirror_range_fault gives up after HMM_RANGE_DEFAULT_TIMEOUT; vmlab after this many retries. */
const MAX_RETRIES = 16;

/** One device mirroring one address space. */
export interface Mirror {
  readonly dev: Device;
  readonly ctx: DeviceContext;
  readonly ni: IntervalNotifier;
  /** Thrashing history and access counters of this address space on this device. */
  readonly pol: MirrorPolicies;
}

export class HmmDesign implements HeteroDesign, DevicePagemap {
  readonly name = 'hmm';
  readonly devices: Device[];
  readonly mirrors: Mirror[] = [];
  private readonly k: Kernel;

  constructor(k: Kernel, specs: readonly DeviceSpec[], rng?: () => Rng) {
    this.k = k;
    this.devices = specs.map((s, i) => new Device(k, i, withPageSize(s, 4096), i, rng));
    for (const dev of this.devices)
      dev.onFull = () => evictChunk(k, dev, (mm, vpn) => this.forget(mm, dev, vpn));
    k.pgmap = this;
  }

  mirrorOf(mm: Mm, dev: Device): Mirror | undefined {
    return this.mirrors.find((m) => m.dev === dev && m.ctx.mm === mm);
  }

  attach(task: Task, dev: Device): Errno | null {
    const mm = task.mm!;
    if (this.mirrorOf(mm, dev) !== undefined) return 'EBUSY';
    const ctx = dev.attach(mm);
    if (ctx === null) return 'ENOMEM';
    const subs = subscriptionsOf(mm);
    const ni = subs.insert(0, mm.pmap.vpnLimit, (n, start, end, event, owner, cur) => {
      dev.stats.hmm_invalidations++;
      // dmirror_interval_invalidate: its own migrations are none of its business; nor are its
      // own exclusive conversions (nouveau_svm_range_invalidate: MMU_NOTIFY_EXCLUSIVE).
      // `owner` is the device that migrates, not the pgmap owner: under a shared owner (peer)
      // range->owner cannot tell a peer's migration from one's own, and a peer mapping the
      // pages must drop them (vmlab's driver knows which of its devices migrates).
      if ((event === NotifyEvent.migrate || event === NotifyEvent.exclusive) && owner === dev) return;
      dev.stats.lock_notifier++;
      n.invalidateSeq = cur; // mmu_interval_set_seq, under the driver's lock
      if (ctx.pt.unmap(start, end) > 0) dev.invalidateTlb(mm.id, start, end);
    });
    this.k.meta.add('mmu_interval_notifier', MMU_INTERVAL_NOTIFIER_BYTES);
    subs.onRelease = () => this.release(mm);
    this.mirrors.push({ dev, ctx, ni, pol: mirrorPolicies(dev) });
    return null;
  }

  detach(task: Task, dev: Device): Errno | null {
    const m = this.mirrorOf(task.mm!, dev);
    if (m === undefined) return 'EINVAL';
    this.drop(m);
    return null;
  }

  private drop(m: Mirror): void {
    subscriptionsOf(m.ctx.mm).remove(m.ni);
    this.k.meta.sub('mmu_interval_notifier', MMU_INTERVAL_NOTIFIER_BYTES);
    m.dev.detach(m.ctx);
    this.mirrors.splice(this.mirrors.indexOf(m), 1);
  }

  /** exit_mmap: unmap_vmas invalidates the whole space; the process's device files close. */
  private release(mm: Mm): void {
    const subs = subscriptionsOf(mm);
    subs.invalidate(0, mm.pmap.vpnLimit, NotifyEvent.unmap, null);
    for (const m of this.mirrors.filter((x) => x.ctx.mm === mm)) this.drop(m);
  }

  run(task: Task, dev: Device, req: DeviceRunRequest): DeviceRunResult {
    const m = this.mirrorOf(task.mm!, dev);
    if (m === undefined) return { accesses: 0, error: 'EINVAL' };
    return runDeviceKernel(
      dev,
      m.ctx,
      req,
      (vpns, writes) => this.service(task, m, vpns, writes, req.op === 'atomic'),
      dev.policies.placement.policy === 'access_counters'
        ? (vpn) => remoteAccess(this.k, task, dev, m.ctx, m.pol, vpn)
        : null,
    );
  }

  /**
   * The driver services a batch of device faults: the faults grouped by device page
   * (page_size), runs of them within one VMA and one 2 MiB region made one range; `migrate`
   * placement moves private anonymous ranges into device memory first; then each range is
   * mirrored (dmirror_fault), or for atomics made device-exclusive (atomic.ts).
   */
  private service(
    task: Task,
    m: Mirror,
    vpns: readonly number[],
    writes: readonly boolean[],
    atomic: boolean,
  ): Errno | null {
    const mm = task.mm!;
    const dev = m.dev;
    dev.beginOperation();
    const per = dev.pagePages;
    const blocks = new Map<number, boolean>();
    for (let i = 0; i < vpns.length; i++) {
      const b = Math.floor(vpns[i] / per);
      blocks.set(b, (blocks.get(b) ?? false) || writes[i]);
    }
    prefetchBlocks(this.k, mm, dev, m.ctx, blocks, per);
    // Adjacent device pages of one VMA and one 2 MiB region (UVM's va_block) make one range.
    const sorted = [...blocks].sort((x, y) => x[0] - y[0]);
    for (let i = 0; i < sorted.length; ) {
      const first = sorted[i][0] * per;
      const vma = mm.vmaAt(Math.max(first, vpns.find((v) => Math.floor(v / per) === sorted[i][0]) ?? first));
      if (vma === undefined) return 'EFAULT';
      const region = Math.floor(first / 512);
      let write = sorted[i][1];
      let j = i + 1;
      while (
        j < sorted.length &&
        sorted[j][0] === sorted[j - 1][0] + 1 &&
        sorted[j][0] * per < vma.end &&
        Math.floor((sorted[j][0] * per) / 512) === region
      ) {
        write ||= sorted[j][1];
        j++;
      }
      const start = Math.max(first, vma.start);
      const end = Math.min((sorted[j - 1][0] + 1) * per, vma.end);
      if (dev.policies.placement.policy === 'migrate' && vma.file === null)
        placeRange(this.k, task, dev, m.ctx, m.pol, start, end);
      const e = atomic
        ? atomicFault(this.k, task, m, start, end, (a, b) => this.rangeFault(task, m, a, b, true))
        : this.rangeFault(task, m, start, end, write);
      if (e !== null) return e;
      i = j;
    }
    return null;
  }

  /**
   * dmirror_range_fault + dmirror_do_fault: read_begin, hmm_range_fault under mmap_lock,
   * then under the driver's lock read_retry (start again if the range was invalidated) and
   * program the device page table from the result.
   */
  private rangeFault(task: Task, m: Mirror, start: number, end: number, write: boolean): Errno | null {
    const dev = m.dev;
    const subs = subscriptionsOf(task.mm!);
    const range: HmmRange = {
      ni: m.ni,
      subs,
      start,
      end,
      write,
      seq: 0,
      pfns: new Float64Array(end - start),
      owns: (pfn) => {
        const d = deviceOf(this.k, this.devices, pfn);
        return d !== undefined && sameOwner(d, dev);
      },
    };
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      range.seq = subs.readBegin(m.ni);
      dev.stats.lock_mmap_read++;
      const r = hmmRangeFault(this.k, task, dev, range);
      if (r === 'EBUSY') continue;
      if (r !== 0) return r;
      dev.stats.lock_notifier++;
      if (subs.readRetry(m.ni, range.seq)) {
        dev.stats.hmm_retries++;
        continue;
      }
      // The device pages the range maps are pinned until the next operation: a table
      // allocation below, or a later range or notification, must not evict them (a peer's
      // pages are not this device's to evict).
      for (let i = 0; i < range.pfns.length; i++) {
        const pfn = Math.floor(range.pfns[i] / 4);
        if ((range.pfns[i] & HmmPfn.valid) !== 0 && dev.ownsFrame(pfn)) dev.pinned.add(dev.chunkOf(pfn));
      }
      // The pages up to the first bad one are mapped (a whole device page of its own memory by
      // one large leaf: device-pages.ts), then the error stops the range.
      let stale = false;
      let error: Errno | null = null;
      let n = 0;
      for (; n < range.pfns.length; n++) {
        const w = range.pfns[n];
        if ((w & HmmPfn.valid) === 0) error = 'EFAULT';
        else if (write && (w & HmmPfn.write) === 0) error = 'EFAULT'; // dmirror_do_fault's WARN_ON: a read-only page of its owner
        if (error !== null) break;
        const old = m.ctx.pt.lookup(start + n);
        if (old !== 0 && Math.floor(old / 8) !== Math.floor(w / 4)) stale = true;
      }
      const pfns = range.pfns;
      if (
        !mapRun(
          dev,
          m.ctx,
          start,
          n,
          (i) => Math.floor(pfns[i] / 4),
          (i) => (pfns[i] & HmmPfn.write) !== 0,
        )
      )
        error ??= 'ENOMEM';
      if (stale) dev.invalidateTlb(m.ctx.mm.id, start, end);
      return error;
    }
    return 'EBUSY';
  }

  migrate(task: Task, dev: Device, addr: number, length: number, to: 'device' | 'system'): MigrateOutcome {
    const m = this.mirrorOf(task.mm!, dev);
    if (m === undefined) return { cpages: 0, error: 'EINVAL' };
    const start = Math.floor(addr / 4096);
    const end = Math.ceil((addr + length) / 4096);
    dev.stats.lock_mmap_read++;
    dev.beginOperation();
    if (to === 'device') return migrateRangeToDevice(this.k, this.devices, task, dev, m.ctx, start, end);
    return migrateRangeToSystem(this.k, this.devices, task, dev, start, end);
  }

  evict(dev: Device): number {
    let n = 0;
    for (const pfn of devicePages(this.k, dev)) {
      if (deviceToSystem(this.k, dev, pfn, (mm, vpn) => this.forget(mm, dev, vpn))) n++;
    }
    return n;
  }

  /** The page's thrashing history on dev goes (the driver moved it, not the program). */
  private forget(mm: Mm, dev: Device, vpn: number): void {
    this.mirrorOf(mm, dev)?.pol.thrashing.forget(vpn);
  }

  /** A CPU load or store reached a device-coherent page: one cache line over the link. */
  cpuAccess(pfn: number): void {
    deviceOf(this.k, this.devices, pfn)?.cpuAccess();
  }

  /** wp_page_copy read a device-coherent page: its 4 KiB crossed the link to system memory. */
  cpuCopy(pfn: number): void {
    deviceOf(this.k, this.devices, pfn)?.transfer(4096, false);
  }

  // ---------------------------------------------------------------- dev_pagemap_ops

  /** dmirror_devmem_fault: the faulting page comes back to system memory. */
  migrateToRam(mm: Mm, _vma: Vma, vpn: number, _cpu: number): VmFault {
    const h = mm.pmap.pteLookup(vpn);
    const pfn = mm.pmap.pteSwapSlot(h);
    const dev = deviceOf(this.k, this.devices, pfn)!;
    dev.stats.dev_cpu_faults++;
    return migrateBack(this.k, dev, pfn) ? VmFault.done : VmFault.oom;
  }

  /** dmirror_devmem_free: the page (private or coherent) returns to the driver's free list. */
  pageFree(pfn: number): void {
    const dev = deviceOf(this.k, this.devices, pfn)!;
    dev.privatePages--;
    dev.freePrivateFrame(pfn);
  }

  check(): string[] {
    return [
      ...checkHetero(this.k, this.devices, this.mirrors, devicePrivateWalk),
      ...checkEvictionCounts(this.k, this.devices),
    ];
  }
}
