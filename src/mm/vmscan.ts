// Page reclaim (mm/vmscan.c, the two-list LRU of Linux 6.x with CONFIG_LRU_GEN off): kswapd
// balancing a node back to its high watermark, direct reclaim in an allocation that found
// free memory below the min watermark, and the shrinking of the LRU lists they share:
// get_scan_count's anon/file balance, shrink_active_list's deactivation and
// shrink_folio_list's references check, unmap, writeback and freeing.
//
// The disk and swap device are instant: a page written for reclaim is clean when pageout
// returns and is freed in the same pass (the synchronous-write case of shrink_folio_list).
// Reclaim allocates no memory (PF_MEMALLOC): allocations it would make bypass the watermarks.

import { PmdState, PteAttr } from '../arch/pmap.js';
import { PG } from '../phys/frames.js';
import { dropMapping } from './fault.js';
import { markDirty, writeback } from './filemap.js';
import { splitHugePmd } from './huge-memory.js';
import { HPAGE_PMD_NR, shrinkThp, splitFolio } from './huge-rmap.js';
import type { Kernel } from './kernel.js';
import { LruList, lruAdd, lruDel, lruListOf } from './lru.js';
import { mmuNotifierInvalidate, NotifyEvent } from './mmu-notifier.js';
import { rmapWalk } from './rmap.js';
import { evictPage, mapSwapEntry, swapOutAnon } from './swap.js';
import { VM } from './vma.js';

/** SWAP_CLUSTER_MAX: pages scanned per batch. */
const SWAP_CLUSTER_MAX = 32;
/** DEF_PRIORITY: the first pass scans lru_size >> 12. */
const DEF_PRIORITY = 12;
/** vm.swappiness default. */
const SWAPPINESS = 60;

const DEACTIVATE_ANON = 1;
const DEACTIVATE_FILE = 2;

/** struct scan_control, the parts vmlab uses. */
interface ScanControl {
  nrToReclaim: number;
  nrReclaimed: number;
  nrScanned: number;
  priority: number;
  kswapd: boolean;
  mayDeactivate: number;
  cacheTrimMode: boolean;
  fileIsTiny: boolean;
  /** The CPU the reclaimer runs on (TLB flushes start there). */
  cpu: number;
}

/** Per node: the balance statistics of lru_note_cost, and the refault counts seen last. */
export class NodeReclaimState {
  anonCost = 0;
  fileCost = 0;
  refaultsAnon = 0;
  refaultsFile = 0;
  /** kswapd runs that reclaimed nothing in a row (pgdat->kswapd_failures). */
  kswapdFailures = 0;
}

// ---------------------------------------------------------------- entry points

/**
 * kswapd's balance_pgdat: reclaim on `node` until its free pages are above the high
 * watermark, raising the priority (scanning more) while it falls short.
 */
export function kswapd(k: Kernel, node: number): void {
  const st = k.reclaimState[node];
  if (st.kswapdFailures >= 16) return; // MAX_RECLAIM_RETRIES: hopeless until something is freed
  k.vmstat.pageoutrun++;
  const wm = k.watermarks[node];
  const sc = newScan(true, 0);
  let progress = 0;
  for (sc.priority = DEF_PRIORITY; sc.priority >= 1; ) {
    if (k.phys.nodeFreePages(node) > wm.high) break; // pgdat_balanced
    sc.nrToReclaim = Math.max(wm.high, SWAP_CLUSTER_MAX);
    const before = sc.nrReclaimed;
    sc.nrScanned = 0;
    shrinkNode(k, node, sc);
    const reclaimed = sc.nrReclaimed - before;
    progress += reclaimed;
    if (sc.nrScanned >= sc.nrToReclaim || reclaimed === 0) sc.priority--;
  }
  snapshotRefaults(k, node);
  st.kswapdFailures = progress === 0 ? st.kswapdFailures + 1 : 0;
}

