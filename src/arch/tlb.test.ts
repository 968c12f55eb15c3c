import { describe, expect, it } from 'vitest';
import { TlbPerm } from './pmap.js';
import { Tlb } from './tlb.js';

/** The access path's hit (mm/access.ts): a hit re-stamps the slot as most recently used. */
function touch(t: Tlb, asid: number, vpn: number): boolean {
  const s = t.probe(asid, vpn);
  if (s < 0) return false;
  t.stamp[s] = ++t.clock;
  return true;
}

describe('Tlb', () => {
  it('requires a power-of-two number of sets', () => {
    expect(() => new Tlb({ entries: 64, ways: 4 })).not.toThrow();
    expect(() => new Tlb({ entries: 48, ways: 4 })).toThrow(/power-of-two/); // 12 sets
    expect(() => new Tlb({ entries: 64, ways: 5 })).toThrow(/power-of-two/); // 12.8 sets
    expect(() => new Tlb({ entries: 0, ways: 4 })).toThrow(/power-of-two/); // 0 sets
    const t = new Tlb({ entries: 1536, ways: 12 }); // 128 sets, like a 12-way STLB
    expect([t.sets, t.ways, t.setMask]).toEqual([128, 12, 127]);
  });

  it('misses when empty and hits after a fill, with the filled translation', () => {
    const t = new Tlb({ entries: 16, ways: 4 });
    expect(t.probe(1, 0x1234)).toBe(-1);
    expect(t.occupancy).toBe(0);
    t.fill(1, 0x1234, 777, TlbPerm.write | TlbPerm.dirty);
    const s = t.probe(1, 0x1234);
    expect(s).toBeGreaterThanOrEqual(0);
    // vpn 0x1234 lives in set 0x1234 & 3 = 0: slots 0..3.
    expect(Math.floor(s / 4)).toBe(0);
    expect([t.vpn[s], t.asid[s], t.pfn[s], t.perm[s]]).toEqual([
      0x1234,
      1,
      777,
      TlbPerm.write | TlbPerm.dirty,
    ]);
    expect(t.occupancy).toBe(1);
    // probe counts nothing.
    expect([t.hits, t.misses]).toEqual([0, 0]);
  });

  it('refreshes an existing entry in place instead of duplicating it', () => {
    const t = new Tlb({ entries: 8, ways: 4 });
    t.fill(1, 4, 10, 0);
    const s = t.probe(1, 4);
    t.fill(1, 4, 11, TlbPerm.write);
    expect(t.probe(1, 4)).toBe(s);
    expect([t.pfn[s], t.perm[s], t.occupancy]).toEqual([11, TlbPerm.write, 1]);
  });

  it('handles vpns above 2^32 (5-level user space)', () => {
    const t = new Tlb({ entries: 16, ways: 2 });
    const big = 2 ** 43 + 5;
    t.fill(1, big, 3, 0);
    t.fill(1, 5, 4, 0); // same set (low bits 5), different tag
    expect(t.pfn[t.probe(1, big)]).toBe(3);
    expect(t.pfn[t.probe(1, 5)]).toBe(4);
    expect(t.probe(1, big + 8)).toBe(-1);
  });

  it('evicts the least recently filled entry of a full set', () => {
    const t = new Tlb({ entries: 16, ways: 4 }); // 4 sets
    // vpns 0, 4, 8, 12, 16 all map to set 0.
    for (const v of [0, 4, 8, 12]) t.fill(1, v, 100 + v, 0);
    t.fill(1, 16, 116, 0);
    expect(t.probe(1, 0)).toBe(-1);
    for (const v of [4, 8, 12, 16]) expect(t.pfn[t.probe(1, v)]).toBe(100 + v);
    t.fill(1, 20, 120, 0);
    expect(t.probe(1, 4)).toBe(-1);
    // Other sets are untouched by the eviction.
    expect(t.occupancy).toBe(4);
  });

  it('evicts the least recently used entry once hits re-stamp their slots', () => {
    const t = new Tlb({ entries: 16, ways: 4 });
    for (const v of [0, 4, 8, 12]) t.fill(1, v, v, 0);
    // Use 0 and 4 again: 8 is now the least recently used.
    expect(touch(t, 1, 0)).toBe(true);
    expect(touch(t, 1, 4)).toBe(true);
    t.fill(1, 16, 16, 0);
    expect(t.probe(1, 8)).toBe(-1);
    expect(t.probe(1, 12)).toBeGreaterThanOrEqual(0);
    // Then 12, then 0.
    t.fill(1, 20, 20, 0);
    expect(t.probe(1, 12)).toBe(-1);
    t.fill(1, 24, 24, 0);
    expect(t.probe(1, 0)).toBe(-1);
    expect([4, 16, 20, 24].map((v) => t.probe(1, v) >= 0)).toEqual([true, true, true, true]);
  });

  it('probe alone does not change the LRU order', () => {
    const t = new Tlb({ entries: 4, ways: 4 }); // one set
    for (const v of [1, 2, 3, 4]) t.fill(1, v, v, 0);
    const stamps = Array.from(t.stamp);
    for (let i = 0; i < 10; i++) t.probe(1, 1);
    expect(Array.from(t.stamp)).toEqual(stamps);
    t.fill(1, 5, 5, 0);
    expect(t.probe(1, 1)).toBe(-1);
  });

  it('fills an empty slot before evicting, also one emptied by a flush', () => {
    const t = new Tlb({ entries: 4, ways: 4 });
    for (const v of [1, 2, 3, 4]) t.fill(1, v, v, 0);
    t.flushPage(1, 3); // the newest but one; its slot is free now
    t.fill(1, 5, 5, 0);
    expect([1, 2, 4, 5].map((v) => t.probe(1, v) >= 0)).toEqual([true, true, true, true]);
    expect(t.occupancy).toBe(4);
  });

  it('keeps address spaces apart', () => {
    const t = new Tlb({ entries: 16, ways: 4 });
    t.fill(1, 42, 1000, TlbPerm.write);
    expect(t.probe(2, 42)).toBe(-1);
    t.fill(2, 42, 2000, 0);
    expect(t.pfn[t.probe(1, 42)]).toBe(1000);
    expect(t.pfn[t.probe(2, 42)]).toBe(2000);
    expect(t.perm[t.probe(2, 42)]).toBe(0);
    expect(t.occupancy).toBe(2);
  });

  it('flushPage drops one page of one address space only', () => {
    const t = new Tlb({ entries: 16, ways: 4 });
    t.fill(1, 8, 1, 0);
    t.fill(2, 8, 2, 0);
    t.fill(1, 12, 3, 0); // same set as 8
    t.fill(1, 9, 4, 0); // another set
    t.flushPage(1, 8);
    expect(t.probe(1, 8)).toBe(-1);
    expect([t.probe(2, 8), t.probe(1, 12), t.probe(1, 9)].every((s) => s >= 0)).toBe(true);
    expect(t.occupancy).toBe(3);
    t.flushPage(1, 8); // flushing an absent page is harmless
    t.flushPage(3, 9);
    expect(t.occupancy).toBe(3);
  });

  it('flushAsid drops every page of one address space only', () => {
    const t = new Tlb({ entries: 64, ways: 4 });
    for (let v = 0; v < 20; v++) {
      t.fill(1, v, v, 0);
      if (v % 2 === 0) t.fill(2, v, 100 + v, 0);
    }
    expect(t.occupancy).toBe(30);
    t.flushAsid(1);
    for (let v = 0; v < 20; v++) {
      expect(t.probe(1, v)).toBe(-1);
      expect(t.probe(2, v) >= 0).toBe(v % 2 === 0);
    }
    expect(t.occupancy).toBe(10);
    // Refilling after a flush works and is counted once.
    t.fill(1, 3, 3, 0);
    t.fill(1, 3, 3, 0);
    expect(t.occupancy).toBe(11);
    t.flushAsid(2);
    t.flushAsid(1);
    expect(t.occupancy).toBe(0);
    for (let v = 0; v < 20; v++) expect(t.probe(2, v)).toBe(-1);
  });
});

