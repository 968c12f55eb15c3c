// The `gmem` design (Weixi Zhu's RFC series "Supporting GMEM (generalized memory management)
// for external memory devices", linux-mm, Nov 2023): device memory is an hnode, each device a
// gm_dev with MMU operations, and memory mapped MAP_PEER_SHARED is tracked per process by a
// logical page table (vm_object of gm_mappings) that says whether each device page is
// nowhere, on the CPU or on a device. Device faults (gm_dev_fault) and CPU faults on
// peer-shared areas (gm_host_fault_locked) move data between the two; nothing mirrors the
// CPU page table. Only peer-shared memory is the devices': a device access elsewhere fails.

import type { Errno } from '../lib/errno.js';
import type { Rng } from '../lib/rng.js';
import { VmFault } from '../mm/fault.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm, Task } from '../mm/mm.js';
import type { PeerSharedOps } from '../mm/peer-shared.js';
import { VM, type Vma } from '../mm/vma.js';
import type { DeviceRunRequest, DeviceRunResult, HeteroDesign, MigrateOutcome } from './design.js';
import { Device, type DeviceSpec, policiesOf, withPageSize } from './device.js';
import { runDeviceKernel } from './device-run.js';
import { checkGmem } from './gmem-check.js';
import {
  blockHome,
  chooseVictim,
  contextOf,
  evictBlock,
  type GmemCore,
  installPage,
  leaveDevice,
  reuseHeld,
} from './gmem-core.js';
import {
  gmAsAttach,
  gmAsDetach,
  gmDevRegisterPhysmem,
  peerVaAllocFixed,
  peerVaFree,
  pmapProtect,
  tlbInvl,
  tlbInvlCoalesced,
} from './gmem-dev.js';
import { GmRet, gmDevFault, objectOf, releaseBlockPages } from './gmem-fault.js';
import { type HmadviseResult, hmadvise } from './gmem-hmadvise.js';
import { GM_MAPPING_BYTES, Gm, type GmMapping } from './gmem-object.js';

/**
 * gmem's defaults where the scenario gave none: 2 MiB device pages (HPAGE_SIZE, the series'
 * granularity) and LRU eviction (the series' NPU oversubscription needs one).
 */
function gmemSpec(s: DeviceSpec): DeviceSpec {
  const spec = withPageSize(s, 2 * 1024 * 1024);
  const p = policiesOf(spec);
  if (s.policies !== undefined && p.eviction.defaulted !== true) return spec;
  return { ...spec, policies: { ...p, eviction: { policy: 'lru' } } };
}

export class GmemDesign implements HeteroDesign, PeerSharedOps {
  readonly name = 'gmem';
  readonly devices: Device[];
  readonly g: GmemCore;
  private readonly k: Kernel;

  constructor(k: Kernel, specs: readonly DeviceSpec[], rng?: () => Rng) {
    this.k = k;
    // gm_dev_create + gm_dev_register_physmem: each device's memory is an hnode.
    this.devices = specs.map((s, i) => new Device(k, i, gmemSpec(s), i, rng));
    gmDevRegisterPhysmem(k, this.devices, GM_MAPPING_BYTES);
    this.g = {
      k,
      per: Math.max(...this.devices.map((d) => d.pagePages)),
      objects: new Map(),
      contexts: [],
      held: new Set(),
      resident: new Map(this.devices.map((d) => [d, new Map<GmMapping, Mm>()])),
      byId: new Map(),
      nextId: 1,
    };
    // A device page-table page that finds device memory full evicts a device page too.
    for (const dev of this.devices)
      dev.onFull = () => {
        const v = chooseVictim(this.g, dev);
        return v !== undefined && evictBlock(this.g, dev, v[0], v[1]);
      };
    k.peer = this;
  }

  /** The hnode id of a device (ids continue the CPU nodes'). */
  hnid(dev: Device): number {
    return this.k.phys.nodes.length + dev.hnode;
  }

