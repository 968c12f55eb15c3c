// The LRU lists (include/linux/mmzone.h enum lru_list, mm/swap.c): per memory node, inactive
// and active lists of anonymous (swap-backed: anon and shmem) and file pages, and the
// unevictable list (mlocked pages). New pages go to the head; reclaim takes from the tail.
//
// The lists are intrusive and doubly linked through two Int32Arrays indexed by pfn (8 host
// bytes a frame, the role of page->lru); each list's head is a sentinel slot past the frames.
// Which list a page is on follows from its flags, as folio_lru_list() derives it.

import { PG } from '../phys/frames.js';
import type { Kernel } from './kernel.js';

export const enum LruList {
  inactiveAnon = 0,
  activeAnon = 1,
  inactiveFile = 2,
  activeFile = 3,
  unevictable = 4,
}
export const NR_LRU_LISTS = 5;

export class Lru {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Pages on each list (a large folio counts all its pages): size[node * NR_LRU_LISTS + list]. */
  readonly size: Int32Array;
  private readonly base: number;

  constructor(nframes: number, nodes: number) {
    const slots = nframes + nodes * NR_LRU_LISTS;
    this.next = new Int32Array(slots);
    this.prev = new Int32Array(slots);
    this.size = new Int32Array(nodes * NR_LRU_LISTS);
    this.base = nframes;
    for (let h = nframes; h < slots; h++) {
      this.next[h] = h;
      this.prev[h] = h;
    }
  }

  private head(node: number, list: LruList): number {
    return this.base + node * NR_LRU_LISTS + list;
  }

  /** Put pfn (a folio of nr pages) at the head (the young end) of the list. */
  addHead(pfn: number, node: number, list: LruList, nr = 1): void {
    const h = this.head(node, list);
    const first = this.next[h];
    this.next[pfn] = first;
    this.prev[pfn] = h;
    this.prev[first] = pfn;
    this.next[h] = pfn;
    this.size[node * NR_LRU_LISTS + list] += nr;
  }

  /** Put pfn at the tail (the end reclaim takes from next). */
  addTail(pfn: number, node: number, list: LruList, nr = 1): void {
    const h = this.head(node, list);
    const last = this.prev[h];
    this.prev[pfn] = last;
    this.next[pfn] = h;
    this.next[last] = pfn;
    this.prev[h] = pfn;
    this.size[node * NR_LRU_LISTS + list] += nr;
  }

  remove(pfn: number, node: number, list: LruList, nr = 1): void {
    const n = this.next[pfn];
    const p = this.prev[pfn];
    this.next[p] = n;
    this.prev[n] = p;
    this.size[node * NR_LRU_LISTS + list] -= nr;
  }

  /** The oldest page of the list, or -1 when it is empty. */
  tail(node: number, list: LruList): number {
    const h = this.head(node, list);
    const t = this.prev[h];
    return t === h ? -1 : t;
  }

  count(node: number, list: LruList): number {
    return this.size[node * NR_LRU_LISTS + list];
  }

  /** The pages of a list from oldest to youngest (for checks and reports). */
  pages(node: number, list: LruList): number[] {
    const h = this.head(node, list);
    const out: number[] = [];
    for (let p = this.prev[h]; p !== h; p = this.prev[p]) out.push(p);
    return out;
  }
}

/** folio_lru_list: the list a page's flags put it on. */
export function lruListOf(flags: number): LruList {
  if ((flags & PG.unevictable) !== 0) return LruList.unevictable;
  const file = (flags & (PG.file | PG.lazyfree)) !== 0 ? LruList.inactiveFile : LruList.inactiveAnon;
  return (flags & PG.active) !== 0 ? file + 1 : file;
}

/**
 * folio_add_lru (lruvec_add_folio): a page joins the LRU at the head of its list; an
 * mlocked page goes to the unevictable list (mlock_new_folio).
 */
export function lruAdd(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  if (f.has(pfn, PG.mlocked)) f.set(pfn, PG.unevictable);
  f.set(pfn, PG.lru);
  k.lru.addHead(pfn, k.phys.nodeOf(pfn), lruListOf(f.flags[pfn]), f.nrPages(pfn));
}

/** lruvec_del_folio: take a page off its list (it keeps its active/unevictable flags). */
export function lruDel(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.lru)) return;
  k.lru.remove(pfn, k.phys.nodeOf(pfn), lruListOf(f.flags[pfn]), f.nrPages(pfn));
  f.clear(pfn, PG.lru);
}

/** Move a page on the LRU to the head of the list its flags, changed by `set`/`clear`, select. */
export function lruMove(k: Kernel, pfn: number, set: number, clear: number): void {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.lru)) {
    f.flags[pfn] = (f.flags[pfn] | set) & ~clear;
    return;
  }
  const node = k.phys.nodeOf(pfn);
  const nr = f.nrPages(pfn);
  k.lru.remove(pfn, node, lruListOf(f.flags[pfn]), nr);
  f.flags[pfn] = (f.flags[pfn] | set) & ~clear;
  k.lru.addHead(pfn, node, lruListOf(f.flags[pfn]), nr);
}

/**
 * folio_mark_accessed: the first access marks the page referenced, a second one on the
 * inactive list activates it (and ages the non-resident clock: workingset_activation).
 */
export function markAccessed(k: Kernel, pfn: number): void {
  const f = k.phys.frames;
  if (!f.has(pfn, PG.referenced)) {
    f.set(pfn, PG.referenced);
    return;
  }
  if (f.has(pfn, PG.unevictable) || f.has(pfn, PG.active)) return;
  lruMove(k, pfn, PG.active, PG.referenced);
  k.vmstat.pgactivate++;
  k.nonresidentAge[k.phys.nodeOf(pfn)]++;
}
