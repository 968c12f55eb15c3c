// The machine-dependent page-table contract (after FreeBSD's pmap.h and Linux's pte_* helpers).
// mm/ talks to page tables only through this interface and never sees an entry's bit layout,
// so another format (hashed, a device MMU) can stand behind it without touching mm/.
//
// Leaf entries are addressed by a handle: a number naming one entry of one PTE table,
// valid until that table is freed (free_pgtables, reclaim of empty tables, destroy).
// Handles are plain numbers so the fault path allocates nothing.

/** Protection as mmap's PROT_* bits. */
export const enum Prot {
  none = 0,
  read = 1,
  write = 2,
  exec = 4,
}

/** Kind of a hardware access. */
export const enum Access {
  read = 0,
  write = 1,
  exec = 2,
}

/** Result of a hardware walk. */
export const enum WalkStatus {
  /** Translated; the walker's outPfn and outPerm hold the translation. */
  ok = 0,
  /** No present leaf: a not-present page fault. */
  notPresent = 1,
  /** A present leaf forbids the access: a protection page fault. */
  protection = 2,
}

/** Permission bits of a translation as a TLB caches them. */
export const enum TlbPerm {
  write = 1,
  exec = 2,
  /** Dirty: a write may proceed without a walk to set D. */
  dirty = 4,
}

/** Attributes for a new leaf entry. */
export const enum PteAttr {
  none = 0,
  /** Writable (may be absent although prot has write: private pages before CoW). */
  write = 1,
  dirty = 2,
  accessed = 4,
  /** pte_special: not a normal page (the zero page). */
  special = 8,
  /** Present but inaccessible (PROT_NONE): hardware sees not-present. */
  protnone = 16,
  /** Instruction fetch allowed (x86: NX clear). */
  exec = 32,
}

/**
 * Types of non-present (swap) entries (include/linux/swap.h, Linux 6.15+ with
 * CONFIG_DEVICE_PRIVATE): type 0 is the swap device; MAX_SWAPFILES = 32 - 3 device - 3
 * migration - 1 hwpoison - 1 pte marker = 24, so SWP_DEVICE_WRITE = 24 + 1 + 3 = 28,
 * SWP_DEVICE_READ = 29 and SWP_DEVICE_EXCLUSIVE = 30. (Before 6.15 a fourth device type split
 * device-exclusive entries into _WRITE and _READ, which put the device types at 27..30; the
 * device-exclusive rework merged them: a device-exclusive entry is only made from a writable
 * entry, and restore_exclusive_pte decides writability afresh.)
 * A device-private entry's offset is the pfn of the device page
 * (make_writable_device_private_entry), a device-exclusive entry's the pfn of the system page
 * a device holds for atomics (make_device_exclusive_entry); neither is a slot.
 */
export const enum SwpType {
  swap = 0,
  deviceWrite = 28,
  deviceRead = 29,
  exclusive = 30,
}

/** is_device_private_entry */
export function isDevicePrivateType(type: number): boolean {
  return type === SwpType.deviceWrite || type === SwpType.deviceRead;
}

/** is_device_exclusive_entry */
export function isDeviceExclusiveType(type: number): boolean {
  return type === SwpType.exclusive;
}

/** A swap entry that a range walk found: its offset (a slot, or a device pfn) and type. */
export type SwapVisitor = (vpn: number, slot: number, type: number) => void;
/** What a PMD entry holds. */
export const enum PmdState {
  /** pmd_none: nothing (or no PMD table above it). */
  none = 0,
  /** A PTE table. */
  table = 1,
  /** pmd_trans_huge: a 2 MiB leaf. */
  huge = 2,
}

/** Pages a PMD leaf maps (HPAGE_PMD_NR). */
export const HPAGE_PMD_NR = 512;

/** A leaf entry that a range walk found. */
/** `order`: 0 for a PTE, 9 for a PMD leaf, 18 for a PUD leaf. */
export type LeafVisitor = (vpn: number, pfn: number, attrs: number, order: number) => void;

/**
 * A table page was freed (p?d_free_tlb): `level` is the freed table's level (0 a PTE table,
 * 1 a PMD table, 2 a PUD table, 3 a P4D table) and `vpn` the first page of the span it mapped,
 * the address Linux passes to pte_free_tlb and its siblings.
 */
export type TableFreeVisitor = (level: number, vpn: number) => void;

/** The part [start, end) of one PTE table's span that a zap has finished (zap_pte_range's end). */
export type TableDoneVisitor = (start: number, end: number) => void;

