// A device sharing the machine: its memory (an hnode of PhysMem, which the CPU allocator never
// uses), its MMU (a page table per attached address space, in its own memory, and a TLB
// tagged by address space), its interconnect to system memory, and its counters.
// What the device does when it faults is the design's (hetero/hmm.ts); this file is the hardware.

import { DevicePageTable } from '../arch/device-mmu.js';
import { Tlb } from '../arch/tlb.js';
import type { Rng } from '../lib/rng.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import { DEVICE_COUNTERS, type DeviceCounter } from '../sim/counter-names.js';
import type { TlbConfig } from '../workload/scenario.js';
import type { DeviceRun } from './device-pages.js';
import {
  CHUNK_PAGES,
  DEFAULT_POLICIES,
  type DevicePolicies,
  type EvictionPolicy,
  type PlacementName,
  type PrefetchPolicy,
} from './policy.js';
import { createEviction } from './policy-eviction.js';
import { createPrefetch } from './policy-prefetch.js';

export interface LinkSpec {
  /** Bytes per second each way. */
  readonly bandwidth: number;
  /** Nanoseconds from request to first byte. */
  readonly latencyNs: number;
}

export interface DeviceSpec {
  readonly name: string;
  /** Bytes of device memory (a multiple of 4 MiB). */
  readonly memory: number;
  /**
   * MMU page size in bytes: 4 KiB, 64 KiB or 2 MiB (the fault and migration granularity);
   * 0: the design's default (4 KiB; gmem: 2 MiB, its series' HPAGE_SIZE).
   */
  readonly pageSize: number;
  readonly tlb: TlbConfig;
  /** Replayable faults: the device queues faults and the driver services them in batches. */
  readonly replayableFaults: boolean;
  /** Faults a batch holds at most (a replayable device's fault buffer per service). */
  readonly faultBatch: number;
  /**
   * Peer access (hmm): devices with `peer` share one pgmap owner, as a driver gives every GPU
   * of a peer-to-peer hive one owner (amdgpu's SVM_ADEV_PGMAP_OWNER: the XGMI hive), so each
   * maps the others' device-private pages over the interconnect (owner.ts). gmem ignores it.
   */
  readonly peer: boolean;
  readonly link: LinkSpec;
  /** What the driver does on a fault: map system memory remotely, migrate it here, or map
   *  remotely until the access counters say migrate (policy.ts). */
  readonly placement: PlacementName;
  /** Placement parameters, prefetch, eviction and thrashing (absent: DEFAULT_POLICIES with
   *  `placement`); policies.placement.policy, when given, is `placement`. */
  readonly policies?: DevicePolicies;
  /**
   * What device memory is to the CPU (struct dev_pagemap's type): `private`
   * (MEMORY_DEVICE_PRIVATE, the default: CPU entries are device-private swap entries) or
   * `coherent` (MEMORY_DEVICE_COHERENT: CPU entries map the device page, which the CPU reaches
   * over the link).
   */
  readonly memoryKind?: 'private' | 'coherent';
  /** gmem: byte ranges of the device's address space already taken (a peer OS's own VMAs). */
  readonly reserved?: readonly { readonly addr: number; readonly length: number }[];
}

/** The spec's policies, defaults filled in. */
export function policiesOf(spec: DeviceSpec): DevicePolicies {
  const p = spec.policies ?? DEFAULT_POLICIES;
  return { ...p, placement: { ...p.placement, policy: spec.placement } };
}

/** The spec with its page size resolved: `dflt` when the scenario gave none. */
export function withPageSize(spec: DeviceSpec, dflt: number): DeviceSpec {
  return spec.pageSize === 0 ? { ...spec, pageSize: dflt } : spec;
}

/** Bytes a device access moves over the link when it reaches system memory (one cache line). */
const REMOTE_ACCESS_BYTES = 64;

/** One address space the device is attached to: its page table there. */
export class DeviceContext {
  readonly mm: Mm;
  readonly pt: DevicePageTable;

