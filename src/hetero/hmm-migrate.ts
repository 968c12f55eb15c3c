// The hmm driver's migrate requests (dmirror's HMM_DMIRROR_MIGRATE_TO_DEV and _TO_SYS) and what
// a shared pgmap owner changes in them (owner.ts). migrate_vma_collect_pmd selects a
// device-private page only under MIGRATE_VMA_SELECT_DEVICE_PRIVATE and only when its pgmap
// owner is the caller's pgmap_owner (mm/migrate_device.c, Linux 6.x):
// - to a device: the driver asks MIGRATE_VMA_SELECT_SYSTEM | MIGRATE_VMA_SELECT_DEVICE_PRIVATE
//   with its owner. A page on a peer (same owner) is collected and copied device to device
//   over the interconnect; its own pages are collected too and left where they are (no
//   destination: migrate_vma_finalize restores them). A page of a device with another owner
//   is never collected: it stays there, the device does not map it, and dmirror's read-back
//   fails with ENOENT (hmm-tests.c hmm2.migrate_mixed).
// - to system memory: MIGRATE_VMA_SELECT_DEVICE_PRIVATE with the device's owner brings back
//   its own pages and, under a shared owner, its peers' pages in the range.

import type { Kernel } from '../mm/kernel.js';
import type { Task } from '../mm/mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from '../mm/mmu-notifier.js';
import { VM } from '../mm/vma.js';
import { PG } from '../phys/frames.js';
import { coherentToSystem, isCoherent, newDevicePage } from './coherent.js';
import type { MigrateOutcome } from './design.js';
import type { Device, DeviceContext } from './device.js';
import {
  deviceOf,
  devicePrivateWalk,
  migrateBack,
  migrateToDevice,
  type TakeDevicePrivate,
} from './migrate.js';
import { sameOwner } from './owner.js';

/**
 * The device-private page spfn of a peer moves to `to`'s memory: the copy crosses the
 * interconnect (counted on `to`'s link, as its peer accesses are: device.ts), every CPU entry
 * naming the old page names the new one with the same write permission (try_to_migrate,
 * remove_migration_pte: AnonPages unchanged), the old page returns to its driver. Other
 * processes' mirrors of those entries are told (try_to_migrate_one: MMU_NOTIFY_CLEAR); the
 * caller's own range was notified by migrate_vma_collect. -1 when `to` is full.
 */
function movePeerPage(k: Kernel, task: Task, to: Device, spfn: number): number {
  const f = k.phys.frames;
  const dpfn = newDevicePage(k, to, f.owner[spfn], f.index(spfn), f.has(spfn, PG.anonExclusive));
  if (dpfn < 0) return -1;
  f.token[dpfn] = f.token[spfn];
  to.transfer(4096, true);
  devicePrivateWalk(k, spfn, (mm, _vma, vpn, h, type) => {
    if (mm !== task.mm) mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.clear);
    mm.pmap.pteSetSwap(h, dpfn, type);
    f.mapcount[dpfn]++;
    f.refcount[dpfn]++;
  });
  const n = f.mapcount[spfn];
  f.mapcount[spfn] = 0;
  f.refcount[spfn] -= n;
  if (f.refcount[spfn] === 0) k.pgmap!.pageFree(spfn);
  return dpfn;
}

/** dmirror_migrate_to_device, with MIGRATE_VMA_SELECT_DEVICE_PRIVATE (peers' pages come here). */
export function migrateRangeToDevice(
  k: Kernel,
  devices: readonly Device[],
  task: Task,
  dev: Device,
  ctx: DeviceContext,
  start: number,
  end: number,
): MigrateOutcome {
  // vmlab's coherent driver selects system memory only: peers share device-private memory.
  const take: TakeDevicePrivate | null = isCoherent(dev)
    ? null
    : (pfn) => {
        const from = deviceOf(k, devices, pfn);
        if (from === undefined || from === dev || !sameOwner(from, dev)) return -1;
        return movePeerPage(k, task, dev, pfn);
      };
  return migrateToDevice(k, task, dev, ctx, start, end, take);
}

/**
 * dmirror_migrate_to_system: the range's device pages of dev's owner come back
 * (MIGRATE_VMA_SELECT_DEVICE_PRIVATE; MIGRATE_VMA_SELECT_DEVICE_COHERENT for a coherent
 * device, whose own pages only). EINVAL for a hole or an area without VM_READ; ENOMEM when
 * system memory ran out.
 */
export function migrateRangeToSystem(
  k: Kernel,
  devices: readonly Device[],
  task: Task,
  dev: Device,
  start: number,
  end: number,
): MigrateOutcome {
  const mm = task.mm!;
  let cpages = 0;
  for (let vpn = start; vpn < end; vpn++) {
    const vma = mm.vmaAt(vpn);
    if (vma === undefined || (vma.flags & VM.READ) === 0) return { cpages, error: 'EINVAL' };
    const h = mm.pmap.pteLookup(vpn);
    if (h < 0) continue;
    if (isCoherent(dev)) {
      if (!mm.pmap.ptePresent(h) || deviceOf(k, devices, mm.pmap.ptePfn(h)) !== dev) continue;
      if (!coherentToSystem(k, dev, mm.pmap.ptePfn(h), task.cpu)) return { cpages, error: 'ENOMEM' };
      cpages++;
      continue;
    }
    if (!mm.pmap.pteIsSwap(h) || mm.pmap.pteSwapType(h) === 0) continue;
    const pfn = mm.pmap.pteSwapSlot(h);
    const owner = deviceOf(k, devices, pfn);
    if (owner === undefined || isCoherent(owner) || !sameOwner(owner, dev)) continue;
    if (!migrateBack(k, owner, pfn)) return { cpages, error: 'ENOMEM' };
    cpages++;
  }
  return { cpages };
}
