// x86-64 page-table entry bits (arch/x86/include/asm/pgtable_types.h).
// An entry is 64 bits, held as two u32 words: lo = bits 0..31, hi = bits 32..63.
//
//   lo: pfn[19:0](20) SOFT_DIRTY(11) UFFD_WP(10) SPECIAL(9) G/PROTNONE(8) PSE(7) D(6) A(5) PCD(4) PWT(3) US(2) RW(1) P(0)
//   hi: NX(63) PKEY(62..59) SAVED_DIRTY(58) DEVMAP(57) ... pfn[39:20] in bits 51..32

import { PteAttr } from '../pmap.js';

export const enum X86 {
  P = 1 << 0,
  RW = 1 << 1,
  US = 1 << 2,
  PWT = 1 << 3,
  PCD = 1 << 4,
  A = 1 << 5,
  D = 1 << 6,
  PSE = 1 << 7,
  G = 1 << 8,
  /** _PAGE_PROTNONE aliases _PAGE_GLOBAL: meaningful only when P is clear. */
  PROTNONE = 1 << 8,
  SPECIAL = 1 << 9,
  UFFD_WP = 1 << 10,
  SOFT_DIRTY = 1 << 11,
  /** Flag bits of the low word. */
  LO_FLAGS = 0xfff,
}

/** Bits of the high word (bit 32 + n is bit n here). */
export const enum X86Hi {
  DEVMAP = 1 << (57 - 32),
  SAVED_DIRTY = 1 << (58 - 32),
  NX = 1 << (63 - 32),
  PFN_MASK = 0xfffff,
}

/** _PAGE_TABLE: how an upper-level entry pointing to a user table is set. */
export const PAGE_TABLE_FLAGS = X86.P | X86.RW | X86.US | X86.A | X86.D;

const TWO20 = 0x10_0000;

export function entryPfn(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & X86Hi.PFN_MASK) * TWO20;
}

export function makeLo(pfn: number, flags: number): number {
  return (((pfn % TWO20) << 12) | (flags & X86.LO_FLAGS)) >>> 0;
}

export function makeHi(pfn: number, hiFlags: number): number {
  return ((Math.floor(pfn / TWO20) & X86Hi.PFN_MASK) | hiFlags) >>> 0;
}

/** PteAttr bits as the low word's flags (P or PROTNONE, RW, D, A, SPECIAL; US always). */
export function encodeLo(attrs: number): number {
  let lo = X86.US;
  lo |= (attrs & PteAttr.protnone) !== 0 ? X86.PROTNONE : X86.P;
  if ((attrs & PteAttr.write) !== 0) lo |= X86.RW;
  if ((attrs & PteAttr.dirty) !== 0) lo |= X86.D;
  if ((attrs & PteAttr.accessed) !== 0) lo |= X86.A;
  if ((attrs & PteAttr.special) !== 0) lo |= X86.SPECIAL;
  return lo;
}

export function encodeHi(attrs: number): number {
  return (attrs & PteAttr.exec) !== 0 ? 0 : X86Hi.NX;
}

export function decodeAttrs(lo: number, hi: number): number {
  let a = 0;
  if ((lo & X86.P) === 0 && (lo & X86.PROTNONE) !== 0) a |= PteAttr.protnone;
  if ((lo & X86.RW) !== 0) a |= PteAttr.write;
  if ((lo & X86.D) !== 0) a |= PteAttr.dirty;
  if ((lo & X86.A) !== 0) a |= PteAttr.accessed;
  if ((lo & X86.SPECIAL) !== 0) a |= PteAttr.special;
  if ((hi & X86Hi.NX) === 0) a |= PteAttr.exec;
  return a;
}

/**
 * pte_needs_flush and pte_flags_need_flush (arch/x86/include/asm/tlbflush.h) for a user PTE
 * changing from [oldLo, oldHi] to [newLo, newHi]: no flush when the old entry was not present
 * (the TLB caches no non-present entry); a flush when the frame changes, when D or P is
 * cleared (A is ignored: a stale young bit does no harm), or when any of RW, US, PWT, PCD,
 * PAT (bit 7), G (PROTNONE), the protection keys or NX changes, either way. The software
 * bits (SPECIAL, UFFD_WP, SOFT_DIRTY, DEVMAP, SAVED_DIRTY) never need one. (PAT_LARGE,
 * bit 12, is a frame bit in a 4 KiB entry, which pte_flags masks off.)
 */
export function pteNeedsFlush(oldLo: number, oldHi: number, newLo: number, newHi: number): boolean {
  if ((oldLo & X86.P) === 0) return false;
  if (entryPfn(oldLo, oldHi) !== entryPfn(newLo, newHi)) return true;
  const dLo = (oldLo ^ newLo) & X86.LO_FLAGS;
  if ((dLo & oldLo & (X86.D | X86.P)) !== 0) return true;
  if ((dLo & (X86.RW | X86.US | X86.PWT | X86.PCD | X86.PSE | X86.G)) !== 0) return true;
  return ((oldHi ^ newHi) & (X86Hi.NX | PKEY_BITS)) !== 0;
}

/** The protection-key bits 59..62. */
const PKEY_BITS = 0xf << (59 - 32);

// Swap entries (arch/x86/include/asm/pgtable_64.h): not present; type in bits 59..63,
// offset stored inverted in bits 9..58 (the L1TF mitigation), bits 0 and 7 clear.
// Bit 1 is swap soft-dirty, bit 2 uffd-wp, bit 3 anon-exclusive (_PAGE_SWP_EXCLUSIVE).
export const SWP_TYPE_BITS = 5;
export const SWP_OFFSET_BITS = 50;
export const enum SwpFlag {
  SOFT_DIRTY = 1 << 1,
  UFFD_WP = 1 << 2,
  EXCLUSIVE = 1 << 3,
}
const TWO23 = 0x80_0000;
const OFFSET_LIMIT = 2 ** SWP_OFFSET_BITS;

/** Encode a swap entry into [lo, hi]. */
export function swpEntry(type: number, offset: number, flags = 0): [number, number] {
  if (type < 0 || type >= 1 << SWP_TYPE_BITS) throw new Error(`swpEntry: type ${type} out of range`);
  if (offset < 0 || offset >= OFFSET_LIMIT) throw new Error(`swpEntry: offset ${offset} out of range`);
  const inv = OFFSET_LIMIT - 1 - offset; // ~offset within 50 bits
  const invLo = inv % TWO23; // bits 9..31 take the low 23 bits
  const invHi = Math.floor(inv / TWO23); // bits 32..58 take the next 27
  const lo = ((invLo << 9) | (flags & 0xe)) >>> 0;
  const hi = (invHi | (type << 27)) >>> 0;
  return [lo, hi];
}

export function isSwpEntry(lo: number, hi: number): boolean {
  return (lo & (X86.P | X86.PROTNONE | X86.PSE)) === 0 && (lo !== 0 || hi !== 0);
}

export function swpType(hi: number): number {
  return hi >>> 27;
}

export function swpOffset(lo: number, hi: number): number {
  const inv = (lo >>> 9) + (hi & 0x7ff_ffff) * TWO23;
  return OFFSET_LIMIT - 1 - inv;
}
