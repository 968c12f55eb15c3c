// The table memory of a device page table (arch/device-mmu.ts): table contents by index and
// the device frames they occupy. A table is one 4 KiB page, or two (a dual directory of
// 16-byte entries); big-page tables (32 entries of 8 bytes, 256 B) are carved 16 to a 4 KiB
// page, as nouveau's sub-page table pool (nvkm_mmu_ptp) carves page tables smaller than a
// page, and the page is freed with its last table. Frames come from the device's allocator
// (-1: none left) and go back through its free function.
//
// Each table counts its valid entries (the entries of both halves of a dual directory
// together) and knows the entry of its parent that points at it, as nouveau's VMM keeps
// `refs` per page table (nvkm_vmm_pt). Entries change through put() and link(), which keep
// the count; a table whose count falls to 0 waits in `empty` until prune(), which frees it,
// clears its parent's entry and so walks up (nvkm_vmm_unref_ptes, nvkm_vmm_unref_pdes). A
// table without a parent (the root) is never freed by prune.

/** 256-byte big-page tables per 4 KiB page. */
const BIG_TABLES_PER_PAGE = 16;
/** Entries of a big-page table. */
export const BIG_TABLE_ENTRIES = 32;

export class DevTableMemory {
  /** Table contents by index (see device-mmu.ts for the entries). */
  readonly tables: Float64Array[] = [];
  private readonly frame: number[] = [];
  /** A two-page table's second frame (-1: none). */
  private readonly frame2: number[] = [];
  private readonly freeIdx: number[] = [];
  /** Big-page tables: the pool page each sits in (-1: a table of its own pages). */
  private readonly poolOf: number[] = [];
  private readonly poolFrame: number[] = [];
  private readonly poolUsed: number[] = [];
  /** Valid entries of each table; the table and entry that point at it (-1: none, the root). */
  private readonly used: number[] = [];
  private readonly parent: number[] = [];
  private readonly parentSlot: number[] = [];
  private readonly live: boolean[] = [];
  /** Tables whose count fell to 0 (or that were linked empty) since the last prune. */
  private readonly empty: number[] = [];
  /** Table pages held now (pool pages included). */
  pages = 0;
  private readonly allocFrame: () => number;
  private readonly freeFrame: (pfn: number) => void;

  constructor(allocFrame: () => number, freeFrame: (pfn: number) => void) {
    this.allocFrame = allocFrame;
    this.freeFrame = freeFrame;
  }

  private slot(entries: number, frame: number, frame2: number, pool: number): number {
    let i = this.freeIdx.pop();
    if (i === undefined) {
      i = this.tables.length;
      this.tables.push(new Float64Array(entries));
      this.frame.push(frame);
      this.frame2.push(frame2);
      this.poolOf.push(pool);
      this.used.push(0);
      this.parent.push(-1);
      this.parentSlot.push(-1);
      this.live.push(true);
    } else {
      if (this.tables[i].length === entries) this.tables[i].fill(0);
      else this.tables[i] = new Float64Array(entries);
      this.frame[i] = frame;
      this.frame2[i] = frame2;
      this.poolOf[i] = pool;
      this.used[i] = 0;
      this.parent[i] = -1;
      this.parentSlot[i] = -1;
      this.live[i] = true;
    }
    return i;
  }

  /** A zeroed table of `entries` 8-byte words in `pages` (1 or 2) pages; -1 without memory. */
  newTable(entries: number, pages: 1 | 2): number {
    const pfn = this.allocFrame();
    if (pfn < 0) return -1;
    let second = -1;
    if (pages === 2) {
      // Contiguity of a two-page table is not modelled: any second frame.
      second = this.allocFrame();
      if (second < 0) {
        this.freeFrame(pfn);
        return -1;
      }
    }
    this.pages += pages;
    return this.slot(entries, pfn, second, -1);
  }

  /** A zeroed big-page table from a pool page with room (a new page if none); -1 without memory. */
  newBigTable(): number {
    let p = -1;
    for (let j = 0; j < this.poolFrame.length && p < 0; j++)
      if (this.poolFrame[j] >= 0 && this.poolUsed[j] < BIG_TABLES_PER_PAGE) p = j;
    if (p < 0) {
      const pfn = this.allocFrame();
      if (pfn < 0) return -1;
      p = this.poolFrame.indexOf(-1);
      if (p < 0) p = this.poolFrame.push(-1) - 1;
      this.poolFrame[p] = pfn;
      this.poolUsed[p] = 0;
      this.pages++;
    }
    this.poolUsed[p]++;
    return this.slot(BIG_TABLE_ENTRIES, -1, -1, p);
  }

  /** Set entry i of table t to v (0: invalid), keeping t's count of valid entries. */
  put(t: number, i: number, v: number): void {
    const tab = this.tables[t];
    const old = tab[i];
    tab[i] = v;
    if (old === 0) {
      if (v !== 0) this.used[t]++;
    } else if (v === 0 && --this.used[t] === 0) this.empty.push(t);
  }

  /** Point entry i of table t at table child with entry value v (child's index * 16 + bits). */
  link(t: number, i: number, child: number, v: number): void {
    this.put(t, i, v);
    this.parent[child] = t;
    this.parentSlot[child] = i;
    if (this.used[child] === 0) this.empty.push(child);
  }

  /** Valid entries of table t (for tests and checks). */
  usedOf(t: number): number {
    return this.used[t];
  }

  /**
   * Free every table that maps nothing, walking up: its parent's entry is cleared, and a parent
   * left empty goes too. The root (no parent) stays. Returns the table pages freed.
   */
  prune(): number {
    if (this.empty.length === 0) return 0;
    const before = this.pages;
    for (let k = 0; k < this.empty.length; k++) {
      const t = this.empty[k];
      if (!this.live[t] || this.used[t] !== 0 || this.parent[t] < 0) continue;
      const p = this.parent[t];
      const e = this.tables[p][this.parentSlot[t]];
      if (Math.floor(e / 16) !== t || (e & 8) !== 0)
        throw new Error(`DevTableMemory.prune: table ${t}'s parent entry does not point at it`);
      this.put(p, this.parentSlot[t], 0); // may queue p
      this.freeTable(t);
    }
    this.empty.length = 0;
    return before - this.pages;
  }

  /** Table i goes: its pages, or its pool page once the pool's last table went. */
  freeTable(i: number): void {
    this.live[i] = false;
    this.parent[i] = -1;
    const p = this.poolOf[i];
    if (p >= 0) {
      if (--this.poolUsed[p] === 0) {
        this.freeFrame(this.poolFrame[p]);
        this.poolFrame[p] = -1;
        this.pages--;
      }
    } else {
      this.freeFrame(this.frame[i]);
      this.pages--;
      if (this.frame2[i] >= 0) {
        this.freeFrame(this.frame2[i]);
        this.pages--;
      }
    }
    this.freeIdx.push(i);
  }

  /** Pages the tables `live` occupy (pool pages counted once each): for invariant checks. */
  pagesOf(live: readonly number[]): number {
    const pools = new Set<number>();
    let n = 0;
    for (const i of live) {
      if (this.poolOf[i] >= 0) pools.add(this.poolOf[i]);
      else n += this.frame2[i] >= 0 ? 2 : 1;
    }
    return n + pools.size;
  }
}
