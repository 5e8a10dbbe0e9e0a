export { CheckpointError, isCheckpointError } from './errors.js';
export type { CheckpointErrorCode, CheckpointErrorInit, ErrorWhere } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits } from './limits.js';
export type { Limits, LimitName } from './limits.js';
export { fromBytes, fromBlob, fromUrl } from './source.js';
export type { ByteSource, UrlSourceOptions } from './source.js';
export { openZip } from './zip/archive.js';
export type { ZipArchive, ZipEntry, ZipOptions } from './zip/archive.js';
export { unpickle } from './pickle/unpickler.js';
export type { UnpickleOptions } from './pickle/unpickler.js';
export { pickleOps } from './pickle/opcodes.js';
export type { ArgumentKind, OpcodeInfo, OpcodeName, PickleArgument, PickleOp, PickleOpsOptions, DecodeLimits } from './pickle/opcodes.js';
export { PyGlobal } from './pickle/globals.js';
export type { GlobalKind } from './pickle/globals.js';
export { createStorageTable } from './pickle/storage.js';
export type { StorageTable } from './pickle/storage.js';
export { NumpyDType, numpyInfo } from './pickle/numpy.js';
export type { NumpyInfo } from './pickle/numpy.js';
export { Layout } from './tensor-refs.js';
export type {
  RebuiltTensorRef,
  QuantizedTensorRef,
  Quantizer,
  QScheme,
  SparseTensorRef,
  CompressedLayout,
  LayoutName,
  MetaTensorRef,
  InlineTensorRef,
} from './tensor-refs.js';
export { Tuple, tuple, OrderedDict, PyObject, markFloat, isFloat, DType, TorchSize, isStorageRef, isTensorRef } from './values.js';
export type { StorageRef, TensorRef } from './values.js';
export { open, openResolved, resolveSource, Checkpoint } from './open.js';
export type { CheckpointSource, LoadOptions, Progress, CheckpointEntry, TensorOptions, ResolvedSource, Placement, WideningConverter } from './open.js';
export { load, loadCheckpoint } from './load.js';
export type { LoadResult, LoadReport, TensorPlacement, ConversionRecord } from './load.js';
export { inspect, inspectCheckpoint, sha256Hex } from './inspect.js';
export type { InspectOptions, InspectResult, InspectedTensor } from './inspect.js';
export { tensorInfo, RawTensor } from './materialise.js';
export type { TensorInfo, RawQuantizer, SparseTensors, DenseValue, Materialised, DTypeConversion, AnyTensorRef } from './materialise.js';
export { openContainer } from './formats/index.js';
export type { FormatContainer, OpenOptions } from './formats/index.js';
export type { CheckpointFormat, Container, TensorEntry, PathKey } from './container.js';
export { save } from './save.js';
export type { SaveOptions, PrepareOptions, FloatingDType } from './save.js';
export { saveSafetensors } from './save-safetensors.js';
export type { SaveSafetensorsOptions } from './save-safetensors.js';
export { diff } from './diff.js';
export type { TensorDiff, DiffResult } from './diff.js';
export { concatBytes } from './concat-bytes.js';
export { ZipWriter, memorySink } from './zip-writer.js';
export type { ByteSink, ChunkedData, ZipWriterOptions } from './zip-writer.js';
export type { WriteTorchZipResult } from './torch-writer.js';
export type { SafetensorsHeader } from './safetensors.js';
