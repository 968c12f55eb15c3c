// A device kernel's accesses: the device TLB, then its page table, then a device fault. A
// device with replayable faults (NVIDIA's since Pascal) keeps going after a fault: faults
// queue in its fault buffer and the driver services them a batch at a time (fault_batch
// entries, or when the kernel has issued everything), after which the faulted accesses
// replay. A device without replayable faults stalls at each one: a batch of one.
// The design's `service` does the driver's work (hmm.ts for the hmm design).

import { BIG_PAGES } from '../arch/device-mmu.js';
import type { Errno } from '../lib/errno.js';
import type { DeviceRunRequest, DeviceRunResult } from './design.js';
import type { Device, DeviceContext } from './device.js';

/** The driver: make the queued pages accessible (writes: writable); an errno stops the kernel. */
export type ServiceFn = (vpns: readonly number[], writes: readonly boolean[]) => Errno | null;

/** Write access needed by an op. */
function needsWrite(op: DeviceRunRequest['op']): boolean {
  return op !== 'read';
}

/** Permission bits an op needs (device TLB perm: 1 write, 4 atomic on system memory). */
function needsPerm(op: DeviceRunRequest['op']): number {
  return op === 'read' ? 0 : op === 'write' ? 1 : 5;
}

/**
 * Whether a translation with `perm` to pfn allows an access needing `need`: atomics on the
 * device's own memory need only write permission; elsewhere (system memory, a peer's page)
 * the atomic grant as well, which the driver gives only for pages made device-exclusive.
 */
function permits(dev: Device, perm: number, pfn: number, need: number): boolean {
  return (perm & need) === need || (need === 5 && (perm & 1) !== 0 && dev.ownsFrame(pfn));
}

/**
 * Translate vpn for the device: its TLB (a 4 KiB entry, else one of a large leaf covering vpn),
 * else a walk of its page table filling the TLB with the leaf found, whole (a 64 KiB or
 * 2 MiB leaf is one entry). Returns the frame, or -1 for a device fault (no entry, or too
 * little permission).
 */
function translate(dev: Device, ctx: DeviceContext, vpn: number, need: number): number {
  const tlb = dev.tlb;
  const asid = ctx.mm.id;
  let s = tlb.probe(asid, vpn);
  let sub = 0;
  if (s < 0 && tlb.huge > 0) {
    s = tlb.probeLarge(asid, vpn);
    sub = tlb.lastSub;
  }
  if (s >= 0 && permits(dev, tlb.perm[s], tlb.pfn[s] + sub, need)) {
    dev.stats.dev_tlb_hits++;
    tlb.stamp[s] = ++tlb.clock;
    return tlb.pfn[s] + sub;
  }
  dev.stats.dev_tlb_misses++;
  const pt = ctx.pt;
  const e = pt.lookup(vpn);
  dev.stats.dev_walk_levels += pt.walkLevels;
  if (e === 0) return -1;
  const pfn = Math.floor(e / 8);
  const perm = ((e & 2) !== 0 ? 1 : 0) | ((e & 4) !== 0 ? 4 : 0);
  if (!permits(dev, perm, pfn, need)) return -1;
  const off = vpn - pt.leafVpn;
  if (pt.leafPages === 1) tlb.fill(asid, vpn, pfn, perm);
  else if (pt.leafPages === BIG_PAGES) tlb.fillBig(asid, pt.leafVpn, pfn - off, perm);
  else tlb.fillHuge(asid, pt.leafVpn, pfn - off, perm);
  return pfn;
}

export function runDeviceKernel(
  dev: Device,
  ctx: DeviceContext,
  req: DeviceRunRequest,
  service: ServiceFn,
  onRemote: ((vpn: number) => void) | null = null,
): DeviceRunResult {
  const phys = dev.kernel.phys;
  const cpuFrames = phys.cpuFrames;
  const token = phys.frames.token;
  const newToken = () => phys.newToken();
  const firstVpn = Math.floor(req.addr / 4096);
  const pages = Math.ceil((req.addr + req.length) / 4096) - firstVpn;
  const perPass = req.pattern === 'strided' ? Math.ceil(req.length / req.stride) : pages;
  const count = req.count ?? perPass;
  const write = needsWrite(req.op);
  const need = needsPerm(req.op);
  let last = -1;
  const complete = (pfn: number, vpn: number): void => {
    if (write) token[pfn] = newToken();
    last = token[pfn];
    if (pfn < cpuFrames) {
      dev.remoteAccess(); // system memory, over the link
      // The access counters see it once it is done: a notification may migrate the page.
      if (onRemote !== null) onRemote(vpn);
    } else if (!dev.ownsFrame(pfn)) dev.peerAccess(); // a peer's memory (hmm, peer: true)
  };
  const queued: number[] = [];
  const writes: boolean[] = [];
  const inQueue = new Set<number>();
  const replay: number[] = [];
  const flush = (): Errno | null => {
    if (queued.length === 0) return null;
    dev.stats.dev_fault_batches++;
    const e = service(queued, writes);
    if (e !== null) {
      dev.stats.dev_fault_errors += queued.length;
      return e;
    }
    dev.replaying = true;
    for (const v of replay) {
      const pfn = translate(dev, ctx, v, need);
      if (pfn < 0) throw new Error(`runDeviceKernel: vpn ${v} still faults after its batch was serviced`);
      complete(pfn, v);
    }
    dev.replaying = false;
    queued.length = 0;
    writes.length = 0;
    inQueue.clear();
    replay.length = 0;
    return null;
  };
  let seq = 0;
  let done = 0;
  for (; done < count; done++) {
    let vpn: number;
    if (req.pattern === 'sequential') {
      vpn = firstVpn + seq;
      if (++seq === pages) seq = 0;
    } else if (req.pattern === 'random') {
      vpn = firstVpn + req.rng.nextInt(pages);
    } else {
      vpn = Math.floor((req.addr + seq * req.stride) / 4096);
      if (++seq === perPass) seq = 0;
    }
    dev.stats.dev_accesses++;
    const pfn = translate(dev, ctx, vpn, need);
    if (pfn >= 0) {
      complete(pfn, vpn);
      continue;
    }
    if (!inQueue.has(vpn)) {
      inQueue.add(vpn);
      queued.push(vpn);
      writes.push(write);
      dev.stats.dev_faults++;
    }
    replay.push(vpn);
    if (!dev.spec.replayableFaults || queued.length >= dev.spec.faultBatch) {
      const e = flush();
      if (e !== null) return { accesses: done, error: e, faultAddr: queued[0] * 4096 };
    }
  }
  const e = flush();
  if (e !== null) return { accesses: done - replay.length, error: e, faultAddr: queued[0] * 4096 };
  return last < 0 ? { accesses: done } : { accesses: done, lastToken: last };
}
