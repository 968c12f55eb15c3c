// The operations of the differential property test (test/property.test.ts) and the fast-check
// arbitraries that generate their random sequences.
//
// Files live in FILES slots named f0, f1, ...; the sequences start by creating one to three
// of them, a few pages long with sizes that are not always page multiples. Other file
// operations name one of the files that exist (their `f` modulo how many). Their mappings aim
// at the same window as anonymous ones, at offsets that sometimes lie past the end of the file.
//
// Transparent huge pages: a few anonymous mappings are 2 MiB or more at a 2 MiB boundary (the
// window starts at one), MADV_HUGEPAGE/NOHUGEPAGE advice comes and goes, and khugepaged passes
// and drop_caches (whose mode 2 runs the THP shrinkers) are steps of their own.

import fc from 'fast-check';
import type { SwapOp } from './property-swap-ops.js';
import {
  type AccessKind,
  type Advice,
  type MmapMode,
  type MremapMode,
  type MsyncFlag,
  PAGE_SIZE,
  type ReferenceModel,
} from './reference-model.js';

export const MiB = 1024 * 1024;
/** The window most operations aim at: 64 pages at 0x7f0000000000. */
export const WIN = 0x7f00_0000_0000 / PAGE_SIZE;
export const WIN_PAGES = 64;

// ------------------------------------------------------------------ operations

/** A range: in the window, or inside one of the model's pieces (so that it reaches mappings anywhere). */
export type RangeSpec =
  | { readonly at: 'win'; readonly page: number; readonly len: number }
  | { readonly at: 'piece'; readonly sel: number; readonly off: number; readonly len: number };

/**
 * Where an access goes: a page another process also has (the same address, a frame fork
 * shares, a shmem object, a page of a file mapped elsewhere too), a page of a file, a page
 * the model knows was written, any mapped page, any window page. An empty pool falls back to
 * the next one.
 */
export type AccessTarget = 'common' | 'file' | 'written' | 'mapped' | 'win';

export type Op =
  | {
      readonly op: 'mmap';
      readonly p: number;
      readonly page: number;
      readonly len: number;
      readonly prot: number;
      readonly shared: boolean;
      readonly mode: MmapMode;
      readonly populate: boolean;
      readonly locked: boolean;
      readonly noreserve: boolean;
    }
  | { readonly op: 'munmap'; readonly p: number; readonly r: RangeSpec }
  | { readonly op: 'mprotect'; readonly p: number; readonly r: RangeSpec; readonly prot: number }
  | {
      readonly op: 'mremap';
      readonly p: number;
      readonly r: RangeSpec;
      readonly newLen: number;
      readonly mode: MremapMode;
      readonly dst: number;
    }
  | { readonly op: 'madvise'; readonly p: number; readonly r: RangeSpec; readonly advice: Advice }
  | { readonly op: 'mlock'; readonly p: number; readonly r: RangeSpec; readonly onfault: boolean }
  | { readonly op: 'munlock'; readonly p: number; readonly r: RangeSpec }
  | {
      readonly op: 'access';
      readonly p: number;
      readonly target: AccessTarget;
      readonly sel: number;
      readonly kind: AccessKind;
      readonly cpu: number;
    }
  /** Exit the process in slot p and start a new one there (or just start one in an empty slot). */
  | { readonly op: 'respawn'; readonly p: number; readonly cpu: number }
  /** fork: the child goes to the first free slot. */
  | { readonly op: 'fork'; readonly p: number }
  | { readonly op: 'exec'; readonly p: number }
  /** The process exits (not the last one alive) and its slot stays empty. */
  | { readonly op: 'exit'; readonly p: number }
  /** Out-of-memory runs: the memory hog gives back `pages` pages. */
  | { readonly op: 'release'; readonly pages: number }
  /** One khugepaged pass (pages_to_scan of progress). */
  | { readonly op: 'khugepaged' }
  | FileOp
  | SwapOp;

/** Operations on files, and on mappings of files. Sizes and offsets of read/write/truncate are bytes. */
export type FileOp =
  /** createFile(fN, size): data on the disk in every page; `cached`: in the page cache too. */
  | { readonly op: 'create'; readonly f: number; readonly size: number; readonly cached: boolean }
  /** mmap of file fN at `offset` pages (sometimes past its end). */
  | {
      readonly op: 'mmapFile';
      readonly p: number;
      readonly f: number;
      readonly offset: number;
      readonly page: number;
      readonly len: number;
      readonly prot: number;
      readonly shared: boolean;
      readonly mode: MmapMode;
      readonly populate: boolean;
      readonly locked: boolean;
    }
  | {
      readonly op: 'read' | 'write';
      readonly p: number;
      readonly f: number;
      readonly off: number;
      readonly len: number;
    }
  | { readonly op: 'truncate'; readonly p: number; readonly f: number; readonly size: number }
  | { readonly op: 'fsync'; readonly p: number; readonly f: number }
  | { readonly op: 'msync'; readonly p: number; readonly r: RangeSpec; readonly flags: readonly MsyncFlag[] }
  | { readonly op: 'sync' }
  /**
   * echo MODE > /proc/sys/vm/drop_caches: 1 drops clean, unmapped page-cache pages, 2 runs the
   * shrinkers (the deferred THP split queue, the huge zero page), 3 both.
   */
  | { readonly op: 'dropCaches'; readonly mode: 1 | 2 | 3 };

