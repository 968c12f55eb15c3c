// The scenario runner: executes a validated scenario's steps on a System, checks declared
// errors and expectations, and gathers what the report shows. Guest failures are results;
// the runner decides from the scenario what counts as expected.

import type { GuestError, SysResult } from '../lib/errno.js';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from '../lib/units.js';
import type { Task } from '../mm/mm.js';
import { protFromName } from '../mm/vma.js';
import type { CostName } from '../sim/cost.js';
import { type DeviceCounter, PROCESS_COUNTERS } from '../sim/counter-names.js';
import { type ProcessCounters, System, type SystemCounters } from '../sim/system.js';
import { runDeviceStep } from './run-devices.js';
import type { ExpectValue, HugePageSizeName, RangeRef, Scenario, SourceLoc, Step } from './scenario.js';

const HUGE_PAGE_BYTES: Record<HugePageSizeName, number> = { '2MiB': PMD_SIZE, '1GiB': PUD_SIZE };

/** The length mmap mapped: whole pages, whole huge pages for hugetlb memory (ksys_mmap_pgoff rounds it up). */
function mappedLength(step: Extract<Step, { kind: 'mmap' }>, sys: System, unit: number): number {
  const huge =
    step.file !== undefined
      ? sys.hugetlbfsPageSize(step.file)
      : step.flags.includes('hugetlb')
        ? HUGE_PAGE_BYTES[step.hugeSize ?? '2MiB']
        : 0;
  const u = huge > 0 ? huge : unit;
  return Math.ceil(step.size / u) * u;
}

export type EventKind = 'expected-error' | 'error' | 'killed' | 'expect-failed' | 'oom' | 'oom-kill';

export interface RunEvent {
  readonly step: number;
  readonly loc: SourceLoc;
  readonly kind: EventKind;
  readonly message: string;
  /** Whether this event makes the run fail (exit status 1). */
  readonly failure: boolean;
}

export interface ProcessReport {
  readonly name: string;
  readonly pid: number;
  readonly state: 'running' | 'exited' | 'killed';
  readonly killedBy?: string;
  /** The counters now, or when the process ended. */
  readonly counters: ProcessCounters;
}

export interface DeviceReport {
  readonly name: string;
  readonly counters: Readonly<Record<DeviceCounter, number>>;
}

export interface RunReport {
  readonly scenario: {
    readonly name: string;
    readonly file: string;
    readonly design: string;
    readonly seed: number;
  };
  readonly machine: Scenario['machine'];
  readonly processes: readonly ProcessReport[];
  /** Each device's counters (their sums are system counters of the same names). */
  readonly devices: readonly DeviceReport[];
  readonly system: SystemCounters;
  /** The cost model's estimate by category, nanoseconds (its sum is system.est_time). */
  readonly estimate: Readonly<Record<CostName, number>>;
  readonly events: readonly RunEvent[];
  /** Steps executed (a run stops early at an undeclared error). */
  readonly stepsRun: number;
  readonly ok: boolean;
}

export interface RunOptions {
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  /** Check invariants after every step (default: VMLAB_CHECK=1). */
  readonly check?: boolean;
}

interface Region {
  addr: number;
  length: number;
}

interface Proc {
  readonly name: string;
  readonly task: Task;
  state: 'running' | 'exited' | 'killed';
  killedBy?: string;
  final?: ProcessCounters;
  readonly regions: Map<string, Region>;
  heapRegion: string | undefined;
}

/** A step's outcome: nothing went wrong, or the guest error it met (with a detail). */
export type Outcome = { error?: GuestError; detail?: string };

class StopRun extends Error {}

