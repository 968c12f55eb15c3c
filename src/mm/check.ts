// The invariant checker: the page tables, VMAs, frame metadata and counters agree.
// Run after every step in tests and with VMLAB_CHECK=1. Reads only; changes nothing.

import { isDeviceExclusiveType, isDevicePrivateType, PteAttr, SwpType } from '../arch/pmap.js';
import { XA_NODE_BYTES } from '../lib/xarray.js';
import { PG } from '../phys/frames.js';
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER } from './huge-rmap.js';
import { checkHugetlbFolio, checkHugetlbLeaf, checkHugetlbPools, HugetlbTally } from './hugetlb-check.js';
import type { Inode } from './inode.js';
import type { Kernel } from './kernel.js';
import { LruList, lruListOf, NR_LRU_LISTS } from './lru.js';
import { type Mm, MmCounter, MmfThp } from './mm.js';
import { checkFreeAreaCache } from './mmap.js';
import { VM, type Vma } from './vma.js';

/** Every violated invariant, as "checkFunction: what" lines. */
export function checkInvariants(k: Kernel): string[] {
  const bad: string[] = [];
  const maps = new Map<number, number>();
  const pmdMaps = new Map<number, number>();
  /** Pages named by device-exclusive entries (6.15+: each entry is a mapping of its page). */
  const excl = new Set<number>();
  let zeroHolders = 0;
  let tablePages = 0;
  for (const t of k.tasks.values()) {
    if (t.mm === null) continue;
    checkVmas(k, t.mm, bad);
    checkLeaves(k, t.mm, maps, pmdMaps, excl, bad);
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
  checkFrames(k, maps, pmdMaps, excl, bad);
  const t = k.thp;
  if (t.hugeZeroPfn >= 0 ? t.hugeZeroRefs !== zeroHolders + 1 : t.hugeZeroRefs !== 0)
    bad.push(
      `checkThp: huge zero page refcount ${t.hugeZeroRefs}, ${zeroHolders} mms hold it (+1 for the shrinker)`,
    );
  checkLru(k, bad);
  checkSwap(k, bad);
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
    if (v.file !== null && v.file.inode.mmaps.get(v) !== mm)
      bad.push(`checkVmas: VMA [${v.start}, ${v.end}) is missing from its file's i_mmap`);
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
  const cache = checkFreeAreaCache(mm);
  if (cache !== null) bad.push(`checkVmas: ${cache}`);
}

function checkLeaves(
  k: Kernel,
  mm: Mm,
  maps: Map<number, number>,
  pmdMaps: Map<number, number>,
  excl: Set<number>,
  bad: string[],
): void {
  const f = k.phys.frames;
  let anon = 0;
  let shmem = 0;
  let file = 0;
  let hugeAnon = 0;
  let hugeLeaves = 0;
  let hugetlbPages = 0;
  mm.pmap.forEachLeaf(
    0,
    mm.pmap.vpnLimit,
    (vpn, pfn, attrs, order) => {
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
      if (v.isHugetlb()) {
        hugetlbPages += checkHugetlbLeaf(k, mm, v, vpn, pfn, attrs, order, pmdMaps, bad);
        return;
      }
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
        if (v.file !== null) bad.push(`checkLeaves: vpn ${vpn} maps the zero page in a file-backed VMA`);
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
      } else if (f.has(pfn, PG.shmem) || f.has(pfn, PG.file)) {
        if (f.has(pfn, PG.shmem)) shmem++;
        else file++;
        if (v.file === null || v.file.inode.cache.get(v.pageIndex(vpn)) !== pfn)
          bad.push(`checkLeaves: page-cache page ${pfn} at vpn ${vpn} is not its file's page there`);
        if ((attrs & PteAttr.write) !== 0 && !v.isShared())
          bad.push(`checkLeaves: vpn ${vpn} maps a page-cache page writable in a private VMA`);
        if ((attrs & PteAttr.write) !== 0 && f.has(pfn, PG.file) && !f.has(pfn, PG.dirty))
          bad.push(`checkLeaves: vpn ${vpn} maps a clean file page writable (write notification lost)`);
      } else {
        bad.push(`checkLeaves: vpn ${vpn} maps pfn ${pfn}, which is neither anon nor page cache`);
      }
    },
    (vpn, offset, type) => {
      // A device-private or device-exclusive entry stands for an anonymous page
      // (zap_nonpresent_ptes: rss[mm_counter]) and is a mapping of it (rmap, AnonPages; for
      // a device-exclusive entry since 6.15, which keeps the mapcount).
      if (!isDevicePrivateType(type) && !isDeviceExclusiveType(type)) return;
      anon++;
      maps.set(offset, (maps.get(offset) ?? 0) + 1);
      if (!isDeviceExclusiveType(type)) return;
      excl.add(offset);
      const v = mm.vmaAt(vpn);
      if (!f.has(offset, PG.anon) || v === undefined || v.file !== null)
        bad.push(
          `checkLeaves: vpn ${vpn} device-exclusive entry for ${offset}, not a private anonymous page`,
        );
    },
  );
  if (file !== mm.rss[MmCounter.FILEPAGES])
    bad.push(`checkLeaves: pid ${mm.id} RssFile ${mm.rss[MmCounter.FILEPAGES]} pages, tables map ${file}`);
  if (anon !== mm.rss[MmCounter.ANONPAGES])
    bad.push(`checkLeaves: pid ${mm.id} RssAnon ${mm.rss[MmCounter.ANONPAGES]} pages, tables map ${anon}`);
  if (shmem !== mm.rss[MmCounter.SHMEMPAGES])
    bad.push(`checkLeaves: pid ${mm.id} RssShmem ${mm.rss[MmCounter.SHMEMPAGES]} pages, tables map ${shmem}`);
  if (hugetlbPages !== mm.hugetlbUsage)
    bad.push(`checkLeaves: pid ${mm.id} HugetlbPages ${mm.hugetlbUsage} pages, tables map ${hugetlbPages}`);
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
  if (v.file !== null) bad.push(`checkHugeLeaf: vpn ${vpn} huge leaf in a file-backed VMA`);
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
  excl: Set<number>,
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
  let filePages = 0;
  let dirty = 0;
  let mapped = 0;
  const inodes = liveInodes(k);
  const hugetlb = new HugetlbTally(k.phys.nodes.length);
  let used = 0;
  // Device memory (hnodes, after the CPU frames) is checked by hetero/check.ts.
  for (let pfn = 0; pfn < k.phys.cpuFrames; pfn++) {
    if (free[pfn]) continue;
    const flags = f.pageFlags(pfn);
    if ((flags & (PG.hugetlb | PG.head)) === (PG.hugetlb | PG.head)) {
      const n = f.nrPages(pfn);
      used += n;
      checkHugetlbFolio(k, pfn, pmdMaps, hugetlb, bad);
      pfn += n - 1;
      continue;
    }
    if (flags & PG.head) {
      used += HPAGE_PMD_NR;
      checkFolio(k, pfn, maps, pmdMaps, c, bad);
      for (let p = pfn; p < pfn + HPAGE_PMD_NR; p++) checkExclusivePage(k, p, excl, bad);
      pfn += HPAGE_PMD_NR - 1;
      continue;
    }
    used++;
    if (flags & PG.mlocked) c.mlocked++;
    if (flags & PG.tail) bad.push(`checkFrames: tail page ${pfn} outside its folio`);
    if (flags & (PG.pagetable | PG.reserved | PG.offline)) continue;
    const m = maps.get(pfn) ?? 0;
    if (f.mapcount[pfn] !== m)
      bad.push(`checkFrames: pfn ${pfn} mapcount ${f.mapcount[pfn]} but ${m} entries map it`);
    if ((flags & (PG.anon | PG.shmem | PG.file)) !== 0 && (flags & PG.lru) === 0)
      bad.push(`checkFrames: pfn ${pfn} (flags 0x${flags.toString(16)}) is on no LRU list`);
    if (flags & PG.anon) {
      if (f.mapcount[pfn] > 0) c.anonPages++;
      const cached = (flags & PG.swapcache) !== 0 ? 1 : 0;
      const held = cached; // a reference that is not a mapping
      if (f.refcount[pfn] !== f.mapcount[pfn] + held)
        bad.push(
          `checkFrames: anon pfn ${pfn} refcount ${f.refcount[pfn]} mapcount ${f.mapcount[pfn]} (+${held} held)`,
        );
      if (f.mapcount[pfn] === 0 && held === 0)
        bad.push(`checkFrames: anon pfn ${pfn} is allocated but mapped nowhere (leak)`);
      checkExclusivePage(k, pfn, excl, bad);
    } else if (flags & (PG.shmem | PG.file)) {
      if (flags & PG.shmem) shmemPages++;
      else filePages++;
      if (flags & PG.file && flags & PG.dirty) dirty++;
      if (f.mapcount[pfn] > 0) mapped++;
      if (f.refcount[pfn] !== f.mapcount[pfn] + 1)
        bad.push(
          `checkFrames: cache pfn ${pfn} refcount ${f.refcount[pfn]} mapcount ${f.mapcount[pfn]} (+1 for the cache)`,
        );
      if (inodes.get(f.owner[pfn])?.cache.get(f.index(pfn)) !== pfn)
        bad.push(`checkFrames: cache pfn ${pfn} is not in inode ${f.owner[pfn]}'s cache at ${f.index(pfn)}`);
    } else if (k.peer === null || !k.peer.holds(pfn)) {
      // (a page gmem's logical page table holds is checked by hetero/gmem-check.ts)
      bad.push(`checkFrames: pfn ${pfn} is allocated but belongs to nothing (leak)`);
    }
  }
  // Device-coherent and device-private pages (ZONE_DEVICE, after the CPU frames) are mapped
  // anonymous pages too (present entries, or device-private entries).
  for (const [pfn, m] of maps) {
    if (pfn < k.phys.cpuFrames) continue;
    if (f.mapcount[pfn] !== m)
      bad.push(`checkFrames: device pfn ${pfn} mapcount ${f.mapcount[pfn]} but ${m} entries map it`);
    if (m > 0 && f.has(pfn, PG.anon)) c.anonPages++;
  }
  if (c.anonPages !== k.anonPages)
    bad.push(`checkFrames: AnonPages ${k.anonPages} but ${c.anonPages} anon frames mapped`);
  if (c.anonHuge !== k.thp.anonHugePages)
    bad.push(`checkFrames: AnonHugePages ${k.thp.anonHugePages} pages but PMDs map ${c.anonHuge}`);
  if (c.queued !== k.thp.deferred.size)
    bad.push(`checkFrames: ${k.thp.deferred.size} folios queued for deferred split, ${c.queued} marked`);
  if (shmemPages !== k.shmemPages)
    bad.push(`checkFrames: Shmem ${k.shmemPages} but ${shmemPages} shmem frames`);
  if (filePages !== k.filePages)
    bad.push(`checkFrames: file pages ${k.filePages} but ${filePages} frames in file caches`);
  if (dirty !== k.dirtyPages) bad.push(`checkFrames: Dirty ${k.dirtyPages} but ${dirty} dirty file frames`);
  if (mapped !== k.mappedFilePages)
    bad.push(`checkFrames: Mapped ${k.mappedFilePages} but ${mapped} mapped cache frames`);
  checkHugetlbPools(k, hugetlb, bad);
  let cached = 0;
  let nodes = 0;
  for (const inode of inodes.values()) {
    inode.cache.forEach((_i, v) => {
      if (v >= 0 && !inode.isHugetlbfs()) cached++; // hugetlb folios are not in Cached
    });
    nodes += inode.cache.nodes;
    checkFolios(k, inode, bad);
  }
  if (cached !== filePages + shmemPages)
    bad.push(`checkFrames: page caches hold ${cached} pages, ${filePages + shmemPages} frames are cached`);
  if (nodes * XA_NODE_BYTES !== (k.meta.live.get('xa_node') ?? 0))
    bad.push(`checkFrames: xa_node meter ${k.meta.live.get('xa_node') ?? 0} B, caches hold ${nodes} nodes`);
  if (c.mlocked !== k.mlockedPages)
    bad.push(`checkFrames: Mlocked ${k.mlockedPages} but ${c.mlocked} frames flagged`);
  if (used !== k.phys.cpuFrames - k.phys.freePages)
    bad.push(`checkFrames: ${used} frames in use, counters say ${k.phys.cpuFrames - k.phys.freePages}`);
}

