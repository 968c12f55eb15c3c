// A device MMU's page table: a radix tree of 4 KiB table pages of 512 eight-byte entries held
// in the device's own memory (an hnode), as GPU page tables live in device memory, over a
// 49-bit device virtual address (NVIDIA's since Pascal): four levels of 9 index bits above the
// 4 KiB page offset, the root holding 1024 entries for bit 48.
//
// Every leaf entry maps one 4 KiB frame: what HMM mirrors is the CPU's 4 KiB page table, and
// device-private pages are 4 KiB pages here. A device's larger MMU page size (64 KiB, 2 MiB)
// sets how much one fault services and migrates (hetero/), not a larger leaf: large leaves
// over contiguous device memory (64 KiB PTEs, 2 MiB PDEs) are not modelled yet.
//
// Entry format (a float64, exact to 2^53): leaf pfn * 8 + A(4) + W(2) + V(1); table entries:
// table index * 8 + V. A grants atomics on system memory, which the device may use only on a
// page the CPU has made exclusive to it (nouveau's NVIF_VMM_PFNMAP_V0_A); atomics on the
// device's own memory need no such grant.

export const enum DevPte {
  valid = 1,
  write = 2,
  atomic = 4,
}

/** Device virtual address bits. */
export const DEVICE_VA_BITS = 49;
const ENTRIES = 512;

export class DevicePageTable {
  readonly levels: number;
  /** Table pages: entries, and the frame each occupies in device memory. */
  private readonly tables: Float64Array[] = [];
  private readonly tableFrame: number[] = [];
  private readonly freeIdx: number[] = [];
  /** Table pages held now. */
  tablePages = 0;
  /** Entries read by the last walk. */
  walkLevels = 0;
  /** Valid leaf entries. */
  mapped = 0;
  private readonly allocFrame: () => number;
  private readonly freeFrame: (pfn: number) => void;

  /**
   * Table pages come from allocFrame (-1: none left) and go back through freeFrame. The root
   * is allocated at once; `ok` is false when there was no memory for it.
   */
  constructor(allocFrame: () => number, freeFrame: (pfn: number) => void) {
    this.levels = 4; // 9 + 9 + 9 + 10 index bits above the page offset: 49 bits
    this.allocFrame = allocFrame;
    this.freeFrame = freeFrame;
    this.root = this.newTable();
  }

  /** Root table index, or -1 without memory. */
  readonly root: number;

  get ok(): boolean {
    return this.root >= 0;
  }

  /** Bytes of table memory (each table a 4 KiB page of device memory). */
  get tableBytes(): number {
    return this.tablePages * 4096;
  }

  private newTable(): number {
    const pfn = this.allocFrame();
    if (pfn < 0) return -1;
    let i = this.freeIdx.pop();
    if (i === undefined) {
      i = this.tables.length;
      this.tables.push(new Float64Array(ENTRIES * 2));
      this.tableFrame.push(pfn);
    } else {
      this.tables[i].fill(0);
      this.tableFrame[i] = pfn;
    }
    this.tablePages++;
    return i;
  }

  /** The index of `vpn` in the level-`level` table covering it. */
  private index(vpn: number, level: number): number {
    return Math.floor(vpn / ENTRIES ** level) % (level === this.levels - 1 ? ENTRIES * 2 : ENTRIES);
  }

  /**
   * The leaf table (index) covering vpn, allocating tables on the way when `alloc`; -1 when
   * there is none (or memory ran out). Counts the entries read in walkLevels.
   */
  private leafTable(vpn: number, alloc: boolean): number {
    let t = this.root;
    this.walkLevels = 1;
    for (let level = this.levels - 1; level > 0; level--) {
      const tab = this.tables[t];
      const i = this.index(vpn, level);
      let e = tab[i];
      if (e === 0) {
        if (!alloc) return -1;
        const n = this.newTable();
        if (n < 0) return -1;
        e = n * 8 + DevPte.valid;
        tab[i] = e;
      }
      t = Math.floor(e / 8);
      this.walkLevels++;
    }
    return t;
  }

  /** The leaf entry for vpn (0: none). Counts walkLevels, the entries a hardware walk reads. */
  lookup(vpn: number): number {
    const t = this.leafTable(vpn, false);
    if (t < 0) return 0;
    return this.tables[t][this.index(vpn, 0)];
  }

  /** Map vpn to the 4 KiB frame pfn (atomic: with the A bit); false when table memory ran out. */
  map(vpn: number, pfn: number, write: boolean, atomic = false): boolean {
    const t = this.leafTable(vpn, true);
    if (t < 0) return false;
    const i = this.index(vpn, 0);
    if (this.tables[t][i] === 0) this.mapped++;
    this.tables[t][i] = pfn * 8 + (atomic ? DevPte.atomic : 0) + (write ? DevPte.write : 0) + DevPte.valid;
    return true;
  }

  /** Clear the entries of [start, end); returns how many were valid. Tables stay. */
  unmap(start: number, end: number): number {
    if (this.mapped === 0 || start >= end) return 0;
    const n = this.clearRange(this.root, this.levels - 1, 0, start, end);
    this.mapped -= n;
    return n;
  }

  private clearRange(t: number, level: number, base: number, start: number, end: number): number {
    const tab = this.tables[t];
    const span = ENTRIES ** level;
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(tab.length, Math.ceil((end - base) / span));
    let n = 0;
    for (let i = first; i < last; i++) {
      const e = tab[i];
      if (e === 0) continue;
      if (level === 0) {
        tab[i] = 0;
        n++;
      } else {
        const b = base + i * span;
        n += this.clearRange(Math.floor(e / 8), level - 1, b, Math.max(start, b), Math.min(end, b + span));
      }
    }
    return n;
  }

  /** Visit valid leaves (vpn, pfn, writable, atomic) in ascending order; no side effects. */
  forEach(visit: (vpn: number, pfn: number, write: boolean, atomic: boolean) => void): void {
    this.visit(this.root, this.levels - 1, 0, visit);
  }

  private visit(
    t: number,
    level: number,
    base: number,
    fn: (vpn: number, pfn: number, w: boolean, a: boolean) => void,
  ): void {
    const tab = this.tables[t];
    const n = level === this.levels - 1 ? ENTRIES * 2 : ENTRIES;
    const span = ENTRIES ** level;
    for (let i = 0; i < n; i++) {
      const e = tab[i];
      if (e === 0) continue;
      if (level === 0) fn(base + i, Math.floor(e / 8), (e & DevPte.write) !== 0, (e & DevPte.atomic) !== 0);
      else this.visit(Math.floor(e / 8), level - 1, base + i * span, fn);
    }
  }

  /** Table pages counted by walking the tree (for invariant checks). */
  countTables(): number {
    const walk = (t: number, level: number): number => {
      if (level === 0) return 1;
      let n = 1;
      const tab = this.tables[t];
      for (let i = 0; i < tab.length; i++) if (tab[i] !== 0) n += walk(Math.floor(tab[i] / 8), level - 1);
      return n;
    };
    return walk(this.root, this.levels - 1);
  }

  /** Free every table (the context goes away). Leaves need not be cleared first. */
  destroy(): void {
    const walk = (t: number, level: number): void => {
      const tab = this.tables[t];
      if (level > 0)
        for (let i = 0; i < tab.length; i++) if (tab[i] !== 0) walk(Math.floor(tab[i] / 8), level - 1);
      this.freeFrame(this.tableFrame[t]);
      this.freeIdx.push(t);
      this.tablePages--;
    };
    if (this.root >= 0) walk(this.root, this.levels - 1);
    this.mapped = 0;
  }
}
