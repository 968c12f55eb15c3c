// Scenario format v1: the steps. Each step is a one-key mapping (`- mmap: {...}`) whose key picks the
// shape below; `expect_error` may stand beside the key or inside the mapping.
// Checks that need earlier steps (was the process spawned? is the region defined?) are in scenario-build.ts.

import { PAGE_SIZE } from '../lib/units.js';
import { META_STRUCTURES, PROCESS_COUNTERS, SYSTEM_COUNTERS } from '../sim/counter-names.js';
import {
  ADVICE,
  byteSize,
  cpuIndex,
  expectError,
  MMAP_FLAGS,
  MREMAP_FLAGS,
  positiveSize,
  processName,
  prot,
  regionName,
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
  openObject,
  optional,
  type Rule,
  required,
  requires,
  type Schema,
  scalarOrMap,
  withDefault,
} from './schema-dsl.js';

const inProcess = required(processName, 'The process that performs the step.');

/** A range: `region` (+ `offset`, + `length`) or `addr` + `length`. */
const RANGE = {
  region: optional(regionName, 'The region to act on (or give addr).'),
  addr: optional(virtualAddress, 'Start of the range (or give region).'),
  offset: optional(byteSize, 'Bytes from the start of the region (with region only); default 0.'),
  length: optional(byteSize, 'Bytes; default: to the end of the region. Required with addr.'),
};
const RANGE_RULES: readonly Rule<Located>[] = [
  exactlyOne('region', 'addr'),
  requires('offset', 'region', "'offset' is only allowed with 'region'"),
  requires('addr', 'length', "'addr' needs 'length'"),
];

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
    expect_error: expectError,
  },
  {
    rules: [
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
      fieldRule('flags', { contains: { const: 'anonymous' } }, (v, report) => {
        if (!v.flags.includes('anonymous'))
          report('flags', "file mappings are not supported yet: add 'anonymous'");
      }),
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
    rules: [
      ...RANGE_RULES,
      {
        check(v, report) {
          if (has(v, 'stride') && v.pattern !== 'strided')
            report('stride', "'stride' needs 'pattern: strided'");
        },
        json: {
          dependentSchemas: {
            stride: { required: ['pattern'], properties: { pattern: { const: 'strided' } } },
          },
        },
      },
    ],
  },
);

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
  mmap: named('mmap', mmap, 'mmap(2): map anonymous memory.'),
  munmap: named('munmap', munmap, 'munmap(2).'),
  mprotect: named('mprotect', mprotect, 'mprotect(2).'),
  mremap: named('mremap', mremap, 'mremap(2): grow, shrink or move a mapping.'),
  madvise: named('madvise', madvise, 'madvise(2).'),
  mlock: named('mlock', mlock, 'mlock(2) / mlock2(2).'),
  munlock: named('munlock', munlock, 'munlock(2).'),
  brk: named('brk', brk, 'brk(2) / sbrk(3).'),
  touch: named('touch', touch, 'Access memory: every page of the range once, or as pattern and count say.'),
  expect: named('expect', expect, 'Check counters: process counters with `in`, system counters without.'),
} satisfies Record<StepKind, Schema<unknown>>;

export const step = named(
  'step',
  oneKeyOf(STEP_SHAPES, { noun: 'step', siblings: { expect_error: expectError }, noSiblings: ['expect'] }),
);
