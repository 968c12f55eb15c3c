// A device MMU's page table: a radix tree of table pages held in the device's own memory (an
// hnode), as GPU page tables live in device memory, over a 49-bit device virtual address (the
// width of NVIDIA's since Pascal): four levels of 9 index bits above the 4 KiB page offset,
// the root holding 1024 entries for bit 48. (The level split is vmlab's: Pascal's format has
// five levels, 2 + 9 + 9 + 8 + 9 bits; the leaf sizes and the dual PDE below are Pascal's.)
//
// Leaves come in the device's MMU page size (its `page_size`), as NVIDIA's format since Pascal
// (nouveau's vmmgp100.c, open-gpu-doc's Pascal MMU format) has them:
//   - 4 KiB: every leaf is an 8-byte PTE in a 4 KiB table of 512 (level 0); 3 tables above it.
//   - 2 MiB: a level-1 entry (the directory above the PTE tables, Pascal's PD0) may itself be
//     the leaf: no PTE table under it. Other runs use PTE tables as above.
//   - 64 KiB: level-1 entries are dual PDEs of 16 bytes (a level-1 table is then 512 x 16 B =
//     8 KiB, two device pages): one half points at a small-page table (512 4 KiB PTEs, 4 KiB),
//     the other at a big-page table (32 64 KiB PTEs of 8 bytes, 256 B). Big-page tables are
//     carved 16 to a 4 KiB device page (nouveau's sub-page table pool, nvkm_mmu_ptp), which is
//     freed when its last big-page table goes. A walk reads the big PTE first; when it is not
//     valid it reads the small PTE (one entry more). A 64 KiB range is mapped by a big PTE or
//     by small PTEs, never both.
// A large leaf maps a naturally aligned run of device frames, contiguous and aligned in the
// device's memory, with one permission (the caller checks the frames: mapLarge). Mapping,
// unmapping or protecting part of one splits it first, as Linux splits a huge PMD: the
// 2 MiB leaf gets a new PTE table, the big PTE the small-page table (allocated then if there
// is none); `splits` counts them. Installing a 2 MiB leaf frees the PTE table it replaces.
// Other tables stay until the context goes.
//
// Internal entries (a float64, exact to 2^53): x * 16 + L(8) + A(4) + W(2) + V(1), x a table
// index for a directory entry, a frame for a leaf (L: a 2 MiB leaf in a level-1 entry). The
// entry lookup() returns is the 4 KiB page's view of its leaf: pfn * 8 + A(4) + W(2) + V(1).
// A grants atomics on system memory, which the device may use only on a page the CPU has
// made exclusive to it (nouveau's NVIF_VMM_PFNMAP_V0_A); atomics on the device's own memory
// need no such grant.

import { BIG_TABLE_ENTRIES, DevTableMemory } from './device-pt-memory.js';

export const enum DevPte {
  valid = 1,
  write = 2,
  atomic = 4,
}

/** Device virtual address bits. */
export const DEVICE_VA_BITS = 49;
const ENTRIES = 512;
/** Pages of a big (64 KiB) and a huge (2 MiB) leaf. */
export const BIG_PAGES = 16;
export const HUGE_PAGES = 512;
const BIG_PER_TABLE = BIG_TABLE_ENTRIES; // 32 big PTEs cover the 2 MiB of one dual PDE
const LEAF = 8;

/** The 4 KiB page's view of an internal leaf entry e, pfn its frame. */
function pageEntry(pfn: number, e: number): number {
  return pfn * 8 + (e % 8);
}

/** Visit a leaf: the table holding it, its index there, its pages; `whole`: inside the range. */
type LeafFn = (tab: Float64Array, i: number, pages: number, whole: boolean) => void;

export class DevicePageTable {
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
  private readonly dual: boolean;
  private readonly mem: DevTableMemory;
  private readonly onSplit: () => void;
  private readonly tables: Float64Array[];

