// Scenario format v1: the value types its fields share (names, sizes, addresses, enums).
// Each is `named`, so the JSON Schema defines it once under $defs.

import { GUEST_ERRORS } from '../lib/errno.js';
import type {
  HugePageSizeName,
  MadviseAdvice,
  MmapFlag,
  MremapFlag,
  Paging,
  ProtName,
  ThpEnabled,
  TouchOp,
  TouchPattern,
} from './scenario.js';
import {
  address,
  enumOf,
  exactlyOne,
  has,
  integer,
  type Located,
  named,
  object,
  optional,
  type Rule,
  required,
  requires,
  size,
  string,
  withDefault,
} from './schema-dsl.js';

/** `values`, checked at compile time to list every member of the union T. */
function every<T extends string>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)): A => values;
}

export const PAGINGS = every<Paging>()(['x86-64-4level', 'x86-64-5level']);
export const PROTS = every<ProtName>()(['none', 'r', 'w', 'x', 'rw', 'rx', 'wx', 'rwx']);
export const MMAP_FLAGS = every<MmapFlag>()([
  'private',
  'shared',
  'anonymous',
  'populate',
  'locked',
  'noreserve',
  'fixed_noreplace',
  'hugetlb',
  'peer_shared',
]);
export const HUGE_PAGE_SIZES = every<HugePageSizeName>()(['2MiB', '1GiB']);
export const MREMAP_FLAGS = every<MremapFlag>()(['maymove', 'fixed', 'dontunmap']);
export const ADVICE = every<MadviseAdvice>()([
  'dontneed',
  'normal',
  'random',
  'sequential',
  'willneed',
  'dontfork',
  'dofork',
  'wipeonfork',
  'keeponfork',
  'free',
  'cold',
  'pageout',
  'hugepage',
  'nohugepage',
]);
export const THP_MODES = every<ThpEnabled>()(['always', 'madvise', 'never']);
export const TOUCH_OPS = every<TouchOp>()(['read', 'write', 'exec']);
export const TOUCH_PATTERNS = every<TouchPattern>()(['sequential', 'random', 'strided']);

/** CPUs a machine may have. */
export const MAX_CPUS = 1024;

/** Process and region names: something a table column and a command line can show unquoted. */
const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]*$';
const NAME_FORM = 'letters, digits, _ . -, starting with a letter or _';

export const processName = named(
  'processName',
  string({ pattern: NAME_PATTERN, expected: `a process name (${NAME_FORM})` }),
  'A process, named by the spawn step that created it.',
);

export const fileName = named(
  'fileName',
  string({ pattern: NAME_PATTERN, expected: `a file name (${NAME_FORM})` }),
  'A file of the simulated file system, named by the create step that made it.',
);

export const MSYNC_FLAGS = ['sync', 'async', 'invalidate'] as const;

export const regionName = named(
  'regionName',
  string({ pattern: NAME_PATTERN, expected: `a region name (${NAME_FORM})` }),
  'A region: the name an earlier mmap or brk in the same process gave with `as`.',
);

const SIZE_DOC =
  'Bytes: an integer, or a string such as "0x1000", "4KiB", "2 MiB", "1.5GiB" (K, KB, kB mean KiB).';
export const byteSize = named('size', size(), SIZE_DOC);
export const positiveSize = named('positiveSize', size({ min: 1 }), `${SIZE_DOC} At least 1.`);
export const signedSize = named('signedSize', size({ signed: true }), `${SIZE_DOC} May be negative.`);
export const virtualAddress = named('address', address());

export const cpuIndex = named(
  'cpuIndex',
  integer({ min: 0, max: MAX_CPUS - 1 }),
  'A CPU of the machine, from 0 to machine.cpus - 1.',
);

export const prot = named('prot', enumOf(PROTS), 'Protection: r, w and x in that order, or none.');

export const hugePageSize = named(
  'hugePageSize',
  enumOf(HUGE_PAGE_SIZES),
  'A hugetlb page size: 2MiB (a PMD leaf) or 1GiB (a PUD leaf).',
);

/** `expect_error`, beside a step's key or inside its mapping. */
export const expectError = optional(
  named('guestError', enumOf(GUEST_ERRORS), 'An errno of a failed call, or a signal delivered on a fault.'),
  'The step must fail with this errno or signal.',
);

export const inProcess = required(processName, 'The process that performs the step.');

/** A range: `region` (+ `offset`, + `length`) or `addr` + `length`. */
export const RANGE = {
  region: optional(regionName, 'The region to act on (or give addr).'),
  addr: optional(virtualAddress, 'Start of the range (or give region).'),
  offset: optional(byteSize, 'Bytes from the start of the region (with region only); default 0.'),
  length: optional(byteSize, 'Bytes; default: to the end of the region. Required with addr.'),
};
export const RANGE_RULES: readonly Rule<Located>[] = [
  exactlyOne('region', 'addr'),
  requires('offset', 'region', "'offset' is only allowed with 'region'"),
  requires('addr', 'length', "'addr' needs 'length'"),
];

/** `stride` goes with `pattern: strided` only (touch and device kernels). */
export const STRIDE_RULE: Rule<Located & { pattern?: string }> = {
  check(v, report) {
    if (has(v, 'stride') && v.pattern !== 'strided') report('stride', "'stride' needs 'pattern: strided'");
  },
  json: {
    dependentSchemas: {
      stride: { required: ['pattern'], properties: { pattern: { const: 'strided' } } },
    },
  },
};

/**
 * A set-associative TLB: entries and ways (defaults given), entries a power-of-two multiple
 * of ways. The CPUs' TLB and each device's share it.
 */
export function tlbSpec(defaults: { readonly entries: number; readonly ways: number }, entriesDoc: string) {
  return object(
    {
      entries: withDefault(integer({ min: 1, max: 1 << 20 }), defaults.entries, entriesDoc),
      ways: withDefault(integer({ min: 1, max: 1 << 20 }), defaults.ways, 'Ways per set.'),
    },
    {
      rules: [
        {
          check(v, report) {
            const sets = v.entries / v.ways;
            const expected = 'entries = ways x a power of two';
            if (!Number.isInteger(sets))
              report('entries', `${v.entries} entries do not divide into ${v.ways} ways`, expected);
            else if ((sets & (sets - 1)) !== 0)
              report('entries', `${v.entries} / ${v.ways} ways = ${sets} sets, not a power of two`, expected);
          },
        },
      ],
    },
  );
}
