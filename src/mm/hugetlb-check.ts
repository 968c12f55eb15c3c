// The invariant checker's hugetlb part (called from check.ts): every hugetlb leaf maps the
// right folio of the right size at an aligned address inside its VMA; every pool folio is free
// (on its free list, unreferenced), or in use with one reference per mapping plus the page
// cache's; the pool counts (HugePages_Total/Free/Rsvd/Surp, per node) match the folios; the
// reservations counted match what the reservation maps and the pages say.

import { PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { type HState, hstateOfFolio } from './hugetlb.js';
import { hugecacheOffset, isResvOwner, vmaHstate } from './hugetlb-reserve.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import type { Vma } from './vma.js';

/**
 * A leaf in a hugetlb VMA. Counts the mapping of its folio in `maps` (head -> entries) and
 * returns the base pages it maps (for HugetlbPages).
 */
export function checkHugetlbLeaf(
  k: Kernel,
  mm: Mm,
  v: Vma,
  vpn: number,
  pfn: number,
  attrs: number,
  order: number,
  maps: Map<number, number>,
  bad: string[],
): number {
  const h = vmaHstate(k, v);
  const f = k.phys.frames;
  if (order !== h.order || vpn % h.nrPages !== 0 || vpn + h.nrPages > v.end) {
    bad.push(`checkHugetlbLeaf: pid ${mm.id} order-${order} leaf at vpn ${vpn} in a ${h.name} VMA`);
    return 0;
  }
  if (
    !f.has(pfn, PG.hugetlb) ||
    !f.has(pfn, PG.head) ||
    f.order(pfn) !== h.order ||
    f.has(pfn, PG.hugetlbFreed)
  )
    bad.push(`checkHugetlbLeaf: vpn ${vpn} maps pfn ${pfn}, not the head of an in-use ${h.name} folio`);
  if (f.has(pfn, PG.anon)) {
    if (!v.avcs.some((av) => av.id === f.owner[pfn]))
      bad.push(`checkHugetlbLeaf: anon hugetlb folio ${pfn} at vpn ${vpn} belongs to no anon_vma of its VMA`);
    if (f.index(pfn) !== v.pageIndex(vpn))
      bad.push(
        `checkHugetlbLeaf: anon hugetlb folio ${pfn} index ${f.index(pfn)}, vpn ${vpn} has ${v.pageIndex(vpn)}`,
      );
  } else {
    if (v.file!.inode.cache.get(hugecacheOffset(h, v, vpn)) !== pfn)
      bad.push(`checkHugetlbLeaf: vpn ${vpn} maps folio ${pfn}, not its file's page there`);
    if ((attrs & PteAttr.write) !== 0 && !v.isShared())
      bad.push(`checkHugetlbLeaf: vpn ${vpn} maps a page-cache folio writable in a private VMA`);
  }
  maps.set(pfn, (maps.get(pfn) ?? 0) + 1);
  return h.nrPages;
}

/** Per-hstate tallies the frame walk fills. */
export class HugetlbTally {
  readonly nr: number[] = [0, 0];
  readonly free: number[] = [0, 0];
  readonly restore: number[] = [0, 0];
  readonly nrNode: number[][];

  constructor(nodes: number) {
    this.nrNode = [new Array(nodes).fill(0), new Array(nodes).fill(0)];
  }
}

/** A hugetlb folio met by the frame walk at its head. */
export function checkHugetlbFolio(
  k: Kernel,
  head: number,
  maps: Map<number, number>,
  tally: HugetlbTally,
  bad: string[],
): void {
  const f = k.phys.frames;
  const h = hstateOfFolio(k, head);
  const i = h.order === 9 ? 0 : 1;
  if (!f.has(head, PG.head) || f.order(head) !== h.order || head % h.nrPages !== 0)
    bad.push(`checkHugetlbFolio: pfn ${head} is not the aligned head of a ${h.name} folio`);
  for (let p = head + 1; p < head + h.nrPages; p++) {
    if ((f.flags[p] & (PG.hugetlb | PG.tail)) !== (PG.hugetlb | PG.tail) || f.order(p) !== h.order) {
      bad.push(`checkHugetlbFolio: page ${p} of ${h.name} folio ${head} is not its tail`);
      break;
    }
  }
  tally.nr[i]++;
  tally.nrNode[i][k.phys.nodeOf(head)]++;
  const mapped = f.refcount[head + 1];
  if (mapped !== (maps.get(head) ?? 0))
    bad.push(`checkHugetlbFolio: folio ${head} mapcount ${mapped}, ${maps.get(head) ?? 0} entries map it`);
  if (f.has(head, PG.hugetlbFreed)) {
    tally.free[i]++;
    if (
      f.refcount[head] !== 0 ||
      mapped !== 0 ||
      (f.flags[head] & (PG.anon | PG.hugetlbRestoreReserve)) !== 0
    )
      bad.push(`checkHugetlbFolio: free folio ${head} is referenced, mapped or marked`);
    if (!h.freeLists[k.phys.nodeOf(head)].includes(head))
      bad.push(`checkHugetlbFolio: free folio ${head} is on no free list`);
    return;
  }
  if (f.has(head, PG.hugetlbRestoreReserve)) tally.restore[i]++;
  const anon = f.has(head, PG.anon);
  const inode = anon ? undefined : k.inodes.get(f.owner[head]);
  const cached = inode?.cache.get(f.index(head)) === head ? 1 : 0;
  if (!anon && cached === 0)
    bad.push(`checkHugetlbFolio: folio ${head} is neither anonymous nor in a hugetlbfs cache`);
  if (f.refcount[head] !== mapped + cached)
    bad.push(
      `checkHugetlbFolio: folio ${head} refcount ${f.refcount[head]}, ${mapped} mappings + ${cached} cache`,
    );
  if (f.refcount[head] === 0)
    bad.push(`checkHugetlbFolio: folio ${head} is allocated but held by nothing (leak)`);
}

/** The pool counts against the folios, and HugePages_Rsvd against the reservation maps. */
export function checkHugetlbPools(k: Kernel, tally: HugetlbTally, bad: string[]): void {
  const want = expectedReservations(k);
  k.hugetlb.hstates.forEach((h: HState, i) => {
    const lists = h.freeLists.reduce((n, l) => n + l.length, 0);
    if (h.nr !== tally.nr[i] || h.free !== tally.free[i] || lists !== h.free)
      bad.push(
        `checkHugetlbPools: ${h.name} counts ${h.nr} pages, ${h.free} free (lists ${lists}); frames hold ${tally.nr[i]}, ${tally.free[i]} free`,
      );
    for (let n = 0; n < h.nrNode.length; n++)
      if (h.nrNode[n] !== tally.nrNode[i][n])
        bad.push(`checkHugetlbPools: ${h.name} node ${n} count disagrees`);
    if (h.surplus < 0 || h.surplus > h.nr || h.surplus > h.overcommit)
      bad.push(`checkHugetlbPools: ${h.name} surplus ${h.surplus} out of range`);
    const expected = want[i] - tally.restore[i] + h.stranded;
    if (h.resv !== expected)
      bad.push(
        `checkHugetlbPools: ${h.name} HugePages_Rsvd ${h.resv}, the reservation maps hold ${expected}`,
      );
  });
}

/**
 * Reservations the maps account for, per hstate: each owner VMA's pages whose reservation is
 * unused, and each hugetlbfs file's reserved pages not yet in its cache.
 */
function expectedReservations(k: Kernel): number[] {
  const out = [0, 0];
  for (const t of k.tasks.values()) {
    if (t.mm === null) continue;
    for (const v of t.mm.vmas.values()) {
      if (!v.isHugetlb() || !isResvOwner(v)) continue;
      const h = vmaHstate(k, v);
      const [a, b] = [hugecacheOffset(h, v, v.start), hugecacheOffset(h, v, v.end)];
      out[h.order === 9 ? 0 : 1] += b - a - v.resvMap!.count(a, b);
    }
  }
  for (const inode of k.inodes.values()) {
    if (!inode.isHugetlbfs() || inode.resv === null) continue;
    for (const idx of inode.resv.indexes()) if (!inode.cache.has(idx)) out[inode.hstate]++;
  }
  return out;
}
