// gmem's device side (RFC patch 3/6): a device registers its memory as an hnode
// (gm_dev_register_physmem: here the Device's memory node, whose id continues the CPU nodes')
// and a struct gm_mmu of operations the core calls; a process's address space (gm_as) gets a
// context per attached device (gm_as_attach -> pmap_create). This file is the driver's
// implementation of those operations over vmlab's device: each call is counted.

import { DEVICE_VPN_LIMIT } from '../arch/device-mmu.js';
import { XA_NODE_BYTES } from '../lib/xarray.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import { STRUCT_PAGE_BYTES } from '../phys/frames.js';
import type { Device, DeviceContext } from './device.js';
import { mapRun } from './device-pages.js';

/** A device's context in one address space (struct gm_context) and the VAs reserved there. */
export interface GmContext {
  readonly dev: Device;
  readonly ctx: DeviceContext;
  /** Page ranges [start, end) peer_va_alloc_fixed reserved, in no particular order. */
  readonly vas: [number, number][];
}

/** xarray nodes holding indices 0..n-1 (64 slots a node; a single entry at index 0 needs none). */
function denseXaNodes(n: number): number {
  let nodes = 0;
  for (let m = n; m > 1; ) {
    m = Math.ceil(m / 64);
    nodes += m;
  }
  return nodes;
}

/**
 * gm_dev_register_physmem for every device: the device's memory gets no struct page (it is
 * no ZONE_DEVICE memmap, as hmm's device-private memory is); the hnode keeps one struct
 * gm_mapping per 4 KiB page of it in an array (kvmalloc_array, 48 B each) indexed by the
 * hnode's xarray (hnode->pages, every index stored). The metadata meter says so.
 */
export function gmDevRegisterPhysmem(k: Kernel, devices: readonly Device[], gmMappingBytes: number): void {
  let pages = 0;
  let nodes = 0;
  for (const d of devices) {
    const n = d.spec.memory / 4096;
    pages += n;
    nodes += denseXaNodes(n);
  }
  k.meta.set('struct_page', k.phys.memmapBytes - pages * STRUCT_PAGE_BYTES);
  k.meta.set('hnode_gm_mapping', pages * gmMappingBytes);
  k.meta.set('hnode_xa_node', nodes * XA_NODE_BYTES);
}

/** gm_as_attach: pmap_create for mm. Null when device memory cannot hold a page table. */
export function gmAsAttach(dev: Device, mm: Mm): GmContext | null {
  dev.stats.gm_pmap_create++;
  const ctx = dev.attach(mm);
  return ctx === null ? null : { dev, ctx, vas: [] };
}

/** The context goes: pmap_destroy (its translations and table pages). */
export function gmAsDetach(c: GmContext): void {
  c.dev.stats.gm_pmap_destroy++;
  c.dev.detach(c.ctx);
}

function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 < b1 && b0 < a1;
}

/**
 * peer_va_alloc_fixed: reserve pages [start, end) in the device's view of the address space.
 * Fails when the range meets one the device has reserved for itself (its `reserved` ranges)
 * or one already allocated in this context.
 */
export function peerVaAllocFixed(c: GmContext, start: number, end: number): boolean {
  const dev = c.dev;
  dev.stats.gm_peer_va_alloc_fixed++;
  // Beyond the device's address space (5-level paging's high half): no such VA on the device.
  if (end > DEVICE_VPN_LIMIT) {
    dev.stats.gm_va_conflicts++;
    return false;
  }
  for (const r of dev.spec.reserved ?? []) {
    const r0 = Math.floor(r.addr / 4096);
    if (overlaps(start, end, r0, Math.ceil((r.addr + r.length) / 4096))) {
      dev.stats.gm_va_conflicts++;
      return false;
    }
  }
  for (const [s, e] of c.vas)
    if (overlaps(start, end, s, e)) {
      dev.stats.gm_va_conflicts++;
      return false;
    }
  c.vas.push([start, end]);
  return true;
}

