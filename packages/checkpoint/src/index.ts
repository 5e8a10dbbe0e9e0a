/**
 * `@x/checkpoint`: read every file `torch.load` reads into TensorFlow.js tensors on the device you
 * ask for, safely, and write files `torch.load` reads back. This is the isomorphic entry (browsers,
 * workers; `@x/checkpoint/browser`); the Node entry adds file paths. The zip, pickle and writer
 * machinery the sister packages build on is in `@x/checkpoint/internal`.
 *
 * @packageDocumentation
 */
export { CheckpointError, isCheckpointError } from './errors.js';
export type { CheckpointErrorCode } from './errors.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { Limits, LimitName } from './limits.js';
export { fromBytes, fromBlob, fromUrl } from './source.js';
export type { ByteSource, UrlSourceOptions } from './source.js';
export { open, Checkpoint } from './open.js';
export type { CheckpointSource, LoadOptions, TensorOptions, Placement } from './open.js';
export type { CheckpointEntry } from './formats/container.js';
export type { Progress } from './progress.js';
export type { ReadOptions } from './read-context.js';
export { load } from './load.js';
export type { LoadResult, LoadReport, TensorPlacement, ConversionRecord } from './load.js';
export { inspect, sha256Hex } from './inspect.js';
export type { InspectOptions, InspectResult, InspectedTensor } from './inspect.js';
export { save } from './formats/torch-zip/save.js';
export type { SaveOptions } from './formats/torch-zip/save.js';
export { saveSafetensors } from './formats/safetensors/save.js';
export type { SaveSafetensorsOptions } from './formats/safetensors/save.js';
export type { SafetensorsHeader } from './formats/safetensors/header.js';
export type { WriteTorchZipResult } from './formats/torch-zip/writer.js';
export { memorySink } from './zip/writer.js';
export type { ByteSink } from './zip/writer.js';
export { diff } from './diff.js';
export type { TensorDiff, DiffResult } from './diff.js';
export { Tuple, tuple, OrderedDict, PyObject, markFloat, isFloat, DType, TorchSize } from './pickle/values.js';
export { PyGlobal } from './pickle/globals.js';
export type { GlobalKind } from './pickle/globals.js';
export { NumpyDType, numpyInfo } from './pickle/numpy.js';
export type { NumpyInfo } from './pickle/numpy.js';
export { tensorInfo, RawTensor } from './tensors/materialise.js';
export type {
  TensorInfo,
  RawQuantizer,
  SparseTensors,
  DenseValue,
  Materialised,
  DTypeConversion,
} from './tensors/materialise.js';
export type { CheckpointFormat, PathKey } from './formats/container.js';
