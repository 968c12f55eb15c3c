// Thrashing detection and mitigation, and access counters.
//
// Thrashing follows uvm_perf_thrashing.c in its rule and defaults: a page thrashes after
// UVM_PERF_THRASHING_THRESHOLD_DEFAULT (3) consecutive thrashing events, two events being
// consecutive when the second comes within the lapse (UVM_PERF_THRASHING_LAPSE_USEC_DEFAULT,
// 250 us) of the first; a thrashing page is then pinned (UVM's PIN hint: it stays where it is
// and the other processor maps it remotely) for UVM_PERF_THRASHING_PIN_MSEC_DEFAULT (150 ms),
// after which it may migrate again. vmlab's event is a round trip: the device wants a page
// that it had migrated to itself and that has come back to system memory since. Time is the
// device's count of fault batches (policy.ts: THRASHING_LAPSE_BATCHES). `remote` maps a
// thrashing page remotely for good; UVM's throttling (stalling the faulting processor for
// nap_usec) is not modelled, as vmlab's device has no clock to stall.
//
// Access counters follow uvm_gpu_access_counters.c: the GPU counts remote accesses per region
// of UVM_PERF_ACCESS_COUNTER_GRANULARITY (2 MiB) and notifies the driver when a count reaches
// UVM_PERF_ACCESS_COUNTER_THRESHOLD_DEFAULT (256); the counter is cleared with the
// notification and the driver migrates the region to the accessing GPU.

import {
  type AccessCounterPolicy,
  Thrash,
  type ThrashingName,
  type ThrashingPolicy,
  type ThrashingSpec,
} from './policy.js';

/** Per page: last round trip (batch count) * 64 + round trips * 2 + on-device bit. */
const ON_DEVICE = 1;

class Thrashing implements ThrashingPolicy {
  readonly name: ThrashingName;
  private readonly spec: ThrashingSpec;
  private readonly state = new Map<number, number>();
  /** Pinned (or mapped remotely) pages: until which batch count; Infinity for `remote`. */
  private readonly pinned = new Map<number, number>();

  constructor(spec: ThrashingSpec) {
    this.name = spec.policy;
    this.spec = spec;
  }

  wants(key: number, now: number): Thrash {
    if (this.name === 'none') return Thrash.no;
    const until = this.pinned.get(key);
    if (until !== undefined) {
      if (now < until) return Thrash.remote;
      this.pinned.delete(key); // the pin expired: migrate again, count afresh
      this.state.delete(key);
      return Thrash.no;
    }
    const s = this.state.get(key);
    if (s === undefined || (s & ON_DEVICE) === 0) return Thrash.no;
    const last = Math.floor(s / 64);
    let trips = (s >> 1) & 31;
    trips = trips > 0 && now - last > this.spec.lapse ? 1 : trips + 1;
    if (trips >= this.spec.threshold) {
      this.state.delete(key);
      this.pinned.set(key, this.name === 'remote' ? Number.POSITIVE_INFINITY : now + this.spec.pin);
      return Thrash.detected;
    }
    this.state.set(key, now * 64 + trips * 2);
    return Thrash.no;
  }

  migrated(key: number, _now: number): void {
    if (this.name === 'none') return;
    const s = this.state.get(key) ?? 0;
    this.state.set(key, s | ON_DEVICE);
  }

  forget(key: number): void {
    this.state.delete(key);
    this.pinned.delete(key);
  }
}

export function createThrashing(spec: ThrashingSpec): ThrashingPolicy {
  return new Thrashing(spec);
}

class AccessCounters implements AccessCounterPolicy {
  readonly threshold: number;
  readonly regionPages: number;
  private readonly counts = new Map<number, number>();
  constructor(threshold: number, granularity: number) {
    this.threshold = threshold;
    this.regionPages = granularity / 4096;
  }
  access(region: number): boolean {
    const n = (this.counts.get(region) ?? 0) + 1;
    if (n >= this.threshold) {
      this.counts.delete(region);
      return true;
    }
    this.counts.set(region, n);
    return false;
  }
  count(region: number): number {
    return this.counts.get(region) ?? 0;
  }
}

export function createAccessCounters(threshold: number, granularity: number): AccessCounterPolicy {
  return new AccessCounters(threshold, granularity);
}
