// The hugetlb pools (mm/hugetlb.c struct hstate): one pool of 2 MiB pages (the default size,
// HPAGE_SIZE) and one of 1 GiB gigantic pages, set up at boot as the kernel command line's
// `hugepagesz=2M hugepages=N hugepagesz=1G hugepages=M` does, their free lists, reservation
// accounting (hugetlb_acct_memory, gather_surplus_pages, return_unused_surplus_pages) and the
// freeing of pool folios (free_huge_folio). Pool pages are taken from the buddy allocator and
// stay out of it: they are not free memory (MemFree), never on an LRU list, never reclaimed
// or swapped. A pool folio is a compound page of order 9 or 18 flagged PG.hugetlb; free ones
// have refcount 0 and PG.hugetlbFreed.

import { MAX_ORDER } from '../phys/buddy.js';
import { PG } from '../phys/frames.js';
import type { Kernel } from './kernel.js';

export type HugeOrder = 9 | 18;

/** machine.hugepages: pages of each size set aside at boot; nr_overcommit_hugepages (2 MiB only). */
export interface HugepagesConfig {
  readonly pages2M: number;
  readonly pages1G: number;
  readonly overcommit: number;
}

export const NO_HUGEPAGES: HugepagesConfig = { pages2M: 0, pages1G: 0, overcommit: 0 };

/** One huge page size and its pool (struct hstate). Counts are in huge pages. */
export class HState {
  readonly order: HugeOrder;
  /** Base pages per huge page (pages_per_huge_page). */
  readonly nrPages: number;
  /** The sysfs directory name: hugepages-2048kB, hugepages-1048576kB. */
  readonly name: string;
  /** nr_huge_pages, free_huge_pages, resv_huge_pages, surplus_huge_pages. */
  nr = 0;
  free = 0;
  resv = 0;
  surplus = 0;
  /** nr_overcommit_hugepages: surplus pages the pool may grow by (gigantic sizes: 0). */
  overcommit = 0;
  /** Per node: free folios (hugepage_freelists, most recently freed last), and the counts. */
  readonly freeLists: number[][];
  readonly nrNode: Int32Array;
  readonly surplusNode: Int32Array;
  /** next_nid_to_alloc / next_nid_to_free: pool growth and shrinking go round the nodes. */
  nextNidToAlloc = 0;
  nextNidToFree = 0;
  /**
   * vmlab: reservations still counted in resv_huge_pages that no map accounts for any more:
   * Linux strands them when mremap moves part of a private hugetlb VMA (move_vma's
   * clear_vma_resv_huge_pages drops the whole old VMA's reservation map). For the checker.
   */
  stranded = 0;

  constructor(order: HugeOrder, nodes: number) {
    this.order = order;
    this.nrPages = 1 << order;
    this.name = `hugepages-${this.nrPages * 4}kB`;
    this.freeLists = Array.from({ length: nodes }, () => []);
    this.nrNode = new Int32Array(nodes);
    this.surplusNode = new Int32Array(nodes);
  }

  get gigantic(): boolean {
    return this.order > MAX_ORDER;
  }
}

/** All hstates (index 0: 2 MiB, the default; 1: 1 GiB) and hugetlb's vmstat events. */
export class Hugetlb {
  readonly hstates: readonly HState[];
  /** /proc/vmstat htlb_buddy_alloc_success and _fail (HTLB_BUDDY_PGALLOC[_FAIL]). */
  buddyAllocSuccess = 0;
  buddyAllocFail = 0;

  constructor(nodes: number) {
    this.hstates = [new HState(9, nodes), new HState(18, nodes)];
  }

  /** size_to_hstate */
  byOrder(order: HugeOrder): HState {
    return this.hstates[order === 9 ? 0 : 1];
  }
}

/**
 * Boot-time pool set-up (hugetlb_hstate_alloc_pages): gigantic pages first, from memblock (a
 * contiguous, aligned range; hugepages_setup allocates them while parsing the command line),
 * then 2 MiB pages from the buddy allocator (alloc_pool_huge_folio: __GFP_THISNODE, nodes in
 * turn). A request the memory cannot meet leaves a smaller pool, as Linux's "HugeTLB: allocating
 * N of page size ... failed" does.
 */
