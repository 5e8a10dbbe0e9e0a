/**
 * `@x/checkpoint/internal`: the machinery under the public entry, for the sister packages
 * (`@x/migrate` rewrites archives and pickles with it) and the apps of this repository: zip
 * reading and writing, the pickle machine, tensor and storage descriptions, format containers,
 * sources resolved ahead of opening, and loading or inspecting an already opened checkpoint.
 * Isomorphic, like the browser entry. No semver promise: names here change with the package's
 * internals in any release; outside this repository, use `@x/checkpoint`.
 *
 * @packageDocumentation
 */
export type { CheckpointErrorInit, ErrorWhere } from './errors.js';
export { resolveLimits } from './limits.js';
export { openZip } from './zip/archive.js';
export type { ZipArchive, ZipEntry, ZipOptions } from './zip/archive.js';
export { unpickle } from './pickle/unpickler.js';
export type { UnpickleOptions } from './pickle/unpickler.js';
export { createStorageTable } from './pickle/storage.js';
export type { StorageTable } from './pickle/storage.js';
export { pickleOps } from './pickle/opcodes.js';
export type {
  ArgumentKind,
  OpcodeInfo,
  OpcodeName,
  PickleArgument,
  PickleOp,
  PickleOpsOptions,
  DecodeLimits,
} from './pickle/opcodes.js';
export { Layout } from './pickle/tensor-refs.js';
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
} from './pickle/tensor-refs.js';
export { isStorageRef, isTensorRef } from './pickle/values.js';
export type { StorageRef, TensorRef } from './pickle/values.js';
export type { AnyTensorRef } from './tensors/materialise.js';
export { openResolved, resolveSource } from './open.js';
export type { ResolvedSource } from './open.js';
export type { WideningConverter } from './tensors/materialise.js';
export { loadCheckpoint } from './load.js';
export { inspectCheckpoint } from './inspect.js';
export { openContainer } from './formats/index.js';
export type { FormatContainer, OpenOptions } from './formats/index.js';
export type { Container } from './formats/container.js';
export type { PrepareOptions, FloatingDType } from './tensors/prepare.js';
export { concatBytes } from './concat-bytes.js';
export { ZipWriter } from './zip/writer.js';
export type { ChunkedData, ZipWriterOptions } from './zip/writer.js';
