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
// is none); `splits` counts them. A split that finds no memory for its table fails a map; an
// unmap or a write-protect then drops the whole leaf (the device faults again on what it still
// needs). Installing a 2 MiB leaf frees the PTE table it replaces.
//
// Freeing, after nouveau's VMM (drivers/gpu/drm/nouveau/nvkm/subdev/mmu/vmm.c), whose HMM path
// (nvkm_vmm_pfn_map; nvkm_vmm_hmm_map when it came) takes a reference on a page table per PTE
// it makes valid ("ref + map") and drops it as it clears the PTE ("unmap + unref",
// nvkm_vmm_unref_ptes); a failed map unreferences what it took. So a table page is freed when its last
// valid entry is cleared, and the entry pointing at it in the directory above is cleared in
// turn (nvkm_vmm_unref_pdes), so a directory whose last child table went goes too, up to but
// not including the root, which lives as long as the context. A dual PD0 entry is cleared when
// both its halves are gone (its small-page table and its big-page table each go with their
// last valid PTE, as nouveau clears one half of a dual PDE and keeps the other); a pool page
// of big-page tables goes with the last table carved from it. Each table counts its valid
// entries (device-pt-memory.ts); an operation frees what it emptied when it ends, not midway,
// since a table allocation inside it may evict and so unmap (the caller sees the result: the
// tables of an unmap, a write-protect that dropped leaves, an eviction, or a mapping that
// failed for lack of memory are gone when it returns). UVM (uvm_page_tree_put_ptes, when a
// va_block's range is unmapped) and amdgpu (amdgpu_vm_pt_free on unmap of a range) free at
// range granularity instead; per-entry counting gives the same tables when a whole range goes
// and frees sooner when one goes page by page (migration back, eviction).
//
// Internal entries (a float64, exact to 2^53): x * 16 + L(8) + A(4) + W(2) + V(1), x a table
// index for a directory entry, a frame for a leaf (L: a 2 MiB leaf in a level-1 entry). The
// entry lookup() returns is the 4 KiB page's view of its leaf: pfn * 8 + A(4) + W(2) + V(1).
// A grants atomics on system memory, which the device may use only on a page the CPU has
// made exclusive to it (nouveau's NVIF_VMM_PFNMAP_V0_A); atomics on the device's own memory
// need no such grant.

import {
  BIG_PAGES,
  BIG_PER_TABLE,
  DEVICE_VA_BITS,
  DEVICE_VPN_LIMIT,
  DevPte,
  ENTRIES,
  HUGE_PAGES,
  LEAF,
  type LeafFn,
  SPAN,
} from './device-pt-base.js';
import { DevicePageTableWalk } from './device-pt-walk.js';

export { BIG_PAGES, DEVICE_VA_BITS, DEVICE_VPN_LIMIT, DevPte, HUGE_PAGES } from './device-pt-base.js';

/** Mapping at or past the device's address space is a caller's bug (System refuses the work). */
function beyond(end: number): void {
  if (end > DEVICE_VPN_LIMIT)
    throw new Error(
      `DevicePageTable: vpn ${end - 1} is beyond the ${DEVICE_VA_BITS}-bit device address space`,
    );
}

export class DevicePageTable extends DevicePageTableWalk {
  /**
   * Map vpn to the 4 KiB frame pfn (atomic: with the A bit); false when table memory ran out.
   * A large leaf covering vpn is split first, unless it maps pfn there already with these bits.
   */
  map(vpn: number, pfn: number, write: boolean, atomic = false): boolean {
    beyond(vpn + 1);
    this.begin();
    const ok = this.mapIn(vpn, pfn, write, atomic);
    this.end();
    return ok;
  }

  private mapIn(vpn: number, pfn: number, write: boolean, atomic: boolean): boolean {
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
    if (this.tables[st][vpn % ENTRIES] === 0) this.mapped++;
    this.mem.put(st, vpn % ENTRIES, pfn * 16 + bits);
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
    beyond(vpn + n);
    this.begin();
    const ok = this.mapLargeIn(vpn, pfn, write);
    this.end();
    return ok;
  }

