// mmu_interval_notifier (mm/mmu_notifier.c): a driver's subscription to one range of an
// address space, with the sequence-count protocol that lets it build device mappings without
// holding mmap_lock across the update:
//
//   seq = mmu_interval_read_begin(ni)      the interval's invalidate_seq
//   ... hmm_range_fault(range) ...          may sleep, may fault pages in
//   lock(driver)
//   if (mmu_interval_read_retry(ni, seq))   an invalidation ran meanwhile: start again
//   ... program the device page table ...
//   unlock(driver)
//
// The mm's subscriptions keep invalidate_seq, odd while an invalidation runs
// (mn_itree_inv_start_range) and even again at its end (mn_itree_inv_end); each interval's
// invalidate callback stores the odd value in its interval (mmu_interval_set_seq) under the
// driver's lock, which is what makes read_retry see the change. vmlab runs one thing at a
// time, so read_begin never has to wait for an invalidation to end.

import type { Mm } from '../mm/mm.js';
import type { MmuNotifierSubscriptions, NotifyEvent } from '../mm/mmu-notifier.js';

/** struct mmu_interval_notifier_ops.invalidate: returns nothing (vmlab never blocks). */
export type InvalidateFn = (
  ni: IntervalNotifier,
  start: number,
  end: number,
  event: NotifyEvent,
  owner: unknown,
  curSeq: number,
) => void;

/** sizeof(struct mmu_interval_notifier) on x86-64: interval_tree_node 48, ops 8, mm 8, deferred_item 16, invalidate_seq 8. */
export const MMU_INTERVAL_NOTIFIER_BYTES = 88;

export class IntervalNotifier {
  /** The range mirrored, pages [start, end). */
  readonly start: number;
  readonly end: number;
  invalidateSeq: number;
  readonly invalidate: InvalidateFn;

  constructor(start: number, end: number, seq: number, invalidate: InvalidateFn) {
    this.start = start;
    this.end = end;
    this.invalidateSeq = seq;
    this.invalidate = invalidate;
  }
}

export class NotifierSubscriptions implements MmuNotifierSubscriptions {
  /** subscriptions->invalidate_seq: even when no invalidation is running. */
  invalidateSeq = 2;
  readonly intervals: IntervalNotifier[] = [];

  /** mmu_interval_notifier_insert over pages [start, end). */
  insert(start: number, end: number, invalidate: InvalidateFn): IntervalNotifier {
    // A new interval starts at the current sequence minus one (mmu_interval_notifier_insert:
    // invalidate_seq = subscriptions->invalidate_seq - 1 when no invalidation is running).
    const ni = new IntervalNotifier(start, end, this.invalidateSeq - 1, invalidate);
    this.intervals.push(ni);
    return ni;
  }

  /** mmu_interval_notifier_remove */
  remove(ni: IntervalNotifier): void {
    const i = this.intervals.indexOf(ni);
    if (i >= 0) this.intervals.splice(i, 1);
  }

  /** mmu_interval_read_begin */
  readBegin(ni: IntervalNotifier): number {
    return ni.invalidateSeq;
  }

  /** mmu_interval_read_retry / mmu_interval_check_retry */
  readRetry(ni: IntervalNotifier, seq: number): boolean {
    return ni.invalidateSeq !== seq;
  }

  /** __mmu_notifier_invalidate_range_start + _end: each overlapping interval's callback runs. */
  invalidate(start: number, end: number, event: NotifyEvent, owner: unknown): void {
    this.invalidateSeq |= 1;
    const cur = this.invalidateSeq;
    for (const ni of [...this.intervals]) {
      if (ni.end <= start || ni.start >= end) continue;
      ni.invalidate(ni, start, end, event, owner, cur);
    }
    this.invalidateSeq++;
  }

  /**
   * exit_mmap: mmu_notifier_release has nothing for interval notifiers; the unmap_vmas that
   * follows invalidates the whole address space (MMU_NOTIFY_UNMAP), and the process's device
   * files close. The callback set by the design does both.
   */
  onRelease: (() => void) | null = null;

  release(): void {
    this.onRelease?.();
  }
}

/** The subscriptions of mm, created on first use (mmu_notifier_register's allocation). */
export function subscriptionsOf(mm: Mm): NotifierSubscriptions {
  if (mm.notifier === null) mm.notifier = new NotifierSubscriptions();
  return mm.notifier as NotifierSubscriptions;
}
