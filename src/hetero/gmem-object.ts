// gmem's logical page table (RFC patch 2/6, mm/vm_object.c): one vm_object per process with
// peer-shared memory, a radix tree (xarray) keyed by virtual page number (va >> PAGE_SHIFT) of
// struct gm_mapping entries. gmem creates a gm_mapping per device page (HPAGE_SIZE in the
// series; the device's page_size here), stored at the page number of the block's first page.
// Each entry says where the block is: NOMAP (nowhere yet), CPU (the CPU page table has it, or
// host memory holds it after an eviction), DEVICE (a device's memory), plus WILLNEED.
// Acquisitions of the vm_object lock (xa_lock of the logical page table) and of a
// gm_mapping's mutex are counted by the caller's device; bytes go to the metadata meter.

import { XA_NODE_BYTES, Xarray } from '../lib/xarray.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import type { Device } from './device.js';

/** GM_PAGE_* flags (include/linux/gmem.h). */
export const enum Gm {
  CPU = 0x10,
  DEVICE = 0x20,
  NOMAP = 0x40,
  WILLNEED = 0x80,
  TYPE_MASK = CPU | DEVICE | NOMAP,
}

/** sizeof(struct gm_mapping) on x86-64: flag (4, padded to 8), the page/dev/pfn union (8), a mutex (32). */
export const GM_MAPPING_BYTES = 48;
/** sizeof(struct vm_object) (spinlock, xarray pointer, nr_pages: 24) + the kmalloc'ed struct xarray (16). */
export const VM_OBJECT_BYTES = 40;

/** struct gm_mapping, with the driver's view of where each 4 KiB page of the block is. */
export class GmMapping {
  /** First page of the block (the xarray index). (C) */
  readonly vpn: number;
  /** The key the device's eviction policy knows this device page by (its chunk). (C) */
  readonly id: number;
  flag: number = Gm.NOMAP;
  /** DEVICE: the device holding the block. */
  dev: Device | null = null;
  /** DEVICE: the device frame of each page of the block (-1: none). */
  dpfns: Int32Array | null = null;
  /** CPU after an eviction: the host frame holding each page (-1: none), not mapped by the CPU. */
  held: Int32Array | null = null;

  constructor(vpn: number, id = 0) {
    this.vpn = vpn;
    this.id = id;
  }

  is(type: Gm): boolean {
    return (this.flag & type) !== 0;
  }

  /** gm_mapping_flags_set: a type flag replaces the type; WILLNEED adds. */
  set(flags: number): void {
    if ((flags & Gm.TYPE_MASK) !== 0) this.flag &= ~Gm.TYPE_MASK;
    this.flag |= flags;
  }
}

export class VmObject {
  /** logical_page_table: vpn -> vpn of a GmMapping in `mappings` (the xarray holds the shape). */
  readonly lpt = new Xarray();
  readonly mappings = new Map<number, GmMapping>();
  /** The address space whose peer-shared memory this tracks (mm->vm_obj). (C) */
  readonly mm: Mm;
  private readonly k: Kernel;

  /** vm_object_create */
  constructor(k: Kernel, mm: Mm) {
    this.k = k;
    this.mm = mm;
    k.meta.add('vm_object', VM_OBJECT_BYTES);
  }

  /** vm_object_lookup (the caller holds the lock). */
  lookup(vpn: number): GmMapping | undefined {
    return this.lpt.has(vpn) ? this.mappings.get(vpn) : undefined;
  }

  /** vm_object_mapping_create: a NOMAP entry at vpn; `id` names it to eviction policies. */
  mappingCreate(vpn: number, id: number): GmMapping {
    const m = new GmMapping(vpn, id);
    this.store(vpn, m);
    return m;
  }

  /** free_gm_mappings for one entry: release_gm_mapping and xas_store(NULL). */
  remove(m: GmMapping): void {
    const before = this.lpt.nodes;
    this.lpt.delete(m.vpn);
    this.mappings.delete(m.vpn);
    this.k.meta.sub('gm_mapping', GM_MAPPING_BYTES);
    this.k.meta.sub('vm_object_xa_node', (before - this.lpt.nodes) * XA_NODE_BYTES);
  }

  /** Entries whose first page is in [start, end), in order (cold path). */
  range(start: number, end: number): GmMapping[] {
    const out: GmMapping[] = [];
    for (const m of this.mappings.values()) if (m.vpn >= start && m.vpn < end) out.push(m);
    return out.sort((a, b) => a.vpn - b.vpn);
  }

  /** vm_object_drop_locked: the entries, the radix nodes and the object go. */
  drop(): void {
    for (const m of [...this.mappings.values()]) this.remove(m);
    this.k.meta.sub('vm_object', VM_OBJECT_BYTES);
  }

  private store(vpn: number, m: GmMapping): void {
    const before = this.lpt.nodes;
    this.lpt.set(vpn, vpn);
    this.mappings.set(vpn, m);
    this.k.meta.add('gm_mapping', GM_MAPPING_BYTES);
    this.k.meta.add('vm_object_xa_node', (this.lpt.nodes - before) * XA_NODE_BYTES);
  }
}