/**
 * try_to_free_pages / do_try_to_free_pages: direct reclaim of SWAP_CLUSTER_MAX pages from
 * every node, priority 12 down to 0. Returns the pages reclaimed.
 */
export function directReclaim(k: Kernel, cpu: number): number {
  k.vmstat.allocstall++;
  const sc = newScan(false, cpu);
  sc.nrToReclaim = SWAP_CLUSTER_MAX;
  for (sc.priority = DEF_PRIORITY; sc.priority >= 0; sc.priority--) {
    sc.nrScanned = 0;
    for (let node = 0; node < k.phys.nodes.length; node++) shrinkNode(k, node, sc);
    if (sc.nrReclaimed >= sc.nrToReclaim) break;
  }
  for (let node = 0; node < k.phys.nodes.length; node++) snapshotRefaults(k, node);
  return sc.nrReclaimed;
}

function newScan(isKswapd: boolean, cpu: number): ScanControl {
  return {
    nrToReclaim: 0,
    nrReclaimed: 0,
    nrScanned: 0,
    priority: DEF_PRIORITY,
    kswapd: isKswapd,
    mayDeactivate: 0,
    cacheTrimMode: false,
    fileIsTiny: false,
    cpu,
  };
}

function snapshotRefaults(k: Kernel, node: number): void {
  const st = k.reclaimState[node];
  st.refaultsAnon = k.vmstat.workingset_activate_anon;
  st.refaultsFile = k.vmstat.workingset_activate_file;
}

// ---------------------------------------------------------------- shrink_node

/** inactive_is_low: the inactive list is small against the active one (ratio by size). */
function inactiveIsLow(k: Kernel, node: number, inactive: LruList): boolean {
  const ia = k.lru.count(node, inactive);
  const a = k.lru.count(node, inactive + 1);
  const gb = Math.floor((ia + a) / 262144);
  const ratio = gb > 0 ? Math.floor(Math.sqrt(10 * gb)) : 1;
  return ia * ratio < a;
}

/** prepare_scan_count: which lists may be deactivated; cache trim mode; a tiny file LRU. */
function prepareScanCount(k: Kernel, node: number, sc: ScanControl): void {
  const st = k.reclaimState[node];
  sc.mayDeactivate = 0;
  if (k.vmstat.workingset_activate_anon !== st.refaultsAnon || inactiveIsLow(k, node, LruList.inactiveAnon))
    sc.mayDeactivate |= DEACTIVATE_ANON;
  if (k.vmstat.workingset_activate_file !== st.refaultsFile || inactiveIsLow(k, node, LruList.inactiveFile))
    sc.mayDeactivate |= DEACTIVATE_FILE;
  const inactiveFile = k.lru.count(node, LruList.inactiveFile);
  sc.cacheTrimMode = inactiveFile >> sc.priority > 0 && (sc.mayDeactivate & DEACTIVATE_FILE) === 0;
  const free = k.phys.nodeFreePages(node);
  const file = inactiveFile + k.lru.count(node, LruList.activeFile);
  const anon = k.lru.count(node, LruList.inactiveAnon);
  sc.fileIsTiny =
    file + free <= k.watermarks[node].high &&
    (sc.mayDeactivate & DEACTIVATE_ANON) === 0 &&
    anon >> sc.priority > 0;
}

function shrinkNode(k: Kernel, node: number, sc: ScanControl): void {
  const before = sc.nrReclaimed;
  prepareScanCount(k, node, sc);
  shrinkLruvec(k, node, sc);
  // shrink_slab: the THP shrinkers (deferred split, the huge zero page).
  sc.nrReclaimed += shrinkThp(k);
  // Progress revives a kswapd that gave up on the node (shrink_node resets kswapd_failures).
  if (sc.nrReclaimed > before) k.reclaimState[node].kswapdFailures = 0;
}

