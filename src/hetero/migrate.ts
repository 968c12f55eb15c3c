// Migration between system memory and device-private memory (mm/migrate_device.c:
// migrate_vma_setup -> migrate_vma_collect / migrate_vma_unmap, migrate_vma_pages,
// migrate_vma_finalize; the driver's part after lib/test_hmm.c's dmirror). Contents (tokens)
// travel with every page; bytes and time on the link are counted.

import { HPAGE_PMD_NR, isDevicePrivateType, PmdState, PteAttr, SwpType } from '../arch/pmap.js';
import type { Errno } from '../lib/errno.js';
import { anonVmaPrepare, mlockPage } from '../mm/fault.js';
import { splitHugePmd } from '../mm/huge-memory.js';
import { splitFolio } from '../mm/huge-rmap.js';
import type { Kernel } from '../mm/kernel.js';
import { lruAdd } from '../mm/lru.js';
import { type Mm, MmCounter, type Task } from '../mm/mm.js';
import { mmuNotifierInvalidate, NotifyEvent } from '../mm/mmu-notifier.js';
import { rmapWalk } from '../mm/rmap.js';
import { freeSwapCacheIfUnused } from '../mm/swap.js';
import { basePteAttrs, VM, type Vma } from '../mm/vma.js';
import { PG } from '../phys/frames.js';
import { isCoherent, migrateToCoherent, newDevicePage } from './coherent.js';
import type { Device, DeviceContext } from './device.js';
import { mapRun, releaseRuns, systemPageFor, unmirrorPage } from './device-pages.js';

/** Pages one migrate_vma_setup call covers in dmirror (its src_pfns[64] array). */
const MIGRATE_CHUNK = 64;

/**
 * split_folio of the anonymous THP `head` for migrate_vma_collect_pmd (Linux 6.6, before THP
 * device migration): unmap_folio splits every PMD mapping it (try_to_migrate with
 * TTU_SPLIT_HUGE_PMD: split_huge_pmd_address's MMU_NOTIFY_CLEAR, then try_to_migrate_one's
 * over the same 2 MiB; 6.12 folds the split into the walk, one notification), then the
 * folio becomes 512 pages. False when it is not an anonymous THP.
 */
function splitThp(k: Kernel, head: number, cpu: number): boolean {
  const f = k.phys.frames;
  if (!f.has(head, PG.anon) || !f.has(head, PG.head)) return false;
  const index = f.index(head);
  for (const vma of [...(k.anonVmas.get(f.owner[head])?.vmas ?? [])]) {
    const mm = vma.mm;
    const vpn = vma.start + (index - vma.pgoff);
    if (mm === null || vma.dead || vpn < vma.start || vpn >= vma.end) continue;
    if (mm.pmap.pmdState(vpn) !== PmdState.huge || mm.pmap.hugePfn !== head) continue;
    splitHugePmd(k, mm, vma, vpn, cpu);
    mmuNotifierInvalidate(mm, vpn, vpn + HPAGE_PMD_NR, NotifyEvent.clear);
  }
  splitFolio(k, head);
  return true;
}

/** The device whose memory holds pfn, or undefined for system memory. */
export function deviceOf(k: Kernel, devices: readonly Device[], pfn: number): Device | undefined {
  return pfn < k.phys.cpuFrames ? undefined : devices.find((d) => d.ownsFrame(pfn));
}

/** The CPU entries that refer to device-private page pfn (rmap walk over its anon_vma). */
export function devicePrivateWalk(
  k: Kernel,
  pfn: number,
  visit: (mm: Mm, vma: Vma, vpn: number, h: number, type: number) => void,
): void {
  const f = k.phys.frames;
  const av = k.anonVmas.get(f.owner[pfn]);
  if (av === undefined) return;
  const index = f.index(pfn);
  for (const vma of [...av.vmas]) {
    const mm = vma.mm;
    if (mm === null || vma.dead) continue;
    const vpn = vma.start + (index - vma.pgoff);
    if (vpn < vma.start || vpn >= vma.end) continue;
    const h = mm.pmap.pteLookup(vpn);
    if (h < 0 || !mm.pmap.pteIsSwap(h)) continue;
    const type = mm.pmap.pteSwapType(h);
    if (isDevicePrivateType(type) && mm.pmap.pteSwapSlot(h) === pfn) visit(mm, vma, vpn, h, type);
  }
}

