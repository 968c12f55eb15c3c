// x86-64 radix page tables, 4-level (48-bit) or 5-level (57-bit), in simulated frames.
//
// Level numbering inside this file: 0 = PTE table, 1 = PMD, 2 = PUD, 3 = P4D (5-level)
// or PGD (4-level), 4 = PGD (5-level). An entry of a level-l table maps 512^l pages.
// Hot paths split a vpn into lo27 (PTE, PMD, PUD indices) and hi (P4D/PGD indices)
// so that index arithmetic stays in 32-bit integers.

import {
  Access,
  type LeafVisitor,
  type Pmap,
  type PmdState,
  PteAttr,
  type SwapVisitor,
  TlbPerm,
  WalkStatus,
} from '../pmap.js';
import * as hugetlbLeaf from './hugetlb-leaf.js';
import * as pmdLeaf from './pmd-leaf.js';
import {
  entryPfn,
  isSwpEntry,
  makeHi,
  makeLo,
  PAGE_TABLE_FLAGS,
  swpEntry,
  swpOffset,
  X86,
  X86Hi,
} from './pte.js';
import type { TablePool } from './table-pool.js';

const TWO27 = 134_217_728;
const TABLE_BYTES = 4096;

/** Pages mapped by one entry at each level. */
const SPAN = [1, 512, 512 ** 2, 512 ** 3, 512 ** 4];

export class X86PageTable implements Pmap {
  readonly levels: 4 | 5;
  readonly vpnLimit: number;
  pgtablesBytes = 0;
  tablePages = 0;
  walkLevels = 0;
  outPfn = 0;
  outPerm = 0;
  outOrder = 0;
  hugePfn = 0;
  hugeAttrs = 0;
  /** PTE tables deposited under huge PMD leaves (pgtable_trans_huge_deposit), one per leaf. */
  readonly deposited: number[] = [];
  // Internal to this format (pmd-leaf.ts uses them).
  readonly pool: TablePool;
  readonly owner: Uint32Array;
  private topPfn: number;
  // Host-side cache of the last PTE table reached (not a model of the MMU's paging-structure
  // caches: walks still count every level). Dropped whenever a table is freed.
  private cacheBase = -1;
  private cacheSlot = 0;

  /** Create with a fresh top-level table; check `ok` (false when memory is exhausted). */
  constructor(pool: TablePool, owner: Uint32Array, levels: 4 | 5) {
    this.pool = pool;
    this.owner = owner;
    this.levels = levels;
    // User space: the lower half of the canonical address space.
    this.vpnLimit = levels === 4 ? 2 ** (47 - 12) : 2 ** (56 - 12);
    this.topPfn = pool.alloc();
    if (this.topPfn >= 0) this.tablePages = 1;
  }

  get ok(): boolean {
    return this.topPfn >= 0;
  }

  private slotOfEntry(w: Uint32Array, i: number): number {
    return this.owner[entryPfn(w[i], w[i + 1])];
  }

  // ---------------------------------------------------------------- hardware walk