/**
 * get_scan_count: how many pages of each evictable list to scan at this priority. Without
 * swap only file pages; near OOM (priority 0) both equally; a tiny file LRU forces anon; a
 * big inactive file list (cache trim mode) only file; otherwise a split by swappiness and
 * the recent cost of reclaiming each kind.
 */
function getScanCount(k: Kernel, node: number, sc: ScanControl): number[] {
  const st = k.reclaimState[node];
  let balance: 'equal' | 'fract' | 'anon' | 'file';
  let fa = 0;
  let ff = 0;
  if (k.swap === null || k.swap.freeSlots === 0) balance = 'file';
  else if (sc.priority === 0) balance = 'equal';
  else if (sc.fileIsTiny) balance = 'anon';
  else if (sc.cacheTrimMode) balance = 'file';
  else {
    balance = 'fract';
    let total = st.anonCost + st.fileCost;
    const anonCost = total + st.anonCost;
    const fileCost = total + st.fileCost;
    total = anonCost + fileCost;
    fa = Math.floor((SWAPPINESS * (total + 1)) / (anonCost + 1));
    ff = Math.floor(((200 - SWAPPINESS) * (total + 1)) / (fileCost + 1));
  }
  const nr = [0, 0, 0, 0];
  for (let lru = LruList.inactiveAnon; lru <= LruList.activeFile; lru++) {
    const file = lru >= LruList.inactiveFile;
    let scan = Math.floor(k.lru.count(node, lru) / 2 ** sc.priority);
    if (balance === 'fract') scan = Math.floor((scan * (file ? ff : fa)) / (fa + ff));
    else if (balance === 'file' && !file) scan = 0;
    else if (balance === 'anon' && file) scan = 0;
    nr[lru] = scan;
  }
  return nr;
}

/** shrink_lruvec: scan the lists in batches of 32 until the targets are used up. */
function shrinkLruvec(k: Kernel, node: number, sc: ScanControl): void {
  const nr = getScanCount(k, node, sc);
  const target = [...nr];
  const proportional = !sc.kswapd && sc.priority === DEF_PRIORITY;
  let reclaimed = 0;
  let adjusted = false;
  while (nr[LruList.inactiveAnon] > 0 || nr[LruList.activeFile] > 0 || nr[LruList.inactiveFile] > 0) {
    for (let lru = LruList.inactiveAnon; lru <= LruList.activeFile; lru++) {
      if (nr[lru] === 0) continue;
      const n = Math.min(nr[lru], SWAP_CLUSTER_MAX);
      nr[lru] -= n;
      reclaimed += shrinkList(k, node, lru, n, sc);
    }
    if (reclaimed < sc.nrToReclaim - sc.nrReclaimed || proportional || adjusted) continue;
    // Enough for kswapd: stop the smaller kind, scan the other in proportion to its target.
    const nrFile = nr[LruList.inactiveFile] + nr[LruList.activeFile];
    const nrAnon = nr[LruList.inactiveAnon] + nr[LruList.activeAnon];
    if (nrFile === 0 || nrAnon === 0) break;
    const stopFile = nrFile < nrAnon;
    const [stop, keep] = stopFile
      ? [LruList.inactiveFile, LruList.inactiveAnon]
      : [LruList.inactiveAnon, LruList.inactiveFile];
    const done = target[stop] + target[stop + 1];
    const pct = done === 0 ? 0 : ((nr[stop] + nr[stop + 1]) * 100) / done;
    nr[stop] = 0;
    nr[stop + 1] = 0;
    for (const l of [keep, keep + 1]) {
      const left = Math.floor((target[l] * (100 - pct)) / 100);
      nr[l] = Math.max(0, left - (target[l] - nr[l]));
    }
    adjusted = true;
  }
  sc.nrReclaimed += reclaimed;
  // Keep the anon inactive list from running dry even when no anon page was to be evicted.
  if (k.swap !== null && inactiveIsLow(k, node, LruList.inactiveAnon))
    shrinkActiveList(k, node, LruList.activeAnon, SWAP_CLUSTER_MAX, sc);
}