  attach(task: Task, dev: Device): Errno | null {
    const mm = task.mm!;
    if (contextOf(this.g, mm, dev) !== undefined) return 'EBUSY';
    const c = gmAsAttach(dev, mm); // gm_as_create on first use is free here: the mm is the gm_as
    if (c === null) return 'ENOMEM';
    this.g.contexts.push(c);
    // The device learns the peer-shared areas that exist already (vmlab: reserved, no conflict check).
    for (const v of mm.vmas.values()) if ((v.flags & VM.PEER_SHARED) !== 0) c.vas.push([v.start, v.end]);
    return null;
  }

  detach(task: Task, dev: Device): Errno | null {
    const mm = task.mm!;
    const c = contextOf(this.g, mm, dev);
    if (c === undefined) return 'EINVAL';
    // vmlab's choice: the device's pages of this process come home before its context goes.
    const obj = this.g.objects.get(mm.id);
    for (const m of obj === undefined ? [] : [...obj.mappings.values()])
      if (m.dev === dev && !blockHome(this.g, mm, m)) return 'ENOMEM';
    this.dropContext(c);
    return null;
  }

  private dropContext(c: GmemDesign['g']['contexts'][number]): void {
    for (const [s, e] of [...c.vas]) peerVaFree(c, s, e);
    gmAsDetach(c);
    this.g.contexts.splice(this.g.contexts.indexOf(c), 1);
  }

  run(task: Task, dev: Device, req: DeviceRunRequest): DeviceRunResult {
    const c = contextOf(this.g, task.mm!, dev);
    if (c === undefined) return { accesses: 0, error: 'EINVAL' };
    return runDeviceKernel(dev, c.ctx, req, (vpns, writes) => {
      // The driver calls gm_dev_fault once per device page of the batch. A page an eviction
      // of this same batch took away faults again on replay: vmlab services it again, a few
      // rounds at most (device memory thrashing), then gives up with ENOMEM.
      for (let round = 0; round < 4; round++) {
        const seen = new Set<number>();
        for (let i = 0; i < vpns.length; i++) {
          const vma = task.mm!.vmaAt(vpns[i]);
          // A write to a read-only area is EPERM; an area it may not read (PROT_NONE) is
          // EFAULT whatever the access, from gm_dev_fault (as hmm_vma_walk_test checks VM_READ
          // before hmm_vma_fault checks VM_WRITE).
          if (writes[i] && vma !== undefined && (vma.flags & (VM.READ | VM.WRITE)) === VM.READ)
            return 'EPERM';
          // Mapped already (by an earlier fault of the batch): a read needs nothing more; a
          // write to a read-only mapping goes to gm_dev_fault (it remaps it writable).
          const e = c.ctx.pt.lookup(vpns[i]);
          if (e !== 0 && (!writes[i] || (e & 2) !== 0)) continue;
          // gm_dev_fault services the part of the device page inside the faulting VMA: one
          // call per device page and VMA (keyed by the first page it services).
          const bs = Math.floor(vpns[i] / this.g.per) * this.g.per;
          const key = vma === undefined ? vpns[i] : Math.max(bs, vma.start);
          if (seen.has(key)) continue;
          seen.add(key);
          const r = gmDevFault(this.g, c, vpns[i], false, task.cpu);
          if (r === GmRet.NOMEM) return 'ENOMEM';
          if (r === GmRet.FAILURE_UNKNOWN) return 'EFAULT';
        }
        if (seen.size === 0) return null;
      }
      return 'ENOMEM';
    });
  }

