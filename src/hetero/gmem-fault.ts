// gm_dev_fault (RFC patch 3/6): a device fault at one address, serviced for the whole device
// page (gm_mapping) around it. By the entry's state: NOMAP -> allocate device memory and map
// it; CPU -> unmap from the CPU (zap_page_range_single), copy to the device, map (a
// migration); DEVICE -> nothing unless the caller passes a prefetch hint (then remap and mark
// hot). When device memory is full, a victim device page is evicted to host memory first.

import { DevPte } from '../arch/device-mmu.js';
import { Access } from '../arch/pmap.js';
import { handleMmFault } from '../mm/fault.js';
import type { Mm } from '../mm/mm.js';
import { zapRange } from '../mm/unmap.js';
import { VM } from '../mm/vma.js';
import {
  blockHome,
  chooseVictim,
  evictBlock,
  freeDeviceFrame,
  type GmemCore,
  reuseHeld,
} from './gmem-core.js';
import { type GmContext, peerMap } from './gmem-dev.js';
import { Gm, type GmMapping, VmObject } from './gmem-object.js';

/** enum gm_ret */
export const enum GmRet {
  SUCCESS = 0,
  NOMEM = 1,
  PAGE_EXIST = 2,
  MIGRATING = 3,
  FAILURE_UNKNOWN = 4,
}

/** The process's vm_object, created on first use (vm_object_create). */
export function objectOf(g: GmemCore, mm: Mm): VmObject {
  let o = g.objects.get(mm.id);
  if (o === undefined) {
    o = new VmObject(g.k, mm);
    g.objects.set(mm.id, o);
  }
  return o;
}

/** Mapped or prefetched now: the device page is the most recently used (hnode active list). */
function markHot(m: GmMapping): void {
  m.dev!.eviction.touched(m.id);
}

/** Device frames for the pages [lo, hi) of m that have none, evicting victims when full. */
function allocBlock(g: GmemCore, c: GmContext, m: GmMapping, lo: number, hi: number): Int32Array | null {
  const dev = c.dev;
  const out = new Int32Array(g.per).fill(-1);
  if (m.dpfns !== null) out.set(m.dpfns);
  const take = (i: number, pfn: number): void => {
    g.k.phys.frames.flags[pfn] = 0;
    g.k.phys.frames.refcount[pfn] = 1; // as allocDeviceBlock gives a frame
    dev.privatePages++;
    dev.eviction.allocated(m.id);
    out[i] = pfn;
  };
  // A whole device page of this device (page_size) is one block of device memory, as the RFC
  // allocates a device page (device-pages.ts); memory too fragmented for one: 4 KiB frames.
  const pp = dev.pagePages;
  for (let r = Math.ceil(lo / pp) * pp; pp > 1 && r + pp <= hi; r += pp) {
    let empty = true;
    for (let i = r; i < r + pp; i++) if (out[i] >= 0) empty = false;
    if (!empty) continue;
    let head = g.k.phys.allocDeviceBlock(dev.hnode, Math.round(Math.log2(pp)));
    while (head < 0 && g.k.phys.hnodeFreePages(dev.hnode) < pp) {
      const v = chooseVictim(g, dev);
      if (v === undefined || !evictBlock(g, dev, v[0], v[1])) break;
      head = g.k.phys.allocDeviceBlock(dev.hnode, Math.round(Math.log2(pp)));
    }
    if (head >= 0) for (let i = r; i < r + pp; i++) take(i, head + i - r);
  }
  for (let i = lo; i < hi; i++) {
    if (out[i] >= 0) continue;
    let pfn = dev.allocFrame();
    while (pfn < 0) {
      const v = chooseVictim(g, dev);
      if (v === undefined || !evictBlock(g, dev, v[0], v[1])) break;
      pfn = dev.allocFrame();
    }
    if (pfn < 0) {
      for (let j = lo; j < hi; j++)
        if (out[j] >= 0 && (m.dpfns === null || m.dpfns[j] < 0)) freeDeviceFrame(dev, out[j], m.id);
      return null;
    }
    take(i, pfn);
  }
  // Room for the device page-table pages mapping the block may need (tableSpare): pmap_enter
  // must not fail half-way.
  while (g.k.phys.hnodeFreePages(dev.hnode) < tableSpare(dev.pagePages)) {
    const v = chooseVictim(g, dev);
    if (v === undefined || !evictBlock(g, dev, v[0], v[1])) {
      for (let i = lo; i < hi; i++)
        if (out[i] >= 0 && (m.dpfns === null || m.dpfns[i] < 0)) freeDeviceFrame(dev, out[i], m.id);
      return null;
    }
  }
  return out;
}

/** Whether the device maps every page [lo, hi) of the device page at bs (writable if `write`). */
function mappedAs(c: GmContext, bs: number, lo: number, hi: number, write: boolean): boolean {
  for (let i = lo; i < hi; i++) {
    const e = c.ctx.pt.lookup(bs + i);
    if (e === 0 || (write && (e & DevPte.write) === 0)) return false;
  }
  return true;
}

/**
 * Device page-table pages one device page's mapping may add: a PTE table and two directories
 * above it; on a 64 KiB device (device-mmu.ts) a small-page table, a pool page of big-page
 * tables, a dual directory of two pages and the directory above it.
 */
