// Per-frame metadata: the struct page analogue, in typed arrays indexed by pfn
// (STYLE.md: hot state packed into typed arrays, no object per frame).
//
// Layout, 26 host bytes a frame (the LRU links live beside it, in mm/lru.ts: 8 more):
//   flags    u32  - page flags (PG_*)
//   hi       u16  - index_hi(12) order(4)
//   refcount i32  - references (mappings, the page cache, pins); 0 when free
//   mapcount i32  - page-table entries mapping the frame (Linux keeps _mapcount - 1; we keep the count)
//   owner    u32  - anon_vma / inode id, page-table slot; buddy list `next` when free
//   indexLo  u32  - low 32 bits of the page index (page->index); buddy list `prev` when free
//   token    u32  - content token: 0 for zeroed memory, a fresh number for each write
// As in struct page, the owner and index words form a union with the buddy list links:
// a free frame has no owner, so the allocator keeps its free lists there at no extra cost.
//
// Compound pages (folios of order >= 1, e.g. a 2 MiB THP of order 9): every page carries
// PG.compound and the folio's order; the first page PG.head, the others PG.tail. The folio is
// naturally aligned, so a page finds its head by masking its pfn (compound_head). As in Linux,
// the folio's reference count lives in the head only; a tail's refcount word is free, and the
// first two tails keep the folio-wide mapping counts there, as Linux keeps them in page[1]:
//   refcount[head + 1] - entire mapcount: PMD mappings of the whole folio (folio->_entire_mapcount)
//   refcount[head + 2] - pages mapped by at least one PTE (folio->_nr_pages_mapped, without
//                        the ENTIRELY_MAPPED bias)
// Each page's own mapcount word counts the PTEs mapping that page (page->_mapcount + 1).
// Owner and index are kept in every page (the head's owner, head index + i), so that a split
// needs no fix-up and per-page checks read them directly. No byte is added per frame.

export const enum PG {
  /** Head of a free buddy block; its order is in the order field. */
  buddy = 1 << 0,
  /** Never allocatable (the zero page). */
  reserved = 1 << 1,
  /** Mapped anonymous memory (PageAnon). */
  anon = 1 << 2,
  /** A page-table page (PageTable). */
  pagetable = 1 << 3,
  /** The shared zero page. */
  zero = 1 << 4,
  /** A shmem page, owned by a shmem inode (shared anonymous memory). */
  shmem = 1 << 5,
  /** PageAnonExclusive: this anon page is mapped by exactly one process and may be written in place. */
  anonExclusive = 1 << 6,
  /** PageMlocked */
  mlocked = 1 << 7,
  dirty = 1 << 8,
  referenced = 1 << 9,
  /** A page-cache page of a regular file (owner: the inode, index: the file page). */
  file = 1 << 10,
  /** PG_readahead: reaching this page starts the next asynchronous readahead. */
  readahead = 1 << 11,
  /** PG_lru: on an LRU list (which one: active, unevictable, and anon-or-file say). */
  lru = 1 << 12,
  /** PG_active: on the active list of its kind. */
  active = 1 << 13,
  /** PG_unevictable: on the unevictable list (mlocked). */
  unevictable = 1 << 14,
  /** PG_workingset: was active before it was last deactivated or evicted. */
  workingset = 1 << 15,
  /** PG_swapcache: an anonymous or shmem page that has a swap slot (folio->swap). */
  swapcache = 1 << 16,
  /** PG_locked: a fault is working on the page; reclaim leaves it alone (folio_trylock fails). */
  locked = 1 << 17,
  /** PG_reclaim: reclaim found it dirty; when written back it rotates to the inactive tail. */
  reclaim = 1 << 18,
  /** An anonymous page freed lazily (MADV_FREE: PG_swapbacked clear): on the file LRU, and
   * discarded instead of swapped unless written again. */
  lazyfree = 1 << 19,
  /** PageOffline: held by a driver (the memory balloon); on no LRU list. */
  offline = 1 << 20,
  /** Part of a compound page (folio of order >= 1): PageCompound. */
  compound = 1 << 21,
  /** First page of a compound page: PageHead. */
  head = 1 << 22,
  /** A compound page's other pages: PageTail. */
  tail = 1 << 23,
  /** folio_test_partially_mapped: a large anon folio queued for deferred split because some of
   * its pages were unmapped while others stay mapped. Kept on the head. */
  partiallyMapped = 1 << 24,
  /** folio_test_hugetlb: a page of a hugetlb pool folio (2 MiB or 1 GiB), in the pool or in use;
   * on every page of the folio. Never on an LRU list, never reclaimed or swapped. */
  hugetlb = 1 << 25,
  /** folio_test_hugetlb_freed: the hugetlb folio is on its hstate's free list. Kept on the head. */
  hugetlbFreed = 1 << 26,
  /** folio_test_hugetlb_restore_reserve (HPageRestoreReserve): freeing the folio gives a
   * reservation back (resv_huge_pages++). Kept on the head. */
  hugetlbRestoreReserve = 1 << 27,
  /** A MEMORY_DEVICE_PRIVATE page (is_device_private_page): device memory the CPU cannot
   * address; CPU page tables refer to it through device-private swap entries. */
  devicePrivate = 1 << 28,
  /** A MEMORY_DEVICE_COHERENT page (is_device_coherent_page): device memory the CPU maps and
   * reaches over the link; an anonymous page on no LRU list. */
  deviceCoherent = 1 << 29,
}