export interface Pmap {
  /** Levels of the radix tree (4 or 5). */
  readonly levels: number;
  /** Bytes of table pages below the top level: Linux's mm->pgtables_bytes (VmPTE). */
  readonly pgtablesBytes: number;
  /** Table pages in all, top level included (meminfo PageTables). */
  readonly tablePages: number;
  /** Highest user virtual page number + 1 that the format can map. */
  readonly vpnLimit: number;

  // --- The hardware walker. Sets accessed (and dirty on write) bits as the MMU does. ---
  /** Walk for an access; on ok, outPfn and outPerm describe the 4 KiB translation. */
  walk(vpn: number, access: Access): WalkStatus;
  /** Entries read by the last walk. */
  readonly walkLevels: number;
  outPfn: number;
  outPerm: number;
  /** Order of the leaf the last successful walk went through: 0 (PTE), 9 (PMD leaf) or 18 (PUD leaf). */
  outOrder: number;

  // --- Software access to leaf entries (pte_offset_map, set_pte_at, ptep_get_and_clear). ---
  /** Handle of the PTE for vpn, or -1 when no PTE table covers it (or a huge leaf does). */
  pteLookup(vpn: number): number;
  /** Like pteLookup but allocates missing tables; -1 when memory is exhausted. */
  pteAlloc(vpn: number): number;
  /** PTE tables pteAlloc has installed so far (each one a pmd_install under the PMD lock). */
  readonly pteInstalls: number;
  pteNone(h: number): boolean;
  /** pte_present: a mapping exists (PROT_NONE entries included). */
  ptePresent(h: number): boolean;
  ptePfn(h: number): number;
  /** PteAttr bits of the entry. */
  pteAttrs(h: number): number;
  pteSet(h: number, pfn: number, attrs: number): void;
  /** Clear the entry; returns its PteAttr bits before clearing. */
  pteClear(h: number): number;
  /** Set or clear PteAttr.write/dirty/accessed/protnone bits on a present entry. */
  pteUpdate(h: number, set: number, clear: number): void;
  /** Whether the entry holds a swap entry (not present and not none). */
  pteIsSwap(h: number): boolean;
  /** The swap slot of a swap entry (the offset: a device pfn for a device-private entry). */
  pteSwapSlot(h: number): number;
  /** The type of a swap entry (SwpType). */
  pteSwapType(h: number): number;
  /** Make the entry a swap entry of `type` (default the swap device) for `slot` (the page it mapped must have been cleared). */
  pteSetSwap(h: number, slot: number, type?: number): void;

  // --- Huge PMD leaves (transparent huge pages; mm/huge_memory.c's pmd helpers). ---
  // A huge leaf maps HPAGE_PMD_NR pages of a naturally aligned folio. The format keeps one PTE
  // table deposited per huge leaf (pgtable_trans_huge_deposit), counted in pgtablesBytes as
  // Linux counts it (mm_inc_nr_ptes), so that a split never needs memory.
  /** The PMD entry covering vpn; for huge, hugePfn and hugeAttrs describe the leaf. No side effects. */
  pmdState(vpn: number): PmdState;
  readonly hugePfn: number;
  readonly hugeAttrs: number;
  /**
   * Map a huge leaf at vpn (PMD-aligned) over an empty PMD entry and deposit a PTE table;
   * false when memory ran out (then nothing is mapped; tables above may remain, as pmd_alloc's do).
   */
  hugeEnter(vpn: number, pfn: number, attrs: number): boolean;
  /** Point the huge leaf covering vpn at pfn with attrs (set_pmd_at over a leaf; the deposit stays). */
  hugeSet(vpn: number, pfn: number, attrs: number): void;
  /** Set or clear PteAttr bits of the huge leaf covering vpn. */
  hugeUpdate(vpn: number, set: number, clear: number): void;
  /** Clear the huge leaf covering vpn and free its deposited table (zap_huge_pmd); returns its attrs. */
  hugeClear(vpn: number): number;
  /**
   * __split_huge_pmd_locked: the deposited table takes the leaf's place; its PTEs map pfn + i
   * with `attrs`, or all the same `samePfn` when it is not negative (the huge zero page).
   */
  hugeSplit(vpn: number, attrs: number, samePfn: number): void;
  /**
   * collapse_huge_page: the PTE table covering vpn, whose entries the caller cleared, becomes
   * the deposit of a new huge leaf mapping pfn.
   */
  hugeCollapse(vpn: number, pfn: number, attrs: number): void;
  /** Deposited PTE tables (one per huge leaf), for invariant checks. */
  readonly depositedTables: number;

