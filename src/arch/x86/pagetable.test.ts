import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PhysMem } from '../../phys/physmem.js';
import { Access, PteAttr, TlbPerm, WalkStatus } from '../pmap.js';
import { X86PageTable } from './pagetable.js';
import { swpEntry, X86, X86Hi } from './pte.js';
import { TablePool } from './table-pool.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Pages mapped by one table of each level (one PMD entry maps a PTE table's span, and so on). */
const PTE_TABLE = 512; // 2 MiB
const PMD_TABLE = 512 ** 2; // 1 GiB
const PUD_TABLE = 512 ** 3; // 512 GiB
const P4D_TABLE = 512 ** 4; // 256 TiB

function setup(levels: 4 | 5 = 4, bytes = 64 * MiB) {
  const phys = new PhysMem([bytes]);
  const pool = new TablePool(phys, 4);
  const free0 = phys.freePages;
  const blocks0 = freeBlocks(phys);
  const pt = new X86PageTable(pool, phys.frames.owner, levels);
  return { phys, pool, pt, free0, blocks0 };
}

/** The buddy allocator's free blocks as sorted "pfn/order" strings. */
function freeBlocks(phys: PhysMem): string[] {
  const out: string[] = [];
  phys.forEachFree((pfn, order) => out.push(`${pfn}/${order}`));
  return out.sort();
}

function map(pt: X86PageTable, vpn: number, pfn: number, attrs: number = PteAttr.write): number {
  const h = pt.pteAlloc(vpn);
  expect(h).toBeGreaterThanOrEqual(0);
  pt.pteSet(h, pfn, attrs);
  return h;
}

function counters(pt: X86PageTable): { pgtablesBytes: number; tablePages: number } {
  return { pgtablesBytes: pt.pgtablesBytes, tablePages: pt.tablePages };
}

/** The raw 64-bit entry of a PTE handle. */
function raw(pool: TablePool, h: number): [number, number] {
  return [pool.words[h * 2], pool.words[h * 2 + 1]];
}

/** Leaves in [start, end) as [vpn, pfn, attrs, order]. */
function leaves(pt: X86PageTable, start: number, end: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  pt.forEachLeaf(start, end, (vpn, pfn, attrs, order) => out.push([vpn, pfn, attrs, order]));
  return out;
}

describe('X86PageTable: table accounting (VmPTE)', () => {
  it('starts with only the top-level table, which VmPTE does not count', () => {
    for (const levels of [4, 5] as const) {
      const { phys, pool, pt, free0 } = setup(levels);
      expect(pt.ok).toBe(true);
      expect(pt.levels).toBe(levels);
      expect(pt.vpnLimit).toBe(levels === 4 ? 2 ** 35 : 2 ** 44); // 128 TiB / 64 PiB of user space
      expect(counters(pt)).toEqual({ pgtablesBytes: 0, tablePages: 1 });
      expect(pt.countTables()).toEqual(counters(pt));
      expect(pool.live).toBe(1);
      expect(phys.freePages).toBe(free0 - 1);
    }
  });

  it('4-level: one page costs a PUD, a PMD and a PTE table (12 KiB) plus the PGD', () => {
    const { phys, pool, pt, free0 } = setup(4);
    const v = 0x12345;
    map(pt, v, 1);
    expect(counters(pt)).toEqual({ pgtablesBytes: 12 * KiB, tablePages: 4 });
    expect(pool.live).toBe(4);
    expect(phys.freePages).toBe(free0 - 4);
    // Same PTE table: nothing new.
    map(pt, v ^ 1, 2);
    map(pt, v - (v % PTE_TABLE) + 511, 3);
    expect(counters(pt)).toEqual({ pgtablesBytes: 12 * KiB, tablePages: 4 });
    // Next PTE table under the same PMD table.
    map(pt, v + PTE_TABLE, 4);
    expect(counters(pt)).toEqual({ pgtablesBytes: 16 * KiB, tablePages: 5 });
    // Another PUD entry: a PMD and a PTE table.
    map(pt, v + PMD_TABLE, 5);
    expect(counters(pt)).toEqual({ pgtablesBytes: 24 * KiB, tablePages: 7 });
    // Another PGD entry: PUD, PMD and PTE tables.
    map(pt, v + PUD_TABLE, 6);
    expect(counters(pt)).toEqual({ pgtablesBytes: 36 * KiB, tablePages: 10 });
    expect(pt.countTables()).toEqual(counters(pt));
    expect(pool.live).toBe(10);
    expect(phys.freePages).toBe(free0 - 10);
  });

  it('5-level: the P4D table is a table page but not part of VmPTE', () => {
    const { pool, pt } = setup(5);
    const v = 0x12345;
    map(pt, v, 1);
    expect(counters(pt)).toEqual({ pgtablesBytes: 12 * KiB, tablePages: 5 });
    // Another P4D entry: PUD, PMD, PTE.
    map(pt, v + PUD_TABLE, 2);
    expect(counters(pt)).toEqual({ pgtablesBytes: 24 * KiB, tablePages: 8 });
    // Another PGD entry: P4D (uncounted), PUD, PMD, PTE.
    map(pt, v + P4D_TABLE, 3);
    expect(counters(pt)).toEqual({ pgtablesBytes: 36 * KiB, tablePages: 12 });
    expect(pt.countTables()).toEqual(counters(pt));
    expect(pool.live).toBe(12);
  });

  it('a fully mapped, 1 GiB-aligned GiB costs 512 PTE tables + PMD + PUD = 2056 KiB', () => {
    for (const levels of [4, 5] as const) {
      const { phys, pool, pt, free0 } = setup(levels);
      const start = PMD_TABLE; // 1 GiB
      for (let v = start; v < start + PMD_TABLE; v++) pt.pteSet(pt.pteAlloc(v), v % 4096, PteAttr.write);
      expect(pt.pgtablesBytes).toBe(2056 * KiB);
      expect(pt.tablePages).toBe(514 + (levels === 5 ? 2 : 1));
      expect(pt.countTables()).toEqual(counters(pt));
      let n = 0;
      pt.zapRange(start, start + PMD_TABLE, () => n++);
      expect(n).toBe(PMD_TABLE);
      pt.freeTables(start, start + PMD_TABLE, 0, pt.vpnLimit);
      expect(counters(pt)).toEqual({ pgtablesBytes: 0, tablePages: 1 });
      expect(pool.live).toBe(1);
      expect(phys.freePages).toBe(free0 - 1);
    }
  });
});

