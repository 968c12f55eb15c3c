// Scenario format version 1: the typed form a validated scenario file takes.
// The parser (parse.ts) produces these from YAML or JSON; the runner (run.ts) executes them.
// Sizes and addresses are plain byte numbers here; units were resolved by the parser.

import type { DesignName } from '../designs/names.js';
import type { DeviceOp, DevicePattern } from '../hetero/design.js';
import type { DeviceSpec } from '../hetero/device.js';
import type { GuestError } from '../lib/errno.js';
import type { CostName } from '../sim/cost.js';

/** Where a thing stood in its source file (1-based). */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type Paging = 'x86-64-4level' | 'x86-64-5level';
export type ProtName = 'none' | 'r' | 'w' | 'x' | 'rw' | 'rx' | 'wx' | 'rwx';

export interface TlbConfig {
  /** Entries in the (unified, 4 KiB) data TLB of each CPU. */
  readonly entries: number;
  /** Ways per set; entries / ways sets. */
  readonly ways: number;
}

/** /sys/kernel/mm/transparent_hugepage/enabled */
export type ThpEnabled = 'always' | 'madvise' | 'never';

/** Transparent huge page settings (Documentation/admin-guide/mm/transhuge.rst). */
export interface ThpConfig {
  readonly enabled: ThpEnabled;
  /** use_zero_page: a read fault maps the huge zero page. */
  readonly useZeroPage: boolean;
  /** khugepaged/pages_to_scan: pages one khugepaged pass scans. */
  readonly pagesToScan: number;
  /** khugepaged/max_ptes_none, max_ptes_swap, max_ptes_shared. */
  readonly maxPtesNone: number;
  readonly maxPtesSwap: number;
  readonly maxPtesShared: number;
}

/** A huge page size of x86-64 hugetlb: 2 MiB (PMD) or 1 GiB (PUD). */
export type HugePageSizeName = '2MiB' | '1GiB';

/** The hugetlb pools set up at boot (hugepagesz=2M hugepages=N hugepagesz=1G hugepages=M). */
export interface HugepagesSpec {
  /** Persistent 2 MiB and 1 GiB pages. */
  readonly pages2M: number;
  readonly pages1G: number;
  /** vm.nr_overcommit_hugepages of the default (2 MiB) size. */
  readonly overcommit: number;
}

export interface MachineSpec {
  readonly cpus: number;
  /** One entry per memory node, in bytes. `memory: 4GiB` means one node. */
  readonly nodes: readonly number[];
  readonly paging: Paging;
  readonly tlb: TlbConfig;
  /** vm.max_map_count */
  readonly maxMapCount: number;
  /** fault_around_bytes (debugfs): bytes a read fault of a file mapping may map around it; default 65536. */
  readonly faultAroundBytes?: number;
  /** read_ahead_kb of the disk: the largest readahead window, KiB; default 128. */
  readonly readAheadKb?: number;
  /** The largest page-cache folio order of files (ext4 on 6.16+: 9); 0 for order-0 folios only. Default 9. */
  readonly maxFolioOrder?: number;
  /** Bytes of swap (a multiple of 4 KiB); default 0: no swap. */
  readonly swapBytes?: number;
  /** vm.min_free_kbytes; default the kernel's, int_sqrt(memory in KiB * 16). */
  readonly minFreeKbytes?: number;
  /** Whether the OOM killer runs (default true); without it an allocation reclaim cannot satisfy fails. */
  readonly oomKiller?: boolean;
  /** Cost-model constants that differ from the defaults (sim/cost.ts), nanoseconds. */
  readonly costs?: Readonly<Partial<Record<CostName, number>>>;
  /** Transparent huge pages; absent: Linux's defaults (madvise). */
  readonly thp?: ThpConfig;
  /** hugetlb pools; absent: none. */
  readonly hugepages?: HugepagesSpec;
  /** Accelerators sharing the address space; absent or empty: none. */
  readonly devices?: readonly DeviceSpec[];
}

/** A range named by region (+offset, +length) or by addr (+length). */
export interface RangeRef {
  readonly region?: string;
  readonly addr?: number;
  readonly offset?: number;
  /** Bytes; absent: to the end of the region (an error with addr, except for steps that allow it). */
  readonly length?: number;
}

interface StepBase {
  /** Position of the step in the file, for messages. */
  readonly loc: SourceLoc;
  /** 0-based index in `steps`. */
  readonly index: number;
  readonly expectError?: GuestError;
  /** The step runs only under these designs (absent: under every design). */
  readonly designs?: readonly DesignName[];
}

export type MmapFlag =
  | 'private'
  | 'shared'
  | 'anonymous'
  | 'populate'
  | 'locked'
  | 'noreserve'
  | 'fixed_noreplace'
  | 'hugetlb'
  | 'peer_shared';
export type MremapFlag = 'maymove' | 'fixed' | 'dontunmap';
export type MadviseAdvice =
  | 'dontneed'
  | 'normal'
  | 'random'
  | 'sequential'
  | 'willneed'
  | 'dontfork'
  | 'dofork'
  | 'wipeonfork'
  | 'keeponfork'
  | 'free'
  | 'cold'
  | 'pageout'
  | 'hugepage'
  | 'nohugepage';
export type TouchOp = 'read' | 'write' | 'exec';
export type TouchPattern = 'sequential' | 'random' | 'strided';
export type ExpectValue = number | { readonly min?: number; readonly max?: number };

