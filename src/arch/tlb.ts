// A per-CPU TLB: set-associative, tagged with an address-space id (x86 PCID), LRU within a set.
// Flat typed arrays (STYLE.md, after v86): the hit path is an index, a few compares and a load.
// A list of filled slots makes a full flush cost what is filled, not the table's size.
//
// 2 MiB translations share the array, as x86 STLBs (Skylake onwards) hold 4 KiB and 2 MiB
// entries in one structure: a huge mapping takes one entry, tagged with its first page number
// plus HUGE_TAG (no 4 KiB tag reaches it), in the set its 2 MiB frame number picks. A lookup
// tries the 4 KiB tag first and the 2 MiB tag only while some huge entry is held.
// 1 GiB translations (hugetlb PUD leaves) are kept the same way with their own tag base
// (GIANT_TAG), in the set their 1 GiB frame number picks. (Real x86 cores hold 1 GiB entries in
// a small separate array: 4 in the L1 DTLB and 16 in Skylake's STLB; vmlab does not model its size.)
// 64 KiB translations (a device MMU's big pages, arch/device-mmu.ts) are kept the same way with
// BIG_TAG, in the set their 64 KiB frame number picks: one entry covers the whole leaf, as a
// GPU TLB caches a big page whole. The CPU never fills them.

import type { TlbConfig } from '../workload/scenario.js';

const EMPTY = -1;
/** Added to a 64 KiB entry's tag (above every device and user page number). */
export const BIG_TAG = 2 ** 49;
/** Added to a 2 MiB entry's tag (user page numbers stay below 2^45). */
export const HUGE_TAG = 2 ** 50;
/** Added to a 1 GiB entry's tag (above every 2 MiB tag). */
export const GIANT_TAG = 2 ** 51;
const BIG_NR = 16;
const HPAGE_NR = 512;
const GPAGE_NR = 512 * 512;

export class Tlb {
  readonly sets: number;
  readonly ways: number;
  // The arrays are public for the access loop's inlined hit path (mm/access.ts); others use methods.
  readonly setMask: number;
  /** Tag: virtual page number, or -1 when the slot is empty. */
  readonly vpn: Float64Array;
  readonly asid: Int32Array;
  readonly pfn: Float64Array;
  /** TlbPerm bits. */
  readonly perm: Uint8Array;
  /** LRU stamps; `clock` is the last one given. */
  readonly stamp: Uint32Array;
  clock = 0;
  /**
   * Host-side lookup hint, not part of the modelled TLB: the slot last used for a page number
   * hashing here. A hint is only trusted after its slot's tag matches, so a stale one costs
   * a set scan, never a wrong translation.
   */
  readonly hint: Int32Array;
  readonly hintMask: number;
  /** Valid 64 KiB, 2 MiB and 1 GiB entries held. */
  huge = 0;
  /** Set by probeHuge on a hit: the 4 KiB page of vpn within the huge entry found. */
  lastSub = 0;
  /** Slots filled since the last full flush (may hold slots emptied since). */
  private filled: number[] = [];
  private readonly inFilled: Uint8Array;

  hits = 0;
  misses = 0;

  constructor(cfg: TlbConfig) {
    this.ways = cfg.ways;
    this.sets = cfg.entries / cfg.ways;
    if (!Number.isInteger(this.sets) || this.sets < 1 || (this.sets & (this.sets - 1)) !== 0) {
      throw new Error(`Tlb: ${cfg.entries} entries / ${cfg.ways} ways is not a power-of-two number of sets`);
    }
    this.setMask = this.sets - 1;
    const n = cfg.entries;
    this.vpn = new Float64Array(n).fill(EMPTY);
    this.asid = new Int32Array(n);
    this.pfn = new Float64Array(n);
    this.perm = new Uint8Array(n);
    this.stamp = new Uint32Array(n);
    this.inFilled = new Uint8Array(n);
    const hintSize = 1 << Math.ceil(Math.log2(n * 4));
    this.hint = new Int32Array(hintSize);
    this.hintMask = hintSize - 1;
  }

  /** The slot caching (asid, vpn), or -1. Counts nothing and leaves the LRU order alone. */
  probe(asid: number, vpn: number): number {
    const h = this.hint[vpn & this.hintMask];
    if (this.vpn[h] === vpn && this.asid[h] === asid) return h;
    const base = (vpn & this.setMask) * this.ways;
    for (let s = base, end = base + this.ways; s < end; s++) {
      if (this.vpn[s] === vpn && this.asid[s] === asid) return s;
    }
    return -1;
  }

  /**
   * The slot caching a 2 MiB or 1 GiB translation of (asid) covering vpn, or -1; on a hit,
   * lastSub is vpn's page within it. Counts nothing.
   */
  probeHuge(asid: number, vpn: number): number {
    const s = this.probeSpan(asid, vpn, HPAGE_NR, HUGE_TAG);
    return s >= 0 ? s : this.probeSpan(asid, vpn, GPAGE_NR, GIANT_TAG);
  }

  /**
   * The slot caching a 64 KiB, 2 MiB or 1 GiB translation of (asid) covering vpn, or -1 (the
   * device's lookup after a 4 KiB miss); on a hit, lastSub is vpn's page within it. Counts nothing.
   */
  probeLarge(asid: number, vpn: number): number {
    const s = this.probeSpan(asid, vpn, BIG_NR, BIG_TAG);
    return s >= 0 ? s : this.probeHuge(asid, vpn);
  }