function shrinkList(k: Kernel, node: number, lru: LruList, n: number, sc: ScanControl): number {
  if (lru === LruList.activeAnon || lru === LruList.activeFile) {
    const bit = lru === LruList.activeFile ? DEACTIVATE_FILE : DEACTIVATE_ANON;
    if ((sc.mayDeactivate & bit) !== 0) shrinkActiveList(k, node, lru, n, sc);
    return 0;
  }
  return shrinkInactiveList(k, node, lru, n, sc);
}

// ---------------------------------------------------------------- the active list

/**
 * shrink_active_list: take up to n pages from the tail of an active list; each is
 * deactivated to the inactive list (marked workingset), except a referenced page of an
 * executable file mapping, which gets another trip around the active list.
 */
function shrinkActiveList(k: Kernel, node: number, lru: LruList, n: number, sc: ScanControl): void {
  const f = k.phys.frames;
  const taken = isolate(k, node, lru, n);
  k.vmstat.pgrefill += taken.length;
  for (const pfn of taken) {
    const r = folioReferenced(k, pfn, sc);
    if (r.referenced > 0 && r.exec && f.has(pfn, PG.file)) {
      putback(k, pfn, 0, 0);
      continue;
    }
    putback(k, pfn, PG.workingset, PG.active);
    k.vmstat.pgdeactivate++;
  }
}

/** isolate_lru_folios: up to n pages from the tail, oldest first, off the list. */
function isolate(k: Kernel, node: number, lru: LruList, n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const pfn = k.lru.tail(node, lru);
    if (pfn < 0) break;
    lruDel(k, pfn);
    out.push(pfn);
  }
  return out;
}

/** Back on the LRU at the head of the list its (changed) flags select. */
function putback(k: Kernel, pfn: number, set: number, clear: number): void {
  const f = k.phys.frames;
  f.flags[pfn] = (f.flags[pfn] | set) & ~clear;
  lruAdd(k, pfn);
}

// ---------------------------------------------------------------- the inactive list

/** shrink_inactive_list: isolate a batch from the tail and try to reclaim each page. */
function shrinkInactiveList(k: Kernel, node: number, lru: LruList, n: number, sc: ScanControl): number {
  const file = lru === LruList.inactiveFile;
  const taken = isolate(k, node, lru, n);
  if (taken.length === 0) return 0;
  if (sc.kswapd) k.vmstat.pgscan_kswapd += taken.length;
  else k.vmstat.pgscan_direct += taken.length;
  if (file) k.vmstat.pgscan_file += taken.length;
  else k.vmstat.pgscan_anon += taken.length;
  let reclaimed = 0;
  let unqueuedDirty = 0;
  let pageout = 0;
  for (const pfn of taken) {
    const r = shrinkFolio(k, pfn, sc);
    if (r === 'reclaimed') reclaimed++;
    else if (r === 'dirty') unqueuedDirty++;
    else if (r === 'pageout') {
      pageout++;
      reclaimed++;
    }
  }
  sc.nrScanned += taken.length;
  if (sc.kswapd) k.vmstat.pgsteal_kswapd += reclaimed;
  else k.vmstat.pgsteal_direct += reclaimed;
  if (file) k.vmstat.pgsteal_file += reclaimed;
  else k.vmstat.pgsteal_anon += reclaimed;
  noteCost(k, node, file, pageout, taken.length - reclaimed);
  // Every page taken was dirty and not under writeback: wake the flusher threads, which
  // (instantly, here) write every dirty page back; the pages reclaim marked for immediate
  // reclaim then rotate to the tail of the inactive list (folio_rotate_reclaimable).
  if (file && unqueuedDirty === taken.length) flushAndRotate(k, sc.cpu);
  return reclaimed;
}

