import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  entryPfn,
  isSwpEntry,
  makeHi,
  makeLo,
  PAGE_TABLE_FLAGS,
  SWP_OFFSET_BITS,
  SWP_TYPE_BITS,
  SwpFlag,
  swpEntry,
  swpOffset,
  swpType,
  X86,
  X86Hi,
} from './pte.js';

const MAX_PFN = 2 ** 40 - 1; // physical address bits 12..51
const MAX_OFFSET = 2 ** SWP_OFFSET_BITS - 1;
const M64 = (1n << 64n) - 1n;

/** The 64-bit entry as a bigint. */
function entry64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Bit mask of bits a..b inclusive. */
function bits(a: number, b: number): bigint {
  return ((1n << BigInt(b - a + 1)) - 1n) << BigInt(a);
}

/**
 * __swp_entry from arch/x86/include/asm/pgtable_64.h:
 *   (~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) | (type << (64 - SWP_TYPE_BITS)),
 * SWP_OFFSET_SHIFT = SWP_OFFSET_FIRST_BIT (_PAGE_BIT_PROTNONE + 1 = 9) + SWP_TYPE_BITS (5) = 14.
 */
function linuxSwpEntry(type: number, offset: number): bigint {
  const inv = ~BigInt(offset) & M64;
  return (((inv << 14n) & M64) >> 5n) | (BigInt(type) << 59n);
}

describe('x86-64 entry pfn encoding', () => {
  it('places the pfn in bits 12..51', () => {
    expect(entry64(makeLo(1, 0), makeHi(1, 0))).toBe(1n << 12n);
    expect(entry64(makeLo(2 ** 20 - 1, 0), makeHi(2 ** 20 - 1, 0))).toBe(bits(12, 31));
    expect(entry64(makeLo(2 ** 20, 0), makeHi(2 ** 20, 0))).toBe(1n << 32n);
    expect(entry64(makeLo(MAX_PFN, 0), makeHi(MAX_PFN, 0))).toBe(bits(12, 51));
  });

  it('keeps flag bits apart from the pfn', () => {
    const lo = makeLo(MAX_PFN, PAGE_TABLE_FLAGS);
    const hi = makeHi(MAX_PFN, X86Hi.NX | X86Hi.DEVMAP | X86Hi.SAVED_DIRTY);
    // _PAGE_TABLE = P | RW | US | A | D = 0x67 (pgtable_types.h)
    expect(PAGE_TABLE_FLAGS).toBe(0x67);
    expect(entry64(lo, hi)).toBe(bits(12, 51) | 0x67n | (1n << 63n) | (1n << 57n) | (1n << 58n));
    expect(entryPfn(lo, hi)).toBe(MAX_PFN);
    // Flag arguments beyond the low 12 bits do not leak into the pfn.
    expect(makeLo(5, 0xffff_ffff)).toBe((5 * 4096 + 0xfff) >>> 0);
    expect(entryPfn(makeLo(0, X86.P | X86.PSE | X86.SOFT_DIRTY), makeHi(0, X86Hi.NX))).toBe(0);
  });

  it('round-trips every pfn up to 2^40 - 1 with any flags', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_PFN }),
        fc.integer({ min: 0, max: 0xfff }),
        fc.constantFrom(0, X86Hi.NX, X86Hi.NX | X86Hi.DEVMAP),
        (pfn, flags, hiFlags) => {
          const lo = makeLo(pfn, flags);
          const hi = makeHi(pfn, hiFlags);
          expect(entryPfn(lo, hi)).toBe(pfn);
          expect(lo & 0xfff).toBe(flags);
          expect(entry64(lo, hi)).toBe((BigInt(pfn) << 12n) | BigInt(flags) | (BigInt(hiFlags >>> 0) << 32n));
        },
      ),
    );
  });
});

