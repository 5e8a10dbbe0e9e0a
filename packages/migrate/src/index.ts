/**
 * `@x/migrate`: module trees over PyTorch state dicts, `module.to(device)`, explicit and planned
 * device maps (accelerate's algorithm, tied weights kept together), and running a placed model
 * with inputs moved to each submodule's device. What the command line prints and parses (tables,
 * `--max-memory`) is in `@x/migrate/cli`.
 *
 * @packageDocumentation
 */
export { MigrateError, isMigrateError } from './errors.js';
export type { MigrateErrorCode } from './errors.js';
export { Module } from './module/module.js';
export type {
  TensorKind,
  NamedTensor,
  FromStateDictOptions,
  LoadStateDictOptions,
  LoadStateDictResult,
} from './module/module.js';
export type { MemorySize } from './device-map/memory.js';
export { coveringKey } from './device-map/device-map.js';
export type { DeviceMap, DeviceMapValue, TiedGroups } from './device-map/device-map.js';
export { planDeviceMap } from './device-map/plan.js';
export type { SizeEntry, PlanStrategy, PlanOptions, DevicePlan } from './device-map/plan.js';
export { applyDeviceMap } from './device-map/apply.js';
export type { AppliedDeviceMap } from './device-map/apply.js';
export { callOn, assertSameDevice } from './module/run.js';
export type { CallOnOptions } from './module/run.js';
export { loadModule } from './module/load-module.js';
export type { LoadModuleOptions, ModuleLoad } from './module/load-module.js';
export { loadWithDeviceMap } from './device-map/load.js';
export type { LoadWithDeviceMapOptions, DeviceMapLoad } from './device-map/load.js';
export { compareStrategies } from './compare-strategies.js';
export type { StrategyName, StrategyLedger, CompareOptions } from './compare-strategies.js';
export type { RelocateOptions, RelocateReport, RelocatedStorage } from './relocate/relocate.js';
export { relocateCheckpoint } from './relocate/relocate-file.js';
export { planCheckpoint } from './device-map/plan-checkpoint.js';
export type { CheckpointPlan, PlanCheckpointOptions, PlanSizing } from './device-map/plan-checkpoint.js';