  /**
   * Table pages come from allocFrame (-1: none left) and go back through freeFrame; `largePages`
   * is the device's MMU page size in 4 KiB pages (1, 16 or 512); onSplit is told of each split.
   * The root is allocated at once; `ok` is false when there was no memory for it.
   */
  constructor(
    allocFrame: () => number,
    freeFrame: (pfn: number) => void,
    largePages = 1,
    onSplit: () => void = () => {},
  ) {
    this.onSplit = onSplit;
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
  private newTable(level: number): number {
    if (level === 1 && this.dual) return this.mem.newTable(2 * ENTRIES, 2);
    return this.mem.newTable((level === this.levels - 1 ? 2 : 1) * ENTRIES, 1);
  }

  private freeTable(i: number): void {
    this.mem.freeTable(i);
  }

  private newBigTable(): number {
    return this.mem.newBigTable();
  }

  /** The index of `vpn` in the level-`level` table covering it. */
  private index(vpn: number, level: number): number {
    return Math.floor(vpn / ENTRIES ** level) % (level === this.levels - 1 ? ENTRIES * 2 : ENTRIES);
  }

  /**
   * The level-1 table (index) covering vpn, allocating directories on the way when `alloc`;
   * -1 when there is none (or memory ran out). Counts the entries read in walkLevels.
   */
  private dirTable(vpn: number, alloc: boolean): number {
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
          this.tables[t][i] = e;
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
  private smallTable(t1: number, i: number): number {
    if (this.tables[t1][i] === 0) {
      const n = this.newTable(0);
      if (n < 0) return -1;
      if (this.tables[t1][i] === 0) this.tables[t1][i] = n * 16 + DevPte.valid;
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
  private splitHuge(t1: number, i: number): boolean {
    const n = this.newTable(0);
    if (n < 0) return false;
    const e = this.tables[t1][i];
    if ((e & LEAF) === 0) {
      if (e === 0) this.tables[t1][i] = n * 16 + DevPte.valid;
      else this.freeTable(n);
      return true;
    }
    const pt = this.tables[n];
    const pfn = Math.floor(e / 16);
    const bits = e % 8;
    for (let j = 0; j < ENTRIES; j++) pt[j] = (pfn + j) * 16 + bits;
    this.tables[t1][i] = n * 16 + DevPte.valid;
    this.splits++;
    this.onSplit();
    return true;
  }

  /** Split big PTE j under dual entry i of t1 into 16 small PTEs. False without memory. */
  private splitBig(t1: number, i: number, j: number): boolean {
    const st = this.smallTable(t1, i);
    if (st < 0) return false;
    const bt = this.tables[Math.floor(this.tables[t1][ENTRIES + i] / 16)];
    const be = bt[j];
    if (be === 0) return true; // gone meanwhile
    const pt = this.tables[st];
    const pfn = Math.floor(be / 16);
    const bits = be % 8;
    for (let k = 0; k < BIG_PAGES; k++) pt[j * BIG_PAGES + k] = (pfn + k) * 16 + bits;
    bt[j] = 0;
    this.splits++;
    this.onSplit();
    return true;
  }

  /**
   * Map vpn to the 4 KiB frame pfn (atomic: with the A bit); false when table memory ran out.
   * A large leaf covering vpn is split first, unless it maps pfn there already with these bits.
   */
  map(vpn: number, pfn: number, write: boolean, atomic = false): boolean {
    const bits = (atomic ? DevPte.atomic : 0) + (write ? DevPte.write : 0) + DevPte.valid;
    const t1 = this.dirTable(vpn, true);
    if (t1 < 0) return false;
    const i = this.index(vpn, 1);
    if ((this.tables[t1][i] & LEAF) !== 0) {
      if (this.lookup(vpn) === pfn * 8 + bits) return true;
      if (!this.splitHuge(t1, i)) return false;
    }
    if (this.dual && this.tables[t1][ENTRIES + i] !== 0) {
      const j = Math.floor(vpn / BIG_PAGES) % BIG_PER_TABLE;
      if (this.tables[Math.floor(this.tables[t1][ENTRIES + i] / 16)][j] !== 0) {
        if (this.lookup(vpn) === pfn * 8 + bits) return true;
        if (!this.splitBig(t1, i, j)) return false;
      }
    }
    const st = this.smallTable(t1, i);
    if (st < 0) return false;
    const pt = this.tables[st];
    if (pt[vpn % ENTRIES] === 0) this.mapped++;
    pt[vpn % ENTRIES] = pfn * 16 + bits;
    return true;
  }

  /**
   * Map the largePages pages from vpn (aligned) with one leaf to the frames from pfn, which the
   * caller has checked are contiguous, aligned and the device's own. Small leaves there go (a
   * 2 MiB leaf frees the PTE table it replaces). False when table memory ran out.
   */
  mapLarge(vpn: number, pfn: number, write: boolean): boolean {
    const n = this.largePages;
    if (n === 1 || vpn % n !== 0 || pfn % n !== 0)
      throw new Error(`DevicePageTable.mapLarge: vpn ${vpn} pfn ${pfn} is no ${n}-page leaf`);
    const bits = (write ? DevPte.write : 0) + DevPte.valid;
    const t1 = this.dirTable(vpn, true);
    if (t1 < 0) return false;
    const tab = this.tables[t1];
    const i = this.index(vpn, 1);
    if (!this.dual) {
      const e = tab[i];
      if ((e & LEAF) !== 0) this.mapped -= HUGE_PAGES;
      else if (e !== 0) {
        const pt = this.tables[Math.floor(e / 16)];
        for (let j = 0; j < ENTRIES; j++) if (pt[j] !== 0) this.mapped--;
        this.freeTable(Math.floor(e / 16));
      }
      tab[i] = pfn * 16 + LEAF + bits;
      this.mapped += HUGE_PAGES;
      return true;
    }
    if (tab[ENTRIES + i] === 0) {
      const b = this.newBigTable();
      if (b < 0) return false;
      if (tab[ENTRIES + i] === 0) tab[ENTRIES + i] = b * 16 + DevPte.valid;
      else this.freeTable(b);
    }
    const j = Math.floor(vpn / BIG_PAGES) % BIG_PER_TABLE;
    if (tab[i] !== 0) {
      const pt = this.tables[Math.floor(tab[i] / 16)];
      for (let k = j * BIG_PAGES; k < (j + 1) * BIG_PAGES; k++)
        if (pt[k] !== 0) {
          pt[k] = 0;
          this.mapped--;
        }
    }
    const bt = this.tables[Math.floor(tab[ENTRIES + i] / 16)];
    if (bt[j] !== 0) this.mapped -= BIG_PAGES;
    bt[j] = pfn * 16 + bits;
    this.mapped += BIG_PAGES;
    return true;
  }

  /**
   * Visit the valid leaves meeting [start, end), splitting a large leaf the range covers in
   * part (whole: false when there was no memory to split it: the visitor gets all of it).
   */
  private eachLeaf(t: number, level: number, base: number, start: number, end: number, fn: LeafFn): void {
    const tab = this.tables[t];
    const span = ENTRIES ** level;
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(tab.length / (level === 1 && this.dual ? 2 : 1), Math.ceil((end - base) / span));
    for (let i = first; i < last; i++) {
      const b = base + i * span;
      if (level === 1) this.eachLeafL1(t, i, b, Math.max(start, b), Math.min(end, b + span), fn);
      else if (tab[i] === 0) continue;
      else if (level === 0) fn(tab, i, 1, true);
      else this.eachLeaf(Math.floor(tab[i] / 16), level - 1, b, start, end, fn);
    }
  }

  private eachLeafL1(t1: number, i: number, rb: number, lo: number, hi: number, fn: LeafFn): void {
    const tab = this.tables[t1];
    if ((tab[i] & LEAF) !== 0) {
      const whole = lo === rb && hi === rb + HUGE_PAGES;
      if (whole || !this.splitHuge(t1, i)) {
        fn(tab, i, HUGE_PAGES, whole);
        return;
      }
    }
    if (this.dual && tab[ENTRIES + i] !== 0) {
      const bt = this.tables[Math.floor(tab[ENTRIES + i] / 16)];
      for (let j = Math.floor((lo - rb) / BIG_PAGES); j < Math.ceil((hi - rb) / BIG_PAGES); j++) {
        if (bt[j] === 0) continue;
        const bs = rb + j * BIG_PAGES;
        if (lo <= bs && bs + BIG_PAGES <= hi) fn(bt, j, BIG_PAGES, true);
        else if (!this.splitBig(t1, i, j)) fn(bt, j, BIG_PAGES, false);
      }
    }
    if (tab[i] === 0) return;
    const pt = this.tables[Math.floor(tab[i] / 16)];
    for (let k = lo - rb; k < hi - rb; k++) if (pt[k] !== 0) fn(pt, k, 1, true);
  }

  /** Clear the leaves of [start, end), splitting large ones it cuts; returns the pages cleared. */
  unmap(start: number, end: number): number {
    if (this.mapped === 0 || start >= end) return 0;
    let n = 0;
    this.eachLeaf(this.root, this.levels - 1, 0, start, end, (tab, i, pages) => {
      tab[i] = 0;
      n += pages;
    });
    this.mapped -= n;
    return n;
  }

  /**
   * Make the leaves of [start, end) writable or read-only (splitting large ones it cuts); a
   * leaf that could not be split loses its write access whole, or goes when write is taken.
   * True when some leaf lost write access or went (the caller invalidates the TLB then).
   */
  protect(start: number, end: number, write: boolean): boolean {
    if (this.mapped === 0 || start >= end) return false;
    let lost = false;
    this.eachLeaf(this.root, this.levels - 1, 0, start, end, (tab, i, pages, whole) => {
      const w = (tab[i] & DevPte.write) !== 0;
      if (!whole && !write) {
        tab[i] = 0;
        this.mapped -= pages;
        lost = true;
      } else if (w && !write) {
        tab[i] -= DevPte.write;
        lost = true;
      } else if (!w && write && whole) tab[i] += DevPte.write;
    });
    return lost;
  }

  /**
   * Visit the valid leaves in ascending order (first page, its frame, pages, writable, atomic);
   * no side effects.
   */
  forEachLeaf(
    visit: (vpn: number, pfn: number, pages: number, write: boolean, atomic: boolean) => void,
  ): void {
    const leaf = (vpn: number, e: number, pages: number) =>
      visit(vpn, Math.floor(e / 16), pages, (e & DevPte.write) !== 0, (e & DevPte.atomic) !== 0);
    this.eachTable((t, level, base) => {
      if (level !== 1) return;
      const tab = this.tables[t];
      for (let i = 0; i < ENTRIES; i++) {
        const e = tab[i];
        const rb = base + i * ENTRIES;
        if ((e & LEAF) !== 0) {
          leaf(rb, e, HUGE_PAGES);
          continue;
        }
        const bt =
          this.dual && tab[ENTRIES + i] !== 0 ? this.tables[Math.floor(tab[ENTRIES + i] / 16)] : null;
        const pt = e !== 0 ? this.tables[Math.floor(e / 16)] : null;
        for (let j = 0; j < BIG_PER_TABLE; j++) {
          if (bt !== null && bt[j] !== 0) leaf(rb + j * BIG_PAGES, bt[j], BIG_PAGES);
          else if (pt !== null)
            for (let k = j * BIG_PAGES; k < (j + 1) * BIG_PAGES; k++) if (pt[k] !== 0) leaf(rb + k, pt[k], 1);
        }
      }
    });
  }

  /** Visit valid leaves page by page (vpn, pfn, writable, atomic) in ascending order; no side effects. */
  forEach(visit: (vpn: number, pfn: number, write: boolean, atomic: boolean) => void): void {
    this.forEachLeaf((vpn, pfn, pages, w, a) => {
      for (let j = 0; j < pages; j++) visit(vpn + j, pfn + j, w, a);
    });
  }

  /** Visit the directories, root first (table index, level, first page covered). */
  private eachTable(fn: (t: number, level: number, base: number) => void): void {
    const walk = (t: number, level: number, base: number): void => {
      fn(t, level, base);
      if (level === 1) return;
      const tab = this.tables[t];
      const span = ENTRIES ** level;
      for (let i = 0; i < tab.length; i++)
        if (tab[i] !== 0) walk(Math.floor(tab[i] / 16), level - 1, base + i * span);
    };
    if (this.root >= 0) walk(this.root, this.levels - 1, 0);
  }

  /** Every table held (directories, small- and big-page tables). */
  private liveTables(): number[] {
    const out: number[] = [];
    this.eachTable((t, level) => {
      out.push(t);
      if (level !== 1) return;
      const tab = this.tables[t];
      for (let i = 0; i < tab.length; i++)
        if (tab[i] !== 0 && (tab[i] & LEAF) === 0) out.push(Math.floor(tab[i] / 16));
    });
    return out;
  }

  /** Table pages counted by walking the tree (for invariant checks). */
  countTables(): number {
    return this.mem.pagesOf(this.liveTables());
  }

  /** Free every table (the context goes away). Leaves need not be cleared first. */
  destroy(): void {
    for (const t of this.liveTables()) this.freeTable(t);
    this.mapped = 0;
  }

  /**
   * Clear the large leaves whose frames lie in [lo, hi) (a 2 MiB-aligned chunk of device memory
   * being evicted holds whole leaves: none is split); returns the pages cleared.
   */
  unmapLargeFrames(lo: number, hi: number): number {
    if (this.largePages === 1 || this.mapped === 0) return 0;
    let n = 0;
    const inside = (e: number) => Math.floor(e / 16) >= lo && Math.floor(e / 16) < hi;
    this.eachTable((t, level) => {
      if (level !== 1) return;
      const tab = this.tables[t];
      for (let i = 0; i < ENTRIES; i++) {
        if ((tab[i] & LEAF) !== 0 && inside(tab[i])) {
          tab[i] = 0;
          n += HUGE_PAGES;
        }
        if (!this.dual || tab[ENTRIES + i] === 0) continue;
        const bt = this.tables[Math.floor(tab[ENTRIES + i] / 16)];
        for (let j = 0; j < BIG_PER_TABLE; j++)
          if (bt[j] !== 0 && inside(bt[j])) {
            bt[j] = 0;
            n += BIG_PAGES;
          }
      }
    });
    this.mapped -= n;
    return n;
  }
}
