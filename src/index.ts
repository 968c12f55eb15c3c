// vmlab's library API.

export { runCli } from './cli/main.js';
export { DESIGN_NAMES, DESIGNS, type DesignName } from './designs/index.js';
export type {
  DeviceOp,
  DevicePattern,
  DeviceRunRequest,
  DeviceRunResult,
  HeteroDesign,
  MigrateOutcome,
} from './hetero/design.js';
export type { Device, DeviceSpec, LinkSpec } from './hetero/device.js';
export type { Errno, GuestError, Signal, SysResult } from './lib/errno.js';
export { parseSize } from './lib/sizes.js';
export type { Advice } from './mm/madvise.js';
export type { Task } from './mm/mm.js';
export type { MmapRequest } from './mm/mmap.js';
export type { MremapRequest } from './mm/mremap.js';
export { type Comparison, compareReports, formatComparison } from './report/compare.js';
export { reportJson, reportText } from './report/format.js';
export type { DeviceCounter, MetaStructure, ProcessCounter, SystemCounter } from './sim/counter-names.js';
export { DEVICE_COUNTERS, META_STRUCTURES, PROCESS_COUNTERS, SYSTEM_COUNTERS } from './sim/counter-names.js';
export {
  type ProcessCounters,
  System,
  type SystemCounters,
  type SystemOptions,
  type TouchRequest,
  type TouchResult,
} from './sim/system.js';
export { scenarioJsonSchema } from './workload/json-schema.js';
export {
  formatScenarioError,
  type ParseResult,
  parseScenario,
  type ScenarioError,
} from './workload/parse.js';
export {
  type DeviceReport,
  type ProcessReport,
  type RunEvent,
  type RunOptions,
  type RunReport,
  runScenario,
} from './workload/run.js';
export type { MachineSpec, Scenario, Step } from './workload/scenario.js';