/**
 * Migrate the present anonymous page pfn, mapped at vpn, to dev: every CPU entry mapping it becomes a
 * device-private entry (try_to_migrate, remove_migration_ptes), writable where it was.
 * Returns the device page, or -1 when device memory is full. AnonPages does not change:
 * migrate_vma_collect_pmd's folio_remove_rmap_pte takes the system page out of
 * NR_ANON_MAPPED, and remove_migration_pte's folio_add_anon_rmap_pte puts the device page in
 * (__folio_mod_stat makes no exception for a zone-device folio).
 */
function migratePageOut(k: Kernel, dev: Device, pfn: number, cpu: number, vpn: number): number {
  const f = k.phys.frames;
  const dpfn = newDevicePage(k, dev, f.owner[pfn], f.index(pfn), f.has(pfn, PG.anonExclusive), vpn);
  if (dpfn < 0) return -1;
  f.token[dpfn] = f.token[pfn]; // copy_highpage over the link
  dev.transfer(4096, true);
  rmapWalk(k, pfn, (mm, _vma, vpn, h) => {
    const attrs = mm.pmap.pteClear(h);
    k.flushTlbRange(mm, cpu, vpn, vpn + 1);
    const write = (attrs & PteAttr.write) !== 0;
    mm.pmap.pteSetSwap(h, dpfn, write ? SwpType.deviceWrite : SwpType.deviceRead);
    f.mapcount[dpfn]++;
    f.refcount[dpfn]++;
  });
  f.mapcount[pfn] = 0;
  f.refcount[pfn] = 0;
  k.freePage(pfn);
  return dpfn;
}

export interface MigrateResult {
  /** Pages of the range that ended up mapped by the device (dmirror's cpages). */
  readonly cpages: number;
  readonly error?: Errno;
}

/**
 * Takes the device-private page pfn of another device to the migrating one (MIGRATE_VMA_SELECT_
 * DEVICE_PRIVATE): the new page, or -1 when the page is not selected (its pgmap owner is not
 * the caller's, or it is the caller's own page) or device memory is full.
 */
export type TakeDevicePrivate = (pfn: number) => number;

/**
 * dmirror_migrate_to_device: for each VMA piece of [start, end) in chunks of MIGRATE_CHUNK,
 * migrate_vma_setup with MIGRATE_VMA_SELECT_SYSTEM (EINVAL when the range leaves the VMAs or
 * an area has no VM_READ or is hugetlb), migrate what may move (empty entries and the zero page of private
 * anonymous areas; anonymous pages that are not mlocked, held by the swap cache or part of a
 * PTE-mapped THP; a PMD-mapped THP is split first),
 * and map the new device pages in the device's page table. Then, as dmirror does, read the
 * range back from the device: a page the device does not map (it did not move: a shared or
 * file page, swapped out) makes the call fail with ENOENT. With `takePrivate` the driver asks
 * MIGRATE_VMA_SELECT_DEVICE_PRIVATE as well (hmm-migrate.ts: a peer's pages move here). The
 * caller holds mmap_lock (read).
 */