const ORDER_SHIFT = 12;
const ORDER_MASK = 0xf << ORDER_SHIFT;
/**
 * The order field holds 0..14 as they are; 15 stands for order 18, a 1 GiB gigantic hugetlb
 * folio (PUD_ORDER on x86-64), the only order above 10 a frame ever carries.
 */
const ORDER_GIGANTIC_CODE = 15;
const ORDER_GIGANTIC = 18;
const INDEX_HI_MASK = 0xfff;
const INDEX_HI_LIMIT = 1 << 12;
const TWO32 = 0x1_0000_0000;

/** Bytes the real kernel spends per frame on struct page (x86-64). */
export const STRUCT_PAGE_BYTES = 64;
/** Host bytes vmlab spends per frame on the arrays below. */
export const FRAME_HOST_BYTES = 26;

/** The order field's code for `order` (see ORDER_GIGANTIC_CODE). */
function orderCode(order: number): number {
  if (order === ORDER_GIGANTIC) return ORDER_GIGANTIC_CODE;
  if (order < 0 || order >= ORDER_GIGANTIC_CODE)
    throw new Error(`FrameTable: order ${order} cannot be stored (0..14 or 18)`);
  return order;
}

export class FrameTable {
  readonly nframes: number;
  readonly flags: Uint32Array;
  readonly hi: Uint16Array;
  readonly refcount: Int32Array;
  readonly mapcount: Int32Array;
  readonly owner: Uint32Array;
  readonly indexLo: Uint32Array;
  readonly token: Uint32Array;

  constructor(nframes: number) {
    this.nframes = nframes;
    this.flags = new Uint32Array(nframes);
    this.hi = new Uint16Array(nframes);
    this.refcount = new Int32Array(nframes);
    this.mapcount = new Int32Array(nframes);
    this.owner = new Uint32Array(nframes);
    this.indexLo = new Uint32Array(nframes);
    this.token = new Uint32Array(nframes);
  }

  has(pfn: number, flag: PG): boolean {
    return (this.flags[pfn] & flag) !== 0;
  }

  set(pfn: number, flag: PG): void {
    this.flags[pfn] |= flag;
  }

  clear(pfn: number, flag: PG): void {
    this.flags[pfn] &= ~flag;
  }

  /** Page flags (PG_*). */
  pageFlags(pfn: number): number {
    return this.flags[pfn];
  }

