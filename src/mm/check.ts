// The invariant checker: the page tables, VMAs, frame metadata and counters agree.
// Run after every step in tests and with VMLAB_CHECK=1. Reads only; changes nothing.

import { PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER } from './huge-rmap.js';
import type { Kernel } from './kernel.js';
import { type Mm, MmCounter, MmfThp } from './mm.js';
import { VM, type Vma } from './vma.js';

/** Every violated invariant, as "checkFunction: what" lines. */
export function checkInvariants(k: Kernel): string[] {
  const bad: string[] = [];
  const maps = new Map<number, number>();
  const pmdMaps = new Map<number, number>();
  let zeroHolders = 0;
  let tablePages = 0;
  for (const t of k.tasks.values()) {
    if (t.mm === null) continue;
    checkVmas(k, t.mm, bad);
    checkLeaves(k, t.mm, maps, pmdMaps, bad);
    if ((t.mm.thpFlags & MmfThp.HUGE_ZERO_PAGE) !== 0) zeroHolders++;
    const c = t.mm.pmap.countTables();
    if (c.pgtablesBytes !== t.mm.pmap.pgtablesBytes) {
      bad.push(
        `checkTables: pid ${t.pid} VmPTE ${t.mm.pmap.pgtablesBytes} but the tables hold ${c.pgtablesBytes}`,
      );
    }
    if (c.tablePages !== t.mm.pmap.tablePages) {
      bad.push(
        `checkTables: pid ${t.pid} counts ${t.mm.pmap.tablePages} tables, the tree has ${c.tablePages}`,
      );
    }
    tablePages += t.mm.pmap.tablePages;
  }
  if (tablePages !== k.pool.live)
    bad.push(`checkTables: ${k.pool.live} table pages allocated, processes hold ${tablePages}`);
  checkFrames(k, maps, pmdMaps, bad);
  const t = k.thp;
  if (t.hugeZeroPfn >= 0 ? t.hugeZeroRefs !== zeroHolders + 1 : t.hugeZeroRefs !== 0)
    bad.push(
      `checkThp: huge zero page refcount ${t.hugeZeroRefs}, ${zeroHolders} mms hold it (+1 for the shrinker)`,
    );
  return bad;
}

function checkVmas(k: Kernel, mm: Mm, bad: string[]): void {
  let prevEnd = -1;
  let n = 0;
  let total = 0;
  let locked = 0;
  for (const [key, v] of mm.vmas.entries()) {
    n++;
    if (key !== v.start) bad.push(`checkVmas: VMA keyed ${key} starts at ${v.start}`);
    if (v.start >= v.end) bad.push(`checkVmas: empty VMA [${v.start}, ${v.end})`);
    if (v.start < prevEnd) bad.push(`checkVmas: VMA [${v.start}, ${v.end}) overlaps the one before`);
    prevEnd = v.end;
    total += v.pages;
    if ((v.flags & VM.LOCKED) !== 0) locked += v.pages;
  }
  if (n !== mm.mapCount) bad.push(`checkVmas: map_count ${mm.mapCount} but ${n} VMAs`);
  if (total !== mm.totalVm) bad.push(`checkVmas: total_vm ${mm.totalVm} but VMAs span ${total} pages`);
  if (locked !== mm.lockedVm)
    bad.push(`checkVmas: locked_vm ${mm.lockedVm} but locked VMAs span ${locked} pages`);
  // do_mmap checks map_count > max, so one VMA past the limit is possible, never two.
  if (mm.mapCount > k.config.maxMapCount + 1)
    bad.push(`checkVmas: map_count ${mm.mapCount} above max_map_count + 1`);
}

