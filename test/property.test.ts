// Differential property test: random sequences of mmap, munmap, mprotect, mremap, madvise,
// mlock/munlock, fork, exec, exit, khugepaged passes, drop_caches and reads/writes/execs on
// several processes and CPUs run on vmlab and on the reference model (test/reference-model.ts).
// Each sequence runs with a transparent huge page mode (always, madvise, never); a few mappings
// are 2 MiB or more at a 2 MiB boundary, so that THPs are faulted, split, copied, moved and
// collapsed under everything else. THPs are transparent: the model knows nothing of them. After every step: vmlab's result
// is the model's, the process's VMAs cover exactly the pages the model has mapped (with its
// protection, lock, sharing and fork advice; after fork, exec and exit every live process is
// compared), and vmlab's invariant checker finds nothing (check: true throws otherwise).
// After the sequence every process exits (in slot order, or the reverse for odd-length
// sequences) and no frame or page table may be left.
//
// Processes live in MAX_PROCS slots, two of them used at the start. An operation's `p` picks
// one of the live processes (p modulo their number), except respawn's, which names a slot.
// fork puts the child in the first free slot (none free: the fork is skipped); accesses by
// parents and children interleave, so CoW divergence and shared visibility are exercised.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Task } from '../src/mm/mm.js';
import { DEFAULT_THP } from '../src/mm/thp-state.js';
import { System } from '../src/sim/system.js';
import type { ThpEnabled } from '../src/workload/scenario.js';
import {
  type AccessKind,
  type Advice,
  type CallResult,
  type MmapMode,
  type MremapMode,
  PAGE_SIZE,
  type PageInfo,
  ReferenceModel,
} from './reference-model.js';

const MiB = 1024 * 1024;
/** The window most operations aim at: 64 pages at 0x7f0000000000. */
const WIN = 0x7f00_0000_0000 / PAGE_SIZE;
const WIN_PAGES = 64;
const VM_LOCKED = 0x2000;
const VM_DONTCOPY = 0x20000;
const VM_WIPEONFORK = 0x2000000;

// ------------------------------------------------------------------ operations

/** A range: in the window, or inside one of the model's pieces (so that it reaches mappings anywhere). */
type RangeSpec =
  | { readonly at: 'win'; readonly page: number; readonly len: number }
  | { readonly at: 'piece'; readonly sel: number; readonly off: number; readonly len: number };

/**
 * Where an access goes: a page another process also has (the same address, a frame fork
 * shares, a shmem object), a page the model knows was written, any mapped page, any window
 * page. An empty pool falls back to the next one.
 */
type AccessTarget = 'common' | 'written' | 'mapped' | 'win';

type Op =
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
  /** echo 2 > drop_caches: the deferred split queue and the huge zero page shrink. */
  | { readonly op: 'drop_caches' };

/** Process slots (live processes at most), and the processes the sequences start with. */
const MAX_PROCS = 4;
const START_PROCS = 2;
const CPUS = 2;

const procArb = fc.integer({ min: 0, max: MAX_PROCS - 1 });
const pageArb = fc.integer({ min: 0, max: WIN_PAGES - 1 });
const lenArb = fc.integer({ min: 1, max: 16 });
const protArb = fc.integer({ min: 0, max: 7 });
/** Ranges in the window, or in a piece (`pieceWeight` in 4); in a piece, len 0 means "to its end". */
const rangeArb = (pieceWeight: number): fc.Arbitrary<RangeSpec> =>
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

