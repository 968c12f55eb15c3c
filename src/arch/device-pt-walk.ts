// Inspection of a device page table (arch/device-mmu.ts describes the format): its leaves and
// tables visited without side effects, the counts the invariant checks compare, and destroy.
// DevicePageTable adds the mapping operations.

import {
  BIG_PAGES,
  BIG_PER_TABLE,
  DevicePageTableBase,
  DevPte,
  ENTRIES,
  HUGE_PAGES,
  LEAF,
  SPAN,
} from './device-pt-base.js';

export class DevicePageTableWalk extends DevicePageTableBase {
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
  protected eachTable(fn: (t: number, level: number, base: number) => void): void {
    const walk = (t: number, level: number, base: number): void => {
      fn(t, level, base);
      if (level === 1) return;
      const tab = this.tables[t];
      const span = SPAN[level];
      for (let i = 0; i < tab.length; i++)
        if (tab[i] !== 0) walk(Math.floor(tab[i] / 16), level - 1, base + i * span);
    };
    if (this.root >= 0) walk(this.root, this.levels - 1, 0);
  }

  /** Every table held (directories, small- and big-page tables). */
  protected liveTables(): number[] {
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

  /**
   * Tables held that break the freeing rule (for invariant checks): a table other than the root
   * with no valid entry, or whose count of valid entries is not what it holds.
   */
  badTables(): number[] {
    const out: number[] = [];
    for (const t of this.liveTables()) {
      let n = 0;
      for (const e of this.tables[t]) if (e !== 0) n++;
      if ((n === 0 && t !== this.root) || n !== this.mem.usedOf(t)) out.push(t);
    }
    return out;
  }

  /** Free every table (the context goes away). Leaves need not be cleared first. */
  destroy(): void {
    for (const t of this.liveTables()) this.freeTable(t);
    this.mapped = 0;
  }
}
