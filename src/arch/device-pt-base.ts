// The device page table's structure (arch/device-mmu.ts describes the format): its table
// memory, walks and lookups, splitting a large leaf, and the bracket of an operation that frees
// the tables it emptied. device-pt-walk.ts adds inspection, DevicePageTable the mapping
// operations.

import { BIG_TABLE_ENTRIES, DevTableMemory } from './device-pt-memory.js';

export const enum DevPte {
  valid = 1,
  write = 2,
  atomic = 4,
}

/** Device virtual address bits. */
export const DEVICE_VA_BITS = 49;
/** Pages of the device's virtual address space: the first vpn it cannot translate. */
export const DEVICE_VPN_LIMIT = 2 ** (DEVICE_VA_BITS - 12);
export const ENTRIES = 512;
/** Pages of a big (64 KiB) and a huge (2 MiB) leaf. */
export const BIG_PAGES = 16;
export const HUGE_PAGES = 512;
export const BIG_PER_TABLE = BIG_TABLE_ENTRIES; // 32 big PTEs cover the 2 MiB of one dual PDE
export const LEAF = 8;
/** Pages one entry of each level covers. */
export const SPAN = [1, ENTRIES, ENTRIES * ENTRIES, ENTRIES * ENTRIES * ENTRIES];

/** The 4 KiB page's view of an internal leaf entry e, pfn its frame. */
export function pageEntry(pfn: number, e: number): number {
  return pfn * 8 + (e % 8);
}

/** Visit a leaf: the table (index) holding it, its index there, its pages; `whole`: inside the range. */
export type LeafFn = (t: number, i: number, pages: number, whole: boolean) => void;

export class DevicePageTableBase {
  readonly levels: number;
  /** Pages of the largest leaf: 1, BIG_PAGES or HUGE_PAGES (the device's MMU page size). */
  readonly largePages: number;
  /** Entries read by the last lookup; the leaf it found (first page, pages). */
  walkLevels = 0;
  leafVpn = 0;
  leafPages = 1;
  /** 4 KiB pages mapped (a large leaf counts all its pages). */
  mapped = 0;
  /** Large leaves split (each may have allocated a table). */
  splits = 0;
  protected readonly dual: boolean;
  protected readonly mem: DevTableMemory;
  protected readonly onSplit: () => void;
  protected readonly onTableFree: (pages: number) => void;
  /** Operations under way (an allocation may evict, which unmaps: tables are pruned last). */
  private busy = 0;
  protected readonly tables: Float64Array[];

  /**
   * Table pages come from allocFrame (-1: none left) and go back through freeFrame; `largePages`
   * is the device's MMU page size in 4 KiB pages (1, 16 or 512); onSplit is told of each split,
   * onTableFree of the table pages freed while the context lives (emptied or replaced tables).
   * The root is allocated at once; `ok` is false when there was no memory for it.
   */
  constructor(
    allocFrame: () => number,
    freeFrame: (pfn: number) => void,
    largePages = 1,
    onSplit: () => void = () => {},
    onTableFree: (pages: number) => void = () => {},
  ) {
    this.onSplit = onSplit;
    this.onTableFree = onTableFree;
    this.levels = 4; // 9 + 9 + 9 + 10 index bits above the page offset: 49 bits
    if (largePages !== 1 && largePages !== BIG_PAGES && largePages !== HUGE_PAGES)
      throw new Error(`DevicePageTable: no ${largePages * 4} KiB leaves`);
    this.largePages = largePages;
    this.dual = largePages === BIG_PAGES;
    this.mem = new DevTableMemory(allocFrame, freeFrame);
    this.tables = this.mem.tables;
    this.root = this.newTable(this.levels - 1);
  }

  /** Root table index, or -1 without memory. */
  readonly root: number;

  get ok(): boolean {
    return this.root >= 0;
  }

  /** Table pages held now (a dual directory counts 2, a pool page of big-page tables 1). */
  get tablePages(): number {
    return this.mem.pages;
  }

  /** Bytes of table memory (each table page 4 KiB of device memory). */
  get tableBytes(): number {
    return this.mem.pages * 4096;
  }

  /** A table of `level` (0: a small-page table; 1 on a 64 KiB device: a dual directory). */
  protected newTable(level: number): number {
    if (level === 1 && this.dual) return this.mem.newTable(2 * ENTRIES, 2);
    return this.mem.newTable((level === this.levels - 1 ? 2 : 1) * ENTRIES, 1);
  }

  protected freeTable(i: number): void {
    this.mem.freeTable(i);
  }

  /** A mapping operation starts; nested ones (under an evicting allocation) prune nothing. */
  protected begin(): void {
    this.busy++;
  }

  /** The operation ends; the outermost frees the tables left mapping nothing. */
  protected end(): void {
    if (--this.busy !== 0) return;
    const n = this.mem.prune();
    if (n > 0) {
      this.freedPages += n;
      this.onTableFree(n);
    }
  }

  /** Table pages freed while the context lived (emptied, or replaced by a 2 MiB leaf). */
  freedPages = 0;

