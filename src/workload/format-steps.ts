// Scenario format v1: the steps. Each step is a one-key mapping (`- mmap: {...}`) whose key picks the
// shape below; `expect_error` may stand beside the key or inside the mapping.
// Checks that need earlier steps (was the process spawned? is the region defined?) are in scenario-build.ts.

import { DESIGN_NAMES } from '../designs/names.js';
import { PAGE_SIZE } from '../lib/units.js';
import { META_STRUCTURES, PROCESS_COUNTERS, SYSTEM_COUNTERS } from '../sim/counter-names.js';
import { attach, deviceKernel, evict, hmadviseStep, migrate as migrateStep } from './format-devices.js';
import {
  ADVICE,
  byteSize,
  cpuIndex,
  expectError,
  fileName,
  hugePageSize,
  inProcess,
  MMAP_FLAGS,
  MREMAP_FLAGS,
  MSYNC_FLAGS,
  positiveSize,
  processName,
  prot,
  RANGE,
  RANGE_RULES,
  regionName,
  STRIDE_RULE,
  signedSize,
  TOUCH_OPS,
  TOUCH_PATTERNS,
  virtualAddress,
} from './format-values.js';
import type { StepKind } from './scenario.js';
import {
  boolean,
  enumOf,
  exactlyOne,
  has,
  integer,
  type Located,
  listOf,
  named,
  object,
  oneKeyOf,
  oneOrList,
  openObject,
  optional,
  type Rule,
  required,
  type Schema,
  scalarOrMap,
  withDefault,
} from './schema-dsl.js';

/** A rule on one field's value that JSON Schema can state as `properties: { key: json }`. */
function fieldRule<O extends Located>(key: string, json: object, check: Rule<O>['check']): Rule<O> {
  return { check, json: { properties: { [key]: json } } };
}

const spawn = scalarOrMap(
  processName,
  object({
    name: required(processName, 'Name of the new process; later steps refer to it with `in`.'),
    cpu: optional(cpuIndex, 'CPU the process runs on; default 0.'),
    expect_error: expectError,
  }),
);

const exit = scalarOrMap(processName, object({ in: inProcess, expect_error: expectError }));

const fork = object({
  in: inProcess,
  child: required(processName, 'Name of the child; it starts with copies of the parent’s regions.'),
  expect_error: expectError,
});

const exec = scalarOrMap(processName, object({ in: inProcess, expect_error: expectError }));

const mmap = object(
  {
    in: inProcess,
    as: optional(regionName, 'Name the mapping as a region for later steps.'),
    size: required(positiveSize, 'Length of the mapping.'),
    prot: required(prot),
    flags: withDefault(
      listOf(enumOf(MMAP_FLAGS), { unique: true }),
      ['private', 'anonymous'],
      'MAP_* flags.',
    ),
    addr: optional(virtualAddress, 'Address hint, or the exact address with fixed.'),
    fixed: withDefault(boolean(), false, 'MAP_FIXED: map exactly at addr, replacing what is there.'),
    file: optional(fileName, 'Map this file (flags without anonymous).'),
    offset: optional(byteSize, 'Byte offset into the file, a multiple of 4KiB; default 0.'),
    huge_size: optional(
      hugePageSize,
      'With the hugetlb flag: MAP_HUGE_2MB or MAP_HUGE_1GB; default 2MiB (a hugetlbfs file has its own).',
    ),
    expect_error: expectError,
  },
  {
    rules: [
      {
        check(v, report) {
          if (has(v, 'huge_size') && !v.flags.includes('hugetlb'))
            report('huge_size', "'huge_size' needs 'hugetlb' in flags");
        },
        json: {
          if: { required: ['huge_size'] },
          then: { required: ['flags'], properties: { flags: { contains: { const: 'hugetlb' } } } },
        },
      },
      fieldRule(
        'flags',
        { oneOf: [{ contains: { const: 'private' } }, { contains: { const: 'shared' } }] },
        (v, report) => {
          const n = v.flags.filter((f) => f === 'private' || f === 'shared').length;
          if (n !== 1)
            report(
              'flags',
              n === 0 ? "flags need 'private' or 'shared'" : "'private' and 'shared' exclude each other",
            );
        },
      ),
      {
        check(v, report) {
          const anon = v.flags.includes('anonymous');
          if (anon && has(v, 'file')) report('file', "'file' and the 'anonymous' flag exclude each other");
          if (!anon && !has(v, 'file')) report('flags', "give 'file', or 'anonymous' in flags");
          if (has(v, 'offset') && !has(v, 'file')) report('offset', "'offset' is only allowed with 'file'");
        },
        json: {
          if: { required: ['file'] },
          then: { properties: { flags: { not: { contains: { const: 'anonymous' } } } } },
          else: {
            properties: { flags: { contains: { const: 'anonymous' } } },
            not: { required: ['offset'] },
          },
        },
      },
      {
        check(v, report) {
          if (v.fixed && !has(v, 'addr')) report('fixed', "'fixed: true' needs 'addr'");
        },
        json: {
          if: { properties: { fixed: { const: true } }, required: ['fixed'] },
          then: { required: ['addr'] },
        },
      },
    ],
  },
);

