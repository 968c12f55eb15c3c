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

  // --- Software access to leaf entries (pte_offset_map, set_pte_at, ptep_get_and_clear). ---
  /** Handle of the PTE for vpn, or -1 when no PTE table covers it (or a huge leaf does). */
  pteLookup(vpn: number): number;
  /** Like pteLookup but allocates missing tables; -1 when memory is exhausted. */
  pteAlloc(vpn: number): number;
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

  // --- Range operations (zap_page_range, free_pgtables, change_protection, move_page_tables). ---
  /**
   * Clear every leaf in [start, end), calling visit for each present one before it goes, and
   * tableDone after each existing PTE table's part of the range (the end of zap_pte_range).
   */
  zapRange(start: number, end: number, visit: LeafVisitor, tableDone?: TableDoneVisitor): void;
  /**
   * Free table pages that map nothing but [start, end), without reaching below floor or
   * at/above ceiling (free_pgtables: floor/ceiling are the neighbouring VMAs' bounds).
   */
  freeTables(start: number, end: number, floor: number, ceiling: number, freed?: TableFreeVisitor): void;
  /** Free PTE tables in [start, end) whose entries are all none (CONFIG_PT_RECLAIM). */
  reclaimEmptyPteTables(start: number, end: number, freed?: TableFreeVisitor): void;
  /** Visit present leaves in [start, end) in ascending order, without side effects. */
  forEachLeaf(start: number, end: number, visit: LeafVisitor): void;
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
   * Move n pages of leaves from oldStart to newStart (move_ptes). Returns how many of the
   * moved entries were present (pte_present, PROT_NONE ones included), -1 when table
   * memory ran out.
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