function checkLeaves(
  k: Kernel,
  mm: Mm,
  maps: Map<number, number>,
  pmdMaps: Map<number, number>,
  bad: string[],
): void {
  const f = k.phys.frames;
  let anon = 0;
  let shmem = 0;
  let hugeAnon = 0;
  let hugeLeaves = 0;
  mm.pmap.forEachLeaf(0, mm.pmap.vpnLimit, (vpn, pfn, attrs, order) => {
    const v = mm.vmaAt(vpn);
    if (v === undefined) {
      bad.push(`checkLeaves: pid ${mm.id} maps vpn ${vpn} outside every VMA`);
      return;
    }
    if ((attrs & PteAttr.write) !== 0 && (v.flags & VM.WRITE) === 0)
      bad.push(`checkLeaves: vpn ${vpn} writable in a VMA without VM_WRITE`);
    if ((attrs & PteAttr.exec) !== 0 && (v.flags & VM.EXEC) === 0)
      bad.push(`checkLeaves: vpn ${vpn} executable in a VMA without VM_EXEC`);
    if (((attrs & PteAttr.protnone) !== 0) !== ((v.flags & VM.PROT_MASK) === 0))
      bad.push(`checkLeaves: vpn ${vpn} PROT_NONE state disagrees with its VMA`);
    if (order !== 0) {
      hugeLeaves++;
      checkHugeLeaf(k, mm, v, vpn, pfn, attrs, order, pmdMaps, bad);
      if ((attrs & PteAttr.special) === 0) {
        hugeAnon++;
        anon += HPAGE_PMD_NR;
      }
      return;
    }
    if ((attrs & PteAttr.special) !== 0) {
      if (pfn !== k.phys.zeroPfn)
        bad.push(`checkLeaves: vpn ${vpn} special entry maps pfn ${pfn}, not the zero page`);
      if (v.shmem !== null) bad.push(`checkLeaves: vpn ${vpn} maps the zero page in a shared VMA`);
      return;
    }
    maps.set(pfn, (maps.get(pfn) ?? 0) + 1);
    if (f.has(pfn, PG.anon)) {
      anon++;
      if (!v.avcs.some((av) => av.id === f.owner[pfn]))
        bad.push(`checkLeaves: anon page ${pfn} at vpn ${vpn} belongs to no anon_vma of its VMA's chain`);
      if (f.index(pfn) !== v.pageIndex(vpn))
        bad.push(
          `checkLeaves: anon page ${pfn} index ${f.index(pfn)} but vpn ${vpn} has index ${v.pageIndex(vpn)}`,
        );
    } else if (f.has(pfn, PG.shmem)) {
      shmem++;
      if (v.shmem === null || v.shmem.pages.get(v.pageIndex(vpn)) !== pfn)
        bad.push(`checkLeaves: shmem page ${pfn} at vpn ${vpn} is not its object's page`);
    } else {
      bad.push(`checkLeaves: vpn ${vpn} maps pfn ${pfn}, which is neither anon nor shmem`);
    }
  });
  if (anon !== mm.rss[MmCounter.ANONPAGES])
    bad.push(`checkLeaves: pid ${mm.id} RssAnon ${mm.rss[MmCounter.ANONPAGES]} pages, tables map ${anon}`);
  if (shmem !== mm.rss[MmCounter.SHMEMPAGES])
    bad.push(`checkLeaves: pid ${mm.id} RssShmem ${mm.rss[MmCounter.SHMEMPAGES]} pages, tables map ${shmem}`);
  if (hugeAnon !== mm.hugeAnonPmds)
    bad.push(`checkLeaves: pid ${mm.id} counts ${mm.hugeAnonPmds} THP mappings, tables hold ${hugeAnon}`);
  if (hugeLeaves !== mm.pmap.depositedTables)
    bad.push(
      `checkLeaves: pid ${mm.id} has ${hugeLeaves} huge PMDs but ${mm.pmap.depositedTables} deposited tables`,
    );
}