  walk(vpn: number, access: Access): WalkStatus {
    const w = this.pool.words;
    const off = vpn - this.cacheBase;
    if (this.cacheBase >= 0 && off >= 0 && off < 512) {
      const i = this.cacheSlot * 1024 + off * 2;
      if ((w[i] & X86.P) === 0) return this.miss(this.levels);
      return this.leaf(w, i, access, 0, this.levels, 0);
    }
    const owner = this.owner;
    const lo27 = vpn % TWO27;
    const hi = (vpn - lo27) / TWO27;
    let slot = owner[this.topPfn];
    let i: number;
    let levels = 1;
    if (this.levels === 5) {
      i = slot * 1024 + (hi >>> 9) * 2;
      if ((w[i] & X86.P) === 0) return this.miss(levels);
      slot = owner[entryPfn(w[i], w[i + 1])];
      levels++;
    }
    i = slot * 1024 + (hi & 511) * 2;
    if ((w[i] & X86.P) === 0) return this.miss(levels);
    slot = owner[entryPfn(w[i], w[i + 1])];
    levels++;
    i = slot * 1024 + (lo27 >>> 18) * 2; // PUD
    if ((w[i] & X86.P) === 0) return this.miss(levels);
    if ((w[i] & X86.PSE) !== 0) return this.leaf(w, i, access, lo27 & 0x3ffff, levels, 18);
    slot = owner[entryPfn(w[i], w[i + 1])];
    levels++;
    i = slot * 1024 + ((lo27 >>> 9) & 511) * 2; // PMD
    if ((w[i] & X86.P) === 0) return this.miss(levels);
    if ((w[i] & X86.PSE) !== 0) return this.leaf(w, i, access, lo27 & 511, levels, 9);
    slot = owner[entryPfn(w[i], w[i + 1])];
    levels++;
    this.cacheBase = vpn - (lo27 & 511);
    this.cacheSlot = slot;
    i = slot * 1024 + (lo27 & 511) * 2; // PTE
    if ((w[i] & X86.P) === 0) return this.miss(levels);
    return this.leaf(w, i, access, 0, levels, 0);
  }

  private miss(levels: number): WalkStatus {
    this.walkLevels = levels;
    return WalkStatus.notPresent;
  }

  /** A present leaf at word i of order `order`; `sub` is the 4 KiB page within a huge leaf. */
  private leaf(
    w: Uint32Array,
    i: number,
    access: Access,
    sub: number,
    levels: number,
    order: number,
  ): WalkStatus {
    this.walkLevels = levels;
    let lo = w[i];
    const hi = w[i + 1];
    if (access === Access.write && (lo & X86.RW) === 0) return WalkStatus.protection;
    if (access === Access.exec && (hi & X86Hi.NX) !== 0) return WalkStatus.protection;
    lo |= X86.A;
    if (access === Access.write) lo |= X86.D;
    w[i] = lo >>> 0;
    this.outPfn = entryPfn(lo, hi) + sub;
    this.outOrder = order;
    this.outPerm =
      ((lo & X86.RW) !== 0 ? TlbPerm.write : 0) |
      ((hi & X86Hi.NX) === 0 ? TlbPerm.exec : 0) |
      ((lo & X86.D) !== 0 ? TlbPerm.dirty : 0);
    return WalkStatus.ok;
  }

  // ---------------------------------------------------------------- leaf entries

  /** Word index of the entry for vpn in the table at `level` (levels above must exist). */
  private index(vpn: number, level: number): number {
    return Math.floor(vpn / SPAN[level]) % 512;
  }

  pteLookup(vpn: number): number {
    const off = vpn - this.cacheBase;
    if (this.cacheBase >= 0 && off >= 0 && off < 512) return this.cacheSlot * 512 + off;
    const w = this.pool.words;
    let slot = this.owner[this.topPfn];
    for (let level = this.levels - 1; level >= 1; level--) {
      const i = slot * 1024 + this.index(vpn, level) * 2;
      if ((w[i] & X86.P) === 0 || (w[i] & X86.PSE) !== 0) return -1;
      slot = this.slotOfEntry(w, i);
    }
    return this.remember(vpn, slot);
  }

  private remember(vpn: number, slot: number): number {
    const off = vpn % 512;
    this.cacheBase = vpn - off;
    this.cacheSlot = slot;
    return slot * 512 + off;
  }

