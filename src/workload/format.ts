// Scenario format version 1, written once in the schema DSL: parse.ts decodes files with it and
// json-schema.ts emits the JSON Schema from it. The field names here are the file's (snake_case);
// scenario-build.ts turns the decoded form into the typed Scenario of scenario.ts.

import { DESIGN_NAMES } from '../designs/names.js';
import { MiB } from '../lib/units.js';
import { COSTS, type CostName } from '../sim/cost.js';
import { devices } from './format-devices.js';
import { step } from './format-steps.js';
import { MAX_CPUS, PAGINGS, THP_MODES, tlbSpec } from './format-values.js';
import {
  boolean,
  enumOf,
  exactlyOne,
  type Infer,
  integer,
  listOf,
  literal,
  named,
  object,
  oneOrList,
  optional,
  required,
  scalarOrMap,
  size,
  string,
  withDefault,
} from './schema-dsl.js';

export const DEFAULT_TLB = { entries: 1536, ways: 12 } as const;

/** A node holds whole order-10 buddy blocks (1024 pages). */
const NODE_GRANULE = 4 * MiB;

const nodeSize = named(
  'nodeSize',
  size({ min: NODE_GRANULE, multipleOf: NODE_GRANULE, why: 'a node holds whole 4MiB order-10 buddy blocks' }),
  'Memory of a node: a size, at least 4MiB and a multiple of 4MiB.',
);

const tlb = tlbSpec(DEFAULT_TLB, "Entries in each CPU's data TLB.");

const ptesLimit = (what: string, fallback: number) =>
  withDefault(integer({ min: 0, max: 511 }), fallback, `khugepaged/${what}.`);

const thpSettings = object({
  enabled: withDefault(enumOf(THP_MODES), 'madvise', '/sys/kernel/mm/transparent_hugepage/enabled.'),
  use_zero_page: withDefault(
    boolean(),
    true,
    'A read fault of an empty 2 MiB range maps the huge zero page.',
  ),
  pages_to_scan: withDefault(
    integer({ min: 1, max: 2 ** 31 - 1 }),
    4096,
    'khugepaged/pages_to_scan: progress one khugepaged pass makes (512 per 2 MiB range scanned).',
  ),
  max_ptes_none: ptesLimit('max_ptes_none: empty entries a range may have and still be collapsed', 511),
  max_ptes_swap: ptesLimit('max_ptes_swap: swap entries a collapse may swap in', 64),
  max_ptes_shared: ptesLimit('max_ptes_shared: entries mapping shared pages a range may have', 256),
});

const thp = named(
  'thp',
  scalarOrMap(enumOf(THP_MODES), thpSettings),
  'Transparent huge pages: always, madvise or never, or { enabled, use_zero_page, pages_to_scan, max_ptes_none, max_ptes_swap, max_ptes_shared }.',
);

const hugePages = (size: string) =>
  withDefault(
    integer({ min: 0, max: 1 << 24 }),
    0,
    `Persistent ${size} hugetlb pages set aside at boot (hugepagesz=${size === '2MiB' ? '2M' : '1G'} hugepages=N); fewer when memory runs short.`,
  );

const hugepages = named(
  'hugepages',
  object({
    '2MiB': hugePages('2MiB'),
    '1GiB': hugePages('1GiB'),
    overcommit: withDefault(
      integer({ min: 0, max: 1 << 24 }),
      0,
      'vm.nr_overcommit_hugepages: surplus 2 MiB pages the pool may take from the buddy allocator when reservations need them.',
    ),
  }),
  'The hugetlb pools: { 2MiB: N, 1GiB: M, overcommit: K }.',
);

const machine = object(
  {
    cpus: required(integer({ min: 1, max: MAX_CPUS }), 'Number of CPUs.'),
    memory: optional(nodeSize, 'Memory of a machine with one node (or give nodes).'),
    nodes: optional(
      listOf(nodeSize, { minItems: 1, maxItems: 1024 }),
      'Memory of each node (or give memory).',
    ),
    paging: withDefault(enumOf(PAGINGS), 'x86-64-4level', 'Page-table format.'),
    tlb: optional(
      tlb,
      `Data TLB of each CPU; default ${DEFAULT_TLB.entries} entries, ${DEFAULT_TLB.ways} ways.`,
    ),
    max_map_count: withDefault(integer({ min: 1, max: 2 ** 31 - 1 }), 65530, 'vm.max_map_count.'),
    fault_around_bytes: withDefault(
      integer({ min: 0, max: 2 * MiB }),
      64 * 1024,
      'Bytes a read fault of a file mapping maps around it (rounded down to a power of two pages).',
    ),
    swap: withDefault(
      size({ multipleOf: 4096, why: 'swap is made of 4KiB slots' }),
      0,
      'Size of the swap device (0: none).',
    ),
    min_free_kbytes: optional(
      integer({ min: 0, max: 2 ** 31 - 1 }),
      "vm.min_free_kbytes; default the kernel's: int_sqrt(memory in KiB x 16), within 128 to 262144.",
    ),
    costs: optional(
      object(
        Object.fromEntries(
          Object.entries(COSTS).map(([name, c]) => [
            name,
            optional(integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), `${c.doc}; default ${c.ns} ns.`),
          ]),
        ) as Record<CostName, ReturnType<typeof optional<number>>>,
      ),
      'Cost-model constants in nanoseconds, where they should differ from the defaults.',
    ),
    oom_killer: withDefault(
      boolean(),
      true,
      'Run the OOM killer when reclaim cannot free memory (false: the allocation fails instead).',
    ),
    read_ahead_kb: withDefault(
      integer({ min: 0, max: 1 << 20 }),
      128,
      "The disk's read_ahead_kb: the largest readahead window, in KiB (0: no readahead).",
    ),
    max_folio_order: withDefault(
      integer({ min: 0, max: 9 }),
      9,
      'The largest page-cache folio order of files (mapping_max_folio_order): 9 as ext4 on Linux 6.16+; 0 for order-0 folios only.',
    ),
    thp: optional(thp, 'Transparent huge pages; default madvise (Linux defaults for the rest).'),
    hugepages: optional(hugepages, 'hugetlb pools of 2 MiB and 1 GiB pages; default none.'),
    devices: withDefault(devices, [], 'Accelerators sharing the address space (design hmm).'),
  },
  { rules: [exactlyOne('memory', 'nodes')] },
);

export const scenarioFormat = object({
  $schema: optional(string(), "Editors: where this file's JSON Schema is. Ignored."),
  vmlab: required(literal(1, 'format version'), 'Format version of this file: 1.'),
  name: required(string(), 'Name of the scenario.'),
  description: optional(string(), 'What the scenario shows.'),
  seed: withDefault(integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), 1, 'Seed of the random generator.'),
  machine: required(machine, 'The simulated machine.'),
  design: required(
    oneOrList(enumOf(DESIGN_NAMES), { minItems: 1, unique: true }),
    'The design to run (a preset of designs/), or the designs the scenario holds for: `vmlab run` takes the first unless told (--design), the test suite runs each.',
  ),
  steps: required(listOf(step), 'What happens, in order.'),
});

export type DecodedScenario = Infer<typeof scenarioFormat>;
export type DecodedMachine = DecodedScenario['machine'];
export type DecodedStep = DecodedScenario['steps'][number];