function tableSpare(pagePages: number): number {
  return pagePages === 16 ? 5 : 3;
}

/**
 * gm_dev_fault for the device page holding vpn. `hint`: a prefetch (MADV_WILLNEED /
 * GM_FAULT_HINT_MARK_HOT), which remaps a page already on the device.
 */
export function gmDevFault(g: GmemCore, c: GmContext, vpn: number, hint: boolean, cpu: number): GmRet {
  const k = g.k;
  const mm = c.ctx.mm;
  const dev = c.dev;
  dev.stats.lock_mmap_read++;
  const vma = mm.vmaAt(vpn);
  // The RFC looks up mm->vm_obj whatever the VMA; vmlab refuses memory that is not peer-shared,
  // and an area the CPU may not read (PROT_NONE): the device gets no more than the VMA allows.
  if (vma === undefined || (vma.flags & VM.PEER_SHARED) === 0 || (vma.flags & VM.READ) === 0)
    return GmRet.FAILURE_UNKNOWN;
  const bs = Math.floor(vpn / g.per) * g.per;
  const lo = Math.max(bs, vma.start) - bs;
  const hi = Math.min(bs + g.per, vma.end) - bs;
  const obj = objectOf(g, mm);
  dev.stats.lock_vm_object++;
  const m = obj.lookup(bs) ?? obj.mappingCreate(bs, g.nextId++);
  dev.stats.lock_gm_mapping++;
  // One driver operation: the device page being faulted is no eviction victim.
  dev.beginOperation();
  dev.pinned.add(m.id);
  const write = (vma.flags & VM.WRITE) !== 0;
  if (m.is(Gm.DEVICE) && m.dev !== dev) {
    // Another device has it: vmlab brings it home first (the RFC has no device-to-device path).
    if (!blockHome(g, mm, m)) return GmRet.NOMEM;
  }
  if (m.is(Gm.DEVICE)) {
    let complete = true;
    for (let i = lo; i < hi; i++) if (m.dpfns![i] < 0) complete = false;
    if (complete) {
      // Mapped as the area allows: nothing to do but a prefetch's remap. Not so after an
      // mprotect to PROT_NONE and back (pmap_protect dropped the entries) or when a write
      // finds a read-only entry: mapped again, as the area allows now.
      const remap = !mappedAs(c, bs, lo, hi, write);
      if (!hint && !remap) return GmRet.PAGE_EXIST;
      peerMap(c, bs, m.dpfns!, lo, hi, write, 0);
      markHot(m);
      return GmRet.SUCCESS;
    }
  }
  // An evicted block's held host pages outside this VMA's part go to the CPU page table: a
  // block on a device holds no host pages.
  if (m.held !== null && !reuseHeld(g, mm, m, lo, hi)) return GmRet.NOMEM;
  const dpfns = allocBlock(g, c, m, lo, hi);
  if (dpfns === null) return GmRet.NOMEM;
  // The data: held host pages of an evicted block, else what the CPU page table has.
  const f = k.phys.frames;
  const pmap = mm.pmap;
  let copied = 0;
  let cpuMapped = false;
  for (let i = lo; i < hi; i++) {
    if (m.dpfns !== null && m.dpfns[i] >= 0) continue;
    let token = 0;
    if (m.held !== null && m.held[i] >= 0) {
      token = f.token[m.held[i]];
      g.held.delete(m.held[i]);
      k.phys.free(m.held[i], 0);
      m.held[i] = -1;
      copied++;
    } else {
      let h = pmap.pteLookup(bs + i);
      if (h >= 0 && pmap.pteIsSwap(h)) {
        handleMmFault(k, mm, vma, bs + i, Access.read, cpu); // swapped out: read it in first
        h = pmap.pteLookup(bs + i);
      }
      if (h >= 0 && pmap.ptePresent(h) && pmap.ptePfn(h) !== k.phys.zeroPfn) {
        token = f.token[pmap.ptePfn(h)];
        copied++;
      }
      if (h >= 0 && !pmap.pteNone(h)) cpuMapped = true;
    }
    f.token[dpfns[i]] = token;
  }
  if (cpuMapped) zapRange(k, vma, bs + lo, bs + hi, cpu); // unmap from the CPU
  m.held = null;
  dev.stats.dev_migrate_to_device += copied;
  g.resident.get(dev)!.set(m, mm);
  g.byId.set(m.id, [m, mm]);
  m.dev = dev;
  m.dpfns = dpfns;
  m.set(Gm.DEVICE);
  peerMap(c, bs, dpfns, lo, hi, write, copied);
  markHot(m);
  return GmRet.SUCCESS;
}

/** Drop pages [lo, hi) of a block everywhere but the CPU page table (munmap, DONTNEED). */
export function releaseBlockPages(g: GmemCore, m: GmMapping, lo: number, hi: number): number {
  let n = 0;
  if (m.dpfns !== null)
    for (let i = lo; i < hi; i++) {
      if (m.dpfns[i] < 0) continue;
      freeDeviceFrame(m.dev!, m.dpfns[i], m.id);
      m.dpfns[i] = -1;
      n++;
    }
  if (m.held !== null)
    for (let i = lo; i < hi; i++) {
      if (m.held[i] < 0) continue;
      g.held.delete(m.held[i]);
      g.k.phys.free(m.held[i], 0);
      m.held[i] = -1;
    }
  return n;
}