  pteAlloc(vpn: number): number {
    const off = vpn - this.cacheBase;
    if (this.cacheBase >= 0 && off >= 0 && off < 512) return this.cacheSlot * 512 + off;
    let slot = this.owner[this.topPfn];
    for (let level = this.levels - 1; level >= 1; level--) {
      const i = slot * 1024 + this.index(vpn, level) * 2;
      let w = this.pool.words;
      // PSE first: a PROT_NONE huge leaf has P clear.
      if ((w[i] & X86.PSE) !== 0) {
        throw new Error(`X86PageTable.pteAlloc: vpn ${vpn} is covered by a huge leaf`);
      } else if ((w[i] & X86.P) === 0) {
        const pfn = this.pool.alloc();
        if (pfn < 0) return -1;
        w = this.pool.words; // the pool may have grown
        w[i] = makeLo(pfn, PAGE_TABLE_FLAGS);
        w[i + 1] = makeHi(pfn, 0);
        this.accountTable(level - 1, +1);
      }
      slot = this.slotOfEntry(w, i);
    }
    return this.remember(vpn, slot);
  }

  /** A table page at `level` was allocated (+1) or freed (-1). */
  accountTable(level: number, delta: number): void {
    this.tablePages += delta;
    // mm->pgtables_bytes counts PTE, PMD and PUD tables (mm_inc_nr_ptes/pmds/puds), not P4D or PGD.
    if (level <= 2) this.pgtablesBytes += delta * TABLE_BYTES;
  }

  pteNone(h: number): boolean {
    const w = this.pool.words;
    return w[h * 2] === 0 && w[h * 2 + 1] === 0;
  }

  ptePresent(h: number): boolean {
    return (this.pool.words[h * 2] & (X86.P | X86.PROTNONE)) !== 0;
  }

  ptePfn(h: number): number {
    const w = this.pool.words;
    return entryPfn(w[h * 2], w[h * 2 + 1]);
  }

  pteAttrs(h: number): number {
    const w = this.pool.words;
    return decodeAttrs(w[h * 2], w[h * 2 + 1]);
  }

  pteSet(h: number, pfn: number, attrs: number): void {
    const w = this.pool.words;
    w[h * 2] = makeLo(pfn, encodeLo(attrs));
    w[h * 2 + 1] = makeHi(pfn, encodeHi(attrs));
  }

  pteClear(h: number): number {
    const w = this.pool.words;
    const attrs = decodeAttrs(w[h * 2], w[h * 2 + 1]);
    w[h * 2] = 0;
    w[h * 2 + 1] = 0;
    return attrs;
  }

  pteUpdate(h: number, set: number, clear: number): void {
    const w = this.pool.words;
    const pfn = entryPfn(w[h * 2], w[h * 2 + 1]);
    const attrs = (decodeAttrs(w[h * 2], w[h * 2 + 1]) | set) & ~clear;
    w[h * 2] = makeLo(pfn, encodeLo(attrs));
    w[h * 2 + 1] = makeHi(pfn, encodeHi(attrs));
  }

  pteIsSwap(h: number): boolean {
    const w = this.pool.words;
    return isSwpEntry(w[h * 2], w[h * 2 + 1]);
  }

  pteSwapSlot(h: number): number {
    const w = this.pool.words;
    return swpOffset(w[h * 2], w[h * 2 + 1]);
  }

  pteSetSwap(h: number, slot: number): void {
    const [lo, hi] = swpEntry(0, slot);
    const w = this.pool.words;
    w[h * 2] = lo;
    w[h * 2 + 1] = hi;
  }

