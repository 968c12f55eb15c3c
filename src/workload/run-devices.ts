// The runner's device steps: attach and detach a device, run a device kernel, migrate, evict.
// Errors are guest results (an errno the step may declare with expect_error).

import type { Task } from '../mm/mm.js';
import type { System } from '../sim/system.js';
import type { Outcome } from './run.js';
import type { RangeRef, Step } from './scenario.js';

export interface DeviceStepEnv {
  /** The running process of that name (stops the run otherwise). */
  task(name: string): Task;
  /** A range of that process, resolved (regions, offsets). */
  range(name: string, r: RangeRef): { addr: number; length: number };
  settle(out: Outcome): void;
}

type DeviceStep = Extract<Step, { kind: 'attach' | 'detach' | 'device' | 'migrate' | 'evict' | 'hmadvise' }>;

export function runDeviceStep(sys: System, step: DeviceStep, env: DeviceStepEnv): void {
  switch (step.kind) {
    case 'attach':
    case 'detach': {
      const task = env.task(step.in);
      const e = step.kind === 'attach' ? sys.attach(task, step.device) : sys.detach(task, step.device);
      env.settle(e === null ? {} : { error: e });
      return;
    }
    case 'device': {
      const task = env.task(step.in);
      const { addr, length } = env.range(step.in, step.range);
      const r = sys.deviceRun(task, step.device, {
        addr,
        length,
        op: step.op,
        pattern: step.pattern,
        stride: step.stride ?? 4096,
        ...(step.count !== undefined && { count: step.count }),
      });
      env.settle(
        r.error === undefined
          ? {}
          : {
              error: r.error,
              detail: `at 0x${(r.faultAddr ?? 0).toString(16)} after ${r.accesses} accesses`,
            },
      );
      return;
    }
    case 'migrate': {
      const task = env.task(step.in);
      const { addr, length } = env.range(step.in, step.range);
      const r = sys.migrate(task, step.device, addr, length, step.to);
      env.settle(r.error === undefined ? {} : { error: r.error, detail: `${r.cpages} pages on the device` });
      return;
    }
    case 'hmadvise': {
      const task = env.task(step.in);
      const { addr, length } = env.range(step.in, step.range);
      const r = sys.hmadvise(task, step.device ?? step.hnid ?? -1, addr, length, step.advice);
      env.settle(r.error === undefined ? {} : { error: r.error });
      return;
    }
    case 'evict':
      sys.evict(step.device);
      env.settle({});
      return;
  }
}
