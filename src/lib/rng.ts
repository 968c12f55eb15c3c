// A seeded, deterministic pseudo-random number generator: xoshiro128** (Blackman and Vigna),
// its 128-bit state filled from a 32-bit seed by splitmix32. Simulation runs must replay
// exactly from their seed, so nothing in vmlab draws from Math.random.
//
// Streams. `fork()` hands the caller's current stream to a child and moves the parent 2^64
// draws ahead (xoshiro's jump function), so parent and child never overlap: a component can be
// given its own stream without perturbing the draws of any other.

const TWO_32 = 0x1_0000_0000;
const TWO_53 = 2 ** 53;

/** xoshiro128**'s jump polynomial: applying it advances the state by 2^64 steps. */
const JUMP = [0x8764000b, 0xf542d2d3, 0x6fa035c3, 0x77f2db5b] as const;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Rng {
  // xoshiro128** state: four 32-bit words, never all zero.
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Seeds from the low 32 bits of the integer `seed`; equal seeds give equal streams. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Rng: seed must be an integer, got ${seed}`);
    // splitmix32: a Weyl sequence through an avalanching mix, one word per step.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // splitmix32 is a bijection of distinct inputs, so four zero words cannot occur; the guard
    // keeps that reasoning out of the generator's correctness.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator with the exact xoshiro128** state given (for test vectors and snapshots).
   *  The words are taken mod 2^32 and must not all be zero. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    if (((s0 | s1 | s2 | s3) >>> 0) === 0) throw new RangeError('Rng.fromState: state is all zero');
    const r = new Rng(0);
    r.s0 = s0 >>> 0;
    r.s1 = s1 >>> 0;
    r.s2 = s2 >>> 0;
    r.s3 = s3 >>> 0;
    return r;
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2 ^ s0;
    const s3 = this.s3 ^ s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    this.s0 = (s0 ^ s3) >>> 0;
    this.s1 = (s1 ^ s2) >>> 0;
    this.s2 = (s2 ^ (s1 << 9)) >>> 0;
    this.s3 = rotl(s3, 11) >>> 0;
    return result;
  }

  /** Uniform in [0, 1), with 53 random bits (every multiple of 2^-53 equally likely). */
  nextFloat(): number {
    const hi = this.nextU32() >>> 6; // 26 bits
    const lo = this.nextU32() >>> 5; // 27 bits
    return (hi * 0x800_0000 + lo) / TWO_53;
  }

  /**
   * Uniform integer in [0, n), for an integer 1 <= n <= 2^53. Unbiased: draws that fall in
   * the incomplete last block of n values are rejected and redrawn (fewer than half of draws,
   * in the worst case, so the expected number of draws is under two).
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_53) {
      throw new RangeError(`Rng.nextInt: n must be an integer in [1, 2^53], got ${n}`);
    }
    if (n <= TWO_32) {
      // Largest multiple of n that is <= 2^32; draws at or above it are the biased tail.
      const limit = TWO_32 - (TWO_32 % n);
      for (;;) {
        const u = this.nextU32();
        if (u < limit) return u % n;
      }
    }
    // 53-bit draws; doubles hold every integer below 2^53 exactly, and % on them is exact.
    const limit = TWO_53 - (TWO_53 % n);
    for (;;) {
      const u = (this.nextU32() >>> 11) * TWO_32 + this.nextU32();
      if (u < limit) return u % n;
    }
  }

  /** Returns a generator on this one's current stream and advances this one by 2^64 draws,
   *  so the two never produce overlapping sequences. Deterministic: the same history of
   *  draws and forks gives the same streams. */
  fork(): Rng {
    const child = Rng.fromState(this.s0, this.s1, this.s2, this.s3);
    this.jump();
    return child;
  }

  /** Advances the state by 2^64 steps: the sum (over GF(2)) of the states reached at the
   *  steps named by the jump polynomial's bits. */
  private jump(): void {
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (const word of JUMP) {
      for (let bit = 0; bit < 32; bit++) {
        if ((word >>> bit) & 1) {
          a ^= this.s0;
          b ^= this.s1;
          c ^= this.s2;
          d ^= this.s3;
        }
        this.nextU32();
      }
    }
    this.s0 = a >>> 0;
    this.s1 = b >>> 0;
    this.s2 = c >>> 0;
    this.s3 = d >>> 0;
  }
}
