// The invariant checker: the page tables, VMAs, frame metadata and counters agree.
// Run after every step in tests and with VMLAB_CHECK=1. Reads only; changes nothing.

import { PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import type { Kernel } from './kernel.js';
import { type Mm, MmCounter } from './mm.js';
import { VM } from './vma.js';

/** Every violated invariant, as "checkFunction: what" lines. */
export function checkInvariants(k: Kernel): string[] {
  const bad: string[] = [];
  const maps = new Map<number, number>();
  let tablePages = 0;
  for (const t of k.tasks.values()) {
    if (t.mm === null) continue;
    checkVmas(k, t.mm, bad);
    checkLeaves(k, t.mm, maps, bad);
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
  checkFrames(k, maps, bad);
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
  if (locked + mm.lockedVmUnbacked !== mm.lockedVm)
    bad.push(
      `checkVmas: locked_vm ${mm.lockedVm} but locked VMAs span ${locked} pages (+${mm.lockedVmUnbacked} left by DONTUNMAP)`,
    );
  // do_mmap checks map_count > max, so one VMA past the limit is possible, never two.
  if (mm.mapCount > k.config.maxMapCount + 1)
    bad.push(`checkVmas: map_count ${mm.mapCount} above max_map_count + 1`);
}

function checkLeaves(k: Kernel, mm: Mm, maps: Map<number, number>, bad: string[]): void {
  const f = k.phys.frames;
  let anon = 0;
  let shmem = 0;
  mm.pmap.forEachLeaf(0, mm.pmap.vpnLimit, (vpn, pfn, attrs) => {
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
}

function checkFrames(k: Kernel, maps: Map<number, number>, bad: string[]): void {
  const f = k.phys.frames;
  const free = new Uint8Array(f.nframes);
  let freePages = 0;
  k.phys.forEachFree((pfn, order) => {
    for (let i = 0; i < 1 << order; i++) free[pfn + i] = 1;
    freePages += 1 << order;
  });
  if (freePages !== k.phys.freePages)
    bad.push(`checkFrames: free lists hold ${freePages} pages, counters say ${k.phys.freePages}`);
  let anonPages = 0;
  let shmemPages = 0;
  let mlocked = 0;
  let used = 0;
  for (let pfn = 0; pfn < f.nframes; pfn++) {
    if (free[pfn]) continue;
    used++;
    const flags = f.pageFlags(pfn);
    if (flags & PG.mlocked) mlocked++;
    if (flags & (PG.pagetable | PG.reserved)) continue;
    const m = maps.get(pfn) ?? 0;
    if (f.mapcount[pfn] !== m)
      bad.push(`checkFrames: pfn ${pfn} mapcount ${f.mapcount[pfn]} but ${m} entries map it`);
    if (flags & PG.anon) {
      if (f.mapcount[pfn] > 0) anonPages++;
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
  if (anonPages !== k.anonPages)
    bad.push(`checkFrames: AnonPages ${k.anonPages} but ${anonPages} anon frames`);
  if (shmemPages !== k.shmemPages)
    bad.push(`checkFrames: Shmem ${k.shmemPages} but ${shmemPages} shmem frames`);
  if (mlocked !== k.mlockedPages)
    bad.push(`checkFrames: Mlocked ${k.mlockedPages} but ${mlocked} frames flagged`);
  if (used !== f.nframes - k.phys.freePages)
    bad.push(`checkFrames: ${used} frames in use, counters say ${f.nframes - k.phys.freePages}`);
}