/**
 * A large page-cache folio is naturally aligned in the file and in memory, and every page of
 * it is cached at its place in the block (filemap-folio.ts); a dirty folio is dirty throughout.
 */
function checkFolios(k: Kernel, inode: Inode, bad: string[]): void {
  const f = k.phys.frames;
  for (const [head, order] of inode.folios) {
    const nr = 1 << order;
    const pfn = inode.cache.get(head);
    if (order < 1 || order > 9 || head % nr !== 0 || pfn === undefined || pfn < 0 || pfn % nr !== 0) {
      bad.push(`checkFolios: inode ${inode.id} folio at ${head} order ${order} head pfn ${pfn}`);
      continue;
    }
    for (let i = 1; i < nr; i++) {
      if (inode.cache.get(head + i) !== pfn + i)
        bad.push(`checkFolios: inode ${inode.id} folio at ${head}: page ${i} is not pfn ${pfn + i}`);
      if (f.has(pfn + i, PG.dirty) !== f.has(pfn, PG.dirty))
        bad.push(`checkFolios: inode ${inode.id} folio at ${head} is dirty in part`);
    }
  }
}

/**
 * make_device_exclusive converts the one writable PTE of an anon-exclusive page (a THP's page
 * once its PMD is split); fork restores the entry before it shares the page, so the entry
 * stays the page's only mapping.
 */
