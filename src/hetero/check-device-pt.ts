// Invariants of one device page table and the device TLB over it, for both device designs'
// checkers (check.ts for hmm, gmem-check.ts for gmem):
// - its table pages, counted by walking it, are the pages it accounts for; no table but the
//   root is empty (a table goes with its last valid entry), and each counts its entries right;
// - a large leaf (64 KiB or 2 MiB, arch/device-mmu.ts) is naturally aligned, maps frames of
//   this device's own memory that are contiguous and aligned, and carries no atomic grant;
// - every translation the TLB caches for the context (a large entry: each page of it) is
//   what the table says, with no more permission.
// Reads only; changes nothing (lookup only sets the table's walk fields).

import type { Kernel } from '../mm/kernel.js';
import type { Device, DeviceContext } from './device.js';

export function checkDevicePageTable(k: Kernel, dev: Device, ctx: DeviceContext, bad: string[]): void {
  const pt = ctx.pt;
  const name = `${dev.spec.name} (mm ${ctx.mm.id})`;
  if (pt.countTables() !== pt.tablePages)
    bad.push(`checkDevicePageTable: ${name} counts ${pt.tablePages} table pages, holds ${pt.countTables()}`);
  const empty = pt.badTables();
  if (empty.length > 0)
    bad.push(`checkDevicePageTable: ${name} holds tables ${empty.join(', ')} empty or miscounted`);
  const node = k.phys.hnodes[dev.hnode];
  let mapped = 0;
  pt.forEachLeaf((vpn, pfn, pages, _w, atomic) => {
    mapped += pages;
    if (pages === 1) return;
    if (pages !== pt.largePages || vpn % pages !== 0 || pfn % pages !== 0)
      bad.push(`checkDevicePageTable: ${name} has a ${pages}-page leaf at vpn ${vpn} -> ${pfn}, misaligned`);
    if (pfn < node.startPfn || pfn + pages > node.startPfn + node.nframes)
      bad.push(`checkDevicePageTable: ${name} large leaf at vpn ${vpn} maps ${pfn}, not the device's memory`);
    if (atomic) bad.push(`checkDevicePageTable: ${name} large leaf at vpn ${vpn} grants atomics`);
  });
  if (mapped !== pt.mapped)
    bad.push(`checkDevicePageTable: ${name} counts ${pt.mapped} mapped pages, its leaves map ${mapped}`);
  const tlb = dev.tlb;
  for (let s = 0; s < tlb.vpn.length; s++) {
    if (tlb.vpn[s] < 0 || tlb.asid[s] !== ctx.mm.id) continue;
    const { vpn, pages } = tlb.slotSpan(s);
    // TLB perm bits 1 (write) and 4 (atomic) must be in the entry (its bits 2 and 4).
    const need = ((tlb.perm[s] & 1) << 1) | (tlb.perm[s] & 4);
    for (let j = 0; j < pages; j++) {
      const e = pt.lookup(vpn + j);
      if (e === 0 || Math.floor(e / 8) !== tlb.pfn[s] + j || (need & ~(e % 8)) !== 0) {
        bad.push(
          `checkDevicePageTable: ${name} TLB caches vpn ${vpn + j} -> ${tlb.pfn[s] + j}, its page table disagrees`,
        );
        break;
      }
    }
  }
}
