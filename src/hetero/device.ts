// A device sharing the machine: its memory (an hnode of PhysMem, which the CPU allocator never
// uses), its MMU (a page table per attached address space, in its own memory, and a TLB
// tagged by address space), its interconnect to system memory, and its counters.
// What the device does when it faults is the design's (hetero/hmm.ts); this file is the hardware.

import { DevicePageTable } from '../arch/device-mmu.js';
import { Tlb } from '../arch/tlb.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import { DEVICE_COUNTERS, type DeviceCounter } from '../sim/counter-names.js';
import type { TlbConfig } from '../workload/scenario.js';

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
  /** Peer access to other devices' memory (recorded; not used by the hmm design yet). */
  readonly peer: boolean;
  readonly link: LinkSpec;
  /** What the driver does on a fault: map system memory remotely, or migrate it here. */
  readonly placement: 'remote' | 'migrate';
  /** gmem: which device page goes when device memory is full (default lru). */
  readonly eviction?: 'lru' | 'random';
  /** gmem: byte ranges of the device's address space already taken (a peer OS's own VMAs). */
  readonly reserved?: readonly { readonly addr: number; readonly length: number }[];
}

/** The spec with its page size resolved: `dflt` when the scenario gave none. */
export function withPageSize(spec: DeviceSpec, dflt: number): DeviceSpec {
  return spec.pageSize === 0 ? { ...spec, pageSize: dflt } : spec;
}

/** Bytes a device access moves over the link when it reaches system memory (one cache line). */
export const REMOTE_ACCESS_BYTES = 64;

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
  /** Device-private pages held now, and page-table pages. */
  privatePages = 0;
  private readonly k: Kernel;

  constructor(k: Kernel, id: number, spec: DeviceSpec, hnode: number) {
    this.k = k;
    this.id = id;
    this.spec = spec;
    this.hnode = hnode;
    this.tlb = new Tlb(spec.tlb);
    this.stats = Object.fromEntries(Object.keys(DEVICE_COUNTERS).map((n) => [n, 0])) as Record<
      DeviceCounter,
      number
    >;
  }

  /** 4 KiB pages per device page. */
  get pagePages(): number {
    return this.spec.pageSize / 4096;
  }

  /** A frame of device memory, or -1 when it is full. */
  allocFrame(): number {
    return this.k.phys.allocDevice(this.hnode);
  }

  freeFrame(pfn: number): void {
    this.k.phys.frames.resetMeta(pfn);
    this.k.phys.free(pfn, 0);
  }

  /** A new, empty page table for mm; null when device memory is full. */
  attach(mm: Mm): DeviceContext | null {
    const pt = new DevicePageTable(
      () => {
        const pfn = this.allocFrame();
        if (pfn >= 0) this.k.meta.add('device_page_table', 4096);
        return pfn;
      },
      (pfn) => {
        this.k.meta.sub('device_page_table', 4096);
        this.freeFrame(pfn);
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
    this.stats.dev_link_busy += this.spec.link.latencyNs + (bytes * 1e9) / this.spec.link.bandwidth;
  }

  /** A device access that reaches system memory over the link (one cache line). */
  remoteAccess(): void {
    this.stats.dev_remote_accesses++;
    this.stats.dev_link_busy +=
      this.spec.link.latencyNs + (REMOTE_ACCESS_BYTES * 1e9) / this.spec.link.bandwidth;
  }

  /** Bytes of device memory in use (device-private pages and page tables). */
  get memoryUsed(): number {
    let tables = 0;
    for (const c of this.contexts.values()) tables += c.pt.tablePages;
    return (this.privatePages + tables) * 4096;
  }
}
