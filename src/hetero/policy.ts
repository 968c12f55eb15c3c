// Device memory policies, orthogonal to the design (DESIGN.md: "policies (placement, prefetch,
// eviction)"): which memory a device fault leaves a page in, what else a fault batch brings
// along, which chunk of device memory goes when it is full, and what to do about a page that
// bounces between the CPU and the device. Each is a named choice with parameters in the
// scenario (machine.devices[].placement, prefetch, eviction, thrashing); the defaults keep the
// behaviour vmlab had before policies existed (remote placement, no prefetch, no eviction, no
// thrashing mitigation). The numbers follow NVIDIA's open UVM driver (kernel-open/nvidia-uvm),
// whose defaults are quoted where each policy is implemented.
//
// The interfaces are small and design-neutral: a design (hmm.ts, gmem) keeps its own page
// tables and does the moving; a policy only keeps counts and answers questions.

/** Pages of a 2 MiB region: UVM's va_block and root chunk (UVM_CHUNK_SIZE_MAX). */
export const CHUNK_PAGES = 512;

// ------------------------------------------------------------------------- specs

export const PLACEMENT_POLICIES = ['remote', 'migrate', 'access_counters'] as const;
export type PlacementName = (typeof PLACEMENT_POLICIES)[number];

export interface PlacementSpec {
  /**
   * remote: map system memory over the link; migrate: move the faulting pages to the device
   * (first touch); access_counters: map remotely, and migrate a region once the device has made
   * `threshold` remote accesses to it (UVM's access counters).
   */
  readonly policy: PlacementName;
  /** Remote accesses to a region that trigger its migration (access_counters). */
  readonly threshold: number;
  /** Bytes of virtual address space one access counter tracks (access_counters). */
  readonly granularity: number;
}

export const PREFETCH_POLICIES = ['none', 'sequential', 'tree'] as const;
export type PrefetchName = (typeof PREFETCH_POLICIES)[number];

export interface PrefetchSpec {
  /**
   * none: a batch services the faulted device pages; sequential: and the `size` bytes that
   * follow each one (within its 2 MiB region and VMA); tree: UVM's bitmap-tree prefetcher
   * over the 2 MiB region (64 KiB up to 2 MiB subtrees, `threshold` percent occupancy).
   */
  readonly policy: PrefetchName;
  /** Percent occupancy a subtree must exceed to be prefetched whole (tree). */
  readonly threshold: number;
  /** Bytes after each faulted device page (sequential). */
  readonly size: number;
}

export const EVICTION_POLICIES = ['none', 'lru', 'random'] as const;
export type EvictionName = (typeof EVICTION_POLICIES)[number];

export interface EvictionSpec {
  /**
   * none: an allocation that finds device memory full fails (the page stays where it is);
   * lru: evict the least recently allocated-into 2 MiB chunk (UVM's root-chunk list);
   * random: evict a chunk chosen by the scenario's seeded generator.
   */
  readonly policy: EvictionName;
  /** The scenario named no policy: the design's default applies (hmm: none; gmem: lru). */
  readonly defaulted?: boolean;
}

export const THRASHING_POLICIES = ['none', 'pin', 'remote'] as const;
export type ThrashingName = (typeof THRASHING_POLICIES)[number];

export interface ThrashingSpec {
  /**
   * none: pages migrate as placement says however often they bounce; pin: a thrashing page
   * stays in system memory, mapped remotely by the device, for `pin` fault batches, then may
   * migrate again; remote: a thrashing page is mapped remotely from then on.
   */
  readonly policy: ThrashingName;
  /** Round trips (device, then back) within the lapse of each other that make a page thrash. */
  readonly threshold: number;
  /** Device fault batches within which two round trips count as consecutive. */
  readonly lapse: number;
  /** Device fault batches a pinned page stays pinned (pin). */
  readonly pin: number;
}

export interface DevicePolicies {
  readonly placement: PlacementSpec;
  readonly prefetch: PrefetchSpec;
  readonly eviction: EvictionSpec;
  readonly thrashing: ThrashingSpec;
}

/** uvm_gpu_access_counters.c: UVM_PERF_ACCESS_COUNTER_THRESHOLD_DEFAULT, GRANULARITY "2m". */
export const ACCESS_COUNTER_THRESHOLD = 256;
export const ACCESS_COUNTER_GRANULARITY = 2 * 1024 * 1024;
/** uvm_perf_prefetch.c: UVM_PREFETCH_THRESHOLD_DEFAULT. */
export const PREFETCH_THRESHOLD = 51;
/** vmlab's sequential prefetcher: one 64 KiB big page after each fault. */
export const SEQUENTIAL_PREFETCH_SIZE = 64 * 1024;
/** uvm_perf_thrashing.c: UVM_PERF_THRASHING_THRESHOLD_DEFAULT. */
export const THRASHING_THRESHOLD = 3;
/**
 * UVM's lapse (UVM_PERF_THRASHING_LAPSE_USEC_DEFAULT, 250 us) and pin time
 * (UVM_PERF_THRASHING_PIN_MSEC_DEFAULT, 150 ms) are wall-clock; vmlab has no clock in the
 * core, so they are counted in device fault batches at the cost model's 20 us a batch:
 * 250 us / 20 us = 12.5 -> 12, 150 ms / 20 us = 7500.
 */
