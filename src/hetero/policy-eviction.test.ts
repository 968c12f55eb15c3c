import { describe, expect, it } from 'vitest';
import { Rng } from '../lib/rng.js';
import { createEviction } from './policy-eviction.js';

const rng = () => new Rng(7);

describe('eviction policies', () => {
  it('none never names a victim, but counts pages', () => {
    const p = createEviction('none', rng);
    p.allocated(3);
    p.allocated(3);
    expect(p.victim()).toBe(-1);
    expect(p.pages(3)).toBe(2);
  });

  it('lru evicts the chunk least recently allocated into (UVM root-chunk list)', () => {
    const p = createEviction('lru', rng);
    expect(p.victim()).toBe(-1);
    p.allocated(0);
    p.allocated(1);
    p.allocated(2);
    expect(p.victim()).toBe(0);
    p.allocated(0); // chunk 0 used again: to the tail
    expect(p.victim()).toBe(1);
    p.touched(1);
    expect(p.victim()).toBe(2);
  });

  it('lru: freeing a page keeps the chunk in place; its last page takes it off', () => {
    const p = createEviction('lru', rng);
    p.allocated(5);
    p.allocated(5);
    p.allocated(6);
    p.freed(5);
    expect(p.victim()).toBe(5);
    expect(p.pages(5)).toBe(1);
    p.freed(5);
    expect(p.pages(5)).toBe(0);
    expect(p.victim()).toBe(6);
    p.freed(6);
    expect(p.victim()).toBe(-1);
  });

  it('freeing a page of an empty chunk is a broken invariant', () => {
    const p = createEviction('lru', rng);
    expect(() => p.freed(1)).toThrow(/holds no pages/);
  });

  it('random picks only chunks that hold pages, reproducibly from its seed', () => {
    const picks = (seed: number) => {
      const p = createEviction('random', () => new Rng(seed));
      for (const c of [10, 11, 12, 13]) p.allocated(c);
      const out: number[] = [];
      for (let i = 0; i < 32; i++) out.push(p.victim());
      return out;
    };
    const a = picks(1);
    expect(a).toEqual(picks(1));
    expect(new Set(a)).toEqual(new Set([10, 11, 12, 13])); // 32 draws over 4: all seen
    const p = createEviction('random', rng);
    expect(p.victim()).toBe(-1);
  });

  it('only random draws from the stream', () => {
    let forks = 0;
    const counting = () => {
      forks++;
      return new Rng(1);
    };
    createEviction('lru', counting);
    createEviction('none', counting);
    expect(forks).toBe(0);
    createEviction('random', counting);
    expect(forks).toBe(1);
  });
});

describe('pinned chunks', () => {
  it('are never the victim; with every chunk pinned there is none', () => {
    const lru = createEviction('lru', rng);
    const rnd = createEviction('random', rng);
    for (const p of [lru, rnd]) {
      p.allocated(0);
      p.allocated(1);
      p.allocated(2);
    }
    expect(lru.victim(new Set([0]))).toBe(1);
    for (let i = 0; i < 16; i++) expect(rnd.victim(new Set([0, 2]))).toBe(1);
    expect(lru.victim(new Set([0, 1, 2]))).toBe(-1);
    expect(rnd.victim(new Set([0, 1, 2]))).toBe(-1);
  });
});
