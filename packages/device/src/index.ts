/**
 * `@x/device`: PyTorch device specs, map_location rules, dtype rules and a per-device memory ledger for
 * TensorFlow.js.
 *
 * @packageDocumentation
 */
export { Device, device, TORCH_DEVICE_TYPES, TFJS_DEVICE_TYPES } from './device.js';
export type { DeviceLike } from './device.js';
export { CodedError, DeviceError, isCodedError, isDeviceError, MAX_MESSAGE_LENGTH, quote } from './errors.js';
export type { CodedErrorInit, DeviceErrorCode, QuoteMark } from './errors.js';
export {
  dtypeInfo,
  dtypeFromStorageName,
  dtypeFromTorchName,
  toTensorData,
  rawView,
  fromTensorData,
  tfItemSize,
  TORCH_DTYPES,
} from './dtype.js';
export type {
  TorchDType,
  TfDType,
  DTypeInfo,
  DTypeMode,
  TypedArray,
  TensorValues,
  TensorData,
  ToTensorDataOptions,
} from './dtype.js';
export {
  halfToFloat32,
  bfloat16ToFloat32,
  float32ToHalf,
  float32ToBfloat16,
  float8ToFloat32,
  float8Table,
} from './float-bits.js';
export type { Float8Format } from './float-bits.js';
export { formatBytes } from './format-bytes.js';
export { Ledger } from './ledger.js';
export type { DeviceUsage, LedgerSnapshot } from './ledger.js';
export { resolveLocation, restoreLocation } from './map-location.js';
export type { StorageInfo, MapLocation } from './map-location.js';
export { createDeviceRuntime, MetaTensor } from './runtime.js';
export type { DeviceRuntime, Placed, RuntimeOptions } from './runtime.js';
export { probeCuda, importTfjsNodeGpu, CUDA_BACKEND } from './cuda-adapter.js';
export type { CudaProbe, CudaLoader } from './cuda-adapter.js';