/** lru_note_cost: the I/O and rotations of reclaiming one kind make it costlier to scan. */
function noteCost(k: Kernel, node: number, file: boolean, io: number, rotated: number): void {
  const st = k.reclaimState[node];
  const cost = io * SWAP_CLUSTER_MAX + rotated;
  if (file) st.fileCost += cost;
  else st.anonCost += cost;
  const lrusize =
    k.lru.count(node, LruList.inactiveAnon) +
    k.lru.count(node, LruList.activeAnon) +
    k.lru.count(node, LruList.inactiveFile) +
    k.lru.count(node, LruList.activeFile);
  if (st.anonCost + st.fileCost > lrusize / 4) {
    st.anonCost = Math.floor(st.anonCost / 2);
    st.fileCost = Math.floor(st.fileCost / 2);
  }
}

function flushAndRotate(k: Kernel, cpu: number): void {
  const f = k.phys.frames;
  for (const inode of k.files.values()) writeback(k, inode, cpu);
  const rotate: number[] = [];
  for (let node = 0; node < k.phys.nodes.length; node++) {
    for (const pfn of k.lru.pages(node, LruList.activeFile)) if (f.has(pfn, PG.reclaim)) rotate.push(pfn);
  }
  for (const pfn of rotate) {
    f.clear(pfn, PG.reclaim);
    lruDel(k, pfn);
    f.clear(pfn, PG.active);
    f.set(pfn, PG.lru);
    k.lru.addTail(pfn, k.phys.nodeOf(pfn), lruListOf(f.flags[pfn]), f.nrPages(pfn));
    k.vmstat.pgrotated++;
  }
}

type FolioResult = 'reclaimed' | 'pageout' | 'dirty' | 'kept';

/**
 * shrink_folio_list for one isolated page: check its references, unmap it, write it if it
 * is dirty, and free it. Returns what became of it; a page not freed is back on an LRU list.
 */
function shrinkFolio(k: Kernel, pfn: number, sc: ScanControl, ignoreReferences = false): FolioResult {
  const f = k.phys.frames;
  if (f.has(pfn, PG.locked)) return keep(k, pfn);
  if (f.has(pfn, PG.mlocked)) return activate(k, pfn);
  if (f.has(pfn, PG.compound)) return splitForReclaim(k, pfn, sc.cpu);
  const ref = ignoreReferences ? 'reclaim' : checkReferences(k, pfn, sc);
  if (ref === 'activate') return activate(k, pfn);
  if (ref === 'keep') return keep(k, pfn);
  if (f.has(pfn, PG.lazyfree)) return lazyfree(k, pfn, sc.cpu);
  if (f.has(pfn, PG.anon) && !f.has(pfn, PG.swapcache)) {
    // add_to_swap: a slot and a place in the swap cache; the page is dirty until written.
    if (!swapOutAnon(k, pfn)) return activate(k, pfn);
  }
  // A device-exclusive page is unmapped like any other (6.15+: its entry is a mapping that
  // try_to_unmap_one finds) and then freed: the entry held no reference of its own.
  if (f.mapcount[pfn] > 0 && !tryToUnmap(k, pfn, sc.cpu)) return activate(k, pfn);
  let wrote = false;
  if (f.has(pfn, PG.dirty)) {
    if (f.has(pfn, PG.file)) {
      // Reclaim does not write file pages (the flushers do): mark it for immediate reclaim.
      if (ref === 'reclaimClean') return keep(k, pfn);
      f.set(pfn, PG.reclaim);
      activate(k, pfn);
      return 'dirty';
    }
    wrote = true; // swap-backed: pageout to the swap slot (swap_writepage), below
  }
  if (!evictPage(k, pfn)) return activate(k, pfn); // shmem, and swap is full
  return wrote ? 'pageout' : 'reclaimed';
}