export function migrateToDevice(
  k: Kernel,
  task: Task,
  dev: Device,
  ctx: DeviceContext,
  start: number,
  end: number,
  takePrivate: TakeDevicePrivate | null = null,
): MigrateResult {
  const mm = task.mm!;
  const pmap = mm.pmap;
  const f = k.phys.frames;
  const coherent = isCoherent(dev);
  // dmirror_migrate_finalize_and_map: the new device pages of a block are mapped once the
  // block's last page has moved: a whole device page (its frames one block, device-pages.ts)
  // by one large leaf (UVM maps a va_block's pages once they are resident). Blocks no page
  // took go back at the end.
  const moved = new Float64Array(end - start).fill(-1);
  const writable = new Uint8Array(end - start);
  const per = dev.pagePages;
  let cursor = start;
  const mapUpTo = (to: number): void => {
    if (to <= cursor) return;
    const from = cursor - start;
    // A mapping that finds no table memory leaves its pages unmapped: ENOENT below.
    mapRun(
      dev,
      ctx,
      cursor,
      to - cursor,
      (i) => moved[from + i],
      (i) => writable[from + i] === 1,
    );
    cursor = to;
  };
  // A page that got no block (4 KiB device, fragmented memory) is mapped at once, as before
  // any large leaf: its tables are taken as the pages move, not after all the frames.
  const next = (vpn: number): number => {
    if ((vpn + 1) % per === 0 || vpn + 1 === end || (dev.runs.get(Math.floor(vpn / per))?.head ?? -1) < 0)
      mapUpTo(vpn + 1);
    return vpn + 1;
  };
  const finish = (to: number): void => {
    mapUpTo(to);
    releaseRuns(dev);
  };
  for (let a = start; a < end; ) {
    const vma = mm.vmaAt(a);
    // migrate_vma_setup refuses hugetlb areas (is_vm_hugetlb_page) with EINVAL.
    if (vma === undefined || (vma.flags & VM.READ) === 0 || vma.isHugetlb()) {
      finish(a);
      return { cpages: 0, error: 'EINVAL' };
    }
    const b = Math.min(end, a + MIGRATE_CHUNK, vma.end);
    mmuNotifierInvalidate(mm, a, b, NotifyEvent.migrate, dev); // migrate_vma_collect
    const anonymous = vma.file === null; // vma_is_anonymous: private anonymous areas only
    let stale = false;
    for (let vpn = a; vpn < b; vpn = next(vpn)) {
      if (vpn % 512 === 0 || vpn === a) dev.stats.lock_ptl++;
      if (pmap.pmdState(vpn) === PmdState.huge) {
        // migrate_vma_collect_pmd: the huge zero page's PMD is split (split_huge_pmd), a THP
        // split whole (split_folio); its pages then migrate one by one.
        if ((pmap.hugeAttrs & PteAttr.special) !== 0) splitHugePmd(k, mm, vma, vpn, task.cpu);
        else if (!splitThp(k, pmap.hugePfn, task.cpu)) continue;
      }
      const h = pmap.pteLookup(vpn);
      let dpfn = -1;
      let write = false;
      if (h < 0 || pmap.pteNone(h) || (pmap.ptePresent(h) && pmap.ptePfn(h) === k.phys.zeroPfn)) {
        // migrate_vma_insert_page: a new anonymous page, born on the device, zero-filled.
        if (!anonymous) continue;
        anonVmaPrepare(k, mm, vma);
        const hh = pmap.pteAlloc(vpn);
        if (hh < 0) continue;
        const owner = vma.anonVma!.id;
        dpfn = newDevicePage(k, dev, owner, vma.pageIndex(vpn), true, vpn);
        if (dpfn < 0) continue;
        f.token[dpfn] = 0; // clear_highpage on the device: nothing crosses the link
        if (!pmap.pteNone(hh)) {
          pmap.pteClear(hh); // the zero page: ptep_clear_flush
          k.flushTlbRange(mm, task.cpu, vpn, vpn + 1);
        }
        write = (vma.flags & VM.WRITE) !== 0;
        if (coherent) {
          // A device-coherent page is mapped like a system page (mk_pte, pte_mkwrite(pte_mkdirty)).
          pmap.pteSet(hh, dpfn, basePteAttrs(vma.flags) | (write ? PteAttr.write | PteAttr.dirty : 0));
        } else pmap.pteSetSwap(hh, dpfn, write ? SwpType.deviceWrite : SwpType.deviceRead);
        // folio_add_new_anon_rmap, private or coherent alike: the page is in NR_ANON_MAPPED
        // (AnonPages) and MM_ANONPAGES; no LRU for a zone-device folio.
        k.anonPages++;
        f.mapcount[dpfn] = 1;
        f.refcount[dpfn] = 1;
        mm.addRss(MmCounter.ANONPAGES, 1);
      } else if (pmap.ptePresent(h)) {
        const pfn = pmap.ptePfn(h);
        if (!f.has(pfn, PG.anon) || f.has(pfn, PG.compound) || f.has(pfn, PG.mlocked)) continue;
        if (pfn >= k.phys.cpuFrames) continue; // a device-coherent page: SELECT_SYSTEM skips it
        if (f.has(pfn, PG.swapcache)) freeSwapCacheIfUnused(k, pfn); // folio_free_swap
        if (f.has(pfn, PG.swapcache)) continue;
        write = (pmap.pteAttrs(h) & PteAttr.write) !== 0;
        // Other processes mapping the page lose their entries too (try_to_migrate).
        rmapWalk(k, pfn, (m2, _v, vpn2) => {
          if (m2 !== mm) mmuNotifierInvalidate(m2, vpn2, vpn2 + 1, NotifyEvent.clear);
        });
        dpfn = coherent
          ? migrateToCoherent(k, dev, pfn, task.cpu, vpn)
          : migratePageOut(k, dev, pfn, task.cpu, vpn);
        if (dpfn < 0) continue;
      } else if (takePrivate !== null && isDevicePrivateType(pmap.pteSwapType(h))) {
        write = pmap.pteSwapType(h) === SwpType.deviceWrite;
        dpfn = takePrivate(pmap.pteSwapSlot(h));
        if (dpfn < 0) continue;
      } else continue; // a swap entry, or a device-private page not selected
      dev.stats.dev_migrate_to_device++;
      // The device's old mapping (a system page) goes; the new page is mapped by next().
      if (ctx.pt.lookup(vpn) !== 0) stale = true;
      ctx.pt.unmap(vpn, vpn + 1);
      moved[vpn - start] = dpfn;
      writable[vpn - start] = write ? 1 : 0;
    }
    dev.stats.lock_notifier++;
    if (stale) dev.invalidateTlb(mm.id, a, b);
    a = b;
  }
  finish(end);
  // dmirror_do_read over the range: every page must be mapped by the device now.
  let cpages = 0;
  for (let vpn = start; vpn < end; vpn++) {
    if (ctx.pt.lookup(vpn) === 0) return { cpages, error: 'ENOENT' };
    cpages++;
  }
  return { cpages };
}