/** File slots: at most this many files, named f0, f1, ... */
export const FILES = 3;

/** Process slots (live processes at most), and the processes the sequences start with. */
export const MAX_PROCS = 4;
export const START_PROCS = 2;
export const CPUS = 2;

export const procArb = fc.integer({ min: 0, max: MAX_PROCS - 1 });
const pageArb = fc.integer({ min: 0, max: WIN_PAGES - 1 });
const lenArb = fc.integer({ min: 1, max: 16 });
const protArb = fc.integer({ min: 0, max: 7 });
/** Ranges in the window, or in a piece (`pieceWeight` in 4); in a piece, len 0 means "to its end". */
export const rangeArb = (pieceWeight: number): fc.Arbitrary<RangeSpec> =>
  fc.oneof(
    {
      weight: 4 - pieceWeight,
      arbitrary: fc.record({ at: fc.constant('win' as const), page: pageArb, len: lenArb }),
    },
    {
      weight: pieceWeight,
      arbitrary: fc.record({
        at: fc.constant('piece' as const),
        sel: fc.nat(1000),
        off: fc.oneof(fc.constant(0), fc.nat(1000)),
        len: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), lenArb),
      }),
    },
  );

/** THP-sized mappings: a whole 2 MiB, two, and one with a 4 KiB-mapped tail. */
const bigLenArb = fc.constantFrom(512, 1024, 600);

export const mmapArb = fc.record({
  op: fc.constant('mmap' as const),
  p: procArb,
  page: fc.oneof({ weight: 4, arbitrary: pageArb }, { weight: 1, arbitrary: fc.constant(0) }),
  len: fc.oneof({ weight: 6, arbitrary: lenArb }, { weight: 1, arbitrary: bigLenArb }),
  prot: fc.oneof({ weight: 3, arbitrary: fc.constant(3) }, { weight: 2, arbitrary: protArb }),
  shared: fc.boolean(),
  mode: fc.constantFrom<MmapMode>('fixed', 'fixed', 'fixed', 'fixed', 'noreplace', 'hint', 'hint', 'any'),
  populate: fc.oneof(
    { weight: 1, arbitrary: fc.constant(true) },
    { weight: 4, arbitrary: fc.constant(false) },
  ),
  locked: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 5, arbitrary: fc.constant(false) }),
  noreserve: fc.boolean(),
});

/** A THP-sized private mapping at a 2 MiB boundary (WIN is one), writable: THPs can fault there. */
export const bigMmapArb = fc.record({
  op: fc.constant('mmap' as const),
  p: procArb,
  page: fc.constantFrom(0, 0, 512, 1024),
  len: bigLenArb,
  prot: fc.constant(3),
  shared: fc.constant(false),
  mode: fc.constantFrom<MmapMode>('fixed', 'fixed', 'hint'),
  populate: fc.oneof(
    { weight: 1, arbitrary: fc.constant(true) },
    { weight: 5, arbitrary: fc.constant(false) },
  ),
  locked: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 7, arbitrary: fc.constant(false) }),
  noreserve: fc.boolean(),
});

/** madvise(MADV_HUGEPAGE) over a whole piece (one VMA or part of one): THPs where enabled=madvise. */
const hugeAdviseArb = fc.record({
  op: fc.constant('madvise' as const),
  p: procArb,
  r: fc.record({
    at: fc.constant('piece' as const),
    sel: fc.nat(1000),
    off: fc.constant(0),
    len: fc.constant(0),
  }),
  advice: fc.constant<Advice>('hugepage'),
});

/**
 * A 2 MiB mapping of the opening, in half the cases advised MADV_HUGEPAGE at once, before the
 * first writes fill its PMDs with PTE tables: otherwise 'madvise'-mode sequences almost never
 * fault a THP (a later random advice seldom finds the big mapping, and finds it touched).
 */
const bigMmapAdvisedArb: fc.Arbitrary<Op[]> = fc
  .tuple(bigMmapArb, fc.boolean())
  .map(([m, advise]): Op[] =>
    advise
      ? [m, { op: 'madvise', p: m.p, r: { at: 'win', page: m.page, len: m.len }, advice: 'hugepage' }]
      : [m],
  );