export function runScenario(sc: Scenario, opts: RunOptions = {}): RunReport {
  const seed = opts.seed ?? sc.seed;
  const sys = new System({ machine: sc.machine, design: sc.design, seed, check: opts.check });
  const procs = new Map<string, Proc>();
  const order: Proc[] = [];
  const events: RunEvent[] = [];
  let stepsRun = 0;

  const event = (step: Step, kind: EventKind, message: string, failure: boolean) =>
    events.push({ step: step.index, loc: step.loc, kind, message, failure });

  const proc = (step: Step, name: string): Proc => {
    const p = procs.get(name);
    if (p === undefined)
      throw new Error(`runScenario: process ${name} was not spawned (the parser should have caught it)`);
    if (p.state !== 'running') {
      event(
        step,
        'error',
        `${describe(step)}: process ${name} has ${p.state === 'killed' ? `been killed by ${p.killedBy}` : 'exited'}`,
        true,
      );
      throw new StopRun();
    }
    return p;
  };

  const range = (p: Proc, r: RangeRef, step: Step): { addr: number; length: number } => {
    if (r.region !== undefined) {
      const reg = p.regions.get(r.region);
      if (reg === undefined) {
        event(
          step,
          'error',
          `${describe(step)}: region ${r.region} is not defined in process ${p.name}`,
          true,
        );
        throw new StopRun();
      }
      const off = r.offset ?? 0;
      return { addr: reg.addr + off, length: r.length ?? Math.max(0, reg.length - off) };
    }
    return { addr: (r.addr ?? 0) + (r.offset ?? 0), length: r.length ?? 0 };
  };

  const settle = (step: Step, out: Outcome): void => {
    const declared = step.expectError;
    if (out.error === undefined) {
      if (declared !== undefined) {
        event(step, 'error', `${describe(step)}: expected ${declared}, but the step succeeded`, true);
        throw new StopRun();
      }
      return;
    }
    if (out.error === declared) {
      event(
        step,
        'expected-error',
        `${describe(step)}: ${out.error} as declared${out.detail ? ` (${out.detail})` : ''}`,
        false,
      );
      return;
    }
    const want = declared === undefined ? '' : ` (expected ${declared})`;
    event(
      step,
      'error',
      `${describe(step)}: failed with ${out.error}${out.detail ? ` (${out.detail})` : ''}${want}`,
      true,
    );
    throw new StopRun();
  };

  /** A call over a range whose only result is success or an errno. */
  const onRange = (
    step: Step,
    name: string,
    r: RangeRef,
    call: (task: Task, addr: number, length: number) => SysResult<unknown>,
  ) => {
    const p = proc(step, name);
    const { addr, length } = range(p, r, step);
    const res = call(p.task, addr, length);
    settle(step, res.ok ? {} : { error: res.errno });
  };

  /** The OOM killer's victims of this step: events (not failures: the run goes on). */
  const oomKills = (step: Step): void => {
    for (const kill of sys.peekOomKills()) {
      const p = [...procs.values()].find((q) => q.task.pid === kill.pid && q.state === 'running');
      if (p !== undefined) p.final = sys.processCounters(p.task);
    }
    for (const kill of sys.takeOomKills()) {
      const p = [...procs.values()].find((q) => q.task.pid === kill.pid && q.state === 'running');
      if (p === undefined) continue;
      p.state = 'killed';
      p.killedBy = 'SIGKILL';
      event(
        step,
        'oom-kill',
        `${describe(step)}: out of memory: the OOM killer killed process ${p.name} (badness ${kill.points} pages, ${kill.rss} resident)`,
        false,
      );
    }
  };

  const kill = (step: Step, p: Proc, sig: string, detail: string): void => {
    p.final = sys.processCounters(p.task);
    sys.exit(p.task);
    p.state = 'killed';
    p.killedBy = sig;
    event(step, 'killed', `${describe(step)}: process ${p.name} killed by ${sig} (${detail})`, true);
  };

  try {
    for (const step of sc.steps) {
      stepsRun++;
      if (step.designs !== undefined && !step.designs.includes(sc.design)) continue; // another design's step
      try {
        runStep(step);
      } finally {
        oomKills(step);
      }
    }
  } catch (e) {
    if (!(e instanceof StopRun)) throw e;
  }

  function runStep(step: Step): void {
    switch (step.kind) {
      case 'spawn': {
        const cpu = step.cpu ?? order.length % sc.machine.cpus;
        const task = sys.spawn(step.name, cpu);
        if (task === null) {
          settle(step, { error: 'ENOMEM', detail: 'no memory for the page-table root' });
          return;
        }
        const p: Proc = {
          name: step.name,
          task,
          state: 'running',
          regions: new Map(),
          heapRegion: undefined,
        };
        procs.set(step.name, p);
        order.push(p);
        settle(step, {});
        return;
      }
      case 'exit': {
        const p = proc(step, step.in);
        p.final = sys.processCounters(p.task);
        sys.exit(p.task);
        p.state = 'exited';
        settle(step, {});
        return;
      }
      case 'fork': {
        const parent = proc(step, step.in);
        const task = sys.fork(parent.task, step.child);
        if (task === null) {
          settle(step, { error: 'ENOMEM' });
          return;
        }
        // The child starts with the parent's named regions (and its heap name).
        const regions = new Map([...parent.regions].map(([n, r]) => [n, { ...r }]));
        const child: Proc = {
          name: step.child,
          task,
          state: 'running',
          regions,
          heapRegion: parent.heapRegion,
        };
        procs.set(step.child, child);
        order.push(child);
        settle(step, {});
        return;
      }
      case 'exec': {
        const p = proc(step, step.in);
        if (!sys.exec(p.task)) {
          settle(step, { error: 'ENOMEM' });
          return;
        }
        p.regions.clear();
        p.heapRegion = undefined;
        settle(step, {});
        return;
      }
      case 'mmap': {
        const p = proc(step, step.in);
        const req = {
          addr: step.addr ?? 0,
          len: step.size,
          prot: protFromName(step.prot),
          shared: step.flags.includes('shared'),
          fixed: step.fixed,
          fixedNoReplace: step.flags.includes('fixed_noreplace'),
          populate: step.flags.includes('populate'),
          locked: step.flags.includes('locked'),
          noreserve: step.flags.includes('noreserve'),
          hugetlb: step.flags.includes('hugetlb'),
          peerShared: step.flags.includes('peer_shared'),
          ...(step.hugeSize !== undefined && { hugeSize: HUGE_PAGE_BYTES[step.hugeSize] }),
        };
        const r =
          step.file === undefined
            ? sys.mmap(p.task, req)
            : sys.mmapFile(p.task, step.file, step.offset ?? 0, req);
        if (!r.ok) {
          settle(step, { error: r.errno });
          return;
        }
        if (step.as !== undefined)
          p.regions.set(step.as, { addr: r.value, length: mappedLength(step, sys, PAGE_SIZE) });
        settle(step, {});
        return;
      }
      case 'munmap':
        onRange(step, step.in, step.range, (task, addr, length) => sys.munmap(task, addr, length));
        return;
      case 'create': {
        const r = sys.createFile(
          step.file,
          step.size,
          step.cached,
          step.hugetlbfs === undefined ? undefined : HUGE_PAGE_BYTES[step.hugetlbfs],
        );
        settle(step, r.ok ? {} : { error: r.errno });
        return;
      }
      case 'read':
      case 'write': {
        const p = proc(step, step.in);
        const len = step.length ?? Math.max(0, (sys.fileSize(step.file) ?? 0) - step.offset);
        const r =
          step.kind === 'read'
            ? sys.read(p.task, step.file, step.offset, len)
            : sys.write(p.task, step.file, step.offset, len);
        settle(step, r.ok ? {} : { error: r.errno });
        return;
      }
      case 'truncate': {
        const p = proc(step, step.in);
        const r = sys.truncate(p.task, step.file, step.size);
        settle(step, r.ok ? {} : { error: r.errno });
        return;
      }
      case 'fsync': {
        const p = proc(step, step.in);
        const r = sys.fsync(p.task, step.file);
        settle(step, r.ok ? {} : { error: r.errno });
        return;
      }
      case 'msync':
        onRange(step, step.in, step.range, (task, addr, length) => sys.msync(task, addr, length, step.flags));
        return;
      case 'sync':
        sys.sync();
        settle(step, {});
        return;
      case 'balloon': {
        const held = sys.balloon(step.size);
        settle(step, held < step.size ? { error: 'ENOMEM', detail: `the balloon holds ${held} bytes` } : {});
        return;
      }
      case 'mprotect':
        onRange(step, step.in, step.range, (task, addr, length) =>
          sys.mprotect(task, addr, length, protFromName(step.prot)),
        );
        return;
      case 'mremap': {
        const p = proc(step, step.in);
        const { addr, length } = range(p, step.range, step);
        const r = sys.mremap(p.task, {
          addr,
          oldLen: length,
          newLen: step.newSize,
          maymove: step.flags.includes('maymove'),
          fixed: step.flags.includes('fixed'),
          dontunmap: step.flags.includes('dontunmap'),
          newAddr: step.newAddr ?? 0,
        });
        if (!r.ok) {
          settle(step, { error: r.errno });
          return;
        }
        // A region follows its mapping: the one starting at the old address now starts at the new one.
        for (const reg of p.regions.values()) {
          if (reg.addr === addr) {
            reg.addr = r.value;
            reg.length = Math.ceil(step.newSize / PAGE_SIZE) * PAGE_SIZE;
          }
        }
        settle(step, {});
        return;
      }
      case 'madvise':
        onRange(step, step.in, step.range, (task, addr, length) =>
          sys.madvise(task, addr, length, step.advice),
        );
        return;
      case 'mlock':
        onRange(step, step.in, step.range, (task, addr, length) =>
          sys.mlock(task, addr, length, step.onfault),
        );
        return;
      case 'munlock':
        onRange(step, step.in, step.range, (task, addr, length) => sys.munlock(task, addr, length));
        return;
      case 'brk': {
        const p = proc(step, step.in);
        const mm = p.task.mm!;
        const target = step.addr ?? mm.brk + (step.delta ?? 0);
        const r = sys.brk(p.task, target);
        if (step.as !== undefined) p.heapRegion = step.as;
        if (p.heapRegion !== undefined) {
          p.regions.set(p.heapRegion, {
            addr: mm.startBrk,
            length: Math.ceil(mm.brk / PAGE_SIZE) * PAGE_SIZE - mm.startBrk,
          });
        }
        settle(step, r.ok ? {} : { error: r.errno });
        return;
      }
      case 'touch': {
        const p = proc(step, step.in);
        const { addr, length } = range(p, step.range, step);
        const r = sys.touch(p.task, {
          addr,
          length,
          op: step.op,
          pattern: step.pattern,
          stride: step.stride,
          count: step.count,
          cpu: step.cpu,
        });
        if (r.error === undefined) {
          settle(step, {});
          return;
        }
        const detail = `at 0x${(r.faultAddr ?? 0).toString(16)} after ${r.accesses} accesses`;
        if (r.error === 'ENOMEM') event(step, 'oom', `${describe(step)}: out of memory ${detail}`, false);
        if (r.error === 'SIGKILL') return; // the OOM killer chose this process: reported below
        if ((r.error === 'SIGSEGV' || r.error === 'SIGBUS') && step.expectError !== r.error) {
          // An unexpected fatal signal kills the process (the default action); the run goes on.
          kill(step, p, r.error, detail);
          return;
        }
        settle(step, { error: r.error, detail });
        return;
      }
      case 'khugepaged':
        sys.khugepaged({
          ...(step.passes !== undefined && { passes: step.passes }),
          ...(step.fullScans !== undefined && { fullScans: step.fullScans }),
        });
        settle(step, {});
        return;
      case 'drop_caches':
        sys.dropCaches(step.mode);
        settle(step, {});
        return;
      case 'attach':
      case 'detach':
      case 'device':
      case 'migrate':
      case 'evict':
      case 'hmadvise':
        runDeviceStep(sys, step, {
          task: (name) => proc(step, name).task,
          range: (name, r) => range(proc(step, name), r, step),
          settle: (out) => settle(step, out),
        });
        return;
      case 'expect': {
        let actual: Record<string, number>;
        let who: string;
        if (step.in !== undefined) {
          const p = procs.get(step.in)!;
          actual = p.state === 'running' ? sys.processCounters(p.task) : p.final!;
          who = `process ${step.in}`;
        } else {
          actual = sys.systemCounters();
          who = 'system';
        }
        for (const [name, want] of Object.entries(step.values)) {
          const got = actual[name];
          if (!matches(want, got)) {
            const loc = step.valueLocs[name] ?? step.loc;
            const unitBytes =
              step.in !== undefined &&
              name in PROCESS_COUNTERS &&
              PROCESS_COUNTERS[name as keyof typeof PROCESS_COUNTERS].unit === 'bytes';
            events.push({
              step: step.index,
              loc,
              kind: 'expect-failed',
              message: `${describe(step)}: ${who} ${name}: expected ${showWant(want)}, actual ${got}${unitBytes ? ` (${got / 1024} kB)` : ''}`,
              failure: true,
            });
          }
        }
        return;
      }
    }
  }

  const processes: ProcessReport[] = order.map((p) => ({
    name: p.name,
    pid: p.task.pid,
    state: p.state,
    ...(p.killedBy !== undefined ? { killedBy: p.killedBy } : {}),
    counters: p.state === 'running' ? sys.processCounters(p.task) : p.final!,
  }));
  return {
    scenario: { name: sc.name, file: sc.file, design: sc.design, seed },
    machine: sc.machine,
    processes,
    devices: Object.entries(sys.deviceCounters()).map(([name, counters]) => ({ name, counters })),
    system: sys.systemCounters(),
    estimate: sys.estimatedTime().parts,
    events,
    stepsRun,
    ok: !events.some((e) => e.failure),
  };
}

function matches(want: ExpectValue, got: number | undefined): boolean {
  if (got === undefined) return false;
  if (typeof want === 'number') return got === want;
  return (want.min === undefined || got >= want.min) && (want.max === undefined || got <= want.max);
}

function showWant(want: ExpectValue): string {
  if (typeof want === 'number') return String(want);
  const parts = [];
  if (want.min !== undefined) parts.push(`>= ${want.min}`);
  if (want.max !== undefined) parts.push(`<= ${want.max}`);
  return parts.join(' and ');
}

/** "step 4 (mmap)": the position is printed beside it. */
export function describe(step: Step): string {
  return `step ${step.index + 1} (${step.kind})`;
}
