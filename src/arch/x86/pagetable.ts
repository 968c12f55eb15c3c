// x86-64 radix page tables: the Pmap, completed with the range operations over the tree
// (zap_page_range, free_pgtables, CONFIG_PT_RECLAIM, move_page_tables, teardown).
// Storage, accounting and the walker are in pagetable-core.ts (same level numbering).

import type { LeafVisitor, Pmap } from '../pmap.js';
import { SPAN, X86TableCore } from './pagetable-core.js';
import { decodeAttrs, entryPfn, X86 } from './pte.js';

const TABLE_BYTES = 4096;

export class X86PageTable extends X86TableCore implements Pmap {
  zapRange(start: number, end: number, visit: LeafVisitor): void {
    if (start < end) this.leafRange(this.owner[this.topPfn], this.levels - 1, 0, start, end, visit, true);
  }

  forEachLeaf(start: number, end: number, visit: LeafVisitor): void {
    if (start < end) this.leafRange(this.owner[this.topPfn], this.levels - 1, 0, start, end, visit, false);
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
        if (level > 0 && (vb < start || vb + span > end)) {
          throw new Error(`X86PageTable: range [${start}, ${end}) splits a huge leaf at vpn ${vb}`);
        }
        if ((lo & (X86.P | X86.PROTNONE)) !== 0) visit(vb, entryPfn(lo, hi), decodeAttrs(lo, hi), level * 9);
        if (clear) {
          w[i] = 0;
          w[i + 1] = 0;
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

  moveRange(oldStart: number, newStart: number, n: number): boolean {
    // move_page_tables: entries move, pages stay; done per leaf (huge leaves are not moved by the core).
    // A move onto itself is a no-op (the copy-then-clear below would clear every entry).
    if (newStart === oldStart) return true;
    const moves: number[] = [];
    this.forEachLeafRaw(oldStart, oldStart + n, (vpn) => moves.push(vpn));
    const up = newStart > oldStart;
    // Copy in the direction that never overwrites an entry not yet moved when ranges overlap.
    for (let k = 0; k < moves.length; k++) {
      const vpn = moves[up ? moves.length - 1 - k : k];
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

  /** Visit every non-none PTE (present or not) in [start, end). */
  private forEachLeafRaw(start: number, end: number, visit: (vpn: number) => void): void {
    for (let vpn = start; vpn < end; ) {
      const h = this.pteLookup(vpn);
      if (h < 0) {
        vpn = vpn - (vpn % 512) + 512;
        continue;
      }
      if (!this.pteNone(h)) visit(vpn);
      vpn++;
    }
  }

  destroy(): void {
    if (this.topPfn < 0) return;
    this.destroyTable(this.owner[this.topPfn], this.levels - 1);
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
    return { pgtablesBytes: bytes, tablePages: pages };
  }
}
