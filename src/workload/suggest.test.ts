import { describe, expect, it } from 'vitest';
import { byCloseness, closestMatch, didYouMean, editDistance } from './suggest.js';

describe('suggest', () => {
  it('measures edit distance, ignoring case', () => {
    expect(editDistance('size', 'size')).toBe(0);
    expect(editDistance('sise', 'size')).toBe(1);
    expect(editDistance('sizee', 'size')).toBe(1);
    expect(editDistance('rssanon', 'RssAnon')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('orders candidates closest first, ties in their given order', () => {
    expect(byCloseness('RssAnnon', ['VmRSS', 'RssShmem', 'RssAnon', 'RssFile'])).toEqual([
      'RssAnon',
      'RssShmem',
      'RssFile',
      'VmRSS',
    ]);
  });

  it('suggests only likely misspellings', () => {
    expect(closestMatch('mmapp', ['spawn', 'mmap', 'munmap'])).toBe('mmap');
    expect(closestMatch('xyz', ['spawn', 'mmap'])).toBeUndefined();
    expect(didYouMean('wrte', ['read', 'write', 'exec'])).toBe("; did you mean 'write'?");
    expect(didYouMean('zzz', ['read', 'write'])).toBe('');
    expect(didYouMean('a', [])).toBe('');
  });
});
