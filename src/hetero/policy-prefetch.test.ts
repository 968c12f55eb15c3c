import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICIES } from './policy.js';
import { createPrefetch } from './policy-prefetch.js';

const base = DEFAULT_POLICIES.prefetch;
const masks = () => ({
  faulted: new Uint8Array(512),
  resident: new Uint8Array(512),
  out: new Uint8Array(512),
});
const set = (m: Uint8Array, ...pages: number[]) => {
  for (const p of pages) m[p] = 1;
};
const ones = (m: Uint8Array) => [...m.keys()].filter((i) => m[i] === 1);

describe('tree prefetch (uvm_perf_prefetch.c, threshold 51%)', () => {
  const tree = createPrefetch({ ...base, policy: 'tree' });

  it('one fault brings the rest of its 64 KiB big page, no more (16 of 32 is not above 51%)', () => {
    const m = masks();
    set(m.faulted, 0);
    expect(tree.expand(m.faulted, m.resident, 0, 512, m.out)).toBe(15);
    expect(ones(m.out)).toEqual([...Array(15).keys()].map((i) => i + 1));
  });

  it('faults in two big pages fill 32 pages; three fill 64 (48 of 64 = 75%)', () => {
    let m = masks();
    set(m.faulted, 0, 16);
    expect(tree.expand(m.faulted, m.resident, 0, 512, m.out)).toBe(30);
    m = masks();
    set(m.faulted, 0, 16, 32);
    expect(tree.expand(m.faulted, m.resident, 0, 512, m.out)).toBe(61);
    expect(m.out[63]).toBe(1);
    expect(m.out[64]).toBe(0);
  });

  it('resident pages count: half the block resident and one fault bring the whole block', () => {
    const m = masks();
    m.resident.fill(1, 0, 256);
    set(m.faulted, 256);
    // 256 resident + the faulted big page = 272 of 512 = 53% > 51%: the block, less what is there.
    expect(tree.expand(m.faulted, m.resident, 0, 512, m.out)).toBe(255);
  });

  it('subtrees are cut to the allowed pages (the VMA)', () => {
    const m = masks();
    set(m.faulted, 0, 16, 32, 48);
    // [0, 128) cut to [0, 100): 64 of 100 pages > 51%.
    expect(tree.expand(m.faulted, m.resident, 0, 100, m.out)).toBe(96);
    expect(m.out[99]).toBe(1);
    expect(m.out[100]).toBe(0);
  });

  it('a higher threshold prefetches less', () => {
    const strict = createPrefetch({ ...base, policy: 'tree', threshold: 80 });
    const m = masks();
    set(m.faulted, 0, 16, 32); // 48 of 64 = 75%: not above 80%
    expect(strict.expand(m.faulted, m.resident, 0, 512, m.out)).toBe(45);
  });
});

describe('sequential and none', () => {
  it('sequential brings the next 64 KiB after each fault, within the allowed pages', () => {
    const seq = createPrefetch({ ...base, policy: 'sequential' });
    let m = masks();
    set(m.faulted, 10);
    expect(seq.expand(m.faulted, m.resident, 0, 20, m.out)).toBe(9);
    m = masks();
    set(m.faulted, 0, 5);
    m.resident[7] = 1;
    expect(seq.expand(m.faulted, m.resident, 0, 512, m.out)).toBe(19); // 1..21 less 5 and 7
  });

  it('none brings nothing', () => {
    const m = masks();
    set(m.faulted, 1, 2, 3);
    expect(createPrefetch(base).expand(m.faulted, m.resident, 0, 512, m.out)).toBe(0);
  });
});
