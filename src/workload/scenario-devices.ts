// Building the device parts of a decoded scenario: machine.devices into DeviceSpecs, and the
// device steps, with the checks that span the file (a device must be declared, a design
// must support devices). Problems go to ctx with their position.

import type { DeviceSpec } from '../hetero/device.js';
import { DEFAULT_POLICIES, type DevicePolicies } from '../hetero/policy.js';
import { PAGE_SIZE } from '../lib/units.js';
import type { DecodedMachine, DecodedScenario, DecodedStep } from './format.js';
import { DEFAULT_DEVICE_TLB } from './format-devices.js';
import type { Step } from './scenario.js';
import { rangeOf, stepBase } from './scenario-build.js';
import { type DecodeCtx, placeOf } from './schema-dsl.js';
import type { StepTracker } from './step-tracker.js';

const DEVICE_STEPS = ['attach', 'detach', 'device', 'migrate', 'evict', 'hmadvise'] as const;
export type DeviceStep = Extract<DecodedStep, { key: (typeof DEVICE_STEPS)[number] }>;

export function isDeviceStep(item: DecodedStep): item is DeviceStep {
  return (DEVICE_STEPS as readonly string[]).includes(item.key);
}

/** The decoded policy keys, each a name or a mapping, as DevicePolicies. */
function policiesOf(d: DecodedMachine['devices'][number]): DevicePolicies {
  const def = DEFAULT_POLICIES;
  const p = d.placement;
  const f = d.prefetch;
  const t = d.thrashing;
  return {
    placement:
      typeof p === 'string'
        ? { ...def.placement, policy: p }
        : { policy: p.policy, threshold: p.threshold, granularity: p.granularity },
    prefetch:
      typeof f === 'string'
        ? { ...def.prefetch, policy: f }
        : { policy: f.policy, threshold: f.threshold, size: f.size },
    eviction: d.eviction === undefined ? { policy: 'none', defaulted: true } : { policy: d.eviction },
    thrashing:
      typeof t === 'string'
        ? { ...def.thrashing, policy: t }
        : { policy: t.policy, threshold: t.threshold, lapse: t.lapse, pin: t.pin },
  };
}

export function buildDevices(list: DecodedMachine['devices']): DeviceSpec[] {
  return list.map((d) => ({
    name: d.name,
    memory: d.memory,
    pageSize: d.page_size ?? 0, // 0: the design's default (devicePageSize)
    tlb: d.tlb === undefined ? { ...DEFAULT_DEVICE_TLB } : { entries: d.tlb.entries, ways: d.tlb.ways },
    replayableFaults: d.replayable_faults,
    faultBatch: d.fault_batch,
    peer: d.peer,
    link: { bandwidth: d.link?.bandwidth ?? 24 * 2 ** 30, latencyNs: d.link?.latency_ns ?? 1000 },
    placement: typeof d.placement === 'string' ? d.placement : d.placement.policy,
    policies: policiesOf(d),
    memoryKind: d.memory_kind,
    ...(d.reserved !== undefined && {
      reserved: d.reserved.map((r) => ({ addr: r.addr, length: r.length })),
    }),
  }));
}

/** Device names must be unique, and devices need a design that supports them. Returns the names. */
export function checkDevices(d: DecodedScenario, ctx: DecodeCtx): Set<string> {
  const names = new Set<string>();
  for (const dev of d.machine.devices) {
    if (names.has(dev.name)) ctx.report(placeOf(dev, 'name'), `device '${dev.name}' is declared twice`);
    names.add(dev.name);
    // MEMORY_DEVICE_COHERENT is a dev_pagemap type of mainline Linux (the hmm design); gmem
    // reaches device memory only through its logical page table.
    if (dev.memory_kind === 'coherent' && d.design.includes('gmem'))
      ctx.report(
        placeOf(dev, 'memory_kind'),
        'memory_kind coherent is device memory under HMM (MEMORY_DEVICE_COHERENT); the gmem design has no such memory',
      );
  }
  if (d.machine.devices.length > 0 && d.design.includes('linux'))
    ctx.report(
      placeOf(d, 'design'),
      "the linux design has no device support: use 'design: hmm' (Linux with HMM) or 'design: gmem'",
    );
  return names;
}

export function buildDeviceStep(
  item: DeviceStep,
  index: number,
  t: StepTracker,
  names: Set<string>,
  ctx: DecodeCtx,
): Step {
  const base = stepBase(item, index, t, ctx);
  const dev = (name: string, v: object) => {
    if (!names.has(name)) ctx.report(placeOf(v as never, 'device'), `no device '${name}' in machine.devices`);
  };
  switch (item.key) {
    case 'attach':
    case 'detach': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      dev(v.device, v);
      return { ...base, kind: item.key, in: v.in, device: v.device };
    }
    case 'device': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      dev(v.device, v);
      return {
        ...base,
        kind: 'device',
        in: v.in,
        device: v.device,
        range: rangeOf(v, t),
        op: v.op,
        pattern: v.pattern,
        ...(v.pattern === 'strided' && { stride: v.stride ?? PAGE_SIZE }),
        ...(v.count !== undefined && { count: v.count }),
      };
    }
    case 'migrate': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      dev(v.device, v);
      return { ...base, kind: 'migrate', in: v.in, device: v.device, range: rangeOf(v, t), to: v.to };
    }
    case 'hmadvise': {
      const v = item.value;
      t.process(v.in, placeOf(v, 'in'));
      if (v.device !== undefined) dev(v.device, v);
      return {
        ...base,
        kind: 'hmadvise',
        in: v.in,
        ...(v.device !== undefined && { device: v.device }),
        ...(v.hnid !== undefined && { hnid: v.hnid }),
        range: rangeOf(v, t),
        advice: v.advice,
      };
    }
    case 'evict': {
      const v = item.value;
      const name = typeof v === 'string' ? v : v.device;
      if (!names.has(name))
        ctx.report(
          typeof v === 'string' ? item.valueWhere : placeOf(v, 'device'),
          `no device '${name}' in machine.devices`,
        );
      return { ...base, kind: 'evict', device: name };
    }
  }
}