  protected newBigTable(): number {
    return this.mem.newBigTable();
  }

  /** The index of `vpn` in the level-`level` table covering it. */
  protected index(vpn: number, level: number): number {
    return Math.floor(vpn / SPAN[level]) % (level === this.levels - 1 ? ENTRIES * 2 : ENTRIES);
  }

  /**
   * The level-1 table (index) covering vpn, allocating directories on the way when `alloc`;
   * -1 when there is none (or memory ran out). Counts the entries read in walkLevels.
   */
  protected dirTable(vpn: number, alloc: boolean): number {
    let t = this.root;
    this.walkLevels = 1;
    for (let level = this.levels - 1; level > 1; level--) {
      const i = this.index(vpn, level);
      let e = this.tables[t][i];
      if (e === 0) {
        if (!alloc) return -1;
        const n = this.newTable(level - 1);
        if (n < 0) return -1;
        e = this.tables[t][i];
        if (e === 0) {
          e = n * 16 + DevPte.valid;
          this.mem.link(t, i, n, e);
        } else this.freeTable(n); // made meanwhile (an eviction under the allocation)
      }
      t = Math.floor(e / 16);
      this.walkLevels++;
    }
    return t;
  }

  /**
   * The leaf entry for vpn, as its 4 KiB page sees it (pfn * 8 + bits; 0: none); sets leafVpn
   * and leafPages to the leaf found. Counts walkLevels, the entries a hardware walk reads.
   */
  lookup(vpn: number): number {
    if (vpn >= DEVICE_VPN_LIMIT) return 0; // beyond the device's address space: never mapped
    const t1 = this.dirTable(vpn, false);
    if (t1 < 0) return 0;
    const tab = this.tables[t1];
    const i = this.index(vpn, 1);
    const e = tab[i];
    if ((e & LEAF) !== 0) {
      this.leafPages = HUGE_PAGES;
      this.leafVpn = vpn - (vpn % HUGE_PAGES);
      return pageEntry(Math.floor(e / 16) + (vpn % HUGE_PAGES), e);
    }
    if (this.dual && tab[ENTRIES + i] !== 0) {
      this.walkLevels++;
      const be = this.tables[Math.floor(tab[ENTRIES + i] / 16)][Math.floor(vpn / BIG_PAGES) % BIG_PER_TABLE];
      if (be !== 0) {
        this.leafPages = BIG_PAGES;
        this.leafVpn = vpn - (vpn % BIG_PAGES);
        return pageEntry(Math.floor(be / 16) + (vpn % BIG_PAGES), be);
      }
    }
    if (e === 0) return 0;
    this.walkLevels++;
    const se = this.tables[Math.floor(e / 16)][vpn % ENTRIES];
    this.leafPages = 1;
    this.leafVpn = vpn;
    return se === 0 ? 0 : pageEntry(Math.floor(se / 16), se);
  }

  /** The small-page table under level-1 entry i of t1, made when there is none; -1 without memory. */
  protected smallTable(t1: number, i: number): number {
    if (this.tables[t1][i] === 0) {
      const n = this.newTable(0);
      if (n < 0) return -1;
      if (this.tables[t1][i] === 0) this.mem.link(t1, i, n, n * 16 + DevPte.valid);
      else this.freeTable(n);
    }
    const e = this.tables[t1][i];
    return (e & LEAF) !== 0 ? -1 : Math.floor(e / 16);
  }

  /**
   * Split the 2 MiB leaf in entry i of t1 into a PTE table of the same frames and bits (as
   * __split_huge_pmd does). False without memory for the table. The entry is read again after
   * the allocation, which may have evicted (and so unmapped) device pages.
   */
  protected splitHuge(t1: number, i: number): boolean {
    const n = this.newTable(0);
    if (n < 0) return false;
    const e = this.tables[t1][i];
    if ((e & LEAF) === 0) {
      if (e === 0) this.mem.link(t1, i, n, n * 16 + DevPte.valid);
      else this.freeTable(n);
      return true;
    }
    const pfn = Math.floor(e / 16);
    const bits = e % 8;
    for (let j = 0; j < ENTRIES; j++) this.mem.put(n, j, (pfn + j) * 16 + bits);
    this.mem.link(t1, i, n, n * 16 + DevPte.valid);
    this.splits++;
    this.onSplit();
    return true;
  }

  /** Split big PTE j under dual entry i of t1 into 16 small PTEs. False without memory. */
  protected splitBig(t1: number, i: number, j: number): boolean {
    const st = this.smallTable(t1, i);
    if (st < 0) return false;
    const b = Math.floor(this.tables[t1][ENTRIES + i] / 16);
    const be = this.tables[b][j];
    if (be === 0) return true; // gone meanwhile
    const pfn = Math.floor(be / 16);
    const bits = be % 8;
    for (let k = 0; k < BIG_PAGES; k++) this.mem.put(st, j * BIG_PAGES + k, (pfn + k) * 16 + bits);
    this.mem.put(b, j, 0);
    this.splits++;
    this.onSplit();
    return true;
  }
}