  /**
   * Install a huge leaf (order 9: PMD, 2 MiB, with its deposited table as hugeEnter; order 18:
   * PUD, 1 GiB). Tables above are allocated.
   */
  enterHuge(vpn: number, pfn: number, order: 9 | 18, attrs: number): boolean {
    const leafLevel = order === 9 ? 1 : 2;
    if (vpn % SPAN[leafLevel] !== 0 || pfn % SPAN[leafLevel] !== 0) {
      throw new Error(`X86PageTable.enterHuge: vpn ${vpn} or pfn ${pfn} is not aligned to order ${order}`);
    }
    if (order === 9) return this.hugeEnter(vpn, pfn, attrs);
    let slot = this.owner[this.topPfn];
    for (let level = this.levels - 1; level > leafLevel; level--) {
      const i = slot * 1024 + this.index(vpn, level) * 2;
      let w = this.pool.words;
      if ((w[i] & X86.P) === 0) {
        const t = this.pool.alloc();
        if (t < 0) return false;
        w = this.pool.words;
        w[i] = makeLo(t, PAGE_TABLE_FLAGS);
        w[i + 1] = makeHi(t, 0);
        this.accountTable(level - 1, +1);
      }
      slot = this.slotOfEntry(w, i);
    }
    const w = this.pool.words;
    const i = slot * 1024 + this.index(vpn, leafLevel) * 2;
    if (w[i] !== 0 || w[i + 1] !== 0)
      throw new Error(`X86PageTable.enterHuge: entry for vpn ${vpn} is in use`);
    w[i] = makeLo(pfn, encodeLo(attrs) | X86.PSE);
    w[i + 1] = makeHi(pfn, encodeHi(attrs));
    return true;
  }

  /**
   * Word index of the PMD entry covering vpn, allocating the tables above it with `alloc`;
   * -1 when a table above is missing (or could not be allocated) or a PUD leaf covers vpn.
   */
  pmdEntry(vpn: number, alloc: boolean): number {
    return this.entryAt(vpn, 1, alloc);
  }

  /**
   * Word index of the entry for vpn in the table at `level` (1: PMD, 2: PUD), allocating the
   * tables above it with `alloc`; -1 when a table above is missing (or could not be allocated)
   * or a leaf above covers vpn (PSE first: a PROT_NONE leaf has P clear).
   */
  entryAt(vpn: number, level: 1 | 2, alloc: boolean): number {
    let slot = this.owner[this.topPfn];
    for (let l = this.levels - 1; l > level; l--) {
      const i = slot * 1024 + this.index(vpn, l) * 2;
      let w = this.pool.words;
      if ((w[i] & X86.PSE) !== 0) return -1;
      if ((w[i] & X86.P) === 0) {
        if (!alloc) return -1;
        const t = this.pool.alloc();
        if (t < 0) return -1;
        w = this.pool.words;
        w[i] = makeLo(t, PAGE_TABLE_FLAGS);
        w[i + 1] = makeHi(t, 0);
        this.accountTable(l - 1, +1);
      }
      slot = this.slotOfEntry(w, i);
    }
    return slot * 1024 + this.index(vpn, level) * 2;
  }

  /** Forget the host-side PTE-table cache (a PMD entry changed between table and leaf). */
  dropCache(): void {
    this.cacheBase = -1;
  }

  // ---------------------------------------------------------------- huge PMD leaves (pmd-leaf.ts)

  pmdState(vpn: number): PmdState {
    return pmdLeaf.pmdState(this, vpn);
  }

  hugeEnter(vpn: number, pfn: number, attrs: number): boolean {
    return pmdLeaf.hugeEnter(this, vpn, pfn, attrs);
  }

  hugeSet(vpn: number, pfn: number, attrs: number): void {
    pmdLeaf.hugeSet(this, vpn, pfn, attrs);
  }

  hugeUpdate(vpn: number, set: number, clear: number): void {
    pmdLeaf.hugeUpdate(this, vpn, set, clear);
  }

  hugeClear(vpn: number): number {
    return pmdLeaf.hugeClear(this, vpn);
  }

  hugeSplit(vpn: number, attrs: number, samePfn: number): void {
    pmdLeaf.hugeSplit(this, vpn, attrs, samePfn);
  }

  hugeCollapse(vpn: number, pfn: number, attrs: number): void {
    pmdLeaf.hugeCollapse(this, vpn, pfn, attrs);
  }

  // ---------------------------------------------------------------- hugetlb leaves (hugetlb-leaf.ts)

  hugetlbState(vpn: number, order: 9 | 18): PmdState {
    return hugetlbLeaf.hugetlbState(this, vpn, order);
  }

  hugetlbPrepare(vpn: number, order: 9 | 18): boolean {
    return hugetlbLeaf.hugetlbPrepare(this, vpn, order);
  }