  // --- hugetlb leaves (mm/hugetlb.c's huge_pte_* helpers): a 2 MiB page is a PMD leaf (order 9),
  // a 1 GiB page a PUD leaf (order 18). No table is deposited under them: hugetlb pages are
  // never split. mm/ uses these for hugetlb VMAs only; the format cannot tell a hugetlb PMD
  // leaf from a THP's (Linux tells them apart by the VMA too). ---
  /** huge_pte_offset: the order-`order` entry covering vpn; for huge, hugePfn and hugeAttrs describe it. No side effects. */
  hugetlbState(vpn: number, order: 9 | 18): PmdState;
  /** huge_pte_alloc: make the tables above the (aligned) vpn's leaf entry exist; false when memory ran out. */
  hugetlbPrepare(vpn: number, order: 9 | 18): boolean;
  /** set_huge_pte_at: the leaf entry for the aligned vpn (its tables exist) maps pfn with attrs. */
  hugetlbSet(vpn: number, order: 9 | 18, pfn: number, attrs: number): void;
  /** Set or clear PteAttr bits of the present leaf at the aligned vpn. */
  hugetlbUpdate(vpn: number, order: 9 | 18, set: number, clear: number): void;
  /** huge_ptep_get_and_clear: the leaf at the aligned vpn goes; returns its attrs. */
  hugetlbClear(vpn: number, order: 9 | 18): number;

  // --- Range operations (zap_page_range, free_pgtables, change_protection, move_page_tables). ---
  /**
   * Clear every leaf in [start, end), calling visit for each present one and visitSwap for each
   * swap entry before it goes, and tableDone after each existing PTE table's part of the range
   * (the end of zap_pte_range). A huge leaf must lie wholly inside the range (split it first);
   * its deposited table is freed.
   */
  zapRange(
    start: number,
    end: number,
    visit: LeafVisitor,
    visitSwap?: SwapVisitor,
    tableDone?: TableDoneVisitor,
  ): void;
  /**
   * Free table pages that map nothing but [start, end), without reaching below floor or
   * at/above ceiling (free_pgtables: floor/ceiling are the neighbouring VMAs' bounds).
   */
  freeTables(start: number, end: number, floor: number, ceiling: number, freed?: TableFreeVisitor): void;
  /** Free PTE tables in [start, end) whose entries are all none (CONFIG_PT_RECLAIM). */
  reclaimEmptyPteTables(start: number, end: number, freed?: TableFreeVisitor): void;
  /** Visit present leaves (and with visitSwap, swap entries) in [start, end) in ascending
   * order, without side effects. A huge leaf the range covers only in part is visited whole
   * (its first page, its order). tableDone is called after each existing PTE table's part of
   * the range, as zapRange calls it. */
  forEachLeaf(
    start: number,
    end: number,
    visit: LeafVisitor,
    visitSwap?: SwapVisitor,
    tableDone?: TableDoneVisitor,
  ): void;
  /** Whether a table of `level` (0: a PTE table) maps vpn: the entry above it is a table (pXd_none). */
  tablePresent(vpn: number, level: number): boolean;
  /** Allocate the tables down to the level-`level` one that maps vpn (pXd_alloc); false without memory. */
  allocTables(vpn: number, level: number): boolean;
  /**
   * Move the level-`level` table mapping oldVpn to the empty entry that maps newVpn, both
   * aligned to the table's span (move_normal_pmd, move_normal_pud). The tables above newVpn
   * must exist. False, with nothing changed, when there is no table to move or the new
   * entry is in use.
   */
  moveTable(oldVpn: number, newVpn: number, level: number): boolean;
  /**
   * Move n pages of leaves from oldStart to newStart (move_ptes; a huge leaf moves whole,
   * move_huge_pmd: it must lie inside the range and land PMD-aligned). Returns how many of the
   * moved entries were present (pte_present, PROT_NONE ones included), -1 when table memory
   * ran out.
   */
  moveRange(oldStart: number, newStart: number, n: number): number;
  /**
   * pte_needs_flush: whether a TLB may hold a translation that changing an entry from
   * `oldAttrs` to `newAttrs` (same frame) makes wrong, so that the change needs a flush.
   * Each format has its own rule (the generic one is "always").
   */
  pteNeedsFlush(oldAttrs: number, newAttrs: number): boolean;
  /** Count table pages by walking the tree, for invariant checks (no side effects). */
  countTables(): { pgtablesBytes: number; tablePages: number };
  /** Free every table, the top level included. Leaves must have been zapped. */
  destroy(): void;
}