  constructor(mm: Mm, pt: DevicePageTable) {
    this.mm = mm;
    this.pt = pt;
  }
}

export class Device {
  readonly id: number;
  readonly spec: DeviceSpec;
  /** Index of its memory in PhysMem.hnodes. */
  readonly hnode: number;
  readonly tlb: Tlb;
  readonly contexts = new Map<number, DeviceContext>();
  /** Counters by name (DEVICE_COUNTERS). */
  readonly stats: Record<DeviceCounter, number>;
  /** Device pages (device-private, or device-coherent) held now. */
  privatePages = 0;
  /** Placement, prefetch, eviction and thrashing, defaults filled in. */
  readonly policies: DevicePolicies;
  /** Which 2 MiB chunk of this device's memory to evict; counts its private pages by chunk. */
  readonly eviction: EvictionPolicy;
  /** What a fault batch services beyond its faults. */
  readonly prefetch: PrefetchPolicy;
  /**
   * The driver's eviction, called when a private-page allocation finds the memory full: true
   * when it freed something (the allocation is retried once). Set by the design.
   */
  onFull: (() => boolean) | null = null;
  /** Chunks the current driver operation allocated into: not eviction victims. */
  readonly pinned = new Set<number>();
  /** The faulted accesses of a serviced batch are replaying: what it mapped must stay. */
  replaying = false;
  /** Device-page blocks reserved by the current migration, by device page (device-pages.ts). */
  readonly runs = new Map<number, DeviceRun>();
  private readonly k: Kernel;

  /** `rng` gives the scenario's seeded stream to a policy that draws (random eviction). */
  constructor(k: Kernel, id: number, spec: DeviceSpec, hnode: number, rng?: () => Rng) {
    this.k = k;
    this.id = id;
    this.spec = spec;
    this.hnode = hnode;
    this.policies = policiesOf(spec);
    this.prefetch = createPrefetch(this.policies.prefetch);
    this.eviction = createEviction(this.policies.eviction.policy, () => {
      if (rng === undefined) throw new Error(`Device ${spec.name}: random eviction needs the scenario's rng`);
      return rng();
    });
    this.tlb = new Tlb(spec.tlb);
    this.stats = Object.fromEntries(Object.keys(DEVICE_COUNTERS).map((n) => [n, 0])) as Record<
      DeviceCounter,
      number
    >;
  }

  /** The kernel whose machine holds this device. */
  get kernel(): Kernel {
    return this.k;
  }

  /** 4 KiB pages per device page. */
  get pagePages(): number {
    return this.spec.pageSize / 4096;
  }

  /** Whether frame pfn is in this device's own memory. */
  ownsFrame(pfn: number): boolean {
    const node = this.k.phys.hnodes[this.hnode];
    return pfn >= node.startPfn && pfn < node.startPfn + node.nframes;
  }

  /** A frame of device memory, or -1 when it is full. */
  allocFrame(): number {
    return this.k.phys.allocDeviceBlock(this.hnode);
  }

  /** The 2 MiB chunk of device memory (UVM's root chunk) that frame pfn belongs to. */
  chunkOf(pfn: number): number {
    return Math.floor((pfn - this.k.phys.hnodes[this.hnode].startPfn) / CHUNK_PAGES);
  }

  /**
   * A frame for a device-private page, or -1: when the memory is full the driver evicts
   * (onFull) and the allocation is tried once more. The eviction policy counts the page, and
   * its chunk is pinned until the operation ends (UVM's temporarily pinned chunks: a block
   * being serviced is never the victim of its own allocations).
   */
  allocPrivateFrame(): number {
    const pfn = this.allocEvicting();
    if (pfn >= 0) {
      const chunk = this.chunkOf(pfn);
      this.eviction.allocated(chunk);
      this.pinned.add(chunk);
    }
    return pfn;
  }

  /** A frame, evicting once when the memory is full. */
  private allocEvicting(): number {
    const pfn = this.allocFrame();
    if (pfn >= 0 || this.onFull === null || !this.onFull()) return pfn;
    return this.allocFrame();
  }