const mmapArb = fc.record({
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
const bigMmapArb = fc.record({
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

const opArb = (oom: boolean): fc.Arbitrary<Op> => {
  const arbs: fc.WeightedArbitrary<Op>[] = [
    { weight: 12, arbitrary: mmapArb },
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
    { weight: 1, arbitrary: fc.record({ op: fc.constant('drop_caches' as const) }) },
  ];
  if (oom) {
    arbs.push({
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('release' as const), pages: fc.integer({ min: 1, max: 8 }) }),
    });
  }
  return fc.oneof(...arbs);
};

/**
 * A sequence: a few mappings first (so that most operations find memory), then in half the
 * sequences a few writes by the first mapping's process and its fork (so that parent and
 * child share written pages from early on), then anything.
 */
const opsArb = (oom: boolean): fc.Arbitrary<Op[]> =>
  fc
    .tuple(
      fc.array(fc.oneof({ weight: 3, arbitrary: mmapArb }, { weight: 1, arbitrary: bigMmapArb }), {
        minLength: 1,
        maxLength: 4,
      }),
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
      fc.array(opArb(oom), { maxLength: 60, size: 'max' }),
    )
    .map(([maps, writes, fork, rest]) => {
      if (!fork) return [...maps, ...rest];
      const p = maps[0].p;
      return [...maps, ...writes.map((w) => ({ ...w, p })), { op: 'fork' as const, p }, ...rest];
    });

// ------------------------------------------------------------------ the runner

interface RunConfig {
  /** Machine memory in bytes (a multiple of 4 MiB). */
  readonly memory: number;
  /**
   * Out-of-memory run: a third process populates memory until `freeTarget` frames are left
   * (then accesses may fail with -3).
   */
  readonly freeTarget?: number;
  /** Transparent huge pages: the machine's enabled mode. */
  readonly thp: ThpEnabled;
}

const PROT_NAMES = ['---', 'r--', '-w-', 'rw-', '--x', 'r-x', '-wx', 'rwx'];

/** Run `ops` on vmlab and on the model; throws on the first difference. */
function runSequence(ops: readonly Op[], cfg: RunConfig): void {
  const sys = new System({
    machine: {
      cpus: CPUS,
      nodes: [cfg.memory],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      oomKiller: false,
      thp: { ...DEFAULT_THP, enabled: cfg.thp },
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
  const oom = cfg.freeTarget !== undefined;
  const model = new ReferenceModel(MAX_PROCS, oom, cfg.thp !== 'never');
  /** The process in each slot; null for an empty slot. */
  const tasks: (Task | null)[] = [];
  for (let p = 0; p < MAX_PROCS; p++) {
    const t = p < START_PROCS ? sys.spawn(`p${p}`, p % CPUS) : null;
    if (t === null && p < START_PROCS) throw new Error(`spawn p${p} failed`);
    tasks.push(t);
  }
  /** The live slots. */
  const live = (): number[] => tasks.flatMap((t, p) => (t === null ? [] : [p]));
  /** Which process wrote each token (for the statistics). */
  const writer = new Map<number, number>();
  let hog: Task | null = null;
  let hogPages = 0;
  const HOG = 0x6000_0000_0000 / PAGE_SIZE;
  if (cfg.freeTarget !== undefined) {
    hog = sys.spawn('hog', 0);
    if (hog === null) throw new Error('spawn hog failed');
    // Leave about freeTarget frames (a few go to the hog's page tables).
    hogPages = Math.max(0, sys.kernel.phys.freePages - cfg.freeTarget - 4);
    if (hogPages > 0) {
      const r = sys.mmap(hog, mmapReq(HOG, hogPages, 3, false, 'fixed', true, false, false));
      if (!r.ok) throw new Error(`hog mmap: ${r.errno}`);
    }
  }

  const log: string[] = [];
  const fail = (i: number, what: string, msg: string): never => {
    const recent = log.slice(-25).join('\n    ');
    throw new Error(`step ${i}: ${what}: ${msg}\n  steps before (resolved):\n    ${recent}`);
  };

  for (const [i, op] of ops.entries()) {
    if (op.op === 'khugepaged' || op.op === 'drop_caches') {
      // Neither changes what any process sees; the checker runs after each.
      if (op.op === 'khugepaged') sys.khugepaged({ passes: 1 });
      else sys.dropCaches(2);
      log.push(`#${i} ${op.op}`);
      if (STATS) count(`${op.op} -> ok`);
      continue;
    }
    if (op.op === 'release') {
      const n = Math.min(op.pages, hogPages);
      if (hog !== null && n > 0) {
        hogPages -= n;
        const r = sys.munmap(hog, (HOG + hogPages) * PAGE_SIZE, n * PAGE_SIZE);
        if (!r.ok) fail(i, 'hog munmap', r.errno);
      }
      log.push(`#${i} release ${n}`);
      continue;
    }
    if (op.op === 'respawn') {
      const p = op.p;
      const old = tasks[p];
      if (old !== null) sys.exit(old);
      model.reset(p);
      const t = sys.spawn(`p${p}.${i}`, op.cpu);
      if (t === null && !oom) fail(i, 'respawn', 'spawn failed');
      tasks[p] = t;
      log.push(`#${i} respawn p${p} on cpu ${op.cpu}${t === null ? ' (failed: out of memory)' : ''}`);
      if (STATS) count(`respawn -> ${t === null ? 'out of memory' : 'ok'}`);
      continue;
    }
    const alive = live();
    if (alive.length === 0) continue; // every respawn failed for lack of memory
    const p = alive[op.p % alive.length];
    const task = tasks[p]!;
    if (op.op === 'fork' || op.op === 'exec' || op.op === 'exit') {
      let what: string;
      let bad: string | null = null;
      if (op.op === 'fork') {
        const c = tasks.indexOf(null);
        if (c < 0) {
          log.push(`#${i} p${p} fork skipped (${MAX_PROCS} processes)`);
          if (STATS) count('fork -> skipped (no free slot)');
          continue;
        }
        const t = sys.fork(task, `p${c}.${i}`);
        tasks[c] = t;
        what = `p${p} fork = ${t === null ? 'out of memory' : `p${c}`}`;
        bad = model.fork(p, c, t !== null);
      } else if (op.op === 'exec') {
        const done = sys.exec(task);
        what = `p${p} exec = ${done ? 'ok' : 'out of memory'}`;
        bad = model.exec(p, done);
      } else {
        if (alive.length === 1) {
          log.push(`#${i} p${p} exit skipped (the last process)`);
          continue;
        }
        sys.exit(task);
        tasks[p] = null;
        model.reset(p);
        what = `p${p} exit`;
      }
      log.push(`#${i} ${what}`);
      if (bad !== null) fail(i, what, bad);
      if (STATS) count(`${op.op} -> ${what.includes('out of memory') ? 'out of memory' : 'ok'}`);
      for (const q of live()) {
        const maps = compareMaps(model, q, tasks[q]!);
        if (maps !== null) fail(i, what, `p${q}: ${maps}`);
      }
      continue;
    }
    let what = '';
    let bad: string | null = null;
    switch (op.op) {
      case 'mmap': {
        const page = WIN + op.page;
        const hint = op.mode === 'any' ? 0 : page;
        const req = mmapReq(hint, op.len, op.prot, op.shared, op.mode, op.populate, op.locked, op.noreserve);
        const r = sys.mmap(task, req);
        what = `p${p} mmap(${addr(hint)}, ${op.len}p, ${PROT_NAMES[op.prot]}, ${op.shared ? 'shared' : 'private'}, ${op.mode}${op.populate ? ', populate' : ''}${op.locked ? ', locked' : ''}) = ${show(r)}`;
        bad = model.mmap(
          p,
          { page, pages: op.len, prot: op.prot, shared: op.shared, mode: op.mode, locked: op.locked },
          r,
        );
        break;
      }
      case 'munmap': {
        const { page, pages } = resolve(model, p, op.r);
        const r = sys.munmap(task, page * PAGE_SIZE, pages * PAGE_SIZE);
        what = `p${p} munmap(${addr(page)}, ${pages}p) = ${show(r)}`;
        bad = model.munmap(p, page, pages, r);
        break;
      }
      case 'mprotect': {
        const { page, pages } = resolve(model, p, op.r);
        const r = sys.mprotect(task, page * PAGE_SIZE, pages * PAGE_SIZE, op.prot);
        what = `p${p} mprotect(${addr(page)}, ${pages}p, ${PROT_NAMES[op.prot]}) = ${show(r)}`;
        bad = model.mprotect(p, page, pages, op.prot, r);
        break;
      }
      case 'mremap': {
        const { page, pages } = resolve(model, p, op.r);
        const newPages = op.mode === 'dontunmap' ? pages : op.newLen;
        const a = { page, oldPages: pages, newPages, mode: op.mode, dst: WIN + op.dst };
        if (model.mremapUnpredictable(p, a)) {
          log.push(`#${i} p${p} mremap(${addr(page)}, ${pages}p, ${newPages}p, ${op.mode}) skipped`);
          if (STATS) count('mremap -> skipped (VMA bounds unknown to the model)');
          continue;
        }
        const r = sys.mremap(task, {
          addr: page * PAGE_SIZE,
          oldLen: pages * PAGE_SIZE,
          newLen: newPages * PAGE_SIZE,
          maymove: op.mode !== 'nomove',
          fixed: op.mode === 'fixed',
          dontunmap: op.mode === 'dontunmap',
          newAddr: op.mode === 'fixed' ? a.dst * PAGE_SIZE : 0,
        });
        what = `p${p} mremap(${addr(page)}, ${pages}p, ${newPages}p, ${op.mode}${op.mode === 'fixed' ? ` -> ${addr(a.dst)}` : ''}) = ${show(r)}`;
        bad = model.mremap(p, a, r);
        break;
      }
      case 'madvise': {
        const { page, pages } = resolve(model, p, op.r);
        const r = sys.madvise(task, page * PAGE_SIZE, pages * PAGE_SIZE, op.advice);
        what = `p${p} madvise(${addr(page)}, ${pages}p, ${op.advice}) = ${show(r)}`;
        bad = model.madvise(p, page, pages, op.advice, r);
        break;
      }
      case 'mlock': {
        const { page, pages } = resolve(model, p, op.r);
        const r = sys.mlock(task, page * PAGE_SIZE, pages * PAGE_SIZE, op.onfault);
        what = `p${p} mlock${op.onfault ? '2(ONFAULT)' : ''}(${addr(page)}, ${pages}p) = ${show(r)}`;
        bad = model.mlock(p, page, pages, op.onfault, r);
        break;
      }
      case 'munlock': {
        const { page, pages } = resolve(model, p, op.r);
        const r = sys.munlock(task, page * PAGE_SIZE, pages * PAGE_SIZE);
        what = `p${p} munlock(${addr(page)}, ${pages}p) = ${show(r)}`;
        bad = model.munlock(p, page, pages, r);
        break;
      }
      case 'access': {
        const targets: AccessTarget[] = ['common', 'written', 'mapped', 'win'];
        let target = op.target;
        let pool: number[] = [];
        for (const t of targets.slice(targets.indexOf(op.target))) {
          target = t;
          pool =
            t === 'common'
              ? model.commonPages(p)
              : t === 'written'
                ? model.writtenPages(p)
                : t === 'mapped'
                  ? model.mappedPages(p)
                  : [];
          if (pool.length > 0) break;
        }
        const page = pool.length > 0 ? pool[op.sel % pool.length] : WIN + (op.sel % WIN_PAGES);
        const r = sys.access(task, page * PAGE_SIZE, op.kind, op.cpu);
        what = `p${p} ${op.kind} ${addr(page)} on cpu ${op.cpu} = ${r}`;
        bad = model.access(p, page, op.kind, r);
        if (STATS) {
          const via = target === op.target ? target : `${op.target}, fell back to ${target}`;
          count(`access ${op.kind} (${via}) -> ${outcome(what)}`);
          if (r > 0 && op.kind === 'write') writer.set(r, p);
          else if (r > 0 && writer.get(r) !== p) count(`access ${op.kind} -> a token another process wrote`);
        }
        break;
      }
    }
    log.push(`#${i} ${what}`);
    if (bad !== null) fail(i, what, bad);
    if (STATS && op.op !== 'access') count(`${op.op} -> ${outcome(what)}`);
    const maps = compareMaps(model, p, task);
    if (maps !== null) fail(i, what, maps);
  }

  // Every page with content, in every process, still reads what the model says (on the other
  // CPU than the last access, so that a stale TLB entry does not hide a lost page).
  for (const p of live()) {
    const task = tasks[p]!;
    const cpu = (task.cpu + 1) % CPUS;
    for (const page of model.writtenPages(p)) {
      const r = sys.access(task, page * PAGE_SIZE, 'read', cpu);
      const what = `final sweep: p${p} read ${addr(page)} on cpu ${cpu} = ${r}`;
      const bad = model.access(p, page, 'read', r);
      if (bad !== null) fail(ops.length, what, bad);
    }
  }

  if (STATS) {
    const c = sys.systemCounters();
    for (const name of THP_EVENTS) if (c[name] > 0) count(`sequences with ${name} (thp ${cfg.thp})`);
  }

  // Exit in slot order, or in the reverse order: children before or after their parents.
  const order = ops.length % 2 === 0 ? tasks : [...tasks].reverse();
  for (const t of order) if (t !== null) sys.exit(t);
  if (hog !== null) sys.exit(hog);
  sys.dropCaches(2); // the huge zero page outlives its users until a shrinker runs
  const k = sys.kernel;
  const leaks: string[] = [];
  if (k.phys.freePages !== k.phys.totalPages - 1) {
    leaks.push(`${k.phys.totalPages - 1 - k.phys.freePages} frames leaked (only the zero page may stay)`);
  }
  if (k.pool.live !== 0) leaks.push(`${k.pool.live} page tables remain`);
  if (k.anonPages !== 0 || k.shmemPages !== 0 || k.mlockedPages !== 0) {
    leaks.push(`AnonPages ${k.anonPages}, Shmem ${k.shmemPages}, Mlocked ${k.mlockedPages} after every exit`);
  }
  if (leaks.length > 0)
    throw new Error(`after exit: ${leaks.join('; ')}\n  steps:\n    ${log.join('\n    ')}`);
}

/** VMLAB_PROP_STATS=1 prints how often each kind of outcome occurred (to judge the generator). */
const THP_EVENTS = [
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_split_pmd',
  'thp_deferred_split_page',
  'thp_split_page',
  'thp_collapse_alloc',
  'thp_zero_page_alloc',
] as const;
const STATS = process.env.VMLAB_PROP_STATS === '1';
const stats = new Map<string, number>();
function count(key: string): void {
  stats.set(key, (stats.get(key) ?? 0) + 1);
}
function outcome(what: string): string {
  const r = what.slice(what.lastIndexOf('= ') + 2);
  if (/^0x/.test(r)) return 'ok(addr)';
  if (/^[1-9]\d*$/.test(r)) return 'token';
  return r === '-1' ? 'SIGSEGV' : r === '-2' ? 'SIGBUS' : r === '-3' ? 'OOM' : r;
}
afterAll(() => {
  if (STATS)
    console.log(
      [...stats.entries()]
        .sort()
        .map(([k, n]) => `${String(n).padStart(7)}  ${k}`)
        .join('\n'),
    );
});

function mmapReq(
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

function resolve(model: ReferenceModel, p: number, r: RangeSpec): { page: number; pages: number } {
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

/**
 * vmlab's VMAs of the task cover exactly the model's pages, with the same prot, lock, sharing
 * and fork advice.
 */
function compareMaps(model: ReferenceModel, p: number, task: Task): string | null {
  let n = 0;
  for (const v of task.mm!.vmas.values()) {
    for (let vpn = v.start; vpn < v.end; vpn++) {
      n++;
      const m = model.pageInfo(p, vpn);
      if (m === undefined) return `maps: vmlab maps ${addr(vpn)}, the model does not`;
      const got: PageInfo = {
        prot: v.flags & 7,
        locked: (v.flags & VM_LOCKED) !== 0,
        shared: v.file !== null,
        dontfork: (v.flags & VM_DONTCOPY) !== 0,
        wipeonfork: (v.flags & VM_WIPEONFORK) !== 0,
      };
      const a = describePage(got);
      const b = describePage(m);
      if (a !== b) return `maps: ${addr(vpn)} is ${a} in vmlab, ${b} in the model`;
    }
  }
  if (n !== model.mappedCount(p)) return `maps: vmlab maps ${n} pages, the model ${model.mappedCount(p)}`;
  return null;
}

function describePage(m: PageInfo): string {
  return (
    PROT_NAMES[m.prot] +
    (m.locked ? ' locked' : '') +
    (m.shared ? ' shared' : '') +
    (m.dontfork ? ' dontfork' : '') +
    (m.wipeonfork ? ' wipeonfork' : '')
  );
}

function addr(page: number): string {
  return `0x${(page * PAGE_SIZE).toString(16)}`;
}

function show(r: CallResult): string {
  return r.ok ? (r.value >= PAGE_SIZE ? addr(r.value / PAGE_SIZE) : String(r.value)) : r.errno;
}

// ------------------------------------------------------------------ the properties

/** The THP mode of a sequence: always and madvise most of the time, where THPs happen. */
const thpArb = fc.constantFrom<ThpEnabled>('always', 'always', 'madvise', 'madvise', 'never');

/** VMLAB_FC_SEED replays a failing run (fast-check prints the seed); VMLAB_FC_RUNS runs longer. */
const seedEnv = process.env.VMLAB_FC_SEED;
const runsEnv = process.env.VMLAB_FC_RUNS;
/** Long runs (VMLAB_FC_RUNS) get an hour instead of the configured test timeout. */
const timeout = runsEnv !== undefined ? 3_600_000 : undefined;
function fcParams<T>(numRuns: number): fc.Parameters<T> {
  const n = runsEnv !== undefined ? Number(runsEnv) : numRuns;
  return seedEnv !== undefined && seedEnv !== 'random'
    ? { numRuns: n, seed: Number(seedEnv) }
    : { numRuns: n };
}

describe('vmlab agrees with the reference model', () => {
  it(
    'on random sequences of memory calls, accesses, forks and exits (64 MiB, 2 CPUs, up to 4 processes)',
    () => {
      fc.assert(
        fc.property(thpArb, opsArb(false), (thp, ops) => {
          runSequence(ops, { memory: 64 * MiB, thp });
        }),
        fcParams<[ThpEnabled, Op[]]>(300),
      );
    },
    timeout,
  );

  it(
    'when memory runs out (4 MiB): accesses may fail with -3, fork and exec may fail, nothing leaks',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 40 }), thpArb, opsArb(true), (free, thp, ops) => {
          runSequence(ops, { memory: 4 * MiB, freeTarget: free, thp });
        }),
        fcParams<[number, ThpEnabled, Op[]]>(200),
      );
    },
    timeout,
  );
});

/** An mmap step for the hand-written sequences below. */
function mmapOp(
  p: number,
  page: number,
  len: number,
  prot: number,
  more: Partial<Op & { op: 'mmap' }> = {},
): Op {
  return {
    op: 'mmap',
    p,
    page,
    len,
    prot,
    shared: false,
    mode: 'fixed',
    populate: false,
    locked: false,
    noreserve: false,
    ...more,
  };
}
const win = (page: number, len: number): RangeSpec => ({ at: 'win', page, len });

/** A one-process, two-CPU machine for the hand-written cases: returns the system and the task. */
function machine(memory: number): { sys: System; t: Task } {
  const sys = new System({
    machine: {
      cpus: 2,
      nodes: [memory],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      oomKiller: false,
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
  const t = sys.spawn('app', 0);
  if (t === null) throw new Error('spawn failed');
  return { sys, t };
}

/** Fill memory from another process until allocations fail: free memory is down to the min
 * watermark, which user allocations never take (populate stops at the first failure). */
function exhaust(sys: System): Task {
  const hog = sys.spawn('hog', 0)!;
  sys.mmap(
    hog,
    mmapReq(0x6000_0000_0000 / PAGE_SIZE, sys.kernel.phys.totalPages, 3, false, 'fixed', true, false, false),
  );
  expect(sys.kernel.phys.freePages).toBe(sys.kernel.watermarks[0].min);
  return hog;
}

function expectNoLeak(sys: System): void {
  expect(sys.kernel.phys.freePages).toBe(sys.kernel.phys.totalPages - 1);
  expect(sys.kernel.pool.live).toBe(0);
}

const rw = 3;

describe('regressions found by the property test', () => {
  // vmlab skipped mremap's vma_lookup(addr): a shrink or no-op resize of an unmapped address
  // succeeded, and MREMAP_FIXED unmapped the destination before failing.
  it('mremap of an unmapped address fails with EFAULT before anything changes', () => {
    runSequence(
      [
        { op: 'mremap', p: 0, r: win(0, 1), newLen: 1, mode: 'maymove', dst: 0 },
        { op: 'mremap', p: 0, r: win(0, 2), newLen: 1, mode: 'nomove', dst: 0 },
        mmapOp(0, 10, 2, rw),
        { op: 'access', p: 0, target: 'mapped', sel: 0, kind: 'write', cpu: 0 },
        { op: 'mremap', p: 0, r: win(0, 1), newLen: 2, mode: 'fixed', dst: 10 },
        { op: 'access', p: 0, target: 'written', sel: 0, kind: 'read', cpu: 0 },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // apply_vma_lock_flags and do_mprotect_pkey go on at vma_iter_end() after the fixup: when
  // the changed part merged with the next VMA, vmlab looked at that VMA's old start and
  // reported a hole (ENOMEM) that is not there.
  it('mlock whose first part merges with the next, already locked VMA succeeds', () => {
    runSequence(
      [
        mmapOp(1, 0, 4, 0),
        { op: 'mlock', p: 1, r: win(2, 1), onfault: true },
        { op: 'mlock', p: 1, r: win(1, 2), onfault: true },
        { op: 'munlock', p: 1, r: win(0, 4) },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  it('mprotect whose first part merges with the next VMA succeeds', () => {
    runSequence(
      [
        mmapOp(0, 0, 4, rw),
        { op: 'mprotect', p: 0, r: win(2, 1), prot: 1 },
        { op: 'mprotect', p: 0, r: win(1, 2), prot: 1 },
        { op: 'access', p: 0, target: 'win', sel: 1, kind: 'write', cpu: 0 },
        { op: 'access', p: 0, target: 'win', sel: 3, kind: 'write', cpu: 0 },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // move_vma's error path: when moving the page-table entries runs out of memory, Linux moves
  // the entries back and unmaps the new area. vmlab returned ENOMEM with the new VMA left in place.
  it('mremap that runs out of memory leaves the old mapping as it was (shrunk case)', () => {
    runSequence(
      [
        mmapOp(0, 2, 2, rw, { populate: true }),
        { op: 'mremap', p: 0, r: win(2, 1), newLen: 2, mode: 'maymove', dst: 0 },
      ],
      { memory: 4 * MiB, freeTarget: 4, thp: 'madvise' },
    );
  });

  it('mremap that runs out of memory half-way through the move puts the moved entries back', () => {
    const { sys, t } = machine(4 * MiB);
    // A PTE table for [WIN, WIN + 512) (the destination's lower half), none for [WIN + 512, WIN + 1024).
    expect(sys.mmap(t, mmapReq(WIN, 1, rw, false, 'fixed', true, false, false)).ok).toBe(true);
    const src = WIN + 1030;
    expect(sys.mmap(t, mmapReq(src, 4, rw, false, 'fixed', false, false, false)).ok).toBe(true);
    const tokens = [0, 1, 2, 3].map((i) => sys.access(t, (src + i) * PAGE_SIZE, 'write'));
    const hog = exhaust(sys);
    // Moving down walks upwards: WIN + 510 and 511 move, WIN + 512 needs a table that cannot be had.
    const r = sys.mremap(t, {
      addr: src * PAGE_SIZE,
      oldLen: 4 * PAGE_SIZE,
      newLen: 4 * PAGE_SIZE,
      maymove: true,
      fixed: true,
      dontunmap: false,
      newAddr: (WIN + 510) * PAGE_SIZE,
    });
    expect(r).toEqual({ ok: false, errno: 'ENOMEM' });
    // Read on the other CPU, whose TLB holds nothing of the old range (the first CPU's entries
    // for it would hide a lost page).
    expect([0, 1, 2, 3].map((i) => sys.access(t, (src + i) * PAGE_SIZE, 'read', 1))).toEqual(tokens);
    expect(sys.access(t, (WIN + 510) * PAGE_SIZE, 'read')).toBe(-1);
    expect(sys.processCounters(t).VmSize).toBe(5 * PAGE_SIZE);
    sys.exit(t);
    sys.exit(hog);
    expectNoLeak(sys);
  });

  // do_mlock: __mm_populate's -ENOMEM reaches user space as EAGAIN (__mlock_posix_error_return).
  it('mlock whose populate runs out of memory fails with EAGAIN and leaves the area locked', () => {
    const { sys, t } = machine(4 * MiB);
    expect(sys.mmap(t, mmapReq(WIN, 8, rw, false, 'fixed', false, false, false)).ok).toBe(true);
    const hog = exhaust(sys);
    expect(sys.mlock(t, WIN * PAGE_SIZE, 8 * PAGE_SIZE)).toEqual({ ok: false, errno: 'EAGAIN' });
    expect(sys.processCounters(t).VmLck).toBe(8 * PAGE_SIZE);
    expect(sys.madvise(t, WIN * PAGE_SIZE, PAGE_SIZE, 'dontneed')).toEqual({ ok: false, errno: 'EINVAL' });
    sys.exit(t);
    sys.exit(hog);
    expectNoLeak(sys);
  });
});
