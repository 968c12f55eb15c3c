// Byte sizes as people write them in scenario files: 4096, 0x1000, 4KiB, 4 KiB, 4kB, -64KiB, 1.5GiB.
// Units are binary (K, KB, kB and KiB all mean 1024, as Linux prints kB in /proc); decimal MB/GB
// are refused rather than guessed. Results are exact integers: of at most 2^53 in magnitude, or
// up to 2^57 (5-level paging's address space) when a multiple of 4 KiB, which a double holds
// exactly (a page number below 2^45 times 2^12).
// The same unit table gives the JSON Schema pattern (sizePattern), so the schema and the parser agree.

import { GiB, KiB, MiB, TiB } from './units.js';

export type SizeResult =
  | { readonly ok: true; readonly value: number }
  | { readonly ok: false; readonly error: string };

/** Bytes per unit suffix. */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  B: 1,
  K: KiB,
  KB: KiB,
  kB: KiB,
  KiB,
  M: MiB,
  MiB,
  G: GiB,
  GiB,
  T: TiB,
  TiB,
};

/** The unit suffixes parseSize accepts, as written. */
export const SIZE_UNITS: readonly string[] = Object.keys(UNIT_BYTES);

/** Largest magnitude accepted for any value: addresses are JavaScript numbers, exact to 2^53. */
export const MAX_SIZE = 2 ** 53;
const MAX_SIZE_BIG = 2n ** 53n;
/** Largest magnitude accepted for a multiple of 4 KiB: 57-bit addresses (x86-64 5-level). */
export const MAX_PAGED_SIZE = 2 ** 57;
const MAX_PAGED_BIG = 2n ** 57n;
const TOO_LARGE = 'above 2^53 bytes (up to 2^57 if a multiple of 4 KiB)';
/** Longer digit strings are certainly above MAX_SIZE; refusing them early bounds the work. */
const MAX_DIGITS = 40;

// Groups: 1 sign, 2 hex digits, 3 integer digits, 4 fraction digits, 5 unit letters (checked apart,
// so that an unknown unit gets its own message).
const SIZE_SYNTAX = /^(-?)(?:0[xX]([0-9a-fA-F]+)|([0-9]+)(?:\.([0-9]+))?[ \t]*([A-Za-z]+)?)$/;

/**
 * An ECMA-262 pattern matching the strings parseSize reads (whole-byte and range checks aside),
 * with surrounding spaces and tabs; `signed` admits a leading '-'.
 */
export function sizePattern(signed: boolean): string {
  const units = [...SIZE_UNITS].sort((a, b) => b.length - a.length).join('|');
  const number = `(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\\.[0-9]+)?[ \\t]*(?:${units})?)`;
  return `^[ \\t]*${signed ? '-?' : ''}${number}[ \\t]*$`;
}

/**
 * Parse a size. Numbers must be whole; strings follow the syntax above. Never throws.
 * bigint is accepted for YAML parsed with intAsBigInt (exact beyond 2^53).
 */
export function parseSize(text: string | number | bigint): SizeResult {
  if (typeof text === 'number') return fromNumber(text);
  if (typeof text === 'bigint') return fromBig(text, String(text));
  const trimmed = text.replace(/^[ \t]+|[ \t]+$/g, '');
  const m = SIZE_SYNTAX.exec(trimmed);
  if (m === null) return fail(trimmed === '' ? 'empty size' : `'${text}' is not a size`);
  const [, sign, hex, int, frac = '', unit] = m;
  if ((hex ?? int ?? '').length + frac.length > MAX_DIGITS) return fail(`'${trimmed}' is ${TOO_LARGE}`);
  let bytes: bigint;
  if (hex !== undefined) {
    bytes = BigInt(`0x${hex}`);
  } else {
    // '0x' with no hex digits is a broken hex number, not a unit called 'x'.
    if (unit !== undefined && /^[xX]/.test(unit) && int === '0') return fail(`'${text}' is not a size`);
    if (unit !== undefined && !Object.hasOwn(UNIT_BYTES, unit)) return fail(unknownUnit(unit));
    const scale = 10n ** BigInt(frac.length);
    const scaled = BigInt(int + frac) * BigInt(unit === undefined ? 1 : UNIT_BYTES[unit]);
    if (scaled % scale !== 0n) return fail(`'${trimmed}' is not a whole number of bytes`);
    bytes = scaled / scale;
  }
  return fromBig(sign === '-' ? -bytes : bytes, trimmed);
}

function fromNumber(n: number): SizeResult {
  if (!Number.isFinite(n)) return fail(`${n} is not a size`);
  if (!Number.isInteger(n)) return fail(`${n} is not a whole number of bytes`);
  // Past 2^53 a double may already be rounded; only a multiple of 4 KiB up to 2^57 is exact
  // (what YAML and JSON give as numbers is seen after rounding: the bigint path is exact).
  if (Math.abs(n) > MAX_SIZE && (Math.abs(n) > MAX_PAGED_SIZE || n % 4096 !== 0))
    return fail(`${n} is ${TOO_LARGE}`);
  return { ok: true, value: n === 0 ? 0 : n };
}

function fromBig(n: bigint, shown: string): SizeResult {
  const mag = n < 0n ? -n : n;
  if (mag > MAX_SIZE_BIG && (mag > MAX_PAGED_BIG || mag % 4096n !== 0n))
    return fail(`'${shown}' is ${TOO_LARGE}`);
  const value = Number(n);
  return { ok: true, value: value === 0 ? 0 : value };
}

function unknownUnit(unit: string): string {
  const binary = `${unit[0].toUpperCase()}iB`;
  const hint = Object.hasOwn(UNIT_BYTES, binary) && unit.length <= 3 ? `did you mean ${binary}? ` : '';
  return `unknown unit '${unit}' (${hint}units are binary: ${SIZE_UNITS.join(', ')})`;
}

function fail(error: string): SizeResult {
  return { ok: false, error };
}