describe('Tlb: 2 MiB entries', () => {
  it('one entry serves the 512 pages of a huge page; invlpg of any of them drops it', () => {
    const tlb = new Tlb({ entries: 64, ways: 4 });
    tlb.fillHuge(1, 1024, 4096, TlbPerm.write | TlbPerm.dirty);
    expect(tlb.huge).toBe(1);
    expect(tlb.occupancy).toBe(1);
    for (const v of [1024, 1025, 1535]) expect(tlb.probeHuge(1, v)).toBeGreaterThanOrEqual(0);
    expect(tlb.probeHuge(1, 1536)).toBe(-1);
    expect(tlb.probeHuge(2, 1024)).toBe(-1); // another address space
    expect(tlb.probe(1, 1024)).toBe(-1); // no 4 KiB tag reaches it
    tlb.flushPage(1, 1300);
    expect([tlb.probeHuge(1, 1024), tlb.huge, tlb.occupancy]).toEqual([-1, 0, 0]);
  });

  it('a full flush of the address space drops huge entries and keeps the count right', () => {
    const tlb = new Tlb({ entries: 64, ways: 4 });
    tlb.fillHuge(1, 0, 0, 0);
    tlb.fillHuge(2, 512, 512, 0);
    tlb.fill(1, 7, 7, 0);
    tlb.flushAsid(1);
    expect([tlb.huge, tlb.occupancy, tlb.probeHuge(2, 600)]).toEqual([1, 1, tlb.probeHuge(2, 512)]);
  });

  it('a 4 KiB fill that evicts a huge entry lowers the count', () => {
    const tlb = new Tlb({ entries: 4, ways: 4 }); // one set
    tlb.fillHuge(1, 0, 0, 0);
    for (let v = 1; v <= 4; v++) tlb.fill(1, v, v, 0);
    expect([tlb.huge, tlb.probeHuge(1, 0)]).toEqual([0, -1]);
  });
});

