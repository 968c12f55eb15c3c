// x86-64 radix page tables: the Pmap, completed with the range operations over the tree
// (zap_page_range, free_pgtables, CONFIG_PT_RECLAIM, move_page_tables, teardown).
// Storage, accounting and the walker are in pagetable-core.ts (same level numbering).

import type { LeafVisitor, Pmap, SwapVisitor, TableDoneVisitor, TableFreeVisitor } from '../pmap.js';
import { SPAN, X86TableCore } from './pagetable-core.js';
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
  pteNeedsFlush,
  swpOffset,
  swpType,
  X86,
} from './pte.js';

const TABLE_BYTES = 4096;

export class X86PageTable extends X86TableCore implements Pmap {
  zapRange(
    start: number,
    end: number,
    visit: LeafVisitor,
    visitSwap?: SwapVisitor,
    tableDone?: TableDoneVisitor,
  ): void {
    if (start < end)
      this.leafRange(
        this.owner[this.topPfn],
        this.levels - 1,
        0,
        start,
        end,
        visit,
        true,
        visitSwap,
        tableDone,
      );
  }

  forEachLeaf(
    start: number,
    end: number,
    visit: LeafVisitor,
    visitSwap?: SwapVisitor,
    tableDone?: TableDoneVisitor,
  ): void {
    if (start < end)
      this.leafRange(
        this.owner[this.topPfn],
        this.levels - 1,
        0,
        start,
        end,
        visit,
        false,
        visitSwap,
        tableDone,
      );
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
    tableDone?: TableDoneVisitor,
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
        // A zap must not cut a huge leaf (the caller splits it first); a walk reports it whole.
        if (clear && level > 0 && (vb < start || vb + span > end)) {
          throw new Error(`X86PageTable: range [${start}, ${end}) splits a huge leaf at vpn ${vb}`);
        }
        if ((lo & (X86.P | X86.PROTNONE)) !== 0) visit(vb, entryPfn(lo, hi), decodeAttrs(lo, hi), level * 9);
        else if (visitSwap !== undefined && isSwpEntry(lo, hi)) visitSwap(vb, swpOffset(lo, hi), swpType(hi));
        if (clear) {
          w[i] = 0;
          w[i + 1] = 0;
          if (level === 1) this.freeDeposit(); // zap_huge_pmd: zap_deposited_table
        }
        continue;
      }
      const s = Math.max(start, vb);
      const t = Math.min(end, vb + span);
      this.leafRange(this.slotOfEntry(w, i), level - 1, vb, s, t, visit, clear, visitSwap, tableDone);
      if (level === 1) tableDone?.(s, t);
    }
  }

  freeTables(start: number, end: number, floor: number, ceiling: number, freed?: TableFreeVisitor): void {
    if (start < end)
      this.freeRange(this.owner[this.topPfn], this.levels - 1, 0, start, end, floor, ceiling, freed);
  }

  private freeRange(
    slot: number,
    level: number,
    base: number,
    start: number,
    end: number,
    floor: number,
    ceiling: number,
    freed: TableFreeVisitor | undefined,
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
      const s = Math.max(start, vb);
      this.freeRange(childSlot, level - 1, vb, s, Math.min(end, vb + span), floor, ceiling, freed);
      // free_pgd_range: a table goes when all it maps lies between the neighbouring VMAs.
      if (vb >= floor && vb + span <= ceiling) {
        if (!this.tableEmpty(childSlot)) {
          throw new Error(
            `X86PageTable.freeTables: table for vpn ${vb} (level ${level - 1}) still maps pages`,
          );
        }
        this.freeEntryTable(i, child, level - 1);
        freed?.(level - 1, vb);
      }
    }
  }

  reclaimEmptyPteTables(start: number, end: number, freed?: TableFreeVisitor): void {
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
      if (!this.tableEmpty(this.owner[pte])) continue;
      this.freeEntryTable(i, pte, 0);
      freed?.(0, vpn); // pte_free_tlb(tlb, table, start of the zapped span)
    }
  }

  tablePresent(vpn: number, level: number): boolean {
    const i = this.entryAt(vpn, level + 1);
    if (i < 0) return false;
    const lo = this.pool.words[i];
    return (lo & X86.P) !== 0 && (lo & X86.PSE) === 0;
  }

  allocTables(vpn: number, level: number): boolean {
    let slot = this.owner[this.topPfn];
    for (let l = this.levels - 1; l > level; l--) {
      const i = slot * 1024 + this.index(vpn, l) * 2;
      let w = this.pool.words;
      if ((w[i] & X86.P) === 0) {
        const pfn = this.pool.alloc();
        if (pfn < 0) return false;
        w = this.pool.words; // the pool may have grown
        w[i] = makeLo(pfn, PAGE_TABLE_FLAGS);
        w[i + 1] = makeHi(pfn, 0);
        this.accountTable(l - 1, +1);
      } else if ((w[i] & X86.PSE) !== 0) {
        throw new Error(`X86PageTable.allocTables: vpn ${vpn} is covered by a huge leaf`);
      }
      slot = this.slotOfEntry(w, i);
    }
    return true;
  }

  moveTable(oldVpn: number, newVpn: number, level: number): boolean {
    const span = SPAN[level + 1];
    if (oldVpn % span !== 0 || newVpn % span !== 0)
      throw new Error(`X86PageTable.moveTable: ${oldVpn} or ${newVpn} is not aligned to level ${level + 1}`);
    const from = this.entryAt(oldVpn, level + 1);
    const to = this.entryAt(newVpn, level + 1);
    if (to < 0) throw new Error(`X86PageTable.moveTable: no table above vpn ${newVpn}`);
    const w = this.pool.words;
    if (from < 0 || (w[from] & X86.P) === 0 || (w[from] & X86.PSE) !== 0) return false;
    if (w[to] !== 0 || w[to + 1] !== 0) return false;
    w[to] = w[from];
    w[to + 1] = w[from + 1];
    w[from] = 0;
    w[from + 1] = 0;
    this.cacheBase = -1; // the cached PTE table now maps other pages
    return true;
  }

  pteNeedsFlush(oldAttrs: number, newAttrs: number): boolean {
    // The frame stays; only the flags are compared.
    return pteNeedsFlush(encodeLo(oldAttrs), encodeHi(oldAttrs), encodeLo(newAttrs), encodeHi(newAttrs));
  }

  /** Word index of the entry for vpn in its level-`level` table, or -1 when that table is absent. */
  private entryAt(vpn: number, level: number): number {
    const w = this.pool.words;
    let slot = this.owner[this.topPfn];
    for (let l = this.levels - 1; l > level; l--) {
      const i = slot * 1024 + this.index(vpn, l) * 2;
      if ((w[i] & X86.P) === 0 || (w[i] & X86.PSE) !== 0) return -1;
      slot = this.slotOfEntry(w, i);
    }
    return slot * 1024 + this.index(vpn, level) * 2;
  }

  moveRange(oldStart: number, newStart: number, n: number): number {
    // move_ptes: entries move, pages stay; done per leaf, a huge leaf whole (move_huge_pmd).
    // A move onto itself is a no-op (the copy-then-clear below would clear every entry).
    if (newStart === oldStart) return 0;
    const moves: number[] = [];
    this.forEachLeafRaw(oldStart, oldStart + n, (vpn) => moves.push(vpn));
    const up = newStart > oldStart;
    let present = 0;
    // Copy in the direction that never overwrites an entry not yet moved when ranges overlap.
    for (let k = 0; k < moves.length; k++) {
      const vpn = moves[up ? moves.length - 1 - k : k];
      if (vpn < 0) {
        // A huge leaf at -vpn - 1: present, so the move needs a flush.
        if (!pmdLeaf.hugeMove(this, -vpn - 1, newStart + (-vpn - 1 - oldStart))) return -1;
        present++;
        continue;
      }
      const src = this.pteLookup(vpn);
      const dst = this.pteAlloc(newStart + (vpn - oldStart));
      if (dst < 0) return -1;
      const w = this.pool.words;
      if ((w[src * 2] & (X86.P | X86.PROTNONE)) !== 0) present++;
      w[dst * 2] = w[src * 2];
      w[dst * 2 + 1] = w[src * 2 + 1];
      w[src * 2] = 0;
      w[src * 2 + 1] = 0;
    }
    return present;
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
