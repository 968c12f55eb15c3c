// Turns a decoded format-v1 document into the typed Scenario of scenario.ts, and checks what spans
// steps: a process must be spawned before it is named in `in`, a region defined (mmap/brk `as` in the
// same process) before it is used, a CPU index must exist, a process name is spawned once.
// Every problem is reported to ctx with its position; nothing is thrown.

import type { DesignName } from '../designs/names.js';
import type { GuestError } from '../lib/errno.js';
import { PAGE_SIZE } from '../lib/units.js';
import { DEFAULT_THP } from '../mm/thp-state.js';
import { DEFAULT_TLB, type DecodedMachine, type DecodedScenario, type DecodedStep } from './format.js';
import type { ExpectValue, MachineSpec, RangeRef, Scenario, SourceLoc, Step, ThpConfig } from './scenario.js';
import {
  buildDeviceStep,
  buildDevices,
  checkDevices,
  type DeviceStep,
  isDeviceStep,
} from './scenario-devices.js';
import {
  AT,
  type DecodeCtx,
  INVALID,
  type Invalid,
  type Located,
  placeOf,
  type Where,
} from './schema-dsl.js';
import { StepTracker } from './step-tracker.js';

export function buildScenario(d: DecodedScenario, ctx: DecodeCtx): Scenario | Invalid {
  const machine = buildMachine(d.machine);
  const tracker = new StepTracker(ctx, machine.cpus, d.design);
  const deviceNames = checkDevices(d, ctx);
  const steps: Step[] = [];
  d.steps.forEach((item, index) => {
    if (isDeviceStep(item)) steps.push(buildDeviceStep(item, index, tracker, deviceNames, ctx));
    else steps.push(buildStep(item, index, tracker, ctx));
  });
  if (ctx.errors.length > 0) return INVALID;
  return {
    file: ctx.file,
    name: d.name,
    ...(d.description !== undefined && { description: d.description }),
    seed: d.seed,
    machine,
    design: d.design[0],
    designs: d.design,
    steps,
  };
}

function buildMachine(m: DecodedMachine): MachineSpec {
  return {
    cpus: m.cpus,
    nodes: m.memory !== undefined ? [m.memory] : [...(m.nodes ?? [])],
    paging: m.paging,
    tlb: m.tlb === undefined ? { ...DEFAULT_TLB } : { entries: m.tlb.entries, ways: m.tlb.ways },
    maxMapCount: m.max_map_count,
    faultAroundBytes: m.fault_around_bytes,
    readAheadKb: m.read_ahead_kb,
    maxFolioOrder: m.max_folio_order,
    swapBytes: m.swap,
    ...(m.min_free_kbytes !== undefined && { minFreeKbytes: m.min_free_kbytes }),
    oomKiller: m.oom_killer,
    ...(m.costs !== undefined && { costs: m.costs }),
    thp: buildThp(m.thp),
    ...(m.hugepages !== undefined && {
      hugepages: {
        pages2M: m.hugepages['2MiB'],
        pages1G: m.hugepages['1GiB'],
        overcommit: m.hugepages.overcommit,
      },
    }),
    devices: buildDevices(m.devices),
  };
}

function buildThp(t: DecodedMachine['thp']): ThpConfig {
  if (t === undefined) return { ...DEFAULT_THP };
  if (typeof t === 'string') return { ...DEFAULT_THP, enabled: t };
  return {
    enabled: t.enabled,
    useZeroPage: t.use_zero_page,
    pagesToScan: t.pages_to_scan,
    maxPtesNone: t.max_ptes_none,
    maxPtesSwap: t.max_ptes_swap,
    maxPtesShared: t.max_ptes_shared,
  };
}

/** The fields every range-taking step has, as decoded. */
export interface DecodedRange extends Located {
  readonly in: string;
  readonly region?: string;
  readonly addr?: number;
  readonly offset?: number;
  readonly length?: number;
}

