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
  // xoshiro128** state: four 32-bit words, never all zero. Held in an Int32Array so that the
  // hot path stores raw words instead of boxing numbers above 2^30.
  private readonly st = new Int32Array(4);

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
    this.st[0] = next();
    this.st[1] = next();
    this.st[2] = next();
    this.st[3] = next();
    // splitmix32 is a bijection of distinct inputs, so four zero words cannot occur; the guard
    // keeps that reasoning out of the generator's correctness.
    if ((this.st[0] | this.st[1] | this.st[2] | this.st[3]) === 0) this.st[0] = 1;
  }

  /** A generator with the exact xoshiro128** state given (for test vectors and snapshots).
   *  The words are taken mod 2^32 and must not all be zero. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    if ((s0 | s1 | s2 | s3) >>> 0 === 0) throw new RangeError('Rng.fromState: state is all zero');
    const r = new Rng(0);
    r.st[0] = s0 >>> 0;
    r.st[1] = s1 >>> 0;
    r.st[2] = s2 >>> 0;
    r.st[3] = s3 >>> 0;
    return r;
  }

  /** The four state words, unsigned (for snapshots and tests); fromState restores them. */
  state(): [number, number, number, number] {
    const st = this.st;
    return [st[0] >>> 0, st[1] >>> 0, st[2] >>> 0, st[3] >>> 0];
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    const st = this.st;
    const s0 = st[0];
    const s1 = st[1];
    const s2 = st[2] ^ s0;
    const s3 = st[3] ^ s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    st[0] = s0 ^ s3;
    st[1] = s1 ^ s2;
    st[2] = s2 ^ (s1 << 9);
    st[3] = rotl(s3, 11);
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
    const child = Rng.fromState(this.st[0], this.st[1], this.st[2], this.st[3]);
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
          a ^= this.st[0];
          b ^= this.st[1];
          c ^= this.st[2];
          d ^= this.st[3];
        }
        this.nextU32();
      }
    }
    this.st[0] = a >>> 0;
    this.st[1] = b >>> 0;
    this.st[2] = c >>> 0;
    this.st[3] = d >>> 0;
  }
}