  order(pfn: number): number {
    const code = (this.hi[pfn] & ORDER_MASK) >>> ORDER_SHIFT;
    return code === ORDER_GIGANTIC_CODE ? ORDER_GIGANTIC : code;
  }

  setOrder(pfn: number, order: number): void {
    this.hi[pfn] = (this.hi[pfn] & ~ORDER_MASK) | (orderCode(order) << ORDER_SHIFT);
  }

  /** page->index: up to 2^44 (the 5-level user address space in pages). */
  index(pfn: number): number {
    return (this.hi[pfn] & INDEX_HI_MASK) * TWO32 + this.indexLo[pfn];
  }

  setIndex(pfn: number, index: number): void {
    const hi = Math.floor(index / TWO32);
    if (hi >= INDEX_HI_LIMIT) throw new Error(`FrameTable.setIndex: index ${index} exceeds 2^44`);
    this.indexLo[pfn] = index >>> 0;
    this.hi[pfn] = (this.hi[pfn] & ORDER_MASK) | hi;
  }

  /** compound_head: the head of pfn's folio (pfn itself for an order-0 page). */
  headOf(pfn: number): number {
    if ((this.flags[pfn] & PG.tail) === 0) return pfn;
    const n = 1 << this.order(pfn);
    return pfn - (pfn % n);
  }

  /** folio_nr_pages of the folio whose head is `head`. */
  nrPages(head: number): number {
    return (this.flags[head] & PG.compound) === 0 ? 1 : 1 << this.order(head);
  }

  /** folio->_entire_mapcount of a compound head (PMD mappings). */
  entireMapcount(head: number): number {
    return this.refcount[head + 1];
  }

  /** folio->_nr_pages_mapped of a compound head (pages mapped by a PTE). */
  nrPagesMapped(head: number): number {
    return this.refcount[head + 2];
  }

  /**
   * prep_compound_page: make [head, head + 2^order) one folio; `pageFlags` go on every page
   * (PG.anon, ...), and each page gets `owner` and index `index + i`. Counts start at zero, the
   * head's refcount is left as it is.
   */
  makeCompound(head: number, order: number, pageFlags: number, owner = 0, index = 0): void {
    const n = 1 << order;
    const bits = pageFlags | PG.compound;
    for (let i = 0; i < n; i++) {
      const p = head + i;
      this.flags[p] = bits | (i === 0 ? PG.head : PG.tail);
      this.owner[p] = owner;
      this.mapcount[p] = 0;
    }
    const lo = index % TWO32;
    if (lo + n <= TWO32 && index / TWO32 < INDEX_HI_LIMIT) {
      const hiBits = Math.floor(index / TWO32) | (orderCode(order) << ORDER_SHIFT);
      for (let i = 0; i < n; i++) {
        this.hi[head + i] = hiBits;
        this.indexLo[head + i] = lo + i;
      }
    } else {
      for (let i = 0; i < n; i++) {
        this.setOrder(head + i, order);
        this.setIndex(head + i, index + i); // crosses 2^32 (or throws)
      }
    }
    this.refcount.fill(0, head + 1, head + n);
  }

  /** Reset the frames [pfn, pfn + n) as resetMeta does each. */
  resetRange(pfn: number, n: number): void {
    this.flags.fill(0, pfn, pfn + n);
    this.hi.fill(0, pfn, pfn + n);
    this.refcount.fill(0, pfn, pfn + n);
    this.mapcount.fill(0, pfn, pfn + n);
    this.owner.fill(0, pfn, pfn + n);
    this.indexLo.fill(0, pfn, pfn + n);
  }

  /** Reset a frame to the state of a freshly allocated one (flags, counts, owner, index; content kept). */
  resetMeta(pfn: number): void {
    this.flags[pfn] = 0;
    this.hi[pfn] = 0;
    this.refcount[pfn] = 0;
    this.mapcount[pfn] = 0;
    this.owner[pfn] = 0;
    this.indexLo[pfn] = 0;
  }
}