const munmap = object({ in: inProcess, ...RANGE, expect_error: expectError }, { rules: RANGE_RULES });

const mprotect = object(
  { in: inProcess, ...RANGE, prot: required(prot), expect_error: expectError },
  { rules: RANGE_RULES },
);

const mremap = object(
  {
    in: inProcess,
    ...RANGE,
    new_size: required(positiveSize, 'Length after the call.'),
    flags: withDefault(listOf(enumOf(MREMAP_FLAGS), { unique: true }), [], 'MREMAP_* flags.'),
    new_addr: optional(
      virtualAddress,
      "Where to move the mapping: the address with 'fixed' (required then), a hint with 'dontunmap' alone.",
    ),
    expect_error: expectError,
  },
  {
    rules: [
      ...RANGE_RULES,
      {
        check(v, report) {
          const fixed = v.flags.includes('fixed');
          const hint = v.flags.includes('dontunmap'); // mremap_to takes new_addr as a hint then
          if (fixed && !has(v, 'new_addr')) report('flags', "'fixed' needs 'new_addr'");
          if (!fixed && !hint && has(v, 'new_addr'))
            report('new_addr', "'new_addr' needs 'fixed' or 'dontunmap' in flags");
        },
        json: {
          if: { required: ['flags'], properties: { flags: { contains: { const: 'fixed' } } } },
          then: { required: ['new_addr'] },
          else: {
            if: { required: ['flags'], properties: { flags: { contains: { const: 'dontunmap' } } } },
            then: {},
            else: { not: { required: ['new_addr'] } },
          },
        },
      },
    ],
  },
);

const madvise = object(
  { in: inProcess, ...RANGE, advice: required(enumOf(ADVICE), 'MADV_* advice.'), expect_error: expectError },
  { rules: RANGE_RULES },
);

const mlock = object(
  {
    in: inProcess,
    ...RANGE,
    onfault: withDefault(boolean(), false, 'mlock2 MLOCK_ONFAULT: lock pages as they fault in.'),
    expect_error: expectError,
  },
  { rules: RANGE_RULES },
);

const munlock = object({ in: inProcess, ...RANGE, expect_error: expectError }, { rules: RANGE_RULES });

const brk = object(
  {
    in: inProcess,
    delta: optional(signedSize, 'Move the break by this many bytes (sbrk); may be negative.'),
    addr: optional(virtualAddress, 'Set the break to this address (brk).'),
    as: optional(regionName, 'Name the heap (initial break to current break) as a region.'),
    expect_error: expectError,
  },
  { rules: [exactlyOne('delta', 'addr')] },
);

const touch = object(
  {
    in: inProcess,
    ...RANGE,
    op: required(enumOf(TOUCH_OPS), 'The kind of access.'),
    pattern: withDefault(enumOf(TOUCH_PATTERNS), 'sequential', 'Order of the accesses.'),
    stride: optional(positiveSize, `Bytes between accesses (strided only); default ${PAGE_SIZE}.`),
    count: optional(integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), 'Accesses; default one per page.'),
    cpu: optional(cpuIndex, "CPU to run on; default the process's CPU."),
    expect_error: expectError,
  },
  {
    rules: [...RANGE_RULES, STRIDE_RULE],
  },
);

