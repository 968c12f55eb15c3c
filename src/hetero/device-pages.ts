// Whole device pages: device memory allocated a device page (page_size) at a time, contiguous
// and naturally aligned, and mapped by one large leaf of the device page table
// (arch/device-mmu.ts) when it is whole, as real drivers do: NVIDIA's UVM allocates device
// memory in 2 MiB root chunks split down to the page size a va_block maps with, and maps a
// physically contiguous, aligned 64 KiB or 2 MiB run with one big or huge PTE; the gmem RFC's
// gm_dev_fault allocates a device page of page_size. When device memory is fragmented (no
// free block that large) the driver falls back to 4 KiB frames, mapped by 4 KiB leaves, as
// are system memory (remote mappings) and any run that is not contiguous or of one permission.

import type { Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from '../mm/mmu-notifier.js';
import { PG } from '../phys/frames.js';
import type { Device, DeviceContext } from './device.js';

/** A device page's block reserved for the current operation: which of its frames are used. */
export interface DeviceRun {
  /** First frame, or -1 when no block was free (the pages get 4 KiB frames). */
  readonly head: number;
  readonly taken: Uint8Array;
}

/** log2 of pages: the buddy order of a device page. */
function orderOf(pages: number): number {
  return Math.round(Math.log2(pages));
}

/**
 * A free, aligned block of one device page of dev's memory, or -1. When fewer frames than a
 * device page are free, the driver's eviction (onFull) runs once first (UVM evicts a root chunk
 * to make room); a memory with room but no block that large is fragmented: -1.
 */
export function allocDeviceBlock(dev: Device): number {
  const k = dev.kernel;
  const order = orderOf(dev.pagePages);
  let pfn = k.phys.allocDeviceBlock(dev.hnode, order);
  if (pfn < 0 && k.phys.hnodeFreePages(dev.hnode) < dev.pagePages && dev.onFull?.())
    pfn = k.phys.allocDeviceBlock(dev.hnode, order);
  return pfn;
}

/**
 * A frame for the device-private (or coherent) page that will sit at vpn: on a device with
 * pages larger than 4 KiB, the frame at vpn's offset in a block reserved for vpn's device
 * page in this operation (the first page of a device page reserves it); else, or when no
 * block was free, any frame (Device.allocPrivateFrame). -1 when memory is full.
 */
export function allocPrivateFrameAt(dev: Device, vpn: number): number {
  const per = dev.pagePages;
  if (per === 1) return dev.allocPrivateFrame();
  const key = Math.floor(vpn / per);
  let r = dev.runs.get(key);
  if (r === undefined) {
    r = { head: allocDeviceBlock(dev), taken: new Uint8Array(per) };
    dev.runs.set(key, r);
  }
  const i = vpn % per;
  if (r.head < 0 || r.taken[i] !== 0) return dev.allocPrivateFrame();
  r.taken[i] = 1;
  const pfn = r.head + i;
  const chunk = dev.chunkOf(pfn);
  dev.eviction.allocated(chunk);
  dev.pinned.add(chunk);
  return pfn;
}

/** The operation ends: frames of reserved blocks that no page took go back. */
export function releaseRuns(dev: Device): void {
  for (const r of dev.runs.values()) {
    if (r.head < 0) continue;
    for (let i = 0; i < r.taken.length; i++) if (r.taken[i] === 0) dev.freeFrame(r.head + i);
  }
  dev.runs.clear();
}

/**
 * Map pages vpn .. vpn + n - 1 of ctx to pfnAt(i) (skipped when < 0), writable where
 * writeAt(i): each naturally aligned device page whose frames are the device's own,
 * contiguous and aligned, with one permission, by one large leaf; the rest by 4 KiB leaves
 * (atomics on system memory always). False when table memory ran out.
 */
export function mapRun(
  dev: Device,
  ctx: DeviceContext,
  vpn: number,
  n: number,
  pfnAt: (i: number) => number,
  writeAt: (i: number) => boolean,
  atomic = false,
): boolean {
  const per = ctx.pt.largePages;
  const node = dev.kernel.phys.hnodes[dev.hnode];
  for (let i = 0; i < n; ) {
    const v = vpn + i;
    if (per > 1 && !atomic && v % per === 0 && i + per <= n) {
      const p0 = pfnAt(i);
      const w = writeAt(i);
      let whole = p0 >= node.startPfn && p0 % per === 0 && p0 + per <= node.startPfn + node.nframes;
      for (let j = 1; j < per && whole; j++) whole = pfnAt(i + j) === p0 + j && writeAt(i + j) === w;
      if (whole) {
        if (!ctx.pt.mapLarge(v, p0, w)) return false;
        i += per;
        continue;
      }
    }
    const p = pfnAt(i);
    if (p >= 0 && !ctx.pt.map(v, p, writeAt(i), atomic)) return false;
    i++;
  }
  return true;
}

/**
 * The system page that takes over device page dpfn (migrate_vma's destination: anonymous,
 * its anon_vma and index, exclusive if the device page was): allocated, the copy counted on
 * the link. -1 when system memory ran out.
 */
export function systemPageFor(k: Kernel, dev: Device, dpfn: number): number {
  const f = k.phys.frames;
  const pfn = k.phys.alloc(0);
  if (pfn < 0) return -1;
  f.flags[pfn] = PG.anon | (f.flags[dpfn] & PG.anonExclusive);
  f.owner[pfn] = f.owner[dpfn];
  f.setIndex(pfn, f.index(dpfn));
  f.mapcount[pfn] = 0;
  dev.transfer(4096, false);
  dev.stats.dev_migrate_to_system++;
  return pfn;
}

/** A page of mm at vpn moves off dev: the mirrors are told (dev's own skips it), dev drops its mapping. */
export function unmirrorPage(dev: Device, mm: Mm, vpn: number): void {
  mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.migrate, dev);
  const ctx = dev.contexts.get(mm.id);
  if (ctx !== undefined && ctx.pt.unmap(vpn, vpn + 1) > 0) dev.invalidateTlb(mm.id, vpn, vpn + 1);
}