/**
 * The device-private page dpfn goes back to system memory (migrate_vma_* with
 * MIGRATE_VMA_SELECT_DEVICE_PRIVATE, or migrate_device_range when the driver evicts): a new
 * system page takes its contents, every CPU entry referring to it maps the new page (writable
 * where the device entry was), device mappings of it go. False when memory ran out.
 * AnonPages does not change: the device page leaves NR_ANON_MAPPED (folio_remove_rmap_pte
 * when its entries become migration entries), the system page joins it (remove_migration_pte).
 */
export function migrateBack(k: Kernel, dev: Device, dpfn: number): boolean {
  const f = k.phys.frames;
  const pfn = systemPageFor(k, dev, dpfn);
  if (pfn < 0) return false;
  f.token[pfn] = f.token[dpfn];
  let locked = false;
  devicePrivateWalk(k, dpfn, (mm, vma, vpn, h, type) => {
    unmirrorPage(dev, mm, vpn);
    const write = type === SwpType.deviceWrite && (vma.flags & VM.WRITE) !== 0;
    mm.pmap.pteSet(h, pfn, basePteAttrs(vma.flags) | (write ? PteAttr.write | PteAttr.dirty : 0));
    f.mapcount[pfn]++;
    if ((vma.flags & VM.LOCKED) !== 0) locked = true;
  });
  f.refcount[pfn] = f.mapcount[pfn];
  if (f.mapcount[pfn] > 0) k.anonPages++;
  lruAdd(k, pfn);
  if (locked) mlockPage(k, pfn);
  const n = f.mapcount[dpfn];
  if (n > 0) k.anonPages--;
  f.mapcount[dpfn] = 0;
  f.refcount[dpfn] -= n;
  if (f.refcount[dpfn] === 0) k.pgmap!.pageFree(dpfn);
  return true;
}

/** Pages of this device's memory that are device-private or device-coherent pages now, in pfn order. */
export function devicePages(k: Kernel, dev: Device): number[] {
  const node = k.phys.hnodes[dev.hnode];
  const f = k.phys.frames;
  const out: number[] = [];
  for (let p = node.startPfn; p < node.startPfn + node.nframes; p++)
    if (f.has(p, PG.devicePrivate) || f.has(p, PG.deviceCoherent)) out.push(p);
  return out;
}