/**
 * A MADV_FREE page: discarded without writing if no mapping wrote it since (its contents are
 * gone: the next touch finds a zero page); a page written again is swap-backed once more and
 * goes back to the anon LRU (try_to_unmap_one remaps it).
 */
function lazyfree(k: Kernel, pfn: number, cpu: number): FolioResult {
  const f = k.phys.frames;
  let redirtied = f.has(pfn, PG.dirty);
  // A device-exclusive entry counts as clean (6.15+ try_to_unmap_one reads no dirty bit from
  // it): the device's writes are lost unless its driver dirtied the page.
  rmapWalk(
    k,
    pfn,
    (mm, _vma, _vpn, h) => {
      if (mm.pmap.ptePresent(h) && (mm.pmap.pteAttrs(h) & PteAttr.dirty) !== 0) redirtied = true;
    },
    true,
  );
  if (redirtied) {
    f.clear(pfn, PG.lazyfree);
    return activate(k, pfn);
  }
  rmapWalk(
    k,
    pfn,
    (mm, _vma, vpn, h) => {
      mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.clear); // try_to_unmap_one
      const present = mm.pmap.ptePresent(h);
      mm.pmap.pteClear(h);
      dropMapping(k, mm, pfn, false);
      if (present) k.flushTlbRange(mm, cpu, vpn, vpn + 1);
    },
    true,
  );
  k.vmstat.pglazyfreed++;
  return 'reclaimed';
}

/**
 * reclaim_pages (MADV_PAGEOUT): reclaim these pages now, whatever their references
 * (shrink_folio_list with ignore_references); pages that cannot go return to the LRU. They
 * are not counted as kswapd or direct scans. Returns the pages reclaimed.
 */
export function reclaimPages(k: Kernel, pfns: readonly number[], cpu: number): number {
  const sc = newScan(false, cpu);
  let n = 0;
  for (const pfn of pfns) {
    lruDel(k, pfn);
    const r = shrinkFolio(k, pfn, sc, true);
    if (r === 'reclaimed' || r === 'pageout') n++;
  }
  return n;
}

/**
 * A THP at the tail of the inactive list: its pages are swapped out one by one, as when
 * add_to_swap cannot take the folio whole (thp_swpout_fallback): every PMD mapping it is split
 * (try_to_unmap's TTU_SPLIT_HUGE_PMD), then the folio (split_folio_to_list), and its pages go
 * to the tail of the inactive list for the scans that follow. Without swap it stays whole.
 */
function splitForReclaim(k: Kernel, head: number, cpu: number): FolioResult {
  const f = k.phys.frames;
  if (!f.has(head, PG.anon) || k.swap === null || k.swap.freeSlots === 0) return activate(k, head);
  const av = k.anonVmas.get(f.owner[head]);
  const index = f.index(head);
  for (const vma of av?.vmas ?? []) {
    const mm = vma.mm;
    const vpn = vma.start + (index - vma.pgoff);
    if (mm === null || vma.dead || vpn < vma.start || vpn >= vma.end) continue;
    if (mm.pmap.pmdState(vpn) === PmdState.huge && mm.pmap.hugePfn === head)
      splitHugePmd(k, mm, vma, vpn, cpu);
  }
  k.vmstat.thp_swpout_fallback++;
  splitFolio(k, head);
  for (let p = head; p < head + HPAGE_PMD_NR; p++) {
    if (!f.has(p, PG.lru)) continue;
    lruDel(k, p);
    f.set(p, PG.lru);
    k.lru.addTail(p, k.phys.nodeOf(p), lruListOf(f.flags[p]), 1);
  }
  return 'kept';
}

function keep(k: Kernel, pfn: number): FolioResult {
  lruAdd(k, pfn);
  return 'kept';
}

function activate(k: Kernel, pfn: number): FolioResult {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.mlocked)) {
    f.set(pfn, PG.active);
    k.vmstat.pgactivate++;
  }
  lruAdd(k, pfn);
  return 'kept';
}