  /** A driver operation starts (a fault batch, a migration): no chunk is pinned. */
  beginOperation(): void {
    this.pinned.clear();
  }

  /** A device-private page's frame goes back (dev_pagemap_ops.page_free). */
  freePrivateFrame(pfn: number): void {
    this.eviction.freed(this.chunkOf(pfn));
    this.freeFrame(pfn);
  }

  freeFrame(pfn: number): void {
    this.k.phys.frames.resetMeta(pfn);
    this.k.phys.free(pfn, 0);
  }

  /** A new, empty page table for mm; null when device memory is full. */
  attach(mm: Mm): DeviceContext | null {
    const pt = new DevicePageTable(
      () => {
        const pfn = this.allocEvicting(); // page tables may evict user chunks, as in UVM's PMM
        if (pfn >= 0) this.k.meta.add('device_page_table', 4096);
        return pfn;
      },
      (pfn) => {
        this.k.meta.sub('device_page_table', 4096);
        this.freeFrame(pfn);
      },
      this.pagePages,
      () => this.stats.dev_leaf_splits++,
      (pages) => {
        this.stats.dev_pt_pages_freed += pages;
      },
    );
    if (!pt.ok) return null;
    const ctx = new DeviceContext(mm, pt);
    this.contexts.set(mm.id, ctx);
    return ctx;
  }

  /** The context goes: its translations and page table. */
  detach(ctx: DeviceContext): void {
    this.invalidateTlb(ctx.mm.id, 0, Number.POSITIVE_INFINITY);
    ctx.pt.destroy();
    this.contexts.delete(ctx.mm.id);
  }

  /**
   * Drop device TLB entries of [start, end) of address space `asid` (one invalidation
   * command, as a driver's TLB invalidate covers a range or the whole context).
   */
  invalidateTlb(asid: number, start: number, end: number): void {
    this.stats.dev_tlb_invalidations++;
    if (end - start > 64) this.tlb.flushAsid(asid);
    else for (let v = start; v < end; v++) this.tlb.flushPage(asid, v);
  }

  /** A transfer of `bytes` over the link: busy for latency + bytes / bandwidth. */
  transfer(bytes: number, toDevice: boolean): void {
    if (toDevice) this.stats.dev_bytes_to_device += bytes;
    else this.stats.dev_bytes_to_system += bytes;
    this.stats.dev_link_busy += this.linkTime(bytes);
  }

  /** Nanoseconds the link is busy for one transfer of `bytes`: latency + bytes / bandwidth. */
  private linkTime(bytes: number): number {
    return this.spec.link.latencyNs + (bytes * 1e9) / this.spec.link.bandwidth;
  }

  /** A device access that reaches system memory over the link (one cache line). */
  remoteAccess(): void {
    this.stats.dev_remote_accesses++;
    this.stats.dev_link_busy += this.linkTime(REMOTE_ACCESS_BYTES);
  }

  /**
   * A device access to another device's memory (a peer's device-private page it maps, or
   * another device's coherent page): a
   * remote access like one to system memory (dev_remote_accesses, the remote_access cost),
   * counted as a peer access too, over this device's link (vmlab has one link per device:
   * the requester's port carries the cache line; the owner's link is not charged).
   */
  peerAccess(): void {
    this.stats.dev_peer_accesses++;
    this.remoteAccess();
  }

  /**
   * A CPU load or store to this device's coherent memory (one cache line over the link): the
   * device side of a CPU access that is remote from the CPU's point of view.
   */
  cpuAccess(): void {
    this.stats.dev_cpu_accesses++;
    this.stats.dev_link_busy += this.linkTime(REMOTE_ACCESS_BYTES);
  }

  /** Bytes of device memory in use (device-private pages and page tables). */
  get memoryUsed(): number {
    let tables = 0;
    for (const c of this.contexts.values()) tables += c.pt.tablePages;
    return (this.privatePages + tables) * 4096;
  }
}
