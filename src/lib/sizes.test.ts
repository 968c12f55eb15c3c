import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SIZE, parseSize, SIZE_UNITS, sizePattern } from './sizes.js';

const value = (text: string | number | bigint) => {
  const r = parseSize(text);
  return r.ok ? r.value : `error: ${r.error}`;
};

describe('parseSize', () => {
  it('reads plain integers, numbers and hex', () => {
    expect(value('0')).toBe(0);
    expect(value('4096')).toBe(4096);
    expect(value(4096)).toBe(4096);
    expect(value(4096n)).toBe(4096);
    expect(value('0x1000')).toBe(4096);
    expect(value('0X7fffFFFFffff')).toBe(0x7fffffffffff);
  });

  it('reads binary units, with or without a space', () => {
    expect(value('1B')).toBe(1);
    expect(value('4KiB')).toBe(4096);
    expect(value('4 KiB')).toBe(4096);
    expect(value('4\tKiB')).toBe(4096);
    expect(value('  2MiB  ')).toBe(2 * 1024 * 1024);
    expect(value('1GiB')).toBe(2 ** 30);
    expect(value('3TiB')).toBe(3 * 2 ** 40);
  });

  it('reads K/M/G/T and kB/KB as binary, as Linux prints them', () => {
    expect(value('4K')).toBe(4096);
    expect(value('4kB')).toBe(4096);
    expect(value('4KB')).toBe(4096);
    expect(value('2056 kB')).toBe(2056 * 1024);
    expect(value('2M')).toBe(2 ** 21);
    expect(value('1G')).toBe(2 ** 30);
    expect(value('1T')).toBe(2 ** 40);
  });

  it('reads fractions that give whole bytes', () => {
    expect(value('1.5KiB')).toBe(1536);
    expect(value('0.5 GiB')).toBe(2 ** 29);
    expect(value('2.25MiB')).toBe(2.25 * 2 ** 20);
    expect(value('1.0')).toBe(1);
  });

  it('refuses fractions that do not give whole bytes', () => {
    expect(value('0.3KiB')).toBe("error: '0.3KiB' is not a whole number of bytes");
    expect(value('1.5')).toBe("error: '1.5' is not a whole number of bytes");
    expect(value('1.5B')).toBe("error: '1.5B' is not a whole number of bytes");
    expect(value(1.5)).toBe('error: 1.5 is not a whole number of bytes');
  });

  it('reads negative values (brk deltas), and never returns -0', () => {
    expect(value('-64KiB')).toBe(-65536);
    expect(value('-0x1000')).toBe(-4096);
    expect(value(-4096)).toBe(-4096);
    expect(Object.is(value('-0'), 0)).toBe(true);
    expect(Object.is(value(-0), 0)).toBe(true);
  });

  it('accepts 2^53, and above it multiples of 4 KiB up to 2^57 (exact as doubles)', () => {
    const tooLarge = 'is above 2^53 bytes (up to 2^57 if a multiple of 4 KiB)';
    expect(value('8PiB')).toBe(
      "error: unknown unit 'PiB' (units are binary: B, K, KB, kB, KiB, M, MiB, G, GiB, T, TiB)",
    );
    expect(value('8192TiB')).toBe(MAX_SIZE);
    expect(value('-8192TiB')).toBe(-MAX_SIZE);
    expect(value('0x20000000000000')).toBe(MAX_SIZE);
    expect(value('0x20000000000001')).toBe(`error: '0x20000000000001' ${tooLarge}`);
    expect(value('9007199254740993')).toBe(`error: '9007199254740993' ${tooLarge}`);
    expect(value(9007199254740993n)).toBe(`error: '9007199254740993' ${tooLarge}`);
    // 5-level paging's user space: 2^56 - 4 KiB, and 2^57 itself; one byte more is refused.
    expect(value('0xfffffffffff000')).toBe(2 ** 56 - 4096);
    expect(value(0xfffffffffff000n)).toBe(2 ** 56 - 4096);
    expect(value(2 ** 57)).toBe(2 ** 57);
    expect(value('131072TiB')).toBe(2 ** 57);
    expect(value('0xfffffffffff001')).toBe(`error: '0xfffffffffff001' ${tooLarge}`);
    expect(value('0x200000000001000')).toBe(`error: '0x200000000001000' ${tooLarge}`);
    expect(value(2 ** 60)).toBe(`error: ${2 ** 60} ${tooLarge}`);
    expect(value('1'.repeat(100))).toBe(`error: '${'1'.repeat(100)}' ${tooLarge}`);
  });

  it('refuses decimal and unknown units, naming the binary one', () => {
    expect(value('1MB')).toBe(
      "error: unknown unit 'MB' (did you mean MiB? units are binary: B, K, KB, kB, KiB, M, MiB, G, GiB, T, TiB)",
    );
    expect(value('4kib')).toMatch(/^error: unknown unit 'kib' \(did you mean KiB\?/);
    expect(value('4 pages')).toMatch(/^error: unknown unit 'pages' \(units are binary/);
  });

  it('refuses what is not a size', () => {
    expect(value('')).toBe('error: empty size');
    expect(value('   ')).toBe('error: empty size');
    expect(value('abc')).toBe("error: 'abc' is not a size");
    expect(value('0x')).toBe("error: '0x' is not a size");
    expect(value('0x10KiB')).toBe("error: '0x10KiB' is not a size");
    expect(value('.5KiB')).toBe("error: '.5KiB' is not a size");
    expect(value('- 4KiB')).toBe("error: '- 4KiB' is not a size");
    expect(value('+4KiB')).toBe("error: '+4KiB' is not a size");
    expect(value('1e6')).toBe("error: '1e6' is not a size");
    expect(value(Number.NaN)).toBe('error: NaN is not a size');
    expect(value(Number.POSITIVE_INFINITY)).toBe('error: Infinity is not a size');
  });
});

describe('sizePattern', () => {
  const signed = new RegExp(sizePattern(true));
  const unsigned = new RegExp(sizePattern(false));

  it('matches exactly the strings parseSize reads, up to whole-byte and range checks', () => {
    const token = fc.oneof(
      fc.constantFrom(...SIZE_UNITS, 'MB', 'kib', 'x', 'e', ''),
      fc.constantFrom('0x', '0X', '.', '-', ' ', '\t', '+'),
      fc.stringMatching(/^[0-9a-fA-F]{1,4}$/),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), (parts) => {
        const text = parts.join('');
        const r = parseSize(text);
        const readable = r.ok || /whole number|above 2\^53/.test(r.error);
        expect(signed.test(text)).toBe(readable);
        expect(unsigned.test(text)).toBe(readable && !text.trimStart().startsWith('-'));
      }),
      { numRuns: 5000 },
    );
  });
});
