// A device kernel's accesses: the device TLB, then its page table, then a device fault. A
// device with replayable faults (NVIDIA's since Pascal) keeps going after a fault: faults
// queue in its fault buffer and the driver services them a batch at a time (fault_batch
// entries, or when the kernel has issued everything), after which the faulted accesses
// replay. A device without replayable faults stalls at each one: a batch of one.
// The design's `service` does the driver's work (hmm.ts for the hmm design).

import type { Errno } from '../lib/errno.js';
import type { DeviceRunRequest, DeviceRunResult } from './design.js';
import type { Device, DeviceContext } from './device.js';

/** The driver: make the queued pages accessible (writes: writable); an errno stops the kernel. */
export type ServiceFn = (vpns: readonly number[], writes: readonly boolean[]) => Errno | null;

/** Write access needed by an op. */
function needsWrite(op: DeviceRunRequest['op']): boolean {
  return op !== 'read';
}

/**
 * Translate vpn for the device: its TLB, else a walk of its page table (filling the TLB).
 * Returns the frame, or -1 for a device fault (no entry, or read-only for a write).
 */
function translate(dev: Device, ctx: DeviceContext, vpn: number, write: boolean): number {
  const tlb = dev.tlb;
  const asid = ctx.mm.id;
  const s = tlb.probe(asid, vpn);
  if (s >= 0 && (!write || (tlb.perm[s] & 1) !== 0)) {
    dev.stats.dev_tlb_hits++;
    tlb.stamp[s] = ++tlb.clock;
    return tlb.pfn[s];
  }
  dev.stats.dev_tlb_misses++;
  const e = ctx.pt.lookup(vpn);
  dev.stats.dev_walk_levels += ctx.pt.walkLevels;
  if (e === 0 || (write && (e & 2) === 0)) return -1;
  const pfn = Math.floor(e / 8);
  tlb.fill(asid, vpn, pfn, (e & 2) !== 0 ? 1 : 0);
  return pfn;
}

export function runDeviceKernel(
  dev: Device,
  ctx: DeviceContext,
  req: DeviceRunRequest,
  cpuFrames: number,
  token: Uint32Array,
  newToken: () => number,
  service: ServiceFn,
  onRemote: ((vpn: number) => void) | null = null,
): DeviceRunResult {
  const firstVpn = Math.floor(req.addr / 4096);
  const pages = Math.ceil((req.addr + req.length) / 4096) - firstVpn;
  const perPass = req.pattern === 'strided' ? Math.ceil(req.length / req.stride) : pages;
  const count = req.count ?? perPass;
  const write = needsWrite(req.op);
  let last = -1;
  const complete = (pfn: number, vpn: number): void => {
    if (write) token[pfn] = newToken();
    last = token[pfn];
    if (pfn < cpuFrames) {
      dev.remoteAccess(); // system memory, over the link
      // The access counters see it once it is done: a notification may migrate the page.
      if (onRemote !== null) onRemote(vpn);
    }
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
      const pfn = translate(dev, ctx, v, write);
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
    const pfn = translate(dev, ctx, vpn, write);
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