/** peer_va_free: [start, end) leaves the device's view (pieces of reserved ranges may stay). */
export function peerVaFree(c: GmContext, start: number, end: number): void {
  c.dev.stats.gm_peer_va_free++;
  const kept: [number, number][] = [];
  for (const [s, e] of c.vas) {
    if (!overlaps(s, e, start, end)) kept.push([s, e]);
    else {
      if (s < start) kept.push([s, start]);
      if (e > end) kept.push([end, e]);
    }
  }
  c.vas.length = 0;
  c.vas.push(...kept);
}

/**
 * peer_map: map device frames `dpfns` at vpn.. (pmap_enter for the device page), after
 * copying `copyPages` pages over the link when the fault carried data (gmf.copy).
 */
export function peerMap(
  c: GmContext,
  vpn: number,
  dpfns: Int32Array,
  lo: number,
  hi: number,
  write: boolean,
  copyPages: number,
): void {
  const dev = c.dev;
  dev.stats.gm_peer_map++;
  dev.stats.gm_pmap_enter++;
  if (copyPages > 0) dev.transfer(copyPages * 4096, true);
  let stale = false;
  for (let i = lo; i < hi; i++) {
    if (dpfns[i] < 0) continue;
    const old = c.ctx.pt.lookup(vpn + i);
    if (old !== 0 && Math.floor(old / 8) !== dpfns[i]) stale = true;
  }
  // A whole device page in one block of device memory is one large leaf (device-pages.ts).
  // gm_dev_fault left room for the tables (TABLE_SPARE): a failure here is vmlab's bug.
  if (
    !mapRun(
      dev,
      c.ctx,
      vpn + lo,
      hi - lo,
      (i) => dpfns[lo + i],
      () => write,
    )
  )
    throw new Error(`peerMap: no device memory for a table at vpn ${vpn + lo}`);
  if (stale) tlbInvl(c, vpn + lo, vpn + hi);
}

/**
 * peer_unmap: drop the device page's translations (pmap_release, tlb_invl); with copy, the
 * data of `copyPages` pages crosses the link back to host memory first.
 */
export function peerUnmap(c: GmContext, start: number, end: number, copyPages: number, flush: boolean): void {
  const dev = c.dev;
  dev.stats.gm_peer_unmap++;
  dev.stats.gm_pmap_release++;
  if (copyPages > 0) dev.transfer(copyPages * 4096, false);
  if (c.ctx.pt.unmap(start, end) > 0 && flush) tlbInvl(c, start, end);
}

/**
 * pmap_protect: the device's entries for the device page at vpn (pages [lo, hi)) become writable or
 * read-only, or go when the area is no longer readable (PROT_NONE: the data stays on the
 * device, a later device access is refused and, once the area is readable again, remaps it).
 * True when one lost write access or went (the caller then invalidates the device TLB).
 */
export function pmapProtect(
  c: GmContext,
  vpn: number,
  lo: number,
  hi: number,
  read: boolean,
  write: boolean,
): boolean {
  // The device maps only its DEVICE entries' frames: the range's entries are the block's. A
  // large leaf the range cuts is split first (device-mmu.ts).
  if (!read) return c.ctx.pt.unmap(vpn + lo, vpn + hi) > 0;
  return c.ctx.pt.protect(vpn + lo, vpn + hi, write);
}

/** tlb_invl: one range of one context. */
export function tlbInvl(c: GmContext, start: number, end: number): void {
  c.dev.stats.gm_tlb_invl++;
  c.dev.invalidateTlb(c.ctx.mm.id, start, end);
}

/** tlb_invl_coalesced: many released mappings of one context flushed by one command. */
export function tlbInvlCoalesced(c: GmContext): void {
  c.dev.stats.gm_tlb_invl_coalesced++;
  c.dev.invalidateTlb(c.ctx.mm.id, 0, Number.POSITIVE_INFINITY);
}