  migrate(task: Task, dev: Device, addr: number, length: number, to: 'device' | 'system'): MigrateOutcome {
    const mm = task.mm!;
    const c = contextOf(this.g, mm, dev);
    if (c === undefined) return { cpages: 0, error: 'EINVAL' };
    const start = Math.floor(addr / 4096);
    const end = Math.ceil((addr + length) / 4096);
    for (let v = start; v < end; v++) {
      const vma = mm.vmaAt(v);
      // Not peer-shared, or PROT_NONE (as migrate_vma_setup refuses an area without VM_READ).
      if (vma === undefined || (vma.flags & (VM.PEER_SHARED | VM.READ)) !== (VM.PEER_SHARED | VM.READ))
        return { cpages: 0, error: 'EINVAL' };
    }
    let cpages = 0;
    const per = this.g.per;
    for (let b = Math.floor(start / per) * per; b < end; b += per) {
      if (to === 'device') {
        // gm_dev_fault services the part of the device page inside the faulting VMA: one call
        // per VMA the range meets in this device page (every page here has a VMA, see above).
        for (let v = Math.max(b, start); v < Math.min(b + per, end); v = mm.vmaAt(v)!.end) {
          const r = gmDevFault(this.g, c, v, true, task.cpu);
          if (r === GmRet.NOMEM) return { cpages, error: 'ENOMEM' };
        }
        continue;
      }
      const m = this.g.objects.get(mm.id)?.lookup(b);
      if (m === undefined || m.dev !== dev) continue;
      for (let i = 0; i < per; i++) if (m.dpfns![i] >= 0 && b + i >= start && b + i < end) cpages++;
      if (!blockHome(this.g, mm, m)) return { cpages, error: 'ENOMEM' };
    }
    if (to === 'device') for (let v = start; v < end; v++) if (c.ctx.pt.lookup(v) !== 0) cpages++;
    return { cpages };
  }

  /** The driver gives its memory back: every device page goes to host memory (held). */
  evict(dev: Device): number {
    let n = 0;
    const res = this.g.resident.get(dev)!;
    for (const [m, mm] of [...res]) {
      const pages = m.dpfns!.reduce((a, p) => a + (p >= 0 ? 1 : 0), 0);
      if (evictBlock(this.g, dev, m, mm, false)) n += pages;
    }
    return n;
  }

  hmadvise(
    task: Task,
    hnid: number,
    addr: number,
    length: number,
    advice: 'prefetch' | 'dontneed',
  ): HmadviseResult {
    return hmadvise(this.g, this, task, hnid, addr, length, advice);
  }

  deviceByHnid(hnid: number): Device | undefined {
    return this.devices.find((d) => this.hnid(d) === hnid);
  }

  // ------------------------------------------------------------------ PeerSharedOps

  reserve(mm: Mm, start: number, end: number): boolean {
    const taken: [number, number][][] = [];
    for (const c of this.g.contexts) {
      if (c.ctx.mm !== mm) continue;
      if (!peerVaAllocFixed(c, start, end)) {
        // gm_alloc_va_in_peer_devices fails as a whole: what the others reserved is freed.
        for (const t of taken) t.pop();
        return false;
      }
      taken.push(c.vas);
    }
    return true;
  }

  hostFault(mm: Mm, vma: Vma, vpn: number, _h: number, _write: boolean, _cpu: number): VmFault {
    const bs = Math.floor(vpn / this.g.per) * this.g.per;
    const obj = objectOf(this.g, mm);
    const m = obj.lookup(bs) ?? obj.mappingCreate(bs, this.g.nextId++);
    const i = vpn - bs;
    if (m.is(Gm.DEVICE) && m.dpfns![i] >= 0) {
      const dev = m.dev!;
      dev.stats.dev_cpu_faults++;
      dev.stats.lock_vm_object++;
      dev.stats.lock_gm_mapping++;
      return blockHome(this.g, mm, m) ? VmFault.done : VmFault.oom;
    }
    if (m.held !== null && m.held[i] >= 0) return reuseHeld(this.g, mm, m) ? VmFault.done : VmFault.oom;
    // NOMAP (or a page the CPU never had): a zeroed page, never the shared zero page.
    const pfn = this.k.allocZeroedPage();
    if (pfn < 0) return VmFault.oom;
    if (!installPage(this.k, mm, vma, vpn, pfn)) {
      this.k.phys.free(pfn, 0);
      return VmFault.oom;
    }
    if (!m.is(Gm.DEVICE)) m.set(Gm.CPU);
    return VmFault.done;
  }