/**
 * folio_check_references: a page mapped and young gets one more trip around the inactive list
 * (and is activated if it was referenced before, or is young in more than one mapping, or is
 * executable file memory); an unmapped page referenced through read() is reclaimed if clean.
 */
function checkReferences(
  k: Kernel,
  pfn: number,
  sc: ScanControl,
): 'activate' | 'keep' | 'reclaim' | 'reclaimClean' {
  const f = k.phys.frames;
  const r = folioReferenced(k, pfn, sc);
  const referencedFolio = f.has(pfn, PG.referenced);
  f.clear(pfn, PG.referenced);
  if (r.locked) return 'activate';
  if (r.referenced > 0) {
    f.set(pfn, PG.referenced);
    if (referencedFolio || r.referenced > 1) return 'activate';
    if (r.exec && f.has(pfn, PG.file)) return 'activate';
    return 'keep';
  }
  if (referencedFolio && f.has(pfn, PG.file)) return 'reclaimClean';
  return 'reclaim';
}

/**
 * folio_referenced: test and clear the accessed bit of every entry mapping the page (x86
 * does not flush the TLB for it, ptep_clear_flush_young). A VM_LOCKED mapping mlocks the page.
 */
function folioReferenced(
  k: Kernel,
  pfn: number,
  sc: ScanControl,
): { referenced: number; exec: boolean; locked: boolean } {
  let referenced = 0;
  let exec = false;
  let locked = false;
  void sc;
  rmapWalk(
    k,
    pfn,
    (mm, vma, _vpn, h) => {
      if ((vma.flags & VM.LOCKED) !== 0) locked = true;
      // A device-exclusive entry (6.15+: found by page_vma_mapped_walk) has no accessed bit:
      // ptep_clear_flush_young finds it old, and the mirror has no clear_young to ask.
      if (!mm.pmap.ptePresent(h)) return;
      if ((mm.pmap.pteAttrs(h) & PteAttr.accessed) !== 0) {
        mm.pmap.pteUpdate(h, 0, PteAttr.accessed);
        referenced++;
        if ((vma.flags & VM.EXEC) !== 0) exec = true;
      }
    },
    true,
  );
  return { referenced, exec, locked };
}

/**
 * try_to_unmap: clear every entry mapping the page (an anonymous page's become swap entries),
 * moving a dirty bit to the page; fails (the page stays mapped) in a VM_LOCKED area. A
 * device-exclusive entry is one of them (try_to_unmap_one, 6.15+: pte_clear, no flush as it
 * was not present, no dirty bit to move); the MMU_NOTIFY_CLEAR before it drops the device's
 * atomic mapping, and the page then leaves for swap like any other.
 */
function tryToUnmap(k: Kernel, pfn: number, cpu: number): boolean {
  const f = k.phys.frames;
  let ok = true;
  rmapWalk(
    k,
    pfn,
    (mm, vma, vpn, h) => {
      if (!ok) return;
      if ((vma.flags & VM.LOCKED) !== 0) {
        ok = false;
        return;
      }
      mmuNotifierInvalidate(mm, vpn, vpn + 1, NotifyEvent.clear); // try_to_unmap_one
      const present = mm.pmap.ptePresent(h);
      const attrs = mm.pmap.pteClear(h);
      if (present && (attrs & PteAttr.dirty) !== 0) {
        if (f.has(pfn, PG.file)) markDirty(k, pfn);
        else f.set(pfn, PG.dirty);
      }
      if (f.has(pfn, PG.anon)) mapSwapEntry(k, mm, h, pfn);
      // The page keeps its place in the page or swap cache (and that reference); the mapping goes.
      dropMapping(k, mm, pfn, false);
      if (present) k.flushTlbRange(mm, cpu, vpn, vpn + 1);
    },
    true,
  );
  return ok && f.mapcount[pfn] === 0;
}