export const THRASHING_LAPSE_BATCHES = 12;
export const THRASHING_PIN_BATCHES = 7500;

/** Today's behaviour for every policy, with UVM's parameters where a choice needs them. */
export const DEFAULT_POLICIES: DevicePolicies = {
  placement: {
    policy: 'remote',
    threshold: ACCESS_COUNTER_THRESHOLD,
    granularity: ACCESS_COUNTER_GRANULARITY,
  },
  prefetch: { policy: 'none', threshold: PREFETCH_THRESHOLD, size: SEQUENTIAL_PREFETCH_SIZE },
  eviction: { policy: 'none' },
  thrashing: {
    policy: 'none',
    threshold: THRASHING_THRESHOLD,
    lapse: THRASHING_LAPSE_BATCHES,
    pin: THRASHING_PIN_BATCHES,
  },
};

// -------------------------------------------------------------------- interfaces

/**
 * Which chunk of device memory to give back when an allocation finds the device full. A
 * chunk is a number the design chooses (hmm: the 2 MiB root chunk of a device frame, frame
 * offset / 512; a design may as well key chunks by virtual 2 MiB region). The policy only
 * counts: the design evicts the victim's pages, and each page it frees calls `freed`.
 */
export interface EvictionPolicy {
  readonly name: EvictionName;
  /** A page was allocated in `chunk` (UVM marks the root chunk used: tail of its LRU list). */
  allocated(chunk: number): void;
  /** A page of `chunk` was freed; a chunk with no pages left is no candidate. */
  freed(chunk: number): void;
  /** The design saw the chunk used again (LRU: most recent). hmm never calls it: the driver
   *  does not see device accesses, as UVM does not. */
  touched(chunk: number): void;
  /**
   * The chunk to evict, or -1 when no chunk holds a page (or the policy is `none`). Chunks in
   * `pinned` (in use by the operation that needs the memory) are passed over.
   */
  victim(pinned?: ReadonlySet<number>): number;
  /** Pages the chunk holds, as the policy counted them. */
  pages(chunk: number): number;
}

/**
 * What a fault batch services beyond its faults, within one 2 MiB region. Masks have
 * CHUNK_PAGES entries, one per 4 KiB page of the region (1: set). The caller owns the masks
 * and reuses them (no allocation per batch).
 */
export interface PrefetchPolicy {
  readonly name: PrefetchName;
  /**
   * faulted: pages that faulted; resident: pages already on (or mapped by) the device;
   * [first, outer): the pages of the region that may be serviced (the faulting VMA's part).
   * Sets in `out` the pages to prefetch (never a faulted one) and returns how many.
   */
  expand(faulted: Uint8Array, resident: Uint8Array, first: number, outer: number, out: Uint8Array): number;
}

/** A page's verdict from the thrashing detector. */
export const enum Thrash {
  /** Migrate as the placement policy says. */
  no = 0,
  /** Keep it in system memory and map it remotely (pinned, or mapped remotely for good). */
  remote = 1,
  /** As remote: the page was found thrashing just now. */
  detected = 2,
}

/**
 * Detects pages that bounce between system and device memory. Keys are the design's (hmm:
 * one per address space and page); `now` is the device's fault-batch count.
 */
export interface ThrashingPolicy {
  readonly name: ThrashingName;
  /**
   * The device wants the page, which is in system memory now: migrate it, or map it remotely?
   * A page that went to the device since the last call has made a round trip.
   */
  wants(key: number, now: number): Thrash;
  /** The page moved to the device. */
  migrated(key: number, now: number): void;
  /** The page is gone (unmapped): its history goes. */
  forget(key: number): void;
}

/**
 * Access counters: remote accesses per region (the design's key: hmm uses address space and
 * virtual region of `granularity` bytes). `access` returns true when the region reaches the
 * threshold: the notification; its counter starts again from zero.
 */
export interface AccessCounterPolicy {
  readonly threshold: number;
  /** Pages one counter covers. */
  readonly regionPages: number;
  access(region: number): boolean;
  /** The region's count now (for tests and reports). */
  count(region: number): number;
}
