// A per-CPU TLB: set-associative, tagged with an address-space id (x86 PCID), LRU within a set.
// Flat typed arrays (STYLE.md, after v86): the hit path is an index, a few compares and a load.
// A list of filled slots makes a full flush cost what is filled, not the table's size.

import type { TlbConfig } from '../workload/scenario.js';

const EMPTY = -1;

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

  /** Insert (or refresh) a translation after a walk. */
  fill(asid: number, vpn: number, pfn: number, perm: number): void {
    const base = (vpn & this.setMask) * this.ways;
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
    this.vpn[victim] = vpn;
    this.asid[victim] = asid;
    this.pfn[victim] = pfn;
    this.perm[victim] = perm;
    this.stamp[victim] = ++this.clock;
    this.hint[vpn & this.hintMask] = victim;
  }

  /** invlpg: drop one page of one address space. */
  flushPage(asid: number, vpn: number): void {
    const base = (vpn & this.setMask) * this.ways;
    for (let s = base, end = base + this.ways; s < end; s++) {
      if (this.vpn[s] === vpn && this.asid[s] === asid) this.vpn[s] = EMPTY;
    }
  }

  /** Drop every translation of one address space (a full flush of that PCID). */
  flushAsid(asid: number): void {
    const kept: number[] = [];
    for (const s of this.filled) {
      if (this.vpn[s] !== EMPTY && this.asid[s] === asid) this.vpn[s] = EMPTY;
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