export type Step =
  | (StepBase & { readonly kind: 'spawn'; readonly name: string; readonly cpu?: number })
  | (StepBase & { readonly kind: 'exit'; readonly in: string })
  | (StepBase & { readonly kind: 'fork'; readonly in: string; readonly child: string })
  | (StepBase & { readonly kind: 'exec'; readonly in: string })
  | (StepBase & {
      readonly kind: 'mmap';
      readonly in: string;
      readonly as?: string;
      readonly size: number;
      readonly prot: ProtName;
      readonly flags: readonly MmapFlag[];
      readonly addr?: number;
      readonly fixed: boolean;
      readonly file?: string;
      readonly offset?: number;
      /** With the hugetlb flag: MAP_HUGE_2MB or MAP_HUGE_1GB (default 2 MiB). */
      readonly hugeSize?: HugePageSizeName;
    })
  | (StepBase & {
      readonly kind: 'create';
      readonly file: string;
      readonly size: number;
      readonly cached: boolean;
      /** A file on a hugetlbfs mount of this page size instead of the disk. */
      readonly hugetlbfs?: HugePageSizeName;
    })
  | (StepBase & {
      readonly kind: 'read' | 'write';
      readonly in: string;
      readonly file: string;
      readonly offset: number;
      /** Bytes; absent for read: to the end of the file. */
      readonly length?: number;
    })
  | (StepBase & {
      readonly kind: 'truncate';
      readonly in: string;
      readonly file: string;
      readonly size: number;
    })
  | (StepBase & { readonly kind: 'fsync'; readonly in: string; readonly file: string })
  | (StepBase & {
      readonly kind: 'msync';
      readonly in: string;
      readonly range: RangeRef;
      readonly flags: readonly ('sync' | 'async' | 'invalidate')[];
    })
  | (StepBase & { readonly kind: 'sync' })
  | (StepBase & { readonly kind: 'balloon'; readonly size: number })
  | (StepBase & { readonly kind: 'munmap'; readonly in: string; readonly range: RangeRef })
  | (StepBase & {
      readonly kind: 'mprotect';
      readonly in: string;
      readonly range: RangeRef;
      readonly prot: ProtName;
    })
  | (StepBase & {
      readonly kind: 'mremap';
      readonly in: string;
      readonly range: RangeRef;
      readonly newSize: number;
      readonly flags: readonly MremapFlag[];
      readonly newAddr?: number;
    })
  | (StepBase & {
      readonly kind: 'madvise';
      readonly in: string;
      readonly range: RangeRef;
      readonly advice: MadviseAdvice;
    })
  | (StepBase & {
      readonly kind: 'mlock';
      readonly in: string;
      readonly range: RangeRef;
      readonly onfault: boolean;
    })
  | (StepBase & { readonly kind: 'munlock'; readonly in: string; readonly range: RangeRef })
  | (StepBase & {
      readonly kind: 'brk';
      readonly in: string;
      /** Move the break by this many bytes (may be negative) ... */
      readonly delta?: number;
      /** ... or set it to this address. Exactly one of delta and addr. */
      readonly addr?: number;
      /** Name the heap as a region (from the initial break to the current one). */
      readonly as?: string;
    })
  | (StepBase & {
      readonly kind: 'touch';
      readonly in: string;
      readonly range: RangeRef;
      readonly op: TouchOp;
      readonly pattern: TouchPattern;
      /** Bytes between accesses for 'strided' (default one page). */
      readonly stride?: number;
      /** Number of accesses; default every page of the range once (random: that many draws). */
      readonly count?: number;
      /** CPU to run on; default the process's CPU. */
      readonly cpu?: number;
    })
  /** Run khugepaged: a number of passes, or until full_scans has grown by this many. */
  | (StepBase & { readonly kind: 'khugepaged'; readonly passes?: number; readonly fullScans?: number })
  /** echo N > /proc/sys/vm/drop_caches */
  | (StepBase & { readonly kind: 'drop_caches'; readonly mode: 1 | 2 | 3 })
  | (StepBase & { readonly kind: 'attach' | 'detach'; readonly in: string; readonly device: string })
  | (StepBase & {
      readonly kind: 'device';
      readonly in: string;
      readonly device: string;
      readonly range: RangeRef;
      readonly op: DeviceOp;
      readonly pattern: DevicePattern;
      readonly stride?: number;
      readonly count?: number;
    })
  | (StepBase & {
      readonly kind: 'migrate';
      readonly in: string;
      readonly device: string;
      readonly range: RangeRef;
      readonly to: 'device' | 'system';
    })
  | (StepBase & { readonly kind: 'evict'; readonly device: string })
  /** hmadvise(2) of the gmem series: `device` (its hnode) or a raw `hnid` (-1: none). */
  | (StepBase & {
      readonly kind: 'hmadvise';
      readonly in: string;
      readonly device?: string;
      readonly hnid?: number;
      readonly range: RangeRef;
      readonly advice: 'prefetch' | 'dontneed';
    })
  | (StepBase & {
      readonly kind: 'expect';
      /** Process name, or absent for system counters. */
      readonly in?: string;
      /** Counter name -> expected value. Names are those of sim/counter-names.ts (`meta.X` allowed for system). */
      readonly values: Readonly<Record<string, ExpectValue>>;
      /** Where each counter stood, for messages. */
      readonly valueLocs: Readonly<Record<string, SourceLoc>>;
    });

export type StepKind = Step['kind'];

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly seed: number;
  readonly machine: MachineSpec;
  /** The design a run uses (the first listed). */
  readonly design: DesignName;
  /** Every design the scenario holds for (`design: [hmm, gmem]`); the test suite runs each. */
  readonly designs: readonly DesignName[];
  readonly steps: readonly Step[];
}
