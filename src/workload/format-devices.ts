// Scenario format v1: devices (machine.devices) and the steps that use them (attach, detach,
// device kernels, migrate, evict). Checks that span steps (is the device declared? is the
// process attached?) are in scenario-build.ts and the runner.

import {
  ACCESS_COUNTER_GRANULARITY,
  ACCESS_COUNTER_THRESHOLD,
  EVICTION_POLICIES,
  PLACEMENT_POLICIES,
  PREFETCH_POLICIES,
  PREFETCH_THRESHOLD,
  SEQUENTIAL_PREFETCH_SIZE,
  THRASHING_LAPSE_BATCHES,
  THRASHING_PIN_BATCHES,
  THRASHING_POLICIES,
  THRASHING_THRESHOLD,
} from '../hetero/policy.js';
import { GiB, MiB, PAGE_SIZE } from '../lib/units.js';
import {
  expectError,
  inProcess,
  positiveSize,
  RANGE,
  RANGE_RULES,
  STRIDE_RULE,
  TOUCH_PATTERNS,
  tlbSpec,
  virtualAddress,
} from './format-values.js';
import {
  boolean,
  enumOf,
  has,
  integer,
  listOf,
  named,
  object,
  optional,
  required,
  scalarOrMap,
  size,
  string,
  withDefault,
} from './schema-dsl.js';

const DEVICE_OPS = ['read', 'write', 'atomic'] as const;
/** MEMORY_DEVICE_PRIVATE or MEMORY_DEVICE_COHERENT device memory. */
const MEMORY_KINDS = ['private', 'coherent'] as const;
const DEVICE_PAGE_SIZES = [4096, 64 * 1024, 2 * MiB] as const;
/** Defaults for a device's TLB (an order of magnitude for a GPU's last-level TLB). */
export const DEFAULT_DEVICE_TLB = { entries: 2048, ways: 16 } as const;
/** uvm_perf_fault_batch_count's default: faults the driver fetches per batch. */
const DEFAULT_FAULT_BATCH = 256;

export const deviceName = named(
  'deviceName',
  string({
    pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$',
    expected: 'a device name (letters, digits, _ . -, starting with a letter or _)',
  }),
  'A device of machine.devices, by name.',
);

const deviceTlb = tlbSpec(DEFAULT_DEVICE_TLB, 'Entries in the device TLB.');

const link = object({
  bandwidth: withDefault(
    size({ min: 1 }),
    24 * GiB,
    'Bytes per second each way (default 24GiB: a PCIe 4.0 x16 link in practice).',
  ),
  latency_ns: withDefault(integer({ min: 0, max: 1e9 }), 1000, 'Nanoseconds from request to first byte.'),
});

/** UVM's access-counter granularities (uvm_perf_access_counter_granularity). */
const ACCESS_COUNTER_GRANULARITIES = [64 * 1024, 2 * MiB, 16 * MiB, 16 * GiB] as const;

const placement = scalarOrMap(
  enumOf(PLACEMENT_POLICIES),
  object(
    {
      policy: required(enumOf(PLACEMENT_POLICIES), 'remote, migrate or access_counters.'),
      threshold: withDefault(
        integer({ min: 1, max: 65535 }),
        ACCESS_COUNTER_THRESHOLD,
        `Remote accesses to a region that make it migrate (access_counters); default ${ACCESS_COUNTER_THRESHOLD}.`,
      ),
      granularity: withDefault(
        size(),
        ACCESS_COUNTER_GRANULARITY,
        'Bytes one access counter covers: 64KiB, 2MiB (default), 16MiB or 16GiB.',
      ),
    },
    {
      rules: [
        {
          check(v, report) {
            if (!(ACCESS_COUNTER_GRANULARITIES as readonly number[]).includes(v.granularity))
              report(
                'granularity',
                `no access counter covers ${v.granularity} bytes`,
                '64KiB, 2MiB, 16MiB or 16GiB',
              );
          },
        },
      ],
    },
  ),
);

const prefetch = scalarOrMap(
  enumOf(PREFETCH_POLICIES),
  object({
    policy: required(enumOf(PREFETCH_POLICIES), 'none, sequential or tree.'),
    threshold: withDefault(
      integer({ min: 1, max: 100 }),
      PREFETCH_THRESHOLD,
      `Percent occupancy above which a subtree is prefetched whole (tree); default ${PREFETCH_THRESHOLD}.`,
    ),
    size: withDefault(
      size({ min: PAGE_SIZE, multipleOf: PAGE_SIZE, why: 'prefetch moves whole pages' }),
      SEQUENTIAL_PREFETCH_SIZE,
      'Bytes after each faulted page (sequential); default 64KiB.',
    ),
  }),
);

const thrashing = scalarOrMap(
  enumOf(THRASHING_POLICIES),
  object({
    policy: required(enumOf(THRASHING_POLICIES), 'none, pin or remote.'),
    threshold: withDefault(
      integer({ min: 1, max: 31 }),
      THRASHING_THRESHOLD,
      `Round trips, each within the lapse of the last, that make a page thrash; default ${THRASHING_THRESHOLD}.`,
    ),
    lapse: withDefault(
      integer({ min: 0, max: 1 << 30 }),
      THRASHING_LAPSE_BATCHES,
      `Device fault batches within which round trips are consecutive; default ${THRASHING_LAPSE_BATCHES}.`,
    ),
    pin: withDefault(
      integer({ min: 1, max: 1 << 30 }),
      THRASHING_PIN_BATCHES,
      `Device fault batches a thrashing page stays pinned (pin); default ${THRASHING_PIN_BATCHES}.`,
    ),
  }),
);