export function hugetlbInit(k: Kernel, cfg: HugepagesConfig): Hugetlb {
  const nodes = k.phys.nodes.length;
  const hugetlb = new Hugetlb(nodes);
  const [h2m, h1g] = hugetlb.hstates;
  h2m.overcommit = cfg.overcommit;
  for (let i = 0; i < cfg.pages1G; i++) {
    const nid = nextNode(h1g, nodes, 'alloc');
    let head = -1;
    // memblock_alloc_try_nid_raw: the node first, then any node.
    for (let j = 0; j < nodes && head < 0; j++) head = k.phys.allocContig(18, (nid + j) % nodes);
    if (head < 0) break;
    prepNewHugeFolio(k, h1g, head);
    enqueue(k, h1g, head);
  }
  for (let i = 0; i < cfg.pages2M; i++) {
    let head = -1;
    for (let j = 0; j < nodes && head < 0; j++) {
      head = k.phys.allocBoot(9, nextNode(h2m, nodes, 'alloc'));
      if (head >= 0) hugetlb.buddyAllocSuccess++;
      else hugetlb.buddyAllocFail++;
    }
    if (head < 0) break;
    prepNewHugeFolio(k, h2m, head);
    enqueue(k, h2m, head);
  }
  return hugetlb;
}

/** hstate_next_node_to_alloc / _to_free: the node to use now, and advance. */
function nextNode(h: HState, nodes: number, which: 'alloc' | 'free'): number {
  if (which === 'alloc') {
    const nid = h.nextNidToAlloc;
    h.nextNidToAlloc = (nid + 1) % nodes;
    return nid;
  }
  const nid = h.nextNidToFree;
  h.nextNidToFree = (nid + 1) % nodes;
  return nid;
}

/** prep_compound_page + init_new_hugetlb_folio + __prep_account_new_huge_page: a frozen pool folio. */
function prepNewHugeFolio(k: Kernel, h: HState, head: number): void {
  const f = k.phys.frames;
  f.makeCompound(head, h.order, PG.hugetlb);
  f.refcount[head] = 0;
  f.refcount[head + 1] = 0; // entire mapcount
  h.nr++;
  h.nrNode[k.phys.nodeOf(head)]++;
}

/** enqueue_hugetlb_folio: onto its node's free list. */
function enqueue(k: Kernel, h: HState, head: number): void {
  const f = k.phys.frames;
  f.flags[head] = PG.hugetlb | PG.compound | PG.head | PG.hugetlbFreed;
  f.owner[head] = 0;
  h.freeLists[k.phys.nodeOf(head)].push(head);
  h.free++;
}

/**
 * dequeue_hugetlb_folio_nodemask: a free folio from `nid` or, failing that, the other nodes in
 * zonelist order; it leaves the free list with refcount 1. -1 when the pool has none free.
 */
export function dequeue(k: Kernel, h: HState, nid: number): number {
  const nodes = h.freeLists.length;
  for (let j = 0; j < nodes; j++) {
    const list = h.freeLists[(nid + j) % nodes];
    const head = list.pop();
    if (head === undefined) continue;
    const f = k.phys.frames;
    f.clear(head, PG.hugetlbFreed);
    f.refcount[head] = 1;
    h.free--;
    return head;
  }
  return -1;
}

/** available_huge_pages: free pages no reservation holds. */
export function availableHugePages(h: HState): number {
  return h.free - h.resv;
}

/**
 * alloc_surplus_hugetlb_folio: a fresh folio from the buddy allocator beyond the persistent
 * pool, within nr_overcommit_hugepages (never for gigantic sizes). It counts in nr and surplus
 * and comes back frozen (refcount 0), on no free list. -1 when over the limit or out of memory.
 */
export function allocSurplus(k: Kernel, h: HState): number {
  if (h.gigantic || h.surplus >= h.overcommit) return -1;
  const head = k.phys.alloc(h.order, 0);
  if (head < 0) {
    k.hugetlb.buddyAllocFail++;
    return -1;
  }
  k.hugetlb.buddyAllocSuccess++;
  prepNewHugeFolio(k, h, head);
  h.surplus++;
  h.surplusNode[k.phys.nodeOf(head)]++;
  return head;
}

