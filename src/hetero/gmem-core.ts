// The state the gmem modules share, and the page moves every path uses: installing host pages
// in the CPU page table, bringing a device page home (gm_host_fault_locked), evicting one to
// host memory (the NPU oversubscription case), and the victim choice.

import { PteAttr } from '../arch/pmap.js';
import { anonVmaPrepare, newAnonRmap } from '../mm/fault.js';
import type { Kernel } from '../mm/kernel.js';
import { type Mm, MmCounter } from '../mm/mm.js';
import { basePteAttrs, VM, type Vma } from '../mm/vma.js';
import type { Device } from './device.js';
import { type GmContext, peerUnmap, tlbInvl } from './gmem-dev.js';
import { Gm, type GmMapping, type VmObject } from './gmem-object.js';

export interface GmemCore {
  readonly k: Kernel;
  /** Pages per gm_mapping: the largest device page_size (2 MiB unless configured). */
  readonly per: number;
  readonly objects: Map<number, VmObject>;
  readonly contexts: GmContext[];
  /** Host frames the logical page tables hold (evicted, not mapped by the CPU). */
  readonly held: Set<number>;
  /** Per device, its resident gm_mappings (DEVICE), with their mm. */
  readonly resident: Map<Device, Map<GmMapping, Mm>>;
  /** Resident gm_mappings by id: the chunks the devices' eviction policies count. */
  readonly byId: Map<number, [GmMapping, Mm]>;
  /** The next gm_mapping id. */
  nextId: number;
}

export function contextOf(g: GmemCore, mm: Mm, dev: Device): GmContext | undefined {
  return g.contexts.find((c) => c.dev === dev && c.ctx.mm === mm);
}

/** A host page becomes mapped at vpn of vma (its anonymous rmap set, one reference). */
export function installPage(k: Kernel, mm: Mm, vma: Vma, vpn: number, pfn: number): boolean {
  const h = mm.pmap.pteAlloc(vpn);
  if (h < 0) return false;
  anonVmaPrepare(k, mm, vma);
  const f = k.phys.frames;
  f.flags[pfn] = 0;
  f.refcount[pfn] = 1;
  newAnonRmap(k, vma, vpn, pfn);
  const w = (vma.flags & VM.WRITE) !== 0 ? PteAttr.write | PteAttr.dirty : 0;
  mm.pmap.pteSet(h, pfn, basePteAttrs(vma.flags) | w);
  mm.addRss(MmCounter.ANONPAGES, 1);
  return true;
}

/** A device frame of the device page `chunk` goes back (the eviction policy counts it). */
export function freeDeviceFrame(dev: Device, pfn: number, chunk: number): void {
  dev.privatePages--;
  dev.eviction.freed(chunk);
  dev.freeFrame(pfn);
}

function peerVma(mm: Mm, vpn: number): Vma | undefined {
  const vma = mm.vmaAt(vpn);
  return vma !== undefined && (vma.flags & VM.PEER_SHARED) !== 0 ? vma : undefined;
}

/**
 * gm_host_fault_locked (and the same move for fork, detach and migrate-to-system): every
 * page of the device page comes home into the CPU page table (peer_unmap with copy), the
 * entry becomes CPU. False when host memory ran out (the pages moved so far stay moved).
 */
export function blockHome(g: GmemCore, mm: Mm, m: GmMapping): boolean {
  const dev = m.dev!;
  const c = contextOf(g, mm, dev)!;
  const d = m.dpfns!;
  const f = g.k.phys.frames;
  let n = 0;
  let ok = true;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0) continue;
    const vpn = m.vpn + i;
    const vma = peerVma(mm, vpn)!;
    const pfn = g.k.phys.alloc(0);
    if (pfn < 0 || !installPage(g.k, mm, vma, vpn, pfn)) {
      if (pfn >= 0) g.k.phys.free(pfn, 0);
      ok = false;
      break;
    }
    f.token[pfn] = f.token[d[i]];
    freeDeviceFrame(dev, d[i], m.id); // peer_unmap below drops the device's entries
    d[i] = -1;
    n++;
  }
  dev.stats.dev_migrate_to_system += n;
  peerUnmap(c, m.vpn, m.vpn + d.length, n, false);
  if (n > 0) tlbInvl(c, m.vpn, m.vpn + d.length);
  if (!ok) return false;
  leaveDevice(g, m);
  m.set(Gm.CPU);
  return true;
}

/**
 * An evicted block's held host pages are mapped by the CPU again (reused, not copied), but
 * for pages [keepLo, keepHi), which stay held. False when a page table cannot be allocated.
 */
export function reuseHeld(g: GmemCore, mm: Mm, m: GmMapping, keepLo = 0, keepHi = 0): boolean {
  const held = m.held!;
  let kept = false;
  for (let i = 0; i < held.length; i++) {
    if (held[i] < 0) continue;
    if (i >= keepLo && i < keepHi) {
      kept = true;
      continue;
    }
    const vma = peerVma(mm, m.vpn + i)!;
    if (!installPage(g.k, mm, vma, m.vpn + i, held[i])) return false;
    g.held.delete(held[i]);
    held[i] = -1;
  }
  if (!kept) m.held = null;
  return true;
}

/** The block is no longer resident on its device. */
export function leaveDevice(g: GmemCore, m: GmMapping): void {
  if (m.dev !== null) g.resident.get(m.dev)!.delete(m);
  g.byId.delete(m.id);
  m.dev = null;
  m.dpfns = null;
}

/**
 * Oversubscription (the series' NPU case): a device page goes to host memory, held by the
 * gm_mapping (CPU, not mapped by the CPU page table until a CPU fault reuses it). False when
 * host memory is short.
 */
export function evictBlock(g: GmemCore, dev: Device, m: GmMapping, mm: Mm, forRoom = true): boolean {
  const d = m.dpfns!;
  let n = 0;
  for (let i = 0; i < d.length; i++) if (d[i] >= 0) n++;
  if (g.k.phys.freePages < n) return false;
  const held = new Int32Array(d.length).fill(-1);
  const f = g.k.phys.frames;
  const c = contextOf(g, mm, dev)!;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0) continue;
    const pfn = g.k.phys.alloc(0);
    if (pfn < 0) throw new Error('evictBlock: host memory vanished under the eviction');
    f.flags[pfn] = 0;
    f.token[pfn] = f.token[d[i]];
    held[i] = pfn;
    g.held.add(pfn);
    freeDeviceFrame(dev, d[i], m.id);
  }
  peerUnmap(c, m.vpn, m.vpn + d.length, n, true);
  if (forRoom) {
    dev.stats.dev_evictions++; // one device page (a 2 MiB chunk by default) to make room
    dev.stats.dev_evicted_pages += n;
  }
  dev.stats.dev_migrate_to_system += n;
  leaveDevice(g, m);
  m.held = held;
  m.set(Gm.CPU);
  return true;
}

/**
 * The victim, as the device's eviction policy (policy-eviction.ts) chooses among the device
 * pages it counts: lru, the least recently mapped or marked hot (the order of the hnode's
 * active list); random; none (no eviction). Chunks in dev.pinned (the device page being
 * faulted) are passed over.
 */
export function chooseVictim(g: GmemCore, dev: Device): [GmMapping, Mm] | undefined {
  const id = dev.eviction.victim(dev.pinned);
  return id < 0 ? undefined : g.byId.get(id);
}