  hugetlbSet(vpn: number, order: 9 | 18, pfn: number, attrs: number): void {
    hugetlbLeaf.hugetlbSet(this, vpn, order, pfn, attrs);
  }

  hugetlbUpdate(vpn: number, order: 9 | 18, set: number, clear: number): void {
    hugetlbLeaf.hugetlbUpdate(this, vpn, order, set, clear);
  }

  hugetlbClear(vpn: number, order: 9 | 18): number {
    return hugetlbLeaf.hugetlbClear(this, vpn, order);
  }

  get depositedTables(): number {
    return this.deposited.length;
  }

  /** pgtable_trans_huge_deposit: a fresh PTE table kept for a huge leaf; false when memory ran out. */
  deposit(): boolean {
    const t = this.pool.alloc();
    if (t < 0) return false;
    this.deposited.push(t);
    this.accountTable(0, +1);
    return true;
  }

  /** zap_deposited_table: free one deposited table. */
  freeDeposit(): void {
    const t = this.deposited.pop();
    if (t === undefined) throw new Error('X86PageTable.freeDeposit: no table deposited');
    this.pool.free(t);
    this.accountTable(0, -1);
  }

  // ---------------------------------------------------------------- range operations

  zapRange(start: number, end: number, visit: LeafVisitor, visitSwap?: SwapVisitor): void {
    if (start < end)
      this.leafRange(this.owner[this.topPfn], this.levels - 1, 0, start, end, visit, true, visitSwap);
  }

  forEachLeaf(start: number, end: number, visit: LeafVisitor, visitSwap?: SwapVisitor): void {
    if (start < end)
      this.leafRange(this.owner[this.topPfn], this.levels - 1, 0, start, end, visit, false, visitSwap);
  }

  /** Visit (and with `clear`, clear) leaves of the level-`level` table at `slot` whose first page is `base`. */
  private leafRange(
    slot: number,
    level: number,
    base: number,
    start: number,
    end: number,
    visit: LeafVisitor,
    clear: boolean,
    visitSwap?: SwapVisitor,
  ): void {
    const span = SPAN[level];
    const first = Math.floor((start - base) / span);
    const last = Math.ceil((end - base) / span); // exclusive
    for (let e = first; e < last; e++) {
      const i = slot * 1024 + e * 2;
      const w = this.pool.words;
      const lo = w[i];
      const hi = w[i + 1];
      if (lo === 0 && hi === 0) continue;
      const vb = base + e * span;
      if (level === 0 || (lo & X86.PSE) !== 0) {
        // A zap must not cut a huge leaf (split it first); a walk visits one it meets whole.
        if (clear && level > 0 && (vb < start || vb + span > end)) {
          throw new Error(`X86PageTable: range [${start}, ${end}) splits a huge leaf at vpn ${vb}`);
        }
        if ((lo & (X86.P | X86.PROTNONE)) !== 0) visit(vb, entryPfn(lo, hi), decodeAttrs(lo, hi), level * 9);
        else if (visitSwap !== undefined && isSwpEntry(lo, hi)) visitSwap(vb, swpOffset(lo, hi));
        if (clear) {
          w[i] = 0;
          w[i + 1] = 0;
          if (level === 1) this.freeDeposit(); // zap_huge_pmd: zap_deposited_table
        }
        continue;
      }
      this.leafRange(
        this.slotOfEntry(w, i),
        level - 1,
        vb,
        Math.max(start, vb),
        Math.min(end, vb + span),
        visit,
        clear,
        visitSwap,
      );
    }
  }

  freeTables(start: number, end: number, floor: number, ceiling: number): void {
    if (start < end) this.freeRange(this.owner[this.topPfn], this.levels - 1, 0, start, end, floor, ceiling);
  }