/**
 * free_huge_folio: a folio whose last reference went. A reservation it consumed comes back
 * when it carries PG.hugetlbRestoreReserve. A node holding surplus pages gives the folio back to
 * the buddy allocator (the pool shrinks to its persistent size); otherwise it is free in the pool.
 */
export function freeHugeFolio(k: Kernel, head: number): void {
  const f = k.phys.frames;
  const h = hstateOfFolio(k, head);
  if (f.has(head, PG.hugetlbRestoreReserve)) h.resv++;
  const nid = k.phys.nodeOf(head);
  if (h.surplusNode[nid] > 0) {
    h.nr--;
    h.nrNode[nid]--;
    h.surplus--;
    h.surplusNode[nid]--;
    updateAndFree(k, h, head);
    return;
  }
  enqueue(k, h, head);
}

/** update_and_free_hugetlb_folio: the folio's frames go back to the buddy allocator. */
function updateAndFree(k: Kernel, h: HState, head: number): void {
  k.phys.frames.resetRange(head, h.nrPages);
  if (h.gigantic) k.phys.freeContig(head, h.order);
  else k.phys.free(head, h.order);
}

export function hstateOfFolio(k: Kernel, head: number): HState {
  return k.hugetlb.byOrder(k.phys.frames.order(head) as HugeOrder);
}

/**
 * hugetlb_acct_memory: take (delta > 0) or give back (delta < 0) global reservations. Taking
 * them needs enough free pages: gather_surplus_pages grows the pool with surplus pages within
 * nr_overcommit_hugepages, and the reservation fails (false: ENOMEM) when that is not enough.
 * With one cpuset and the default memory policy, allowed_mems_nr is free_huge_pages.
 */
export function hugetlbAcctMemory(k: Kernel, h: HState, delta: number): boolean {
  if (delta === 0) return true;
  if (delta < 0) {
    returnUnusedSurplusPages(k, h, -delta);
    return true;
  }
  if (!gatherSurplusPages(k, h, delta)) return false;
  if (delta > h.free) {
    returnUnusedSurplusPages(k, h, delta);
    return false;
  }
  return true;
}

/**
 * gather_surplus_pages: reserve `delta` more pages; when free pages do not cover every
 * reservation, allocate the missing ones as surplus pages into the pool first (all or none).
 */
function gatherSurplusPages(k: Kernel, h: HState, delta: number): boolean {
  const needed = h.resv + delta - h.free;
  if (needed <= 0) {
    h.resv += delta;
    return true;
  }
  const got: number[] = [];
  for (let i = 0; i < needed; i++) {
    const head = allocSurplus(k, h);
    if (head < 0) break;
    got.push(head);
  }
  if (got.length < needed) {
    // Not enough: the surplus pages allocated go straight back (free_huge_folio on a node
    // with surplus pages returns them to the buddy allocator).
    for (const head of got) freeHugeFolio(k, head);
    return false;
  }
  h.resv += delta;
  for (const head of got) enqueue(k, h, head);
  return true;
}

/**
 * return_unused_surplus_pages: drop `unused` reservations and free as many surplus pages (free
 * ones, from nodes that have surplus, in turn) back to the buddy allocator.
 */
function returnUnusedSurplusPages(k: Kernel, h: HState, unused: number): void {
  h.resv -= unused;
  let n = Math.min(unused, h.surplus);
  const nodes = h.freeLists.length;
  while (n-- > 0) {
    let head = -1;
    for (let j = 0; j < nodes && head < 0; j++) {
      const nid = nextNode(h, nodes, 'free');
      if (h.surplusNode[nid] > 0) head = h.freeLists[nid].pop() ?? -1;
    }
    if (head < 0) return;
    const nid = k.phys.nodeOf(head);
    k.phys.frames.clear(head, PG.hugetlbFreed);
    h.free--;
    h.nr--;
    h.nrNode[nid]--;
    h.surplus--;
    h.surplusNode[nid]--;
    updateAndFree(k, h, head);
  }
}