  /** munmap_in_peer_devices: peer_va_free on each device, the entries' pages freed, entries gone. */
  unmapRange(mm: Mm, start: number, end: number, _cpu: number): void {
    const flushed = new Set<Device>();
    for (const c of this.g.contexts) if (c.ctx.mm === mm) peerVaFree(c, start, end);
    const obj = this.g.objects.get(mm.id);
    if (obj === undefined) return;
    const per = this.g.per;
    for (const m of obj.range(Math.floor(start / per) * per, end)) {
      const lo = Math.max(start, m.vpn) - m.vpn;
      const hi = Math.min(end, m.vpn + per) - m.vpn;
      const dev = m.dev;
      if (dev !== null) {
        dev.stats.lock_vm_object++; // xa_lock over the entry, then its mutex
        dev.stats.lock_gm_mapping++;
      }
      if (releaseBlockPages(this.g, m, lo, hi) > 0 && dev !== null) {
        const c = contextOf(this.g, mm, dev)!;
        c.dev.stats.gm_peer_unmap++; // peer_unmap without copy: the data dies with the range
        c.dev.stats.gm_pmap_release++;
        c.ctx.pt.unmap(m.vpn + lo, m.vpn + hi);
        flushed.add(dev);
      }
      const left = (m.dpfns ?? m.held)?.some((p) => p >= 0) ?? false;
      if (!left) {
        leaveDevice(this.g, m);
        obj.remove(m); // free_gm_mappings
      }
    }
    for (const dev of flushed) tlbInvlCoalesced(contextOf(this.g, mm, dev)!);
  }

  /**
   * mprotect of [start, end) of a peer-shared vma (vmlab's choice: the series has pmap_protect
   * but no caller, which would leave a device writing a read-only area): each device mapping
   * pages of the range gets one pmap_protect to the area's write permission, and one tlb_invl
   * when write access was taken away.
   */
  protect(mm: Mm, vma: Vma, start: number, end: number): void {
    const obj = this.g.objects.get(mm.id);
    if (obj === undefined) return;
    const per = this.g.per;
    const read = (vma.flags & VM.READ) !== 0;
    const write = (vma.flags & VM.WRITE) !== 0;
    const dropped = new Map<Device, boolean>();
    for (const m of obj.range(Math.floor(start / per) * per, end)) {
      if (!m.is(Gm.DEVICE)) continue;
      const c = contextOf(this.g, mm, m.dev!)!;
      const lo = Math.max(start, m.vpn) - m.vpn;
      const hi = Math.min(end, m.vpn + per) - m.vpn;
      const d = pmapProtect(c, m.vpn, lo, hi, read, write);
      dropped.set(m.dev!, (dropped.get(m.dev!) ?? false) || d);
    }
    for (const [dev, d] of dropped) {
      const c = contextOf(this.g, mm, dev)!;
      dev.stats.gm_pmap_protect++;
      if (d) tlbInvl(c, start, end);
    }
  }

  forkPrepare(mm: Mm, vma: Vma, _cpu: number): void {
    const obj = this.g.objects.get(mm.id);
    if (obj === undefined) return;
    for (const m of obj.range(Math.floor(vma.start / this.g.per) * this.g.per, vma.end)) {
      if (m.is(Gm.DEVICE)) blockHome(this.g, mm, m);
      else if (m.held !== null) reuseHeld(this.g, mm, m);
    }
  }

  exit(mm: Mm): void {
    for (const c of this.g.contexts.filter((x) => x.ctx.mm === mm)) this.dropContext(c);
    const obj = this.g.objects.get(mm.id);
    if (obj === undefined) return;
    obj.drop(); // vm_object_drop_locked
    this.g.objects.delete(mm.id);
  }

  holds(pfn: number): boolean {
    return this.g.held.has(pfn);
  }

  check(): string[] {
    return checkGmem(this.g, this.devices);
  }
}