describe('Tlb: 1 GiB entries', () => {
  const G = 512 * 512;

  it('one entry serves the 262144 pages of a 1 GiB page, with the page offset in lastSub', () => {
    const tlb = new Tlb({ entries: 64, ways: 4 });
    tlb.fillGiant(1, 3 * G, 5 * G, TlbPerm.write | TlbPerm.dirty);
    expect([tlb.huge, tlb.occupancy]).toEqual([1, 1]);
    const s = tlb.probeHuge(1, 3 * G + 1000);
    expect(s).toBeGreaterThanOrEqual(0);
    expect([tlb.pfn[s], tlb.lastSub]).toEqual([5 * G, 1000]);
    expect(tlb.probeHuge(1, 4 * G)).toBe(-1);
    expect(tlb.probeHuge(1, 3 * G - 1)).toBe(-1);
    expect(tlb.probe(1, 3 * G)).toBe(-1);
  });

  it('a 2 MiB entry inside the same 1 GiB is found first; invlpg drops both', () => {
    const tlb = new Tlb({ entries: 64, ways: 4 });
    tlb.fillGiant(1, 0, 0, 0);
    tlb.fillHuge(1, 512, 9 * 512, 0);
    expect(tlb.pfn[tlb.probeHuge(1, 700)]).toBe(9 * 512);
    expect(tlb.lastSub).toBe(700 - 512);
    expect(tlb.pfn[tlb.probeHuge(1, 1500)]).toBe(0);
    tlb.flushPage(1, 600);
    expect([tlb.huge, tlb.occupancy, tlb.probeHuge(1, 5)]).toEqual([0, 0, -1]);
  });
});

describe('Tlb: 64 KiB entries (a device MMU’s big pages)', () => {
  it('one entry covers the 16 pages of a big page; invlpg of any of them drops it', () => {
    const tlb = new Tlb({ entries: 64, ways: 4 });
    tlb.fillBig(1, 0x1230, 0x8000, 1);
    expect(tlb.probe(1, 0x1235)).toBe(-1); // no 4 KiB tag reaches it
    const s = tlb.probeLarge(1, 0x1235);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(tlb.lastSub).toBe(5);
    expect(tlb.pfn[s]).toBe(0x8000);
    expect(tlb.slotSpan(s)).toEqual({ vpn: 0x1230, pages: 16 });
    expect(tlb.probeLarge(1, 0x1240)).toBe(-1);
    expect(tlb.probeLarge(2, 0x1235)).toBe(-1);
    expect(tlb.huge).toBe(1);
    tlb.flushPage(1, 0x123f);
    expect(tlb.probeLarge(1, 0x1230)).toBe(-1);
    expect(tlb.huge).toBe(0);
  });

  it('finds 2 MiB entries too, and a full flush of the address space drops big ones', () => {
    const tlb = new Tlb({ entries: 64, ways: 4 });
    tlb.fillHuge(3, 0x400, 0x10000, 0);
    tlb.fillBig(3, 0x800, 0x20000, 0);
    const s = tlb.probeLarge(3, 0x401);
    expect(tlb.slotSpan(s)).toEqual({ vpn: 0x400, pages: 512 });
    expect(tlb.lastSub).toBe(1);
    tlb.flushAsid(3);
    expect(tlb.huge).toBe(0);
    expect(tlb.occupancy).toBe(0);
  });
});
