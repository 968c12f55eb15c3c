// The `gmem` design: Linux 6.x (the linux preset) plus the gmem RFC series (Nov 2023):
// devices as gm_devs with hnodes, MAP_PEER_SHARED memory tracked by a per-process logical
// page table, gm_dev_fault, hmadvise. The device side is hetero/gmem*.ts.

import type { DeviceSpec } from '../hetero/device.js';
import { GmemDesign } from '../hetero/gmem.js';
import type { Rng } from '../lib/rng.js';
import type { Kernel } from '../mm/kernel.js';

export function createGmem(k: Kernel, devices: readonly DeviceSpec[], rng?: () => Rng): GmemDesign {
  return new GmemDesign(k, devices, rng);
}
