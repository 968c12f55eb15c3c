// The hmm driver's use of the device policies (policy.ts): placement with thrashing
// mitigation, prefetch widening a fault batch, eviction when device memory is full, and
// access-counter notifications. hmm.ts calls these; the policies only count and decide.

import { isDevicePrivateType } from '../arch/pmap.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm, Task } from '../mm/mm.js';
import { rmapWalk } from '../mm/rmap.js';
import { PG } from '../phys/frames.js';
import { coherentToSystem } from './coherent.js';
import type { Device, DeviceContext } from './device.js';
import { devicePrivateWalk, migrateBack, migrateToDevice } from './migrate.js';
import { type AccessCounterPolicy, CHUNK_PAGES, Thrash, type ThrashingPolicy } from './policy.js';
import { createAccessCounters, createThrashing } from './policy-thrashing.js';

/** A mirror's policy state: keyed by page (thrashing) and region (access counters) of its mm. */
export interface MirrorPolicies {
  readonly thrashing: ThrashingPolicy;
  readonly access: AccessCounterPolicy;
}

export function mirrorPolicies(dev: Device): MirrorPolicies {
  const p = dev.policies;
  return {
    thrashing: createThrashing(p.thrashing),
    access: createAccessCounters(p.placement.threshold, p.placement.granularity),
  };
}

/** Is the CPU entry at vpn a device-private page of dev? */
function onDevice(k: Kernel, mm: Mm, dev: Device, vpn: number): boolean {
  const h = mm.pmap.pteLookup(vpn);
  if (h < 0 || !mm.pmap.pteIsSwap(h) || !isDevicePrivateType(mm.pmap.pteSwapType(h))) return false;
  return k.phys.nodeOf(mm.pmap.pteSwapSlot(h)) - k.phys.nodes.length === dev.hnode;
}

/**
 * Migrate the private anonymous range [start, end) to dev, as placement wants, except pages
 * the thrashing policy keeps in system memory (they are mapped remotely by the range fault
 * that follows). The caller holds mmap_lock (read).
 */
export function placeRange(
  k: Kernel,
  task: Task,
  dev: Device,
  ctx: DeviceContext,
  pol: MirrorPolicies,
  start: number,
  end: number,
): void {
  const t = pol.thrashing;
  if (t.name === 'none') {
    migrateToDevice(k, task, dev, ctx, start, end);
    return;
  }
  const mm = task.mm!;
  const now = dev.stats.dev_fault_batches;
  let run = -1;
  const flush = (to: number): void => {
    if (run < 0) return;
    migrateToDevice(k, task, dev, ctx, run, to);
    for (let v = run; v < to; v++) if (onDevice(k, mm, dev, v)) t.migrated(v, now);
    run = -1;
  };
  for (let vpn = start; vpn < end; vpn++) {
    const verdict = onDevice(k, mm, dev, vpn) ? Thrash.no : t.wants(vpn, now);
    if (verdict === Thrash.no) {
      if (run < 0) run = vpn;
      continue;
    }
    flush(vpn);
    dev.stats.dev_thrashing_remote++;
    if (verdict === Thrash.detected) dev.stats.dev_thrashing_pages++;
  }
  flush(end);
}

/** Masks for one prefetch decision, reused (CHUNK_PAGES entries each). */
const faulted = new Uint8Array(CHUNK_PAGES);
const resident = new Uint8Array(CHUNK_PAGES);
const prefetch = new Uint8Array(CHUNK_PAGES);

/**
 * Widen a batch: for each 2 MiB region with faults, the prefetch policy names more pages
 * of the faulting VMA's part of it; their device pages join `blocks` (device page -> write),
 * serviced like faulted ones. `per` is 4 KiB pages per device page.
 */
export function prefetchBlocks(
  k: Kernel,
  mm: Mm,
  dev: Device,
  ctx: DeviceContext,
  blocks: Map<number, boolean>,
  per: number,
): void {
  if (dev.prefetch.name === 'none') return;
  const regions = new Set<number>();
  for (const b of blocks.keys()) regions.add(Math.floor((b * per) / CHUNK_PAGES));
  for (const region of regions) {
    const base = region * CHUNK_PAGES;
    let vma = null;
    faulted.fill(0);
    for (const [b, _w] of blocks) {
      for (let v = b * per; v < (b + 1) * per; v++) {
        if (v < base || v >= base + CHUNK_PAGES) continue;
        vma ??= mm.vmaAt(v) ?? null;
        faulted[v - base] = 1;
      }
    }
    if (vma === null) continue;
    const first = Math.max(vma.start, base) - base;
    const outer = Math.min(vma.end, base + CHUNK_PAGES) - base;
    let write = false;
    for (const [b, w] of blocks) if (w && Math.floor((b * per) / CHUNK_PAGES) === region) write = true;
    for (let i = 0; i < CHUNK_PAGES; i++) {
      if (i < first || i >= outer) faulted[i] = 0;
      resident[i] =
        i >= first && i < outer && (ctx.pt.lookup(base + i) !== 0 || onDevice(k, mm, dev, base + i)) ? 1 : 0;
    }
    if (dev.prefetch.expand(faulted, resident, first, outer, prefetch) === 0) continue;
    for (let i = first; i < outer; i++) {
      if (prefetch[i] === 0) continue;
      const b = Math.floor((base + i) / per);
      // A device page that sticks out of the VMA is not prefetched (its range would leave it).
      if (blocks.has(b) || b * per < vma.start || (b + 1) * per > vma.end) continue;
      blocks.set(b, write);
      dev.stats.dev_prefetch_pages += per;
    }
  }
}

