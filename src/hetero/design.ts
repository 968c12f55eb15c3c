// The device-facing interface: what a workload asks of "devices in the address space",
// whichever design provides it (hmm: Linux's mirror of the CPU page table; gmem: a logical
// page table, later). The System and the scenario runner talk only to this.

import type { Errno } from '../lib/errno.js';
import type { Rng } from '../lib/rng.js';
import type { Task } from '../mm/mm.js';
import type { Device } from './device.js';

export type DeviceOp = 'read' | 'write' | 'atomic';
export type DevicePattern = 'sequential' | 'random' | 'strided';

/** A device kernel: accesses over [addr, addr + length) in a pattern, as touch makes them. */
export interface DeviceRunRequest {
  readonly addr: number;
  readonly length: number;
  readonly op: DeviceOp;
  readonly pattern: DevicePattern;
  /** Bytes between accesses (strided). */
  readonly stride: number;
  /** Accesses; default one per page (per stride for strided). */
  readonly count?: number;
  readonly rng: Rng;
}

export interface DeviceRunResult {
  readonly accesses: number;
  /** The content token the last completed access read or wrote (as a CPU access returns it). */
  readonly lastToken?: number;
  /** Why the kernel stopped early (a device fault the driver could not service). */
  readonly error?: Errno;
  readonly faultAddr?: number;
}

export interface MigrateOutcome {
  /** Pages of the range the device maps afterwards (to: device), or pages moved (to: system). */
  readonly cpages: number;
  readonly error?: Errno;
}

export interface HeteroDesign {
  readonly name: string;
  readonly devices: readonly Device[];
  /** The process opens the device: it mirrors (or joins) the address space. */
  attach(task: Task, dev: Device): Errno | null;
  detach(task: Task, dev: Device): Errno | null;
  /** Run a device kernel for the task. */
  run(task: Task, dev: Device, req: DeviceRunRequest): DeviceRunResult;
  /** Explicit migration of [addr, addr + length) to the device's memory or back. */
  migrate(task: Task, dev: Device, addr: number, length: number, to: 'device' | 'system'): MigrateOutcome;
  /** The driver gives back all its memory: every device-resident page returns to the system. */
  evict(dev: Device): number;
  /**
   * hmadvise(hnid, start, len, behaviour) (gmem only). hnid -1: no node (DONTNEED only).
   * `ret` is the syscall's return when it is not an errno.
   */
  hmadvise?(
    task: Task,
    hnid: number,
    addr: number,
    length: number,
    advice: 'prefetch' | 'dontneed',
  ): { readonly error?: Errno; readonly ret: number };
  /** The hnode id of a device (gmem). */
  hnid?(dev: Device): number;
  /** Invariant violations (empty when all hold). No side effects. */
  check(): string[];
}