/** drop_caches in one of `modes`. */
const dropCachesArb = (...modes: (1 | 2 | 3)[]) =>
  fc.record({ op: fc.constant('dropCaches' as const), mode: fc.constantFrom(...modes) });

const fileArb = fc.integer({ min: 0, max: FILES - 1 });
/** Up to `pages` pages of bytes: whole pages half the time, else any byte count. */
const bytesArb = (pages: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 0, max: pages }).map((n) => n * PAGE_SIZE),
    fc.integer({ min: 0, max: pages * PAGE_SIZE }),
  );
/** 1 byte to `pages` pages. */
const countArb = (pages: number): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 1, max: pages }).map((n) => n * PAGE_SIZE),
    fc.integer({ min: 1, max: pages * PAGE_SIZE }),
  );

export const createArb = fc.record({
  op: fc.constant('create' as const),
  f: fileArb,
  size: bytesArb(6),
  cached: fc.boolean(),
});

export const mmapFileArb = fc.record({
  op: fc.constant('mmapFile' as const),
  p: procArb,
  f: fileArb,
  offset: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 7 }) },
  ),
  page: pageArb,
  len: fc.integer({ min: 1, max: 8 }),
  prot: fc.oneof({ weight: 3, arbitrary: fc.constant(3) }, { weight: 2, arbitrary: protArb }),
  shared: fc.boolean(),
  mode: fc.constantFrom<MmapMode>('fixed', 'fixed', 'fixed', 'noreplace', 'hint', 'any'),
  populate: fc.oneof(
    { weight: 1, arbitrary: fc.constant(true) },
    { weight: 4, arbitrary: fc.constant(false) },
  ),
  locked: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 5, arbitrary: fc.constant(false) }),
});

const MSYNC_FLAGS: readonly (readonly MsyncFlag[])[] = [
  ['sync'],
  ['sync'],
  ['async'],
  ['sync', 'invalidate'],
  ['async', 'invalidate'],
  ['invalidate'],
  [],
  ['sync', 'async'],
];

const fileOpArbs: fc.WeightedArbitrary<Op>[] = [
  { weight: 2, arbitrary: createArb },
  { weight: 10, arbitrary: mmapFileArb },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('read' as const),
      p: procArb,
      f: fileArb,
      off: bytesArb(8),
      len: countArb(4),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      p: procArb,
      f: fileArb,
      off: bytesArb(7),
      // Writes of 16 and 64 pages make large page-cache folios (up to order 6).
      len: fc.oneof({ weight: 4, arbitrary: countArb(3) }, { weight: 1, arbitrary: countArb(64) }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('truncate' as const), p: procArb, f: fileArb, size: bytesArb(8) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fsync' as const), p: procArb, f: fileArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('msync' as const),
      p: procArb,
      r: rangeArb(3),
      flags: fc.constantFrom(...MSYNC_FLAGS),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'sync' as const }) },
  // The page cache's drop_caches (mode 1, or 3 with the shrinkers).
  { weight: 2, arbitrary: dropCachesArb(1, 1, 3) },
];

/**
 * One operation. `files`: a sequence about files, where file operations are three times as
 * likely and anonymous mappings a third as likely, so that file mappings meet each other
 * (and mremap finds room to grow them) more often.
 */