describe('x86-64 swap entries', () => {
  it('has 5 type bits and 50 offset bits', () => {
    expect(SWP_TYPE_BITS).toBe(5);
    expect(SWP_OFFSET_BITS).toBe(50);
  });

  it('stores the offset inverted in bits 9..58 and the type in 59..63', () => {
    // Offset 0 sets every offset bit (the L1TF mitigation keeps such entries off real memory).
    let [lo, hi] = swpEntry(0, 0);
    expect(entry64(lo, hi)).toBe(bits(9, 58));
    // The largest offset clears them all.
    [lo, hi] = swpEntry(31, MAX_OFFSET);
    expect(entry64(lo, hi)).toBe(bits(59, 63));
    // Offset 1 clears only bit 9.
    [lo, hi] = swpEntry(1, 1);
    expect(entry64(lo, hi)).toBe((bits(9, 58) & ~(1n << 9n)) | (1n << 59n));
    // Bit 32 of the entry is offset bit 23.
    [lo, hi] = swpEntry(0, 2 ** 23);
    expect(entry64(lo, hi)).toBe(bits(9, 58) & ~(1n << 32n));
  });

  it('matches the kernel __swp_entry formula', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: MAX_OFFSET }),
        (type, offset) => {
          const [lo, hi] = swpEntry(type, offset);
          expect(entry64(lo, hi)).toBe(linuxSwpEntry(type, offset));
        },
      ),
    );
  });

  it('round-trips every type and offsets up to 2^50 - 1', () => {
    const offsets = [0, 1, 2 ** 23 - 1, 2 ** 23, 2 ** 32 - 1, 2 ** 32, 2 ** 49, MAX_OFFSET - 1, MAX_OFFSET];
    for (let type = 0; type < 32; type++) {
      for (const offset of offsets) {
        const [lo, hi] = swpEntry(type, offset);
        expect([swpType(hi), swpOffset(lo, hi)]).toEqual([type, offset]);
      }
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: MAX_OFFSET }),
        fc.integer({ min: 0, max: 0xf }),
        (type, offset, flags) => {
          const [lo, hi] = swpEntry(type, offset, flags);
          expect(swpType(hi)).toBe(type);
          expect(swpOffset(lo, hi)).toBe(offset);
          // Only the soft-dirty, uffd-wp and exclusive bits (1..3) are kept.
          expect(lo & 0xf).toBe(flags & (SwpFlag.SOFT_DIRTY | SwpFlag.UFFD_WP | SwpFlag.EXCLUSIVE));
        },
      ),
    );
  });

  it('is never present: bits 0, 7 and 8 stay clear', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: MAX_OFFSET }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (type, offset, flags) => {
          const [lo, hi] = swpEntry(type, offset, flags);
          expect(lo & (X86.P | X86.PSE | X86.PROTNONE)).toBe(0);
          // Type 0 with the largest offset encodes as all zeroes, i.e. pte_none: Linux has the same
          // aliasing and never hands out that offset (max_swapfile_size is far below 2^50).
          // (Only when no flag bit is set either: flags 1-3 make the entry non-zero.)
          expect(isSwpEntry(lo, hi)).toBe(!(type === 0 && offset === MAX_OFFSET && (flags & 0xe) === 0));
        },
      ),
    );
  });

  it('tells swap entries from none, present and PROT_NONE entries', () => {
    expect(isSwpEntry(0, 0)).toBe(false);
    expect(isSwpEntry(makeLo(7, X86.P | X86.RW), makeHi(7, 0))).toBe(false);
    expect(isSwpEntry(makeLo(7, X86.PROTNONE), makeHi(7, 0))).toBe(false);
    expect(isSwpEntry(makeLo(0, X86.PSE), 0)).toBe(false);
    expect(isSwpEntry(...swpEntry(0, 0))).toBe(true);
    expect(isSwpEntry(...swpEntry(3, 12345, SwpFlag.EXCLUSIVE))).toBe(true);
  });

  it('rejects types and offsets out of range', () => {
    expect(() => swpEntry(32, 0)).toThrow(/type/);
    expect(() => swpEntry(-1, 0)).toThrow(/type/);
    expect(() => swpEntry(0, 2 ** 50)).toThrow(/offset/);
    expect(() => swpEntry(0, -1)).toThrow(/offset/);
  });
});