function buildStep(
  item: Exclude<DecodedStep, DeviceStep>,
  index: number,
  t: StepTracker,
  ctx: DecodeCtx,
): Step {
  const base = stepBase(item, index, t, ctx);
  const ranged = (v: DecodedRange) => {
    t.process(v.in, placeOf(v, 'in'));
    return { in: v.in, range: rangeOf(v, t) };
  };
  switch (item.key) {
    case 'spawn': {
      const v = item.value;
      const name = typeof v === 'string' ? v : v.name;
      t.spawn(name, typeof v === 'string' ? item.valueWhere : placeOf(v, 'name'), index);
      if (typeof v === 'string' || v.cpu === undefined) return { ...base, kind: 'spawn', name };
      t.cpu(v.cpu, placeOf(v, 'cpu'));
      return { ...base, kind: 'spawn', name, cpu: v.cpu };
    }
    case 'exit': {
      const v = item.value;
      const name = typeof v === 'string' ? v : v.in;
      t.process(name, typeof v === 'string' ? item.valueWhere : placeOf(v, 'in'));
      return { ...base, kind: 'exit', in: name };
    }
    case 'fork': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      t.spawn(v.child, placeOf(v, 'child'), index);
      t.inheritRegions(v.in, v.child);
      return { ...base, kind: 'fork', in: v.in, child: v.child };
    }
    case 'exec': {
      const v = item.value;
      const name = typeof v === 'string' ? v : v.in;
      t.process(name, typeof v === 'string' ? item.valueWhere : placeOf(v, 'in'));
      return { ...base, kind: 'exec', in: name };
    }
    case 'create':
      t.createFile(item.value.file);
      return {
        ...base,
        kind: 'create',
        file: item.value.file,
        size: item.value.size,
        cached: item.value.cached,
        ...(item.value.hugetlbfs !== undefined && { hugetlbfs: item.value.hugetlbfs }),
      };
    case 'read':
    case 'write': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      t.file(v.file, placeOf(v, 'file'));
      const length = v.length;
      return {
        ...base,
        kind: item.key,
        in: v.in,
        file: v.file,
        offset: v.offset,
        ...(length !== undefined && { length }),
      };
    }
    case 'truncate': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      t.file(v.file, placeOf(v, 'file'));
      return { ...base, kind: 'truncate', in: v.in, file: v.file, size: v.size };
    }
    case 'fsync': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      t.file(v.file, placeOf(v, 'file'));
      return { ...base, kind: 'fsync', in: v.in, file: v.file };
    }
    case 'msync':
      return { ...base, kind: 'msync', ...ranged(item.value), flags: [...item.value.flags] };
    case 'sync':
      return { ...base, kind: item.key };
    case 'balloon': {
      const v = item.value;
      return { ...base, kind: 'balloon', size: typeof v === 'number' ? v : v.size };
    }
    case 'mmap': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      if (v.file !== undefined) t.file(v.file, placeOf(v, 'file'));
      if (v.as !== undefined) t.defineRegion(v.in, v.as);
      return {
        ...base,
        kind: 'mmap',
        in: v.in,
        ...(v.as !== undefined && { as: v.as }),
        size: v.size,
        prot: v.prot,
        flags: [...v.flags],
        ...(v.addr !== undefined && { addr: v.addr }),
        fixed: v.fixed,
        ...(v.file !== undefined && { file: v.file }),
        ...(v.offset !== undefined && { offset: v.offset }),
        ...(v.huge_size !== undefined && { hugeSize: v.huge_size }),
      };
    }
    case 'munmap':
    case 'munlock':
      return { ...base, kind: item.key, ...ranged(item.value) };
    case 'mprotect':
      return { ...base, kind: 'mprotect', ...ranged(item.value), prot: item.value.prot };
    case 'madvise':
      return { ...base, kind: 'madvise', ...ranged(item.value), advice: item.value.advice };
    case 'mlock':
      return { ...base, kind: 'mlock', ...ranged(item.value), onfault: item.value.onfault };
    case 'mremap': {
      const v = item.value;
      const newAddr = v.new_addr;
      return {
        ...base,
        kind: 'mremap',
        ...ranged(v),
        newSize: v.new_size,
        flags: [...v.flags],
        ...(newAddr !== undefined && { newAddr }),
      };
    }
    case 'brk': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      if (v.as !== undefined) t.defineRegion(v.in, v.as);
      return {
        ...base,
        kind: 'brk',
        in: v.in,
        ...(v.delta !== undefined && { delta: v.delta }),
        ...(v.addr !== undefined && { addr: v.addr }),
        ...(v.as !== undefined && { as: v.as }),
      };
    }
    case 'touch': {
      const v = item.value;
      if (v.cpu !== undefined) t.cpu(v.cpu, placeOf(v, 'cpu'));
      return {
        ...base,
        kind: 'touch',
        ...ranged(v),
        op: v.op,
        pattern: v.pattern,
        ...(v.pattern === 'strided' && { stride: v.stride ?? PAGE_SIZE }),
        ...(v.count !== undefined && { count: v.count }),
        ...(v.cpu !== undefined && { cpu: v.cpu }),
      };
    }
    case 'khugepaged': {
      const v = item.value;
      return {
        ...base,
        kind: 'khugepaged',
        ...(v.passes !== undefined && { passes: v.passes }),
        ...(v.full_scans !== undefined && { fullScans: v.full_scans }),
      };
    }
    case 'drop_caches':
      return { ...base, kind: 'drop_caches', mode: item.value as 1 | 2 | 3 };
    case 'expect': {
      const { known, extra } = item.value;
      if (known.in !== undefined) t.process(known.in, placeOf(known, 'in'));
      const values: Record<string, ExpectValue> = {};
      const valueLocs: Record<string, SourceLoc> = {};
      for (const e of extra) {
        values[e.key] = typeof e.value === 'number' ? e.value : boundsOf(e.value);
        valueLocs[e.key] = locOf(ctx, e.keyWhere);
      }
      return { ...base, kind: 'expect', ...(known.in !== undefined && { in: known.in }), values, valueLocs };
    }
  }
}