const inFile = required(fileName, 'The file, made by an earlier create step.');

const create = object(
  {
    file: required(fileName, 'Name of the new file; later steps refer to it with `file`.'),
    size: withDefault(byteSize, 0, 'Size in bytes; every page holds data on the disk.'),
    cached: withDefault(boolean(), false, 'Start with the whole file in the page cache (clean).'),
    hugetlbfs: optional(
      hugePageSize,
      'Create the file on a hugetlbfs mount of this page size instead: no data, no pages until faulted; the size must be a multiple of the page size.',
    ),
    expect_error: expectError,
  },
  {
    rules: [
      {
        check(v, report) {
          if (has(v, 'hugetlbfs') && v.cached)
            report('cached', 'a hugetlbfs file has no page cache to start with');
        },
        json: {
          if: { required: ['hugetlbfs'] },
          then: { not: { required: ['cached'], properties: { cached: { const: true } } } },
        },
      },
    ],
  },
);

const fileRange = {
  in: inProcess,
  file: inFile,
  offset: withDefault(byteSize, 0, 'Byte offset into the file.'),
};

const read = object({
  ...fileRange,
  length: optional(byteSize, 'Bytes to read; default to the end of the file.'),
  expect_error: expectError,
});

const write = object({
  ...fileRange,
  length: required(byteSize, 'Bytes to write; the file grows to cover them.'),
  expect_error: expectError,
});

const truncate = object({
  in: inProcess,
  file: inFile,
  size: required(byteSize, 'The new size in bytes.'),
  expect_error: expectError,
});

const fsync = object({ in: inProcess, file: inFile, expect_error: expectError });

const msync = object(
  {
    in: inProcess,
    ...RANGE,
    flags: withDefault(listOf(enumOf(MSYNC_FLAGS), { unique: true }), ['sync'], 'MS_* flags.'),
    expect_error: expectError,
  },
  { rules: RANGE_RULES },
);

const sync = object({ expect_error: expectError });

const balloon = scalarOrMap(
  byteSize,
  object({
    size: required(byteSize, 'Memory the balloon holds after the step (0 lets it all go).'),
    expect_error: expectError,
  }),
);
const khugepaged = object(
  {
    passes: optional(
      integer({ min: 1, max: 1_000_000 }),
      'Wake khugepaged this many times (pages_to_scan each).',
    ),
    full_scans: optional(
      integer({ min: 1, max: 1_000_000 }),
      'Run khugepaged until it has completed this many more passes over its mm list.',
    ),
    expect_error: expectError,
  },
  { rules: [exactlyOne('passes', 'full_scans')] },
);

const dropCaches = integer({ min: 1, max: 3 });

/** An expected counter value: exact, or bounds (inclusive). */
const expectValue = named(
  'expectValue',
  scalarOrMap(
    byteSize,
    object(
      {
        min: optional(byteSize, 'Smallest value allowed.'),
        max: optional(byteSize, 'Largest value allowed.'),
      },
      {
        rules: [
          {
            check(v, report) {
              if (!has(v, 'min') && !has(v, 'max')) report('min', "give 'min', 'max' or both");
              if (v.min !== undefined && v.max !== undefined && v.min > v.max)
                report('max', 'max is below min');
            },
            json: { minProperties: 1 },
          },
        ],
      },
    ),
  ),
  'A counter value (bytes or a count), or { min, max } bounds, inclusive.',
);

const META_COUNTERS = Object.keys(META_STRUCTURES).flatMap((s) => [`meta.${s}`, `meta_peak.${s}`]);

const expect = openObject(
  { in: optional(processName, 'Process whose counters to check; absent: the system counters.') },
  {
    value: expectValue,
    noun: 'counter',
    when: 'in',
    whenGiven: Object.keys(PROCESS_COUNTERS),
    otherwise: [...Object.keys(SYSTEM_COUNTERS), ...META_COUNTERS],
    minCount: 1,
  },
);