/** A huge PMD leaf: inside one VMA, aligned, mapping the huge zero page or the head of an anon THP. */
function checkHugeLeaf(
  k: Kernel,
  mm: Mm,
  v: Vma,
  vpn: number,
  pfn: number,
  attrs: number,
  order: number,
  pmdMaps: Map<number, number>,
  bad: string[],
): void {
  const f = k.phys.frames;
  if (order !== 9 || vpn % HPAGE_PMD_NR !== 0 || vpn + HPAGE_PMD_NR > v.end)
    bad.push(`checkHugeLeaf: order-${order} leaf at vpn ${vpn} is unaligned or crosses its VMA's end`);
  if (v.shmem !== null) bad.push(`checkHugeLeaf: vpn ${vpn} huge leaf in a shared VMA`);
  if ((attrs & PteAttr.special) !== 0) {
    if (pfn !== k.thp.hugeZeroPfn)
      bad.push(`checkHugeLeaf: vpn ${vpn} special PMD maps ${pfn}, not the huge zero page`);
    if ((mm.thpFlags & MmfThp.HUGE_ZERO_PAGE) === 0)
      bad.push(`checkHugeLeaf: pid ${mm.id} maps the huge zero page without holding it`);
    if ((attrs & PteAttr.write) !== 0) bad.push(`checkHugeLeaf: vpn ${vpn} huge zero page mapped writable`);
    return;
  }
  if (!f.has(pfn, PG.head) || f.order(pfn) !== HPAGE_PMD_ORDER || !f.has(pfn, PG.anon))
    bad.push(`checkHugeLeaf: vpn ${vpn} PMD maps pfn ${pfn}, not the head of an anon THP`);
  if (!v.avcs.some((av) => av.id === f.owner[pfn]))
    bad.push(`checkHugeLeaf: THP ${pfn} at vpn ${vpn} belongs to no anon_vma of its VMA's chain`);
  if (f.index(pfn) !== v.pageIndex(vpn))
    bad.push(`checkHugeLeaf: THP ${pfn} index ${f.index(pfn)} but vpn ${vpn} has index ${v.pageIndex(vpn)}`);
  pmdMaps.set(pfn, (pmdMaps.get(pfn) ?? 0) + 1);
}

function checkFrames(
  k: Kernel,
  maps: Map<number, number>,
  pmdMaps: Map<number, number>,
  bad: string[],
): void {
  const f = k.phys.frames;
  const free = new Uint8Array(f.nframes);
  let freePages = 0;
  k.phys.forEachFree((pfn, order) => {
    for (let i = 0; i < 1 << order; i++) free[pfn + i] = 1;
    freePages += 1 << order;
  });
  if (freePages !== k.phys.freePages)
    bad.push(`checkFrames: free lists hold ${freePages} pages, counters say ${k.phys.freePages}`);
  const c = { anonPages: 0, anonHuge: 0, mlocked: 0, queued: 0 };
  let shmemPages = 0;
  let used = 0;
  for (let pfn = 0; pfn < f.nframes; pfn++) {
    if (free[pfn]) continue;
    const flags = f.pageFlags(pfn);
    if (flags & PG.head) {
      used += HPAGE_PMD_NR;
      checkFolio(k, pfn, maps, pmdMaps, c, bad);
      pfn += HPAGE_PMD_NR - 1;
      continue;
    }
    used++;
    if (flags & PG.mlocked) c.mlocked++;
    if (flags & PG.tail) bad.push(`checkFrames: tail page ${pfn} outside its folio`);
    if (flags & (PG.pagetable | PG.reserved)) continue;
    const m = maps.get(pfn) ?? 0;
    if (f.mapcount[pfn] !== m)
      bad.push(`checkFrames: pfn ${pfn} mapcount ${f.mapcount[pfn]} but ${m} entries map it`);
    if (flags & PG.anon) {
      if (f.mapcount[pfn] > 0) c.anonPages++;
      if (f.refcount[pfn] !== f.mapcount[pfn])
        bad.push(`checkFrames: anon pfn ${pfn} refcount ${f.refcount[pfn]} mapcount ${f.mapcount[pfn]}`);
      if (f.mapcount[pfn] === 0)
        bad.push(`checkFrames: anon pfn ${pfn} is allocated but mapped nowhere (leak)`);
    } else if (flags & PG.shmem) {
      shmemPages++;
      if (f.refcount[pfn] !== f.mapcount[pfn] + 1)
        bad.push(
          `checkFrames: shmem pfn ${pfn} refcount ${f.refcount[pfn]} mapcount ${f.mapcount[pfn]} (+1 for the cache)`,
        );
    } else {
      bad.push(`checkFrames: pfn ${pfn} is allocated but belongs to nothing (leak)`);
    }
  }
  if (c.anonPages !== k.anonPages)
    bad.push(`checkFrames: AnonPages ${k.anonPages} but ${c.anonPages} anon frames mapped`);
  if (c.anonHuge !== k.thp.anonHugePages)
    bad.push(`checkFrames: AnonHugePages ${k.thp.anonHugePages} pages but PMDs map ${c.anonHuge}`);
  if (c.queued !== k.thp.deferred.size)
    bad.push(`checkFrames: ${k.thp.deferred.size} folios queued for deferred split, ${c.queued} marked`);
  if (shmemPages !== k.shmemPages)
    bad.push(`checkFrames: Shmem ${k.shmemPages} but ${shmemPages} shmem frames`);
  if (c.mlocked !== k.mlockedPages)
    bad.push(`checkFrames: Mlocked ${k.mlockedPages} but ${c.mlocked} frames flagged`);
  if (used !== f.nframes - k.phys.freePages)
    bad.push(`checkFrames: ${used} frames in use, counters say ${f.nframes - k.phys.freePages}`);
}