export const device = object(
  {
    name: required(deviceName, 'Name of the device; steps refer to it with `device`.'),
    memory: required(
      size({ min: 4 * MiB, multipleOf: 4 * MiB, why: 'device memory is a node of whole 4MiB blocks' }),
      'Device memory (an hnode: a memory node the CPU allocator does not use).',
    ),
    page_size: optional(
      size(),
      "The device MMU's page size: 4KiB, 64KiB or 2MiB (what one fault services); default 4KiB, 2MiB under design gmem.",
    ),
    tlb: optional(
      deviceTlb,
      `Device TLB; default ${DEFAULT_DEVICE_TLB.entries} entries, ${DEFAULT_DEVICE_TLB.ways} ways.`,
    ),
    replayable_faults: withDefault(
      boolean(),
      true,
      'Faults queue and are serviced in batches, then replayed; false: each fault stalls the device.',
    ),
    fault_batch: withDefault(
      integer({ min: 1, max: 1 << 20 }),
      DEFAULT_FAULT_BATCH,
      'Faults the driver services per batch.',
    ),
    peer: withDefault(
      boolean(),
      false,
      "hmm: devices with peer share a pgmap owner and map each other's device-private pages remotely instead of migrating them home; gmem ignores it.",
    ),
    link: optional(link, 'The interconnect to system memory; default 24GiB/s, 1000 ns.'),
    placement: withDefault(
      placement,
      'remote',
      'On a fault: map system memory remotely (remote), migrate private anonymous memory here (migrate), or map remotely and migrate a region after enough remote accesses (access_counters).',
    ),
    prefetch: withDefault(
      prefetch,
      'none',
      'What a fault batch services beyond its faults: none, sequential, or tree (UVM).',
    ),
    eviction: optional(
      enumOf(EVICTION_POLICIES),
      'When device memory is full: none (the page stays in system memory), lru (2 MiB chunks) or random; default none (gmem: lru).',
    ),
    thrashing: withDefault(
      thrashing,
      'none',
      'Pages bouncing between CPU and device: none, pin (for a while) or remote (for good).',
    ),
    memory_kind: withDefault(
      enumOf(MEMORY_KINDS),
      'private',
      'private: pages moved here are device-private (the CPU faults them back); coherent: the CPU maps them and reaches them over the link (MEMORY_DEVICE_COHERENT).',
    ),
    reserved: optional(
      listOf(object({ addr: required(virtualAddress, 'Start.'), length: required(positiveSize, 'Bytes.') })),
      "gmem: ranges of the device's address space already taken; a peer-shared mmap there is retried elsewhere.",
    ),
  },
  {
    rules: [
      {
        check(v, report) {
          if (v.page_size !== undefined && !(DEVICE_PAGE_SIZES as readonly number[]).includes(v.page_size))
            report(
              'page_size',
              `page size ${v.page_size} is not one a device MMU has`,
              '4KiB, 64KiB or 2MiB',
            );
        },
      },
    ],
  },
);

export const devices = listOf(device, { maxItems: 64 });

const onDevice = required(deviceName, 'The device.');

export const attach = object({ in: inProcess, device: onDevice, expect_error: expectError });

export const deviceKernel = object(
  {
    in: inProcess,
    device: onDevice,
    ...RANGE,
    op: required(enumOf(DEVICE_OPS), 'What the device kernel does to each page: read, write or atomic.'),
    pattern: withDefault(enumOf(TOUCH_PATTERNS), 'sequential', 'Order of the accesses.'),
    stride: optional(positiveSize, `Bytes between accesses (strided only); default ${PAGE_SIZE}.`),
    count: optional(integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), 'Accesses; default one per page.'),
    expect_error: expectError,
  },
  {
    rules: [...RANGE_RULES, STRIDE_RULE],
  },
);

export const migrate = object(
  {
    in: inProcess,
    device: onDevice,
    ...RANGE,
    to: withDefault(enumOf(['device', 'system'] as const), 'device', "Where the range's pages go."),
    expect_error: expectError,
  },
  { rules: RANGE_RULES },
);

export const evict = scalarOrMap(deviceName, object({ device: onDevice, expect_error: expectError }));

const HMADVISE_ADVICE = ['prefetch', 'dontneed'] as const;

export const hmadviseStep = object(
  {
    in: inProcess,
    device: optional(deviceName, 'The device whose hnode is advised (or give hnid; neither: hnid -1).'),
    hnid: optional(integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), 'A raw hnode id, to try the checks.'),
    ...RANGE,
    advice: required(enumOf(HMADVISE_ADVICE), 'MADV_PREFETCH or MADV_DONTNEED.'),
    expect_error: expectError,
  },
  {
    rules: [
      ...RANGE_RULES,
      {
        check(v, report) {
          if (has(v, 'device') && has(v, 'hnid')) report('hnid', "give 'device' or 'hnid', not both");
        },
      },
    ],
  },
);
