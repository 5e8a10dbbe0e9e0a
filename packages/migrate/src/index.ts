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
export { Module } from './module.js';
export type { TensorKind, NamedTensor, FromStateDictOptions, LoadStateDictOptions, LoadStateDictResult } from './module.js';
export type { MemorySize } from './memory.js';
export { coveringKey } from './device-map.js';
export type { DeviceMap, DeviceMapValue, TiedGroups } from './device-map.js';
export { planDeviceMap } from './plan-device-map.js';
export type { SizeEntry, PlanStrategy, PlanOptions, DevicePlan } from './plan-device-map.js';
export { applyDeviceMap } from './apply-device-map.js';
export type { AppliedDeviceMap } from './apply-device-map.js';
export { callOn, assertSameDevice } from './run.js';
export type { CallOnOptions } from './run.js';
export { loadModule } from './load-module.js';
export type { LoadModuleOptions, ModuleLoad } from './load-module.js';
export { loadWithDeviceMap } from './load-with-device-map.js';
export type { LoadWithDeviceMapOptions, DeviceMapLoad } from './load-with-device-map.js';
export { compareStrategies } from './compare-strategies.js';
export type { StrategyName, StrategyLedger, CompareOptions } from './compare-strategies.js';
export type { RelocateOptions, RelocateReport, RelocatedStorage } from './relocate.js';
export { relocateCheckpoint } from './relocate-file.js';
export { planCheckpoint } from './plan-checkpoint.js';
export type { CheckpointPlan, PlanCheckpointOptions, PlanSizing } from './plan-checkpoint.js';