/**
 * A device page (private or coherent) goes back to system memory, as the driver's eviction
 * moves it (migrate_device_range, or migrate_vma with SELECT_DEVICE_COHERENT); its mappers'
 * thrashing history goes first (`forget`): the move is the driver's, not a round trip.
 * False when system memory ran out.
 */
export function deviceToSystem(
  k: Kernel,
  dev: Device,
  pfn: number,
  forget: (mm: Mm, vpn: number) => void,
): boolean {
  if (k.phys.frames.has(pfn, PG.deviceCoherent)) {
    rmapWalk(k, pfn, (mm, _vma, vpn) => forget(mm, vpn));
    return coherentToSystem(k, dev, pfn, 0);
  }
  devicePrivateWalk(k, pfn, (mm, _vma, vpn) => forget(mm, vpn));
  return migrateBack(k, dev, pfn);
}

/**
 * The driver evicts (Device.onFull): the eviction policy's victim chunk goes back to system
 * memory page by page, as migrate_to_ram would bring each (every mapper, notifiers, device
 * mappings dropped). True when a page was freed. `forget` clears the evicted pages' thrashing
 * history: an eviction is not a round trip the program made.
 */
export function evictChunk(k: Kernel, dev: Device, forget: (mm: Mm, vpn: number) => void): boolean {
  const chunk = dev.eviction.victim(dev.pinned);
  if (chunk < 0) return false;
  const node = k.phys.hnodes[dev.hnode];
  const first = node.startPfn + chunk * CHUNK_PAGES;
  const end = Math.min(first + CHUNK_PAGES, node.startPfn + node.nframes);
  const f = k.phys.frames;
  // The chunk's large leaves go whole first, one invalidation per context (UVM unmaps a root
  // chunk's mappings before it copies it out): unmapping its pages one by one below would
  // split each leaf, allocating a page table in memory that is full.
  for (const ctx of dev.contexts.values())
    if (ctx.pt.unmapLargeFrames(first, end) > 0) dev.invalidateTlb(ctx.mm.id, 0, Number.POSITIVE_INFINITY);
  let n = 0;
  for (let p = first; p < end; p++) {
    if (!f.has(p, PG.devicePrivate) && !f.has(p, PG.deviceCoherent)) continue;
    if (!deviceToSystem(k, dev, p, forget)) break;
    n++;
  }
  if (n === 0) return false;
  dev.stats.dev_evictions++;
  dev.stats.dev_evicted_pages += n;
  return true;
}

/**
 * A device access reached system memory at vpn: the access counter of its region counts it;
 * at the threshold the notification migrates the region's part of the VMA to the device
 * (placement access_counters, private anonymous memory; thrashing still applies).
 */
export function remoteAccess(
  k: Kernel,
  task: Task,
  dev: Device,
  ctx: DeviceContext,
  pol: MirrorPolicies,
  vpn: number,
): void {
  const per = pol.access.regionPages;
  const region = Math.floor(vpn / per);
  if (!pol.access.access(region)) return;
  dev.stats.dev_access_notifications++;
  // A notification is an operation of its own, except while a batch replays: the batch's
  // chunks stay pinned until its accesses are done.
  if (!dev.replaying) dev.beginOperation();
  const vma = task.mm!.vmaAt(vpn);
  if (vma === undefined || vma.file !== null) return;
  dev.stats.lock_mmap_read++;
  const start = Math.max(region * per, vma.start);
  const end = Math.min((region + 1) * per, vma.end);
  // The counters count accesses to memory that exists: holes of the region stay holes.
  const pmap = task.mm!.pmap;
  let run = -1;
  for (let v = start; v <= end; v++) {
    const h = v < end ? pmap.pteLookup(v) : -1;
    if (h >= 0 && pmap.ptePresent(h)) {
      if (run < 0) run = v;
    } else if (run >= 0) {
      placeRange(k, task, dev, ctx, pol, run, v);
      run = -1;
    }
  }
}

/**
 * Invariant: the eviction policy counts, chunk by chunk, exactly the device-private pages the
 * device's memory holds. No side effects.
 */
export function checkEvictionCounts(k: Kernel, devices: readonly Device[]): string[] {
  const out: string[] = [];
  const f = k.phys.frames;
  for (const dev of devices) {
    const node = k.phys.hnodes[dev.hnode];
    for (let c = 0; c * CHUNK_PAGES < node.nframes; c++) {
      let n = 0;
      const first = node.startPfn + c * CHUNK_PAGES;
      for (let p = first; p < Math.min(first + CHUNK_PAGES, node.startPfn + node.nframes); p++)
        if (f.has(p, PG.devicePrivate) || f.has(p, PG.deviceCoherent)) n++;
      if (dev.eviction.pages(c) !== n)
        out.push(
          `checkEvictionCounts: ${dev.spec.name} chunk ${c} holds ${n} private pages, the policy counts ${dev.eviction.pages(c)}`,
        );
    }
  }
  return out;
}