  private mapLargeIn(vpn: number, pfn: number, write: boolean): boolean {
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
        this.freedPages++;
        this.onTableFree(1);
      }
      this.mem.put(t1, i, pfn * 16 + LEAF + bits);
      this.mapped += HUGE_PAGES;
      return true;
    }
    if (tab[ENTRIES + i] === 0) {
      const b = this.newBigTable();
      if (b < 0) return false;
      if (tab[ENTRIES + i] === 0) this.mem.link(t1, ENTRIES + i, b, b * 16 + DevPte.valid);
      else this.freeTable(b);
    }
    const j = Math.floor(vpn / BIG_PAGES) % BIG_PER_TABLE;
    if (tab[i] !== 0) {
      const st = Math.floor(tab[i] / 16);
      for (let k = j * BIG_PAGES; k < (j + 1) * BIG_PAGES; k++)
        if (this.tables[st][k] !== 0) {
          this.mem.put(st, k, 0); // a small-page table emptied so goes at the end
          this.mapped--;
        }
    }
    const b = Math.floor(tab[ENTRIES + i] / 16);
    if (this.tables[b][j] !== 0) this.mapped -= BIG_PAGES;
    this.mem.put(b, j, pfn * 16 + bits);
    this.mapped += BIG_PAGES;
    return true;
  }

  /**
   * Visit the valid leaves meeting [start, end), splitting a large leaf the range covers in
   * part (whole: false when there was no memory to split it: the visitor gets all of it).
   */
  private eachLeaf(t: number, level: number, base: number, start: number, end: number, fn: LeafFn): void {
    const tab = this.tables[t];
    const span = SPAN[level];
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(tab.length / (level === 1 && this.dual ? 2 : 1), Math.ceil((end - base) / span));
    for (let i = first; i < last; i++) {
      const b = base + i * span;
      if (level === 1) this.eachLeafL1(t, i, b, Math.max(start, b), Math.min(end, b + span), fn);
      else if (tab[i] === 0) continue;
      else if (level === 0) fn(t, i, 1, true);
      else this.eachLeaf(Math.floor(tab[i] / 16), level - 1, b, start, end, fn);
    }
  }

  private eachLeafL1(t1: number, i: number, rb: number, lo: number, hi: number, fn: LeafFn): void {
    const tab = this.tables[t1];
    if ((tab[i] & LEAF) !== 0) {
      const whole = lo === rb && hi === rb + HUGE_PAGES;
      if (whole || !this.splitHuge(t1, i)) {
        fn(t1, i, HUGE_PAGES, whole);
        return;
      }
    }
    if (this.dual && tab[ENTRIES + i] !== 0) {
      const b = Math.floor(tab[ENTRIES + i] / 16);
      const bt = this.tables[b];
      for (let j = Math.floor((lo - rb) / BIG_PAGES); j < Math.ceil((hi - rb) / BIG_PAGES); j++) {
        if (bt[j] === 0) continue;
        const bs = rb + j * BIG_PAGES;
        if (lo <= bs && bs + BIG_PAGES <= hi) fn(b, j, BIG_PAGES, true);
        else if (!this.splitBig(t1, i, j)) fn(b, j, BIG_PAGES, false);
      }
    }
    if (tab[i] === 0) return;
    const st = Math.floor(tab[i] / 16);
    const pt = this.tables[st];
    for (let k = lo - rb; k < hi - rb; k++) if (pt[k] !== 0) fn(st, k, 1, true);
  }

  /** Clear the leaves of [start, end), splitting large ones it cuts; returns the pages cleared. */
  unmap(start: number, end0: number): number {
    const end = Math.min(end0, DEVICE_VPN_LIMIT); // nothing is mapped beyond the address space
    if (this.mapped === 0 || start >= end) return 0;
    this.begin();
    const n = this.unmapIn(start, end);
    this.end();
    return n;
  }

  private unmapIn(start: number, end: number): number {
    if (end === start + 1) {
      // One page under a small-page table (migration and eviction unmap page by page).
      const t1 = this.dirTable(start, false);
      if (t1 < 0) return 0;
      const i = this.index(start, 1);
      const e = this.tables[t1][i];
      if ((e & LEAF) === 0 && (!this.dual || this.tables[t1][ENTRIES + i] === 0)) {
        if (e === 0) return 0;
        const st = Math.floor(e / 16);
        if (this.tables[st][start % ENTRIES] === 0) return 0;
        this.mem.put(st, start % ENTRIES, 0);
        this.mapped--;
        return 1;
      }
    }
    let n = 0;
    this.eachLeaf(this.root, this.levels - 1, 0, start, end, (t, i, pages) => {
      this.mem.put(t, i, 0);
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
  protect(start: number, end0: number, write: boolean): boolean {
    const end = Math.min(end0, DEVICE_VPN_LIMIT);
    if (this.mapped === 0 || start >= end) return false;
    let lost = false;
    this.begin();
    this.eachLeaf(this.root, this.levels - 1, 0, start, end, (t, i, pages, whole) => {
      const e = this.tables[t][i];
      const w = (e & DevPte.write) !== 0;
      if (!whole && !write) {
        this.mem.put(t, i, 0);
        this.mapped -= pages;
        lost = true;
      } else if (w && !write) {
        this.mem.put(t, i, e - DevPte.write);
        lost = true;
      } else if (!w && write && whole) this.mem.put(t, i, e + DevPte.write);
    });
    this.end();
    return lost;
  }

  /**
   * Clear the large leaves whose frames lie in [lo, hi) (a 2 MiB-aligned chunk of device memory
   * being evicted holds whole leaves: none is split); returns the pages cleared.
   */
  unmapLargeFrames(lo: number, hi: number): number {
    if (this.largePages === 1 || this.mapped === 0) return 0;
    let n = 0;
    const inside = (e: number) => Math.floor(e / 16) >= lo && Math.floor(e / 16) < hi;
    this.begin();
    this.eachTable((t, level) => {
      if (level !== 1) return;
      const tab = this.tables[t];
      for (let i = 0; i < ENTRIES; i++) {
        if ((tab[i] & LEAF) !== 0 && inside(tab[i])) {
          this.mem.put(t, i, 0);
          n += HUGE_PAGES;
        }
        if (!this.dual || tab[ENTRIES + i] === 0) continue;
        const b = Math.floor(tab[ENTRIES + i] / 16);
        for (let j = 0; j < BIG_PER_TABLE; j++)
          if (this.tables[b][j] !== 0 && inside(this.tables[b][j])) {
            this.mem.put(b, j, 0);
            n += BIG_PAGES;
          }
      }
    });
    this.end();
    this.mapped -= n;
    return n;
  }
}