describe('X86PageTable: hardware walk', () => {
  it('reports how many entries a not-present walk read', () => {
    for (const levels of [4, 5] as const) {
      const { pt } = setup(levels);
      const v = 0x12345;
      expect(pt.walk(v, Access.read)).toBe(WalkStatus.notPresent);
      expect(pt.walkLevels).toBe(1); // the top-level entry is empty
      pt.pteAlloc(v);
      const cases: [number, number][] = [
        [v, levels], // down to the (empty) PTE
        [v ^ 1, levels],
        [v + PTE_TABLE, levels - 1], // PMD entry empty
        [v + PMD_TABLE, levels - 2], // PUD entry empty
        [v + PUD_TABLE, levels - 3], // P4D (5-level) or PGD (4-level) entry empty
      ];
      if (levels === 5) cases.push([v + P4D_TABLE, 1]);
      // Twice, so that both a cold walk and one right after a walk of the same table are covered.
      for (const [vpn, read] of [...cases, ...cases.slice().reverse()]) {
        expect(pt.walk(vpn, Access.write)).toBe(WalkStatus.notPresent);
        expect([vpn, pt.walkLevels]).toEqual([vpn, read]);
        expect(pt.walk(vpn, Access.read)).toBe(WalkStatus.notPresent);
        expect([vpn, pt.walkLevels]).toEqual([vpn, read]);
      }
    }
  });

  it('sets the accessed bit on a read and refuses writes and execution the entry forbids', () => {
    const { pool, pt } = setup();
    const v = 0x4000;
    const h = map(pt, v, 4242, PteAttr.none); // read-only, NX, clean, not accessed
    expect(pt.pteAttrs(h)).toBe(PteAttr.none);
    expect(raw(pool, h)).toEqual([4242 * 4096 + (X86.P | X86.US), X86Hi.NX >>> 0]);

    expect(pt.walk(v, Access.write)).toBe(WalkStatus.protection);
    expect(pt.walkLevels).toBe(4);
    expect(pt.walk(v, Access.exec)).toBe(WalkStatus.protection);
    // A refused access sets neither A nor D.
    expect(pt.pteAttrs(h)).toBe(PteAttr.none);

    expect(pt.walk(v, Access.read)).toBe(WalkStatus.ok);
    expect([pt.outPfn, pt.outPerm, pt.walkLevels]).toEqual([4242, 0, 4]);
    expect(pt.pteAttrs(h)).toBe(PteAttr.accessed);
    expect(raw(pool, h)[0] & (X86.A | X86.D)).toBe(X86.A);
  });

  it('sets accessed and dirty on a write, and reports W, X and D for the TLB', () => {
    const { pool, pt } = setup();
    const v = 0x4000;
    const other = v + 5 * PTE_TABLE; // another PTE table, so walks of v alternate cold and warm
    map(pt, other, 1);
    const h = map(pt, v, 4243, PteAttr.write | PteAttr.exec);
    pt.walk(other, Access.read);
    expect(pt.walk(v, Access.read)).toBe(WalkStatus.ok);
    expect([pt.outPfn, pt.outPerm]).toEqual([4243, TlbPerm.write | TlbPerm.exec]);
    expect(pt.pteAttrs(h)).toBe(PteAttr.write | PteAttr.exec | PteAttr.accessed);
    expect(pt.walk(v, Access.exec)).toBe(WalkStatus.ok);
    expect(pt.pteAttrs(h) & PteAttr.dirty).toBe(0);

    pt.walk(other, Access.read);
    expect(pt.walk(v, Access.write)).toBe(WalkStatus.ok);
    expect([pt.outPfn, pt.outPerm]).toEqual([4243, TlbPerm.write | TlbPerm.exec | TlbPerm.dirty]);
    expect(pt.pteAttrs(h)).toBe(PteAttr.write | PteAttr.exec | PteAttr.accessed | PteAttr.dirty);
    // P | RW | US | A | D, NX clear.
    expect(raw(pool, h)).toEqual([(4243 * 4096 + 0x67) >>> 0, 0]);
    // Once dirty, a read reports D too (the TLB may then take writes without a walk).
    expect(pt.walk(v, Access.read)).toBe(WalkStatus.ok);
    expect(pt.outPerm).toBe(TlbPerm.write | TlbPerm.exec | TlbPerm.dirty);
  });

  it('treats PROT_NONE entries as not present to the hardware, present to software', () => {
    const { pool, pt } = setup();
    const h = map(pt, 77, 900, PteAttr.protnone | PteAttr.write);
    expect(pt.ptePresent(h)).toBe(true);
    expect(pt.pteNone(h)).toBe(false);
    expect(raw(pool, h)[0] & (X86.P | X86.PROTNONE)).toBe(X86.PROTNONE);
    for (const a of [Access.read, Access.write, Access.exec]) {
      expect(pt.walk(77, a)).toBe(WalkStatus.notPresent);
      expect(pt.walkLevels).toBe(4);
    }
    expect(pt.pteAttrs(h)).toBe(PteAttr.protnone | PteAttr.write);
    pt.pteUpdate(h, 0, PteAttr.protnone);
    expect(pt.walk(77, Access.write)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(900);
  });

  it('keeps pfns up to 2^40 - 1 and the special bit through set, update and clear', () => {
    const { pool, pt } = setup();
    const big = 2 ** 40 - 1;
    const h = map(pt, 3, big, PteAttr.special);
    expect(pt.ptePfn(h)).toBe(big);
    expect(raw(pool, h)[0] & X86.SPECIAL).toBe(X86.SPECIAL);
    pt.pteUpdate(h, PteAttr.write | PteAttr.dirty, PteAttr.special);
    expect([pt.ptePfn(h), pt.pteAttrs(h)]).toEqual([big, PteAttr.write | PteAttr.dirty]);
    expect(pt.walk(3, Access.read)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(big);
    expect(pt.pteClear(h)).toBe(PteAttr.write | PteAttr.dirty | PteAttr.accessed);
    expect(pt.pteNone(h)).toBe(true);
    expect(pt.ptePresent(h)).toBe(false);
    expect(pt.walk(3, Access.read)).toBe(WalkStatus.notPresent);
  });
});

describe('X86PageTable: huge leaves', () => {
  it('a PMD leaf translates every 4 KiB page inside it and sets A/D on the PMD entry', () => {
    for (const levels of [4, 5] as const) {
      const { pt } = setup(levels);
      const v = PMD_TABLE + 3 * PTE_TABLE; // 1 GiB + 6 MiB
      const pfn = 0x4_0000;
      expect(pt.hugeEnter(v, pfn, PteAttr.write)).toBe(true);
      // No PTE table in the tree: PUD and PMD, and the deposited PTE table (mm_inc_nr_ptes).
      expect(counters(pt)).toEqual({ pgtablesBytes: 12 * KiB, tablePages: 4 + (levels === 5 ? 1 : 0) });
      expect(pt.depositedTables).toBe(1);
      expect(pt.countTables()).toEqual(counters(pt));
      for (const i of [0, 1, 255, 511]) {
        expect(pt.walk(v + i, Access.read)).toBe(WalkStatus.ok);
        expect([pt.outPfn, pt.walkLevels]).toEqual([pfn + i, levels - 1]);
      }
      expect(pt.walk(v + 7, Access.exec)).toBe(WalkStatus.protection);
      expect(leaves(pt, 0, pt.vpnLimit)).toEqual([[v, pfn, PteAttr.write | PteAttr.accessed, 9]]);
      expect(pt.walk(v + 300, Access.write)).toBe(WalkStatus.ok);
      expect([pt.outPfn, pt.outPerm, pt.outOrder]).toEqual([pfn + 300, TlbPerm.write | TlbPerm.dirty, 9]);
      expect(leaves(pt, v, v + PTE_TABLE)).toEqual([
        [v, pfn, PteAttr.write | PteAttr.accessed | PteAttr.dirty, 9],
      ]);
      // Neighbours are not mapped.
      expect(pt.walk(v - 1, Access.read)).toBe(WalkStatus.notPresent);
      expect(pt.walk(v + PTE_TABLE, Access.read)).toBe(WalkStatus.notPresent);
      expect(pt.walkLevels).toBe(levels - 1);
      // No PTE handle inside a huge leaf.
      expect(pt.pteLookup(v + 5)).toBe(-1);
      expect(() => pt.pteAlloc(v + 5)).toThrow(/huge/);
      expect(() => pt.hugeEnter(v, pfn, PteAttr.none)).toThrow(/in use/);
    }
  });

  it('a PUD leaf maps 1 GiB with no PMD or PTE table', () => {
    const { pt } = setup(4);
    const v = 2 * PMD_TABLE;
    const pfn = 3 * PMD_TABLE;
    expect(pt.enterHuge(v, pfn, 18, PteAttr.none)).toBe(true);
    expect(counters(pt)).toEqual({ pgtablesBytes: 4 * KiB, tablePages: 2 });
    expect(pt.walk(v + 123_456, Access.read)).toBe(WalkStatus.ok);
    expect([pt.outPfn, pt.walkLevels]).toEqual([pfn + 123_456, 2]);
    expect(pt.walk(v + PMD_TABLE - 1, Access.read)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(pfn + PMD_TABLE - 1);
    expect(pt.walk(v, Access.write)).toBe(WalkStatus.protection);
    expect(pt.walk(v + PMD_TABLE, Access.read)).toBe(WalkStatus.notPresent);
    expect(leaves(pt, 0, pt.vpnLimit)).toEqual([[v, pfn, PteAttr.accessed, 18]]);
  });

  it('rejects unaligned huge leaves', () => {
    const { pt } = setup();
    expect(() => pt.enterHuge(PTE_TABLE + 1, 0, 9, 0)).toThrow(/aligned/);
    expect(() => pt.enterHuge(PTE_TABLE, 1, 9, 0)).toThrow(/aligned/);
    expect(() => pt.enterHuge(PTE_TABLE, PTE_TABLE, 18, 0)).toThrow(/aligned/);
  });

  it('zaps a huge leaf whole with its deposited table, and refuses to split it', () => {
    const { pt } = setup();
    const v = 4 * PTE_TABLE;
    pt.hugeEnter(v, 2 * PTE_TABLE, PteAttr.write | PteAttr.dirty);
    expect(() => pt.zapRange(v + 1, v + PTE_TABLE, () => {})).toThrow(/splits/);
    expect(() => pt.zapRange(v, v + PTE_TABLE - 1, () => {})).toThrow(/splits/);
    // A walk (no clearing) over part of it visits the leaf whole (MADV_WILLNEED over 4 KiB of a THP).
    const walked: number[][] = [];
    pt.forEachLeaf(v + 3, v + 4, (vpn, pfn, _a, order) => walked.push([vpn, pfn, order]));
    expect(walked).toEqual([[v, 2 * PTE_TABLE, 9]]);
    const seen: [number, number, number, number][] = [];
    pt.zapRange(v - 10, v + PTE_TABLE + 10, (vpn, pfn, attrs, order) => seen.push([vpn, pfn, attrs, order]));
    expect(seen).toEqual([[v, 2 * PTE_TABLE, PteAttr.write | PteAttr.dirty, 9]]);
    expect(pt.walk(v, Access.read)).toBe(WalkStatus.notPresent);
    // The PMD table stays until freeTables.
    expect(counters(pt)).toEqual({ pgtablesBytes: 8 * KiB, tablePages: 3 });
    pt.freeTables(v, v + PTE_TABLE, 0, pt.vpnLimit);
    expect(counters(pt)).toEqual({ pgtablesBytes: 0, tablePages: 1 });
  });
});

describe('X86PageTable: zapRange', () => {
  const ATTRS = [
    PteAttr.none,
    PteAttr.write,
    PteAttr.write | PteAttr.dirty | PteAttr.accessed,
    PteAttr.exec | PteAttr.accessed,
    PteAttr.special,
    PteAttr.protnone,
    PteAttr.protnone | PteAttr.write | PteAttr.dirty,
  ];

  it('visits each present leaf once, in order, clears every entry in range and nothing else', () => {
    // A window around the 512 GiB boundary: PTE, PMD and PUD tables (and, 4-level, PGD entries) change there.
    const W0 = PUD_TABLE - 1100;
    const W = 2200;
    const entry = fc.record({
      off: fc.integer({ min: 0, max: W - 1 }),
      pfn: fc.integer({ min: 0, max: 2 ** 40 - 1 }),
      kind: fc.integer({ min: 0, max: ATTRS.length }), // ATTRS.length: a swap entry
    });
    fc.assert(
      fc.property(
        fc.constantFrom<4 | 5>(4, 5),
        fc.array(entry, { maxLength: 60 }),
        fc.integer({ min: -20, max: W + 20 }),
        fc.integer({ min: 0, max: W + 40 }),
        (levels, entries, s, len) => {
          const { pool, pt } = setup(levels, 8 * MiB);
          const model = new Map<number, { pfn: number; attrs: number; swap: [number, number] | null }>();
          for (const e of entries) {
            const vpn = W0 + e.off;
            const h = pt.pteAlloc(vpn);
            if (e.kind === ATTRS.length) {
              const swp = swpEntry(e.pfn % 32, e.pfn % 2 ** 30);
              pool.words[h * 2] = swp[0];
              pool.words[h * 2 + 1] = swp[1];
              model.set(vpn, { pfn: 0, attrs: 0, swap: swp });
            } else {
              pt.pteSet(h, e.pfn, ATTRS[e.kind]);
              model.set(vpn, { pfn: e.pfn, attrs: ATTRS[e.kind], swap: null });
            }
          }
          const start = W0 + s;
          const end = start + len;
          const before = counters(pt);
          const seen: [number, number, number, number][] = [];
          pt.zapRange(start, end, (vpn, pfn, attrs, order) => seen.push([vpn, pfn, attrs, order]));
          const want = [...model.entries()]
            .filter(([vpn, m]) => vpn >= start && vpn < end && m.swap === null)
            .sort((a, b) => a[0] - b[0])
            .map(([vpn, m]): [number, number, number, number] => [vpn, m.pfn, m.attrs, 0]);
          expect(seen).toEqual(want);
          for (const [vpn, m] of model) {
            const h = pt.pteLookup(vpn);
            if (vpn >= start && vpn < end) {
              expect(pt.pteNone(h)).toBe(true);
            } else if (m.swap !== null) {
              expect(raw(pool, h)).toEqual(m.swap);
            } else {
              expect([pt.ptePfn(h), pt.pteAttrs(h)]).toEqual([m.pfn, m.attrs]);
            }
          }
          // Zapping frees no table.
          expect(counters(pt)).toEqual(before);
          expect(pt.countTables()).toEqual(before);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('X86PageTable: freeTables (free_pgd_range floor and ceiling)', () => {
  it('keeps a PTE table shared with the next VMA', () => {
    // 1024        1500  1536     1600
    //  AAAAAAAAAAAA BBBBBBBBBBBBBBB        (one PTE table spans [1024, 1536))
    const { pt } = setup();
    for (let v = 1024; v < 1600; v++) map(pt, v, v);
    expect(counters(pt)).toEqual({ pgtablesBytes: 16 * KiB, tablePages: 5 });
    pt.zapRange(1024, 1500, () => {});
    pt.freeTables(1024, 1500, 0, 1500);
    expect(counters(pt)).toEqual({ pgtablesBytes: 16 * KiB, tablePages: 5 });
    expect(pt.walk(1500, Access.read)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(1500);
    expect(pt.walk(1499, Access.read)).toBe(WalkStatus.notPresent);
    expect(pt.walkLevels).toBe(4);
  });

  it('keeps a PTE table shared with the previous VMA and frees the ones after it', () => {
    //      1024 1030   1536   2048   2560   3000
    //  PPPPPPPPPP AAAAAAAAAAAAAAAAAAAAAAAAAAAA     (P's last page 1029 shares the table at 1024)
    const { pt } = setup();
    map(pt, 1029, 1);
    for (let v = 1030; v < 3000; v++) map(pt, v, v);
    expect(counters(pt)).toEqual({ pgtablesBytes: 24 * KiB, tablePages: 7 });
    pt.zapRange(1030, 3000, () => {});
    pt.freeTables(1030, 3000, 1030, pt.vpnLimit);
    // PTE tables at 1536, 2048 and 2560 go; the one at 1024 and the PMD table (it maps P's pages) stay.
    expect(counters(pt)).toEqual({ pgtablesBytes: 12 * KiB, tablePages: 4 });
    expect(pt.countTables()).toEqual(counters(pt));
    expect(pt.walk(1029, Access.read)).toBe(WalkStatus.ok);
    expect(pt.walk(1030, Access.read)).toBe(WalkStatus.notPresent);
    expect(pt.walkLevels).toBe(4);
    for (const v of [1536, 2048, 2999]) {
      expect(pt.walk(v, Access.read)).toBe(WalkStatus.notPresent);
      expect(pt.walkLevels).toBe(3);
      expect(pt.pteLookup(v)).toBe(-1);
    }
  });

  // One PTE table [1024, 1536); neighbours at 1023 and 1536 keep their own tables in any case.
  const cases: {
    name: string;
    start: number;
    end: number;
    floor: number;
    ceiling: number;
    freed: boolean;
  }[] = [
    {
      name: 'exactly the table, neighbours adjacent',
      start: 1024,
      end: 1536,
      floor: 1024,
      ceiling: 1536,
      freed: true,
    },
    {
      name: 'previous VMA ends one page into it',
      start: 1025,
      end: 1536,
      floor: 1025,
      ceiling: 1536,
      freed: false,
    },
    {
      name: 'next VMA starts on its last page',
      start: 1024,
      end: 1535,
      floor: 1024,
      ceiling: 1535,
      freed: false,
    },
    { name: 'gaps below and above', start: 1100, end: 1200, floor: 1024, ceiling: 1536, freed: true },
    { name: 'floor one page too high', start: 1100, end: 1200, floor: 1025, ceiling: 1536, freed: false },
    { name: 'ceiling one page too low', start: 1100, end: 1200, floor: 1024, ceiling: 1535, freed: false },
  ];
  for (const c of cases) {
    it(`floor/ceiling boundary: ${c.name}`, () => {
      const { pt } = setup();
      map(pt, 1023, 1);
      map(pt, 1536, 2);
      for (let v = c.start; v < c.end; v++) map(pt, v, v);
      expect(counters(pt)).toEqual({ pgtablesBytes: 20 * KiB, tablePages: 6 });
      pt.zapRange(c.start, c.end, () => {});
      pt.freeTables(c.start, c.end, c.floor, c.ceiling);
      expect(counters(pt)).toEqual(
        c.freed ? { pgtablesBytes: 16 * KiB, tablePages: 5 } : { pgtablesBytes: 20 * KiB, tablePages: 6 },
      );
      expect(pt.pteLookup(1100) >= 0).toBe(!c.freed);
      // The neighbours are intact either way, and the PMD table (it maps them) stays.
      for (const [v, pfn] of [
        [1023, 1],
        [1536, 2],
      ]) {
        expect(pt.walk(v, Access.read)).toBe(WalkStatus.ok);
        expect(pt.outPfn).toBe(pfn);
      }
    });
  }

  it('frees a PMD table only when its whole GiB lies between the neighbours', () => {
    //  ..P | AAAA...AAAA | N..     A = [1 GiB, 2 GiB) in pages, P's last page just below, N's first just above
    const { pt } = setup();
    const a0 = PMD_TABLE;
    const a1 = 2 * PMD_TABLE;
    map(pt, a0 - 1, 1);
    map(pt, a1, 2);
    for (const v of [a0, a0 + 100_000, a1 - 1]) map(pt, v, 3);
    // PUD; PMD + PTE for each of P and N; PMD + 3 PTE tables for A.
    expect(counters(pt)).toEqual({ pgtablesBytes: 36 * KiB, tablePages: 10 });
    pt.zapRange(a0, a1, () => {});
    pt.freeTables(a0, a1, a0, a1);
    expect(counters(pt)).toEqual({ pgtablesBytes: 20 * KiB, tablePages: 6 });
    expect(pt.walk(a0, Access.read)).toBe(WalkStatus.notPresent);
    expect(pt.walkLevels).toBe(2); // the PUD entry is empty now

    // With P and N gone too and no neighbours left, everything below the PGD goes.
    pt.zapRange(0, pt.vpnLimit, () => {});
    pt.freeTables(a0 - 1, a1 + 1, 0, pt.vpnLimit);
    expect(counters(pt)).toEqual({ pgtablesBytes: 0, tablePages: 1 });
  });

  it('keeps the PUD table when the floor is inside its span', () => {
    const { pt } = setup();
    map(pt, PMD_TABLE + 5, 1);
    pt.zapRange(PMD_TABLE, 2 * PMD_TABLE, () => {});
    pt.freeTables(PMD_TABLE, 2 * PMD_TABLE, PMD_TABLE, pt.vpnLimit);
    // PTE and PMD tables lie in [floor, ceiling); the PUD table starts at 0, below the floor.
    expect(counters(pt)).toEqual({ pgtablesBytes: 4 * KiB, tablePages: 2 });
    pt.freeTables(PMD_TABLE, 2 * PMD_TABLE, 0, PUD_TABLE);
    expect(counters(pt)).toEqual({ pgtablesBytes: 0, tablePages: 1 });
  });

  it('refuses to free a table that still maps a page (the floor/ceiling contract was broken)', () => {
    const { pt } = setup();
    map(pt, 1024, 1);
    map(pt, 1100, 2);
    pt.zapRange(1024, 1050, () => {});
    expect(() => pt.freeTables(1024, 1050, 0, pt.vpnLimit)).toThrow(/still maps/);
  });
});

describe('X86PageTable: reclaimEmptyPteTables', () => {
  it('frees only PTE tables with every entry none', () => {
    const { pool, pt } = setup();
    map(pt, 0, 1); // table at 0: a page stays
    for (let v = 512; v < 520; v++) map(pt, v, v); // table at 512: emptied below
    map(pt, 1024, 2); // table at 1024: one of two pages stays
    map(pt, 1025, 3);
    pt.pteAlloc(1536); // table at 1536: never held anything
    const hs = pt.pteAlloc(2048); // table at 2048: a swap entry (not present, not none)
    const swp = swpEntry(1, 99);
    pool.words[hs * 2] = swp[0];
    pool.words[hs * 2 + 1] = swp[1];
    pt.pteAlloc(4096); // empty, outside the range below
    expect(counters(pt)).toEqual({ pgtablesBytes: 32 * KiB, tablePages: 9 });
    for (let v = 512; v < 520; v++) pt.pteClear(pt.pteLookup(v));
    pt.pteClear(pt.pteLookup(1025));

    pt.reclaimEmptyPteTables(0, 2560);
    // The tables at 512 and 1536 go.
    expect(counters(pt)).toEqual({ pgtablesBytes: 24 * KiB, tablePages: 7 });
    expect(pt.countTables()).toEqual(counters(pt));
    for (const v of [512, 1536]) {
      expect(pt.pteLookup(v)).toBe(-1);
      expect(pt.walk(v, Access.read)).toBe(WalkStatus.notPresent);
      expect(pt.walkLevels).toBe(3);
    }
    expect(pt.walk(0, Access.read)).toBe(WalkStatus.ok);
    expect(pt.walk(1024, Access.read)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(2);
    expect(pt.pteLookup(2048)).toBeGreaterThanOrEqual(0);
    expect(pt.pteLookup(4096)).toBeGreaterThanOrEqual(0);

    // The PMD table stays even when every PTE table under it goes.
    pt.zapRange(0, PMD_TABLE, () => {});
    pt.reclaimEmptyPteTables(0, PMD_TABLE);
    expect(counters(pt)).toEqual({ pgtablesBytes: 8 * KiB, tablePages: 3 });
  });

  it('considers only PTE tables the range covers whole (zap_pte_range: end - start >= PMD_SIZE)', () => {
    //  0      512     1024    1536
    //  ..eeee|eeeeeee|eeee....        range [100, 1100): only the table at 512 is covered whole
    const { pt } = setup();
    for (const v of [100, 600, 1099]) map(pt, v, v);
    pt.zapRange(100, 1100, () => {});
    pt.reclaimEmptyPteTables(100, 1100);
    expect(counters(pt)).toEqual({ pgtablesBytes: 16 * KiB, tablePages: 5 });
    expect(pt.pteLookup(600)).toBe(-1);
    expect(pt.pteLookup(100)).toBeGreaterThanOrEqual(0);
    expect(pt.pteLookup(1099)).toBeGreaterThanOrEqual(0);
    // A range shorter than a table reclaims nothing.
    pt.reclaimEmptyPteTables(0, 511);
    expect(counters(pt)).toEqual({ pgtablesBytes: 16 * KiB, tablePages: 5 });
    pt.reclaimEmptyPteTables(0, 1536);
    expect(counters(pt)).toEqual({ pgtablesBytes: 8 * KiB, tablePages: 3 });
  });

  it('skips huge leaves', () => {
    const { pt } = setup();
    pt.enterHuge(512, 512, 9, PteAttr.write);
    pt.pteAlloc(1024);
    pt.reclaimEmptyPteTables(0, 2048);
    // PUD, PMD and the leaf's deposited PTE table stay; the empty PTE table at 1024 goes.
    expect(counters(pt)).toEqual({ pgtablesBytes: 12 * KiB, tablePages: 4 });
    expect(pt.walk(700, Access.read)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(700);
  });
});

describe('X86PageTable: moveRange (move_page_tables)', () => {
  const ATTRS = [
    PteAttr.write | PteAttr.dirty | PteAttr.accessed,
    PteAttr.none,
    PteAttr.exec,
    PteAttr.special | PteAttr.accessed,
    PteAttr.protnone | PteAttr.write,
  ];

  it('moves entries with their pfns and attributes, across tables', () => {
    const { pool, pt } = setup();
    for (let v = 500; v < 530; v++) if (v % 3 !== 0) map(pt, v, 1000 + v, ATTRS[v % ATTRS.length]);
    const before = new Map<number, [number, number]>();
    for (let v = 500; v < 530; v++) before.set(v, raw(pool, pt.pteLookup(v)));
    // Every entry mapped is present (PROT_NONE ones included): 20 of the 30 pages.
    expect(pt.moveRange(500, 3000, 30)).toBe(20);
    for (let v = 500; v < 530; v++) {
      expect(pt.pteNone(pt.pteLookup(v))).toBe(true);
      const h = pt.pteLookup(3000 + v - 500);
      expect(raw(pool, h)).toEqual(before.get(v));
      if (v % 3 !== 0) expect([pt.ptePfn(h), pt.pteAttrs(h)]).toEqual([1000 + v, ATTRS[v % ATTRS.length]]);
    }
    // 505 held a writable entry (ATTRS[0]); its translation moved with it.
    expect(pt.walk(3005, Access.write)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(1505);
    // Tables of the old range stay (free_pgtables is the caller's business).
    expect(pt.countTables()).toEqual(counters(pt));
  });

  it('moves overlapping ranges forwards and backwards like memmove', () => {
    const entry = fc.record({
      off: fc.integer({ min: 0, max: 199 }),
      pfn: fc.integer({ min: 0, max: 2 ** 40 - 1 }),
      kind: fc.integer({ min: 0, max: ATTRS.length }), // ATTRS.length: a swap entry
    });
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 80 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: -250, max: 250 }),
        (entries, n, shift) => {
          const { pool, pt } = setup(4, 8 * MiB);
          // Near a PTE-table boundary, so that moves cross tables.
          const old = 1000;
          const neu = old + shift;
          const before = new Map<number, [number, number]>();
          for (const e of entries) {
            if (e.off >= n) continue; // mremap's source holds everything; the rest is empty
            const vpn = old + e.off;
            const h = pt.pteAlloc(vpn);
            if (e.kind === ATTRS.length) {
              const s = swpEntry(e.pfn % 32, e.pfn % 2 ** 40);
              pool.words[h * 2] = s[0];
              pool.words[h * 2 + 1] = s[1];
            } else {
              pt.pteSet(h, e.pfn, ATTRS[e.kind]);
            }
            before.set(vpn, raw(pool, h));
          }
          let present = 0;
          for (const [lo] of before.values()) if ((lo & (X86.P | X86.PROTNONE)) !== 0) present++;
          expect(pt.moveRange(old, neu, n)).toBe(shift === 0 ? 0 : present);
          const none: [number, number] = [0, 0];
          const rawAt = (vpn: number): [number, number] => {
            const h = pt.pteLookup(vpn);
            return h < 0 ? none : raw(pool, h);
          };
          for (let v = Math.min(old, neu) - 2; v < Math.max(old, neu) + n + 2; v++) {
            const inNew = v >= neu && v < neu + n;
            const want = inNew ? (before.get(v - neu + old) ?? none) : none;
            expect([v, ...rawAt(v)]).toEqual([v, ...want]);
          }
          expect(pt.countTables()).toEqual(counters(pt));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('leaves entries in place when moved onto themselves', () => {
    const { pool, pt } = setup();
    map(pt, 700, 7, PteAttr.write | PteAttr.dirty);
    const before = raw(pool, pt.pteLookup(700));
    expect(pt.moveRange(690, 690, 20)).toBe(0);
    expect(raw(pool, pt.pteLookup(700))).toEqual(before);
  });

  it('reports -1 when table memory runs out', () => {
    const { phys, pt } = setup(4, 4 * MiB);
    map(pt, 0, 1);
    while (phys.alloc(0) >= 0);
    expect(pt.moveRange(0, PMD_TABLE, 1)).toBe(-1);
    // The entry was not lost.
    expect(pt.walk(0, Access.read)).toBe(WalkStatus.ok);
    expect(pt.outPfn).toBe(1);
  });
});

describe('X86PageTable: destroy and countTables', () => {
  it('destroy returns every table, the top level included', () => {
    for (const levels of [4, 5] as const) {
      const { phys, pool, pt, free0, blocks0 } = setup(levels);
      for (const v of [0, 511, 512, PMD_TABLE + 7, PUD_TABLE + 3, 5 * PUD_TABLE]) map(pt, v, 1);
      pt.enterHuge(2 * PMD_TABLE, 0, 18, 0);
      pt.enterHuge(PMD_TABLE + PTE_TABLE, 0, 9, 0);
      expect(pool.live).toBe(pt.tablePages);
      pt.zapRange(0, pt.vpnLimit, () => {});
      pt.destroy();
      expect(counters(pt)).toEqual({ pgtablesBytes: 0, tablePages: 0 });
      expect(pool.live).toBe(0);
      expect(phys.freePages).toBe(free0);
      // The frames went back to the buddy allocator and merged into the blocks it started with.
      expect(freeBlocks(phys)).toEqual(blocks0);
    }
  });

  it('countTables agrees with the incremental counters under random operations', () => {
    type Op =
      | { k: 'map'; vpn: number }
      | { k: 'huge'; vpn: number }
      | { k: 'zapfree'; a: number; b: number }
      | { k: 'reclaim'; a: number; b: number }
      | { k: 'move'; a: number; b: number; n: number };
    // A small space: 4 GiB of pages (four PMD tables), plus one far-away PGD slot.
    const SPACE = 4 * PMD_TABLE;
    const vpnArb = fc.oneof(
      fc.integer({ min: 0, max: SPACE - 1 }),
      fc.integer({ min: 0, max: 2047 }),
      fc.integer({ min: 0, max: 2047 }).map((x) => PUD_TABLE * 3 + x),
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('map' as const), vpn: vpnArb }),
      fc.record({ k: fc.constant('huge' as const), vpn: fc.integer({ min: 0, max: 8 * 512 - 1 }) }),
      fc.record({ k: fc.constant('zapfree' as const), a: vpnArb, b: fc.integer({ min: 1, max: 5000 }) }),
      fc.record({ k: fc.constant('reclaim' as const), a: vpnArb, b: fc.integer({ min: 1, max: 5000 }) }),
      fc.record({
        k: fc.constant('move' as const),
        a: fc.integer({ min: 0, max: 3000 }),
        b: fc.integer({ min: 0, max: 3000 }),
        n: fc.integer({ min: 1, max: 600 }),
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom<4 | 5>(4, 5), fc.array(op, { maxLength: 40 }), (levels, ops) => {
        const { phys, pool, pt, free0 } = setup(levels, 16 * MiB);
        const hugeAt = new Set<number>(); // PMD indices holding a huge leaf
        /** Whether [a, b) covers part of a huge leaf but not all of it. */
        const splits = (a: number, b: number): boolean => {
          for (const i of hugeAt)
            if (i * 512 < b && i * 512 + 512 > a && (i * 512 < a || i * 512 + 512 > b)) return true;
          return false;
        };
        const dropHuge = (a: number, b: number): void => {
          for (const i of [...hugeAt]) if (i * 512 >= a && i * 512 + 512 <= b) hugeAt.delete(i);
        };
        for (const o of ops) {
          if (o.k === 'map') {
            if (hugeAt.has(Math.floor(o.vpn / 512))) continue;
            map(pt, o.vpn, o.vpn % 1000);
          } else if (o.k === 'huge') {
            const v = o.vpn - (o.vpn % 512);
            if (pt.pteLookup(v) >= 0 || hugeAt.has(v / 512)) continue;
            pt.enterHuge(v, 0, 9, PteAttr.write);
            hugeAt.add(v / 512);
          } else if (o.k === 'zapfree') {
            // Unmap everything in a range grown to whole PMD entries, then free its tables.
            const a = o.a - (o.a % 512);
            const b = a + Math.ceil(o.b / 512) * 512;
            pt.zapRange(a, b, () => {});
            dropHuge(a, b);
            pt.freeTables(a, b, a, b);
          } else if (o.k === 'reclaim') {
            if (splits(o.a, o.a + o.b)) continue;
            pt.zapRange(o.a, o.a + o.b, () => {});
            dropHuge(o.a, o.a + o.b);
            pt.reclaimEmptyPteTables(o.a, o.a + o.b);
          } else {
            // Keep to ranges without huge leaves, as mremap splits them first.
            let clash = false;
            for (const i of hugeAt) {
              const v = i * 512;
              if (v < Math.max(o.a, o.b) + o.n && v + 512 > Math.min(o.a, o.b)) clash = true;
            }
            if (clash) continue;
            pt.zapRange(o.b, o.b + o.n, () => {}); // the destination is empty, as mremap makes it
            expect(pt.moveRange(o.a, o.b, o.n)).toBeGreaterThanOrEqual(0);
          }
          expect(pt.countTables()).toEqual(counters(pt));
          expect(pool.live).toBe(pt.tablePages);
          expect(phys.freePages).toBe(free0 - pt.tablePages);
        }
        pt.zapRange(0, pt.vpnLimit, () => {});
        pt.destroy();
        expect(pool.live).toBe(0);
        expect(phys.freePages).toBe(free0);
      }),
      { numRuns: 150 },
    );
  });
});

describe('TablePool', () => {
  it('hands out zeroed page-table frames and reuses slots', () => {
    const phys = new PhysMem([4 * MiB]);
    const pool = new TablePool(phys, 1);
    const a = pool.alloc();
    const b = pool.alloc(); // grows the word array
    expect(pool.words.length).toBeGreaterThanOrEqual(2 * 1024);
    const sb = pool.slotOf(b);
    pool.words.fill(0xdead, sb * 1024, sb * 1024 + 1024);
    pool.free(b);
    const c = pool.alloc();
    expect(pool.slotOf(c)).toBe(sb);
    expect(pool.words.subarray(sb * 1024, sb * 1024 + 1024).every((x) => x === 0)).toBe(true);
    expect([pool.live, pool.peak]).toEqual([2, 2]);
    expect(() => pool.free(phys.zeroPfn)).toThrow(/not a page table/);
    pool.free(a);
    pool.free(c);
    expect(pool.live).toBe(0);
    expect(phys.freePages).toBe(1023);
  });
});