/** What every step has: its place, `expect_error`, and the designs it is limited to (`design`). */
export function stepBase(
  item: DecodedStep,
  index: number,
  t: StepTracker,
  ctx: DecodeCtx,
): { loc: SourceLoc; index: number; expectError?: GuestError; designs?: readonly DesignName[] } {
  const expectError = expectErrorOf(item, ctx);
  const designs = item.siblings.design;
  if (designs !== undefined) {
    const all = t.designs;
    for (const d of designs)
      if (!all.includes(d))
        ctx.report(
          placeOf(item.siblings, 'design'),
          `design ${d} is not one of the scenario's designs (${all.join(', ')})`,
        );
  }
  return {
    loc: locOf(ctx, item.where),
    index,
    ...(expectError !== undefined && { expectError }),
    ...(designs !== undefined && { designs }),
  };
}

/** `expect_error` beside the step key or inside its mapping; both at once is an error. */
function expectErrorOf(item: DecodedStep, ctx: DecodeCtx): GuestError | undefined {
  const outer = item.siblings.expect_error;
  const v: unknown = item.value;
  const inner =
    typeof v === 'object' && v !== null && AT in v
      ? (v as { expect_error?: GuestError }).expect_error
      : undefined;
  if (outer !== undefined && inner !== undefined) {
    ctx.report(
      placeOf(item.siblings, 'expect_error'),
      `expect_error is given twice: here and inside '${item.key}'`,
    );
  }
  return outer ?? inner;
}

export function rangeOf(v: DecodedRange, t: StepTracker): RangeRef {
  if (v.region !== undefined) t.region(v.in, v.region, placeOf(v, 'region'));
  return {
    ...(v.region !== undefined && { region: v.region }),
    ...(v.addr !== undefined && { addr: v.addr }),
    ...(v.offset !== undefined && { offset: v.offset }),
    ...(v.length !== undefined && { length: v.length }),
  };
}

function boundsOf(b: { readonly min?: number; readonly max?: number }): ExpectValue {
  return { ...(b.min !== undefined && { min: b.min }), ...(b.max !== undefined && { max: b.max }) };
}

export function locOf(ctx: DecodeCtx, w: Where): SourceLoc {
  return { file: ctx.file, line: w.line, column: w.column };
}