export const STEP_SHAPES = {
  spawn: named('spawn', spawn, 'Create a process: `spawn: app` or `spawn: { name: app, cpu: 1 }`.'),
  exit: named('exit', exit, 'End a process: `exit: app` or `exit: { in: app }`.'),
  fork: named('fork', fork, 'fork(2): `fork: { in: app, child: worker }`.'),
  exec: named('exec', exec, 'execve(2): the process gets an empty address space: `exec: app`.'),
  mmap: named('mmap', mmap, 'mmap(2): map anonymous memory or a file.'),
  munmap: named('munmap', munmap, 'munmap(2).'),
  mprotect: named('mprotect', mprotect, 'mprotect(2).'),
  mremap: named('mremap', mremap, 'mremap(2): grow, shrink or move a mapping.'),
  madvise: named('madvise', madvise, 'madvise(2).'),
  mlock: named('mlock', mlock, 'mlock(2) / mlock2(2).'),
  munlock: named('munlock', munlock, 'munlock(2).'),
  brk: named('brk', brk, 'brk(2) / sbrk(3).'),
  create: named(
    'create',
    create,
    'Create a file whose contents are on the disk: `create: { file: data, size: 64MiB }`.',
  ),
  read: named('read', read, 'read(2) from a file, through the page cache (with readahead).'),
  write: named('write', write, 'write(2) to a file: the pages are dirtied in the page cache.'),
  truncate: named(
    'truncate',
    truncate,
    'truncate(2): shrink (unmapping the pages past the end) or grow a file.',
  ),
  fsync: named('fsync', fsync, "fsync(2): write back the file's dirty pages."),
  msync: named('msync', msync, 'msync(2) over a range of a process.'),
  sync: named('sync', sync, "sync(2): write back every file's dirty pages: `sync: {}`."),
  balloon: named(
    'balloon',
    balloon,
    'Memory pressure: a balloon driver takes memory from the system (reclaiming, swapping) or gives it back: `balloon: 256MiB`.',
  ),
  touch: named('touch', touch, 'Access memory: every page of the range once, or as pattern and count say.'),
  khugepaged: named(
    'khugepaged',
    khugepaged,
    'Run khugepaged, which collapses 4 KiB-mapped ranges into THPs: `khugepaged: { passes: 1 }` or `{ full_scans: 1 }`.',
  ),
  drop_caches: named(
    'drop_caches',
    dropCaches,
    'echo N > /proc/sys/vm/drop_caches: 1 drops clean, unmapped file pages; 2 runs the shrinkers (deferred THP split, huge zero page); 3 both.',
  ),
  expect: named('expect', expect, 'Check counters: process counters with `in`, system counters without.'),
  attach: named(
    'attach',
    attach,
    'The process opens a device, which then mirrors its address space: `attach: { in: app, device: gpu }`.',
  ),
  detach: named('detach', attach, 'The process closes the device: `detach: { in: app, device: gpu }`.'),
  device: named(
    'device',
    deviceKernel,
    'A device kernel: the device reads, writes or does atomics over a range, in a pattern.',
  ),
  migrate: named(
    'migrate',
    migrateStep,
    "Migrate a range to the device's memory (or back to the system: `to: system`).",
  ),
  evict: named(
    'evict',
    evict,
    'The driver releases its memory: every page on the device returns to system memory: `evict: gpu`.',
  ),
  hmadvise: named(
    'hmadvise',
    hmadviseStep,
    'hmadvise(2) of the gmem design: prefetch a range to a device, or free it eagerly (dontneed).',
  ),
} satisfies Record<StepKind, Schema<unknown>>;

export const step = named(
  'step',
  oneKeyOf(STEP_SHAPES, {
    noun: 'step',
    siblings: {
      expect_error: expectError,
      design: optional(
        oneOrList(enumOf(DESIGN_NAMES), { minItems: 1, unique: true }),
        'Only under these designs: the step is skipped when the scenario runs under another.',
      ),
    },
    refuse: { expect: ['expect_error'] },
  }),
);