  private freeRange(
    slot: number,
    level: number,
    base: number,
    start: number,
    end: number,
    floor: number,
    ceiling: number,
  ): void {
    const span = SPAN[level];
    const first = Math.floor((start - base) / span);
    const last = Math.ceil((end - base) / span);
    for (let e = first; e < last; e++) {
      const i = slot * 1024 + e * 2;
      const w = this.pool.words;
      if ((w[i] & X86.P) === 0 || (w[i] & X86.PSE) !== 0 || level === 0) continue;
      const vb = base + e * span;
      const child = entryPfn(w[i], w[i + 1]);
      const childSlot = this.owner[child];
      this.freeRange(childSlot, level - 1, vb, Math.max(start, vb), Math.min(end, vb + span), floor, ceiling);
      // free_pgd_range: a table goes when all it maps lies between the neighbouring VMAs.
      if (vb >= floor && vb + span <= ceiling) {
        if (!this.tableEmpty(childSlot)) {
          throw new Error(
            `X86PageTable.freeTables: table for vpn ${vb} (level ${level - 1}) still maps pages`,
          );
        }
        this.freeEntryTable(i, child, level - 1);
      }
    }
  }

  reclaimEmptyPteTables(start: number, end: number): void {
    // Only tables the range covers whole: zap_pte_range reclaims per PMD entry, and only when
    // its part of the zap spans the entire PTE table (reclaim_pt_is_enabled, mm/pt_reclaim.c).
    for (let vpn = Math.ceil(start / 512) * 512; vpn + 512 <= end; vpn += 512) {
      // Find the PMD entry covering vpn, if the tables above exist.
      const w = this.pool.words;
      let slot = this.owner[this.topPfn];
      let i = -1;
      for (let level = this.levels - 1; level >= 1; level--) {
        i = slot * 1024 + this.index(vpn, level) * 2;
        if ((w[i] & X86.P) === 0 || (w[i] & X86.PSE) !== 0) {
          i = -1;
          break;
        }
        if (level > 1) slot = this.slotOfEntry(w, i);
      }
      if (i < 0) continue;
      const pte = entryPfn(w[i], w[i + 1]);
      if (this.tableEmpty(this.owner[pte])) this.freeEntryTable(i, pte, 0);
    }
  }

  private tableEmpty(slot: number): boolean {
    const w = this.pool.words;
    for (let j = slot * 1024, n = j + 1024; j < n; j++) if (w[j] !== 0) return false;
    return true;
  }

  /** Clear the upper entry at word i and free the level-`level` table page it points to. */
  private freeEntryTable(i: number, pfn: number, level: number): void {
    const w = this.pool.words;
    w[i] = 0;
    w[i + 1] = 0;
    this.cacheBase = -1;
    this.pool.free(pfn);
    this.accountTable(level, -1);
  }

  moveRange(oldStart: number, newStart: number, n: number): boolean {
    // move_page_tables: entries move, pages stay; done per leaf, a huge leaf whole (move_huge_pmd).
    // A move onto itself is a no-op (the copy-then-clear below would clear every entry).
    if (newStart === oldStart) return true;
    const moves: number[] = [];
    this.forEachLeafRaw(oldStart, oldStart + n, (vpn) => moves.push(vpn));
    const up = newStart > oldStart;
    // Copy in the direction that never overwrites an entry not yet moved when ranges overlap.
    for (let k = 0; k < moves.length; k++) {
      const vpn = moves[up ? moves.length - 1 - k : k];
      if (vpn < 0) {
        // A huge leaf at -vpn - 1.
        if (!pmdLeaf.hugeMove(this, -vpn - 1, newStart + (-vpn - 1 - oldStart))) return false;
        continue;
      }
      const src = this.pteLookup(vpn);
      const dst = this.pteAlloc(newStart + (vpn - oldStart));
      if (dst < 0) return false;
      const w = this.pool.words;
      w[dst * 2] = w[src * 2];
      w[dst * 2 + 1] = w[src * 2 + 1];
      w[src * 2] = 0;
      w[src * 2 + 1] = 0;
    }
    return true;
  }

