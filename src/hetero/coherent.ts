// Device-coherent memory (MEMORY_DEVICE_COHERENT, Linux 6.x; dmirror's coherent variant in
// lib/test_hmm.c): device memory the CPU can address coherently (a CXL or xGMI link).
// migrate_vma moves private anonymous pages there as it does to device-private memory, but
// the CPU entry then maps the device page like any other (migrate_vma_insert_page,
// remove_migration_pte: mk_pte on the new page): no CPU fault, no migrate_to_ram; CPU loads
// and stores cross the device's link. The pages are anonymous pages on no LRU list
// (ZONE_DEVICE): reclaim, MADV_COLD/PAGEOUT/FREE, mlock and khugepaged pass them by; fork
// shares them copy-on-write and the copy goes to system memory; the last reference returns
// the page to the driver (free_zone_device_folio -> page_free). They come back with
// migrate_vma and MIGRATE_VMA_SELECT_DEVICE_COHERENT, or when the driver evicts them.

import { PteAttr } from '../arch/pmap.js';
import { mlockPage } from '../mm/fault.js';
import type { Kernel } from '../mm/kernel.js';
import { lruAdd } from '../mm/lru.js';
import { rmapWalk } from '../mm/rmap.js';
import { basePteAttrs, VM } from '../mm/vma.js';
import { PG } from '../phys/frames.js';
import type { Device } from './device.js';
import { allocPrivateFrameAt, systemPageFor, unmirrorPage } from './device-pages.js';

/** Whether dev's memory is device-coherent. */
export function isCoherent(dev: Device): boolean {
  return dev.spec.memoryKind === 'coherent';
}

/**
 * A fresh device page, private or coherent as dev's memory is, for an anonymous page (owner
 * anon_vma, index), refcount and mapcount 0; -1 when the device is full. The eviction policy
 * counts it.
 */
export function newDevicePage(
  k: Kernel,
  dev: Device,
  owner: number,
  index: number,
  exclusive: boolean,
  vpn = -1,
): number {
  // A page with an address gets its frame in its device page's block (device-pages.ts).
  const dpfn = vpn >= 0 ? allocPrivateFrameAt(dev, vpn) : dev.allocPrivateFrame();
  if (dpfn < 0) return -1;
  const f = k.phys.frames;
  const kind = isCoherent(dev) ? PG.deviceCoherent : PG.devicePrivate;
  f.flags[dpfn] = PG.anon | kind | (exclusive ? PG.anonExclusive : 0);
  f.owner[dpfn] = owner;
  f.setIndex(dpfn, index);
  f.refcount[dpfn] = 0;
  f.mapcount[dpfn] = 0;
  dev.privatePages++;
  return dpfn;
}

/**
 * Move the page pfn to frame `to` (another node's), in every CPU entry that maps it
 * (try_to_migrate, then remove_migration_pte): the entry maps the new page with the old
 * entry's write, dirty and accessed bits. Contents travel; the old page is freed (it goes
 * back to its driver if it was a device page). The page stays mapped: AnonPages is unchanged.
 */
function movePage(k: Kernel, pfn: number, to: number, cpu: number): void {
  const f = k.phys.frames;
  f.token[to] = f.token[pfn];
  rmapWalk(k, pfn, (mm, vma, vpn, h) => {
    const attrs = mm.pmap.pteClear(h);
    k.flushTlbRange(mm, cpu, vpn, vpn + 1);
    const keep = attrs & (PteAttr.write | PteAttr.dirty | PteAttr.accessed);
    mm.pmap.pteSet(h, to, (basePteAttrs(vma.flags) & ~PteAttr.accessed) | keep);
    f.mapcount[to]++;
    f.refcount[to]++;
  });
  f.mapcount[pfn] = 0;
  f.refcount[pfn] = 0;
  k.freePage(pfn);
}

/**
 * The present anonymous page pfn, mapped at vpn, moves to dev's coherent memory; the new page,
 * or -1 when full.
 */
export function migrateToCoherent(k: Kernel, dev: Device, pfn: number, cpu: number, vpn: number): number {
  const f = k.phys.frames;
  const dpfn = newDevicePage(k, dev, f.owner[pfn], f.index(pfn), f.has(pfn, PG.anonExclusive), vpn);
  if (dpfn < 0) return -1;
  dev.transfer(4096, true);
  movePage(k, pfn, dpfn, cpu);
  return dpfn;
}

/**
 * The device-coherent page dpfn comes back to system memory (migrate_vma_* with
 * MIGRATE_VMA_SELECT_DEVICE_COHERENT, or migrate_device_range when the driver evicts): the
 * mappings' mirrors are told (MMU_NOTIFY_MIGRATE: the device ignores its own and drops its
 * mapping itself, as dmirror_devmem_fault_alloc_and_copy erases it), and the new page joins
 * the LRU. False when system memory ran out.
 */
export function coherentToSystem(k: Kernel, dev: Device, dpfn: number, cpu: number): boolean {
  const pfn = systemPageFor(k, dev, dpfn);
  if (pfn < 0) return false;
  k.phys.frames.refcount[pfn] = 0;
  let locked = false;
  rmapWalk(k, dpfn, (mm, vma, vpn) => {
    unmirrorPage(dev, mm, vpn);
    if ((vma.flags & VM.LOCKED) !== 0) locked = true;
  });
  movePage(k, dpfn, pfn, cpu);
  lruAdd(k, pfn);
  if (locked) mlockPage(k, pfn);
  return true;
}
