// x86-64 radix page tables, 4-level (48-bit) or 5-level (57-bit), in simulated frames: the
// tree's storage and accounting, the hardware walker and single-entry access. The range
// operations (zap, free, reclaim, move) are in pagetable.ts, which completes the Pmap.
//
// Level numbering: 0 = PTE table, 1 = PMD, 2 = PUD, 3 = P4D (5-level) or PGD (4-level),
// 4 = PGD (5-level). An entry of a level-l table maps 512^l pages.
// Hot paths split a vpn into lo27 (PTE, PMD, PUD indices) and hi (P4D/PGD indices)
// so that index arithmetic stays in 32-bit integers.

import { Access, type PmdState, TlbPerm, WalkStatus } from '../pmap.js';
import * as hugetlbLeaf from './hugetlb-leaf.js';
import * as pmdLeaf from './pmd-leaf.js';
import {
  decodeAttrs,
  encodeHi,
  encodeLo,
  entryPfn,
  isSwpEntry,
  makeHi,
  makeLo,
  PAGE_TABLE_FLAGS,
  swpEntry,
  swpOffset,
  swpType,
  X86,
  X86Hi,
} from './pte.js';
import type { TablePool } from './table-pool.js';

const TWO27 = 134_217_728;
const TABLE_BYTES = 4096;

/** Pages mapped by one entry at each level. */
export const SPAN = [1, 512, 512 ** 2, 512 ** 3, 512 ** 4];

export abstract class X86TableCore {
  readonly levels: 4 | 5;
  readonly vpnLimit: number;
  pgtablesBytes = 0;
  tablePages = 0;
  /** PTE tables pteAlloc installed (pmd_install), ever: the fault path's PMD-lock count. */
  pteInstalls = 0;
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
  protected topPfn: number;
  // Host-side cache of the last PTE table reached (not a model of the MMU's paging-structure
  // caches: walks still count every level). Dropped whenever a table is freed.
  protected cacheBase = -1;
  protected cacheSlot = 0;

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

  protected slotOfEntry(w: Uint32Array, i: number): number {
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
  protected index(vpn: number, level: number): number {
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
        if (level === 1) this.pteInstalls++;
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

  pteSwapType(h: number): number {
    return swpType(this.pool.words[h * 2 + 1]);
  }

  pteSetSwap(h: number, slot: number, type = 0): void {
    const [lo, hi] = swpEntry(type, slot);
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
    return this.upperEntry(vpn, 1, alloc);
  }

  /**
   * Word index of the entry for vpn in the table at `level` (1: PMD, 2: PUD), allocating the
   * tables above it with `alloc`; -1 when a table above is missing (or could not be allocated)
   * or a leaf above covers vpn (PSE first: a PROT_NONE leaf has P clear).
   */
  upperEntry(vpn: number, level: 1 | 2, alloc: boolean): number {
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

  // ---------------------------------------------------------------- table pages

  /** Whether the table in `slot` has no entry set. */
  protected tableEmpty(slot: number): boolean {
    const w = this.pool.words;
    for (let j = slot * 1024, n = j + 1024; j < n; j++) if (w[j] !== 0) return false;
    return true;
  }

  /** Clear the upper entry at word i and free the level-`level` table page it points to. */
  protected freeEntryTable(i: number, pfn: number, level: number): void {
    const w = this.pool.words;
    w[i] = 0;
    w[i + 1] = 0;
    this.cacheBase = -1;
    this.pool.free(pfn);
    this.accountTable(level, -1);
  }
}
