// The runner of the differential property test (test/property.test.ts): one sequence of
// operations on vmlab and on the reference model, compared after every step.

import { afterAll } from 'vitest';
import type { Task } from '../src/mm/mm.js';
import { DEFAULT_THP } from '../src/mm/thp-state.js';
import { System, type SystemCounters } from '../src/sim/system.js';
import type { ThpEnabled } from '../src/workload/scenario.js';
import { checkFilesOnDisk, runFileOp, runGlobalFileOp } from './property-files.js';
import { addr, compareMaps, PROT_NAMES, show } from './property-maps.js';
import {
  type AccessTarget,
  CPUS,
  MAX_PROCS,
  mmapReq,
  type Op,
  resolve,
  START_PROCS,
  WIN,
  WIN_PAGES,
} from './property-ops.js';
import { SwapPressure } from './property-swap-run.js';
import { PAGE_SIZE, ReferenceModel } from './reference-model.js';

export interface RunConfig {
  /** Machine memory in bytes (a multiple of 4 MiB). */
  readonly memory: number;
  /**
   * Out-of-memory run: a third process populates memory until `freeTarget` frames are left
   * (then accesses may fail with -3).
   */
  readonly freeTarget?: number;
  /** Transparent huge pages: the machine's enabled mode. */
  readonly thp: ThpEnabled;
  /**
   * Memory pressure with swap: the size of the swap device in bytes. The OOM killer is then
   * on, and must never fire (see property-swap-run.ts); balloon and touch steps run.
   */
  readonly swap?: number;
}

/** What a sequence did, for the swap variant's check that pressure happened. */
export interface RunStats {
  /** The system's counters after every process exited. */
  readonly counters: SystemCounters;
  /** Whether shmem pages were in swap after some step (swap variant only). */
  readonly shmemSwapped: boolean;
  /** Whether the balloon squeezed while pages were mlocked (swap variant only). */
  readonly lockedSqueezed: boolean;
}

/** Run `ops` on vmlab and on the model; throws on the first difference. */
export function runSequence(ops: readonly Op[], cfg: RunConfig): RunStats {
  const sys = new System({
    machine: {
      cpus: CPUS,
      nodes: [cfg.memory],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      // Out of memory, allocations must fail (the model's -3, ENOMEM, EAGAIN); the OOM killer
      // would kill the sequence's processes instead. With swap it is on, as in a default
      // kernel, and must never fire (property-swap-run.ts).
      oomKiller: cfg.swap !== undefined,
      ...(cfg.swap !== undefined && { swapBytes: cfg.swap }),
      thp: { ...DEFAULT_THP, enabled: cfg.thp },
    },
    design: 'linux',
    seed: 1,
    // With swap, the checker runs after every step instead (SwapPressure.check): a touch step
    // is hundreds of accesses.
    check: cfg.swap === undefined,
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
  const swap = cfg.swap !== undefined ? new SwapPressure(sys) : null;
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

  /** With swap: the invariants hold and the OOM killer did not fire in the step before step i. */
  const afterStep = (i: number): void => {
    const bad = swap?.check() ?? null;
    if (bad !== null) fail(i - 1, log.at(-1) ?? '', bad);
  };

  for (const [i, op] of ops.entries()) {
    afterStep(i);
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
    if (op.op === 'khugepaged') {
      // Changes nothing any process sees; the checker runs after it.
      sys.khugepaged({ passes: 1 });
      log.push(`#${i} khugepaged`);
      if (STATS) count('khugepaged -> ok');
      continue;
    }
    if (op.op === 'create' || op.op === 'sync' || op.op === 'dropCaches') {
      const { what, bad } = runGlobalFileOp(sys, model, op);
      log.push(`#${i} ${what}`);
      if (bad !== null) fail(i, what, bad);
      const kind = op.op === 'dropCaches' ? `dropCaches ${op.mode}` : op.op;
      if (STATS) count(`${kind} -> ${op.op === 'create' ? outcome(what) : 'ok'}`);
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
    if (op.op === 'balloon') {
      const { what, bad } = swap!.run(model, 0, null, op);
      log.push(`#${i} ${what}`);
      if (bad !== null) fail(i, what, bad);
      if (STATS) count(`balloon ${op.squeeze} -> ok`);
      continue;
    }
    const alive = live();
    if (alive.length === 0) continue; // every respawn failed for lack of memory
    const p = alive[op.p % alive.length];
    const task = tasks[p]!;
    const skip = swap?.admit(model, p, op) ?? null;
    if (skip !== null) {
      log.push(`#${i} p${p} ${op.op} skipped (${skip})`);
      if (STATS) count(`${op.op} -> skipped (${skip})`);
      continue;
    }
    if (op.op === 'touch') {
      const { what, bad } = swap!.run(model, p, task, op);
      log.push(`#${i} ${what}`);
      if (bad !== null) fail(i, what, bad);
      if (STATS) count(`touch ${op.kind} -> ok`);
      continue;
    }
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
      case 'mmapFile':
      case 'read':
      case 'write':
      case 'truncate':
      case 'fsync':
        ({ what, bad } = runFileOp(sys, model, p, task, op));
        break;
      case 'msync': {
        const { page, pages } = resolve(model, p, op.r);
        const r = sys.msync(task, page * PAGE_SIZE, pages * PAGE_SIZE, op.flags);
        what = `p${p} msync(${addr(page)}, ${pages}p, [${op.flags.join(', ')}]) = ${show(r)}`;
        bad = model.msync(p, page, pages, op.flags, r);
        break;
      }
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
        const targets: AccessTarget[] = ['common', 'file', 'written', 'mapped', 'win'];
        let target = op.target;
        let pool: number[] = [];
        for (const t of targets.slice(targets.indexOf(op.target))) {
          target = t;
          pool =
            t === 'common'
              ? model.commonPages(p)
              : t === 'file'
                ? model.filePages(p)
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
    if (STATS && op.op !== 'access') {
      const o = outcome(what);
      count(`${op.op} -> ${(op.op === 'read' || op.op === 'write') && o === 'token' ? 'bytes' : o}`);
    }
    const maps = compareMaps(model, p, task);
    if (maps !== null) fail(i, what, maps);
  }

  afterStep(ops.length);
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

  afterStep(ops.length + 1);
  if (swap !== null) sys.balloon(0);
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
  if (k.mappedFilePages !== 0) leaks.push(`Mapped ${k.mappedFilePages} pages after every exit`);
  // The files' contents survive writeback and eviction; then no page may stay in the cache.
  const disk = checkFilesOnDisk(sys, model);
  if (disk !== null) leaks.push(disk);
  if (k.phys.freePages !== k.phys.totalPages - 1) {
    leaks.push(`${k.phys.totalPages - 1 - k.phys.freePages} frames leaked (only the zero page may stay)`);
  }
  if (k.pool.live !== 0) leaks.push(`${k.pool.live} page tables remain`);
  if (swap !== null) leaks.push(...swap.leaks(), ...sys.check());
  if (k.anonPages !== 0 || k.shmemPages !== 0 || k.mlockedPages !== 0) {
    leaks.push(`AnonPages ${k.anonPages}, Shmem ${k.shmemPages}, Mlocked ${k.mlockedPages} after every exit`);
  }
  if (leaks.length > 0)
    throw new Error(`after exit: ${leaks.join('; ')}\n  steps:\n    ${log.join('\n    ')}`);
  return {
    counters: sys.systemCounters(),
    shmemSwapped: swap?.shmemSwapped ?? false,
    lockedSqueezed: swap?.lockedSqueezed ?? false,
  };
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
