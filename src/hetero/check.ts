// Invariants of devices in the address space (run with the core's after every step):
// - a page is owned in exactly one place: a device-private page is referenced by exactly the
//   CPU entries that name it (refcount = mapcount = entries), a device-coherent page mapped and
//   referenced by exactly the present entries that map it and the device-exclusive entries
//   naming it (6.15+: such an entry is a mapping), and none is left unreferenced;
// - device page tables map only what the CPU side allows: a system page the CPU maps at the
//   same address (writable on the device only if writable on the CPU), or a private page the
//   CPU entry names (writable only through a writable device-private entry) that is the
//   device's own or a peer's (one pgmap owner, owner.ts), never another owner's;
//   atomics on a system page only where the CPU entry is device-exclusive for that page;
// - device page tables account for their tables, large leaves map the device's own contiguous
//   memory, device TLBs hold no translation their page table does not have (check-device-pt.ts);
// - device memory adds up: free + page-table pages + private pages = the hnode.
// Reads only; changes nothing.

import { isDeviceExclusiveType, PteAttr, SwpType } from '../arch/pmap.js';
import type { Kernel } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import { rmapWalk } from '../mm/rmap.js';
import type { Vma } from '../mm/vma.js';
import { VM } from '../mm/vma.js';
import { PG } from '../phys/frames.js';
import { checkDevicePageTable } from './check-device-pt.js';
import type { Device } from './device.js';
import type { Mirror } from './hmm.js';
import { hugeLeafPfn } from './hmm-range.js';
import { MMU_INTERVAL_NOTIFIER_BYTES } from './notifier.js';
import { sameOwner } from './owner.js';

type PrivateWalk = (
  k: Kernel,
  pfn: number,
  visit: (mm: Mm, vma: Vma, vpn: number, h: number, type: number) => void,
) => void;

export function checkHetero(
  k: Kernel,
  devices: readonly Device[],
  mirrors: readonly Mirror[],
  walk: PrivateWalk,
): string[] {
  const bad: string[] = [];
  const f = k.phys.frames;
  const free = new Set<number>();
  k.phys.forEachFreeDevice((pfn, order) => {
    for (let i = 0; i < 1 << order; i++) free.add(pfn + i);
  });
  let tables = 0;
  for (const m of mirrors) {
    tables += m.ctx.pt.tablePages;
    checkDevicePageTable(k, m.dev, m.ctx, bad);
    checkMirror(k, m, devices, bad);
  }
  if (tables * 4096 !== (k.meta.live.get('device_page_table') ?? 0))
    bad.push(
      `checkHetero: device_page_table meter ${k.meta.live.get('device_page_table') ?? 0} B, tables hold ${tables * 4096}`,
    );
  if (mirrors.length * MMU_INTERVAL_NOTIFIER_BYTES !== (k.meta.live.get('mmu_interval_notifier') ?? 0))
    bad.push(
      `checkHetero: ${mirrors.length} interval notifiers, meter says ${k.meta.live.get('mmu_interval_notifier') ?? 0} B`,
    );
  for (const dev of devices) {
    const node = k.phys.hnodes[dev.hnode];
    let privatePages = 0;
    let used = 0;
    for (let p = node.startPfn; p < node.startPfn + node.nframes; p++) {
      if (free.has(p)) continue;
      used++;
      const coherent = f.has(p, PG.deviceCoherent);
      if (!f.has(p, PG.devicePrivate) && !coherent) continue;
      privatePages++;
      let refs = 0;
      // A device-coherent page is mapped by present entries, and by another device's
      // device-exclusive entries (rmapWalk finds both, as page_vma_mapped_walk does in 6.15+).
      if (coherent) rmapWalk(k, p, () => refs++, true);
      else walk(k, p, () => refs++);
      if (refs === 0)
        bad.push(`checkHetero: device page ${p} of ${dev.spec.name} is referenced by no CPU entry (leak)`);
      if (f.mapcount[p] !== refs || f.refcount[p] !== refs)
        bad.push(
          `checkHetero: device page ${p} mapcount ${f.mapcount[p]} refcount ${f.refcount[p]}, ${refs} CPU entries`,
        );
    }
    if (privatePages !== dev.privatePages)
      bad.push(
        `checkHetero: ${dev.spec.name} counts ${dev.privatePages} private pages, memory holds ${privatePages}`,
      );
    let devTables = 0;
    for (const m of mirrors) if (m.dev === dev) devTables += m.ctx.pt.tablePages;
    if (used !== privatePages + devTables)
      bad.push(
        `checkHetero: ${dev.spec.name} has ${used} frames in use: ${privatePages} private + ${devTables} table pages`,
      );
  }
  return bad;
}

/** Every device mapping (each page of a large leaf) agrees with the CPU entry at its address. */
function checkMirror(k: Kernel, m: Mirror, devices: readonly Device[], bad: string[]): void {
  const mm = m.ctx.mm;
  const pmap = mm.pmap;
  const name = m.dev.spec.name;
  m.ctx.pt.forEach((vpn, pfn, write, atomic) => {
    const vma = mm.vmaAt(vpn);
    if (vma === undefined || (vma.flags & VM.READ) === 0) {
      bad.push(`checkMirror: ${name} maps vpn ${vpn} of mm ${mm.id}, which the CPU may not read`);
      return;
    }
    let cpuPfn = -1;
    let cpuWrite = false;
    let exclusive = false;
    const huge = hugeLeafPfn(k, mm, vma, vpn);
    if (huge >= 0) {
      cpuPfn = huge;
      cpuWrite = (pmap.hugeAttrs & PteAttr.write) !== 0;
    } else if (!vma.isHugetlb()) {
      const h = pmap.pteLookup(vpn);
      if (h >= 0 && pmap.pteIsSwap(h) && pmap.pteSwapType(h) !== SwpType.swap) {
        const type = pmap.pteSwapType(h);
        cpuPfn = pmap.pteSwapSlot(h);
        exclusive = isDeviceExclusiveType(type);
        // 6.15+ has one device-exclusive type, made from a writable entry and left alone by
        // mprotect: the CPU's write permission is the area's (restore_exclusive_pte).
        cpuWrite = type === SwpType.deviceWrite || (exclusive && (vma.flags & VM.WRITE) !== 0);
      } else if (h >= 0 && pmap.ptePresent(h)) {
        cpuPfn = pmap.ptePfn(h);
        cpuWrite = (pmap.pteAttrs(h) & PteAttr.write) !== 0;
      }
    }
    if (cpuPfn !== pfn)
      bad.push(`checkMirror: ${name} maps vpn ${vpn} to ${pfn}, the CPU entry names ${cpuPfn} (stale)`);
    else if (write && !cpuWrite)
      bad.push(`checkMirror: ${name} maps vpn ${vpn} writable, the CPU entry is read-only`);
    else if (atomic && !exclusive)
      bad.push(`checkMirror: ${name} maps vpn ${vpn} for atomics, the CPU entry is not device-exclusive`);
    if (k.phys.frames.has(pfn, PG.devicePrivate) && !m.dev.ownsFrame(pfn)) {
      const owner = devices.find((d) => d.ownsFrame(pfn));
      if (owner === undefined || !sameOwner(owner, m.dev))
        bad.push(
          `checkMirror: ${name} maps vpn ${vpn} to ${owner?.spec.name ?? '?'}'s page ${pfn}, not a peer's`,
        );
    }
  });
}
