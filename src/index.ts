// vmlab's library API.

export { DESIGN_NAMES, DESIGNS, type DesignName } from './designs/index.js';
export type { Errno, GuestError, Signal, SysResult } from './lib/errno.js';
export { parseSize } from './lib/sizes.js';
export { PROCESS_COUNTERS, SYSTEM_COUNTERS, META_STRUCTURES } from './sim/counter-names.js';
export type { ProcessCounter, SystemCounter, MetaStructure } from './sim/counter-names.js';
export { System, type SystemOptions, type TouchRequest, type TouchResult, type ProcessCounters, type SystemCounters } from './sim/system.js';
export type { MmapRequest } from './mm/mmap.js';
export type { MremapRequest } from './mm/mremap.js';
export type { Advice } from './mm/madvise.js';
export type { Task } from './mm/mm.js';
export { parseScenario, formatScenarioError, type ScenarioError, type ParseResult } from './workload/parse.js';
export { scenarioJsonSchema } from './workload/json-schema.js';
export type { Scenario, Step, MachineSpec } from './workload/scenario.js';
export { runScenario, type RunReport, type RunEvent, type ProcessReport, type RunOptions } from './workload/run.js';
export { reportText, reportJson } from './report/format.js';
export { runCli } from './cli/main.js';