  /** The first page and the pages of the translation in slot s (-1 pages: empty). No side effects. */
  slotSpan(s: number): { vpn: number; pages: number } {
    const tag = this.vpn[s];
    if (tag === EMPTY) return { vpn: -1, pages: -1 };
    if (tag >= GIANT_TAG) return { vpn: tag - GIANT_TAG, pages: GPAGE_NR };
    if (tag >= HUGE_TAG) return { vpn: tag - HUGE_TAG, pages: HPAGE_NR };
    if (tag >= BIG_TAG) return { vpn: tag - BIG_TAG, pages: BIG_NR };
    return { vpn: tag, pages: 1 };
  }

  private probeSpan(asid: number, vpn: number, span: number, tagBase: number): number {
    const sub = vpn % span;
    const hv = vpn - sub;
    const tag = hv + tagBase;
    const i = hv / span;
    const h = this.hint[i & this.hintMask];
    if (this.vpn[h] === tag && this.asid[h] === asid) {
      this.lastSub = sub;
      return h;
    }
    const base = (i & this.setMask) * this.ways;
    for (let s = base, end = base + this.ways; s < end; s++) {
      if (this.vpn[s] === tag && this.asid[s] === asid) {
        this.hint[i & this.hintMask] = s;
        this.lastSub = sub;
        return s;
      }
    }
    return -1;
  }

  /** Insert (or refresh) a translation after a walk. */
  fill(asid: number, vpn: number, pfn: number, perm: number): void {
    this.insert(asid, vpn, (vpn & this.setMask) * this.ways, vpn & this.hintMask, pfn, perm);
  }

  /** Insert a 64 KiB translation: `vpn` and `pfn` are the first page of the big page and its frame. */
  fillBig(asid: number, vpn: number, pfn: number, perm: number): void {
    const i = vpn / BIG_NR;
    this.insert(asid, vpn + BIG_TAG, (i & this.setMask) * this.ways, i & this.hintMask, pfn, perm);
  }

  /** Insert a 2 MiB translation: `vpn` and `pfn` are the first page of the huge page and its frame. */
  fillHuge(asid: number, vpn: number, pfn: number, perm: number): void {
    const i = vpn / HPAGE_NR;
    this.insert(asid, vpn + HUGE_TAG, (i & this.setMask) * this.ways, i & this.hintMask, pfn, perm);
  }

  /** Insert a 1 GiB translation: `vpn` and `pfn` are the first page of the huge page and its frame. */
  fillGiant(asid: number, vpn: number, pfn: number, perm: number): void {
    const i = vpn / GPAGE_NR;
    this.insert(asid, vpn + GIANT_TAG, (i & this.setMask) * this.ways, i & this.hintMask, pfn, perm);
  }

  private insert(asid: number, tag: number, base: number, hintAt: number, pfn: number, perm: number): void {
    const vpn = tag;
    let victim = base;
    let oldest = 0xffff_ffff;
    for (let s = base, end = base + this.ways; s < end; s++) {
      if (this.vpn[s] === vpn && this.asid[s] === asid) {
        victim = s;
        break;
      }
      if (this.vpn[s] === EMPTY) {
        victim = s;
        oldest = 0;
      } else if (this.stamp[s] < oldest) {
        victim = s;
        oldest = this.stamp[s];
      }
    }
    if (this.inFilled[victim] === 0) {
      this.inFilled[victim] = 1;
      this.filled.push(victim);
    }
    if (this.vpn[victim] >= BIG_TAG) this.huge--;
    if (vpn >= BIG_TAG) this.huge++;
    this.vpn[victim] = vpn;
    this.asid[victim] = asid;
    this.pfn[victim] = pfn;
    this.perm[victim] = perm;
    this.stamp[victim] = ++this.clock;
    this.hint[hintAt] = victim;
  }

  /** invlpg: drop one page of one address space, and the 64 KiB, 2 MiB and 1 GiB entries covering it. */
  flushPage(asid: number, vpn: number): void {
    const base = (vpn & this.setMask) * this.ways;
    for (let s = base, end = base + this.ways; s < end; s++) {
      if (this.vpn[s] === vpn && this.asid[s] === asid) this.vpn[s] = EMPTY;
    }
    for (let k = 0; k < 3 && this.huge > 0; k++) {
      const s = this.probeLarge(asid, vpn);
      if (s < 0) break;
      this.vpn[s] = EMPTY;
      this.huge--;
    }
  }

  /** Drop every translation of one address space (a full flush of that PCID). */
  flushAsid(asid: number): void {
    const kept: number[] = [];
    for (const s of this.filled) {
      if (this.vpn[s] !== EMPTY && this.asid[s] === asid) {
        if (this.vpn[s] >= BIG_TAG) this.huge--;
        this.vpn[s] = EMPTY;
      }
      if (this.vpn[s] === EMPTY) this.inFilled[s] = 0;
      else kept.push(s);
    }
    this.filled = kept;
  }

  /** Entries currently valid (for reports and checks; no side effects). */
  get occupancy(): number {
    let n = 0;
    for (const s of this.filled) if (this.vpn[s] !== EMPTY) n++;
    return n;
  }
}