export const opArb = (
  oom: boolean,
  files = false,
  extra: fc.WeightedArbitrary<Op>[] = [],
): fc.Arbitrary<Op> => {
  const arbs: fc.WeightedArbitrary<Op>[] = [
    { weight: files ? 4 : 12, arbitrary: mmapArb },
    { weight: 3, arbitrary: bigMmapArb },
    { weight: 4, arbitrary: hugeAdviseArb },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('munmap' as const), p: procArb, r: rangeArb(2) }) },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('mprotect' as const),
        p: procArb,
        r: rangeArb(3),
        prot: fc.oneof(fc.constantFrom(1, 3, 3, 5, 7), protArb),
      }),
    },
    {
      weight: 7,
      arbitrary: fc.record({
        op: fc.constant('mremap' as const),
        p: procArb,
        r: rangeArb(3),
        newLen: lenArb,
        mode: fc.constantFrom<MremapMode>('maymove', 'maymove', 'nomove', 'fixed', 'dontunmap'),
        dst: pageArb,
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('madvise' as const),
        p: procArb,
        r: rangeArb(3),
        advice: fc.constantFrom<Advice>(
          'dontneed',
          'dontneed',
          'dontneed',
          'normal',
          'random',
          'sequential',
          'willneed',
          'dontfork',
          'dofork',
          'wipeonfork',
          'wipeonfork',
          'keeponfork',
          'hugepage',
          'hugepage',
          'hugepage',
          'nohugepage',
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('mlock' as const),
        p: procArb,
        r: rangeArb(3),
        onfault: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('munlock' as const), p: procArb, r: rangeArb(3) }) },
    {
      weight: 40,
      arbitrary: fc.record({
        op: fc.constant('access' as const),
        p: procArb,
        target: fc.constantFrom<AccessTarget>(
          'common',
          'common',
          'file',
          'file',
          'written',
          'written',
          'mapped',
          'mapped',
          'win',
        ),
        sel: fc.nat(10_000),
        kind: fc.constantFrom<AccessKind>('read', 'read', 'read', 'write', 'write', 'write', 'exec'),
        cpu: fc.integer({ min: 0, max: CPUS - 1 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('respawn' as const),
        p: procArb,
        cpu: fc.integer({ min: 0, max: CPUS - 1 }),
      }),
    },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('fork' as const), p: procArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('exec' as const), p: procArb }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('exit' as const), p: procArb }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('khugepaged' as const) }) },
    // The THP shrinkers' drop_caches (mode 2, or 3 with the page cache).
    { weight: 1, arbitrary: dropCachesArb(2, 2, 3) },
  ];
  arbs.push(...fileOpArbs.map((a) => ({ weight: a.weight * (files ? 3 : 1), arbitrary: a.arbitrary })));
  arbs.push(...extra);
  if (oom) {
    arbs.push({
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('release' as const), pages: fc.integer({ min: 1, max: 8 }) }),
    });
  }
  return fc.oneof(...arbs);
};

/**
 * A sequence: a few files and mappings first (so that most operations find memory; a 2 MiB
 * one sometimes advised MADV_HUGEPAGE at once), then in half the sequences a few writes by the
 * first mapping's process and its fork (so that parent and child share written pages from
 * early on), then anything: in half the sequences with the weights of a sequence about files
 * (opArb).
 */
export const opsArb = (oom: boolean, extra: fc.WeightedArbitrary<Op>[] = []): fc.Arbitrary<Op[]> =>
  fc
    .tuple(
      fc.array(createArb, { minLength: 1, maxLength: 3 }),
      fc.array(
        fc.oneof(
          { weight: 3, arbitrary: mmapArb.map((m): Op[] => [m]) },
          { weight: 1, arbitrary: bigMmapAdvisedArb },
          { weight: 4, arbitrary: mmapFileArb.map((m): Op[] => [m]) },
        ),
        { minLength: 1, maxLength: 4 },
      ),
      fc.array(
        fc.record({
          op: fc.constant('access' as const),
          p: procArb,
          target: fc.constant<AccessTarget>('mapped'),
          sel: fc.nat(10_000),
          kind: fc.constant<AccessKind>('write'),
          cpu: fc.integer({ min: 0, max: CPUS - 1 }),
        }),
        { maxLength: 6 },
      ),
      fc.boolean(),
      fc.oneof(
        fc.array(opArb(oom, false, extra), { maxLength: 60, size: 'max' }),
        fc.array(opArb(oom, true, extra), { maxLength: 60, size: 'max' }),
      ),
    )
    .map(([files, groups, writes, fork, rest]) => {
      const maps = groups.flat();
      if (!fork) return [...files, ...maps, ...rest];
      const first = maps[0] as Op & { op: 'mmap' | 'mmapFile' };
      const p = first.p;
      return [...files, ...maps, ...writes.map((w) => ({ ...w, p })), { op: 'fork' as const, p }, ...rest];
    });

/** The MmapRequest of an mmap in pages (a hint or fixed address, a length). */
export function mmapReq(
  hint: number,
  pages: number,
  prot: number,
  shared: boolean,
  mode: MmapMode,
  populate: boolean,
  locked: boolean,
  noreserve: boolean,
) {
  return {
    addr: hint * PAGE_SIZE,
    len: pages * PAGE_SIZE,
    prot,
    shared,
    fixed: mode === 'fixed',
    fixedNoReplace: mode === 'noreplace',
    populate,
    locked,
    noreserve,
  };
}

/** The first page and the length of a range, for process p of the model. */
export function resolve(model: ReferenceModel, p: number, r: RangeSpec): { page: number; pages: number } {
  if (r.at === 'piece') {
    const pieces = model.pieces(p);
    if (pieces.length > 0) {
      const pc = pieces[r.sel % pieces.length];
      const page = pc.start + (r.off % (pc.end - pc.start));
      return { page, pages: r.len === 0 ? pc.end - page : r.len };
    }
    return { page: WIN + (r.sel % WIN_PAGES), pages: Math.max(1, r.len) };
  }
  return { page: WIN + r.page, pages: r.len };
}