  /** Visit every non-none PTE (present or not) in [start, end); a huge leaf as -vpn - 1. */
  private forEachLeafRaw(start: number, end: number, visit: (vpn: number) => void): void {
    for (let vpn = start; vpn < end; ) {
      const h = this.pteLookup(vpn);
      if (h < 0) {
        const base = vpn - (vpn % 512);
        if (pmdLeaf.pmdState(this, vpn) === 2 /* PmdState.huge */) {
          if (base < start || base + 512 > end)
            throw new Error(`X86PageTable.moveRange: the range splits the huge leaf at vpn ${base}`);
          visit(-base - 1);
        }
        vpn = base + 512;
        continue;
      }
      if (!this.pteNone(h)) visit(vpn);
      vpn++;
    }
  }

  destroy(): void {
    if (this.topPfn < 0) return;
    this.destroyTable(this.owner[this.topPfn], this.levels - 1);
    while (this.deposited.length > 0) this.freeDeposit();
    this.cacheBase = -1;
    this.pool.free(this.topPfn);
    this.tablePages--;
    this.topPfn = -1;
  }

  private destroyTable(slot: number, level: number): void {
    if (level === 0) return;
    for (let e = 0; e < 512; e++) {
      const i = slot * 1024 + e * 2;
      const w = this.pool.words;
      if ((w[i] & X86.P) === 0 || (w[i] & X86.PSE) !== 0) continue;
      const child = entryPfn(w[i], w[i + 1]);
      this.destroyTable(this.owner[child], level - 1);
      this.freeEntryTable(i, child, level - 1);
    }
  }

  /** Count table pages by walking the tree (for invariant checks): [below top, total]. */
  countTables(): { pgtablesBytes: number; tablePages: number } {
    let bytes = 0;
    let pages = 1;
    const visit = (slot: number, level: number): void => {
      if (level === 0) return;
      const w = this.pool.words;
      for (let e = 0; e < 512; e++) {
        const i = slot * 1024 + e * 2;
        if ((w[i] & X86.P) === 0 || (w[i] & X86.PSE) !== 0) continue;
        pages++;
        if (level - 1 <= 2) bytes += TABLE_BYTES;
        visit(this.slotOfEntry(w, i), level - 1);
      }
    };
    visit(this.owner[this.topPfn], this.levels - 1);
    // Deposited tables count as PTE tables (mm_inc_nr_ptes when depositing).
    pages += this.deposited.length;
    bytes += this.deposited.length * TABLE_BYTES;
    return { pgtablesBytes: bytes, tablePages: pages };
  }
}

export function encodeLo(attrs: number): number {
  let lo = X86.US;
  lo |= (attrs & PteAttr.protnone) !== 0 ? X86.PROTNONE : X86.P;
  if ((attrs & PteAttr.write) !== 0) lo |= X86.RW;
  if ((attrs & PteAttr.dirty) !== 0) lo |= X86.D;
  if ((attrs & PteAttr.accessed) !== 0) lo |= X86.A;
  if ((attrs & PteAttr.special) !== 0) lo |= X86.SPECIAL;
  return lo;
}

export function encodeHi(attrs: number): number {
  return (attrs & PteAttr.exec) !== 0 ? 0 : X86Hi.NX;
}

export function decodeAttrs(lo: number, hi: number): number {
  let a = 0;
  if ((lo & X86.P) === 0 && (lo & X86.PROTNONE) !== 0) a |= PteAttr.protnone;
  if ((lo & X86.RW) !== 0) a |= PteAttr.write;
  if ((lo & X86.D) !== 0) a |= PteAttr.dirty;
  if ((lo & X86.A) !== 0) a |= PteAttr.accessed;
  if ((lo & X86.SPECIAL) !== 0) a |= PteAttr.special;
  if ((hi & X86Hi.NX) === 0) a |= PteAttr.exec;
  return a;
}