/**
 * A compound page: the huge zero page, or an anon THP whose counts agree with the entries
 * mapping it (entire mapcount = PMDs, each page's mapcount = PTEs, one reference per mapping).
 */
function checkFolio(
  k: Kernel,
  head: number,
  maps: Map<number, number>,
  pmdMaps: Map<number, number>,
  c: { anonPages: number; anonHuge: number; mlocked: number; queued: number },
  bad: string[],
): void {
  const f = k.phys.frames;
  for (let i = 1; i < HPAGE_PMD_NR; i++) {
    const p = head + i;
    if (!f.has(p, PG.tail) || f.order(p) !== HPAGE_PMD_ORDER)
      bad.push(`checkFolio: page ${p} of folio ${head} is not its tail`);
  }
  if (f.has(head, PG.zero)) {
    if (head !== k.thp.hugeZeroPfn) bad.push(`checkFolio: stray huge zero page at ${head}`);
    return;
  }
  if (!f.has(head, PG.anon)) bad.push(`checkFolio: folio ${head} is not anonymous`);
  const entire = f.entireMapcount(head);
  if (entire !== (pmdMaps.get(head) ?? 0))
    bad.push(`checkFolio: folio ${head} entire mapcount ${entire}, ${pmdMaps.get(head) ?? 0} PMDs map it`);
  let ptes = 0;
  let mapped = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = head + i;
    const m = maps.get(p) ?? 0;
    if (f.mapcount[p] !== m) bad.push(`checkFolio: page ${p} mapcount ${f.mapcount[p]} but ${m} PTEs map it`);
    ptes += m;
    if (m > 0) mapped++;
  }
  if (f.nrPagesMapped(head) !== mapped)
    bad.push(`checkFolio: folio ${head} counts ${f.nrPagesMapped(head)} pages mapped, PTEs map ${mapped}`);
  if (f.refcount[head] !== entire + ptes)
    bad.push(`checkFolio: folio ${head} refcount ${f.refcount[head]}, ${entire} PMD + ${ptes} PTE mappings`);
  if (entire + ptes === 0) bad.push(`checkFolio: folio ${head} is allocated but mapped nowhere (leak)`);
  c.anonPages += entire > 0 ? HPAGE_PMD_NR : mapped;
  if (entire > 0) c.anonHuge += HPAGE_PMD_NR;
  if (f.has(head, PG.mlocked)) c.mlocked += HPAGE_PMD_NR;
  const queued = k.thp.deferred.has(head);
  if (queued) c.queued++;
  if (queued !== f.has(head, PG.partiallyMapped))
    bad.push(`checkFolio: folio ${head} partially-mapped mark and deferred queue disagree`);
  if (queued && (entire > 0 || mapped === 0 || mapped === HPAGE_PMD_NR))
    bad.push(`checkFolio: folio ${head} queued for deferred split but not partially mapped`);
}