function checkExclusivePage(k: Kernel, pfn: number, excl: Set<number>, bad: string[]): void {
  if (!excl.has(pfn)) return;
  const f = k.phys.frames;
  const head = f.headOf(pfn);
  const pmd = head !== pfn || f.has(pfn, PG.compound) ? f.entireMapcount(head) : 0;
  if (f.mapcount[pfn] !== 1 || pmd !== 0 || !f.has(pfn, PG.anonExclusive))
    bad.push(
      `checkFrames: device-exclusive pfn ${pfn} mapcount ${f.mapcount[pfn]} (+${pmd} PMD), anon-exclusive ${f.has(pfn, PG.anonExclusive)}: the entry must be its only mapping`,
    );
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
  if (!f.has(head, PG.lru)) bad.push(`checkFolio: folio ${head} is on no LRU list`);
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

/** Every inode still referenced: named files, and the files of all mapped areas and open files. */
function liveInodes(k: Kernel): Map<number, Inode> {
  const out = new Map<number, Inode>();
  for (const inode of k.files.values()) out.set(inode.id, inode);
  for (const t of k.tasks.values()) {
    for (const file of t.files.values()) out.set(file.inode.id, file.inode);
    if (t.mm === null) continue;
    for (const v of t.mm.vmas.values()) if (v.file !== null) out.set(v.file.inode.id, v.file.inode);
  }
  return out;
}

/** Every page on an LRU list is on the list its flags and node say; the sizes match. */
function checkLru(k: Kernel, bad: string[]): void {
  const f = k.phys.frames;
  for (let node = 0; node < k.phys.nodes.length; node++) {
    for (let list = 0; list < NR_LRU_LISTS; list++) {
      const pages = k.lru.pages(node, list);
      let n = 0;
      for (const pfn of pages) n += f.nrPages(pfn);
      if (n !== k.lru.count(node, list))
        bad.push(`checkLru: node ${node} list ${list} holds ${n} pages, counted ${k.lru.count(node, list)}`);
      for (const pfn of pages) {
        if (f.has(pfn, PG.tail)) bad.push(`checkLru: tail page ${pfn} is on an LRU list`);
        if (!f.has(pfn, PG.lru) || lruListOf(f.flags[pfn]) !== list || k.phys.nodeOf(pfn) !== node)
          bad.push(
            `checkLru: pfn ${pfn} (flags 0x${f.flags[pfn].toString(16)}) is on node ${node} list ${list}`,
          );
        if (f.has(pfn, PG.mlocked) !== (list === LruList.unevictable))
          bad.push(`checkLru: pfn ${pfn} mlocked ${f.has(pfn, PG.mlocked)} but on list ${list}`);
      }
    }
  }
}

/** Each slot's count is the swap entries (page tables, shmem caches) referring to it. */
function checkSwap(k: Kernel, bad: string[]): void {
  const sw = k.swap;
  if (sw === null) return;
  const refs = new Int32Array(sw.slots);
  for (const t of k.tasks.values()) {
    if (t.mm === null) continue;
    let n = 0;
    t.mm.pmap.forEachLeaf(
      0,
      t.mm.pmap.vpnLimit,
      () => {},
      (_vpn, slot, type) => {
        if (type !== SwpType.swap) return; // device-private entries hold no slot
        refs[slot]++;
        n++;
      },
    );
    if (n !== t.mm.rss[MmCounter.SWAPENTS])
      bad.push(
        `checkSwap: pid ${t.pid} VmSwap ${t.mm.rss[MmCounter.SWAPENTS]} pages, tables hold ${n} swap entries`,
      );
  }
  for (const inode of liveInodes(k).values()) {
    inode.cache.forEach((_i, v) => {
      if (v < 0) refs[-v - 1]++;
    });
  }
  let used = 0;
  for (let s = 0; s < sw.slots; s++) {
    if (refs[s] !== sw.count[s])
      bad.push(`checkSwap: slot ${s} count ${sw.count[s]}, ${refs[s]} entries refer to it`);
    const inUse = sw.count[s] > 0 || sw.cached(s) >= 0;
    if (inUse !== sw.isUsed(s)) bad.push(`checkSwap: slot ${s} in use ${inUse}, allocated ${sw.isUsed(s)}`);
    if (sw.isUsed(s)) used++;
  }
  if (used + sw.freeSlots !== sw.slots)
    bad.push(`checkSwap: ${used} slots used + ${sw.freeSlots} free != ${sw.slots}`);
  let cached = 0;
  for (let slot = 0; slot < sw.slots; slot++) {
    const pfn = sw.cached(slot);
    if (pfn < 0) continue;
    cached++;
    if (!k.phys.frames.has(pfn, PG.swapcache) || sw.slotOf.get(pfn) !== slot)
      bad.push(`checkSwap: swap cache slot ${slot} -> pfn ${pfn} disagrees with the page`);
  }
  if (cached !== k.swapCachePages || cached !== sw.cacheSize)
    bad.push(`checkSwap: SwapCached ${k.swapCachePages}, cache holds ${cached}`);
}
