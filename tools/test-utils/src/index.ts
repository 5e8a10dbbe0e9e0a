export { OP, PickleBuilder, utf8Surrogatepass } from './pickle-builder.js';
export type { PidSpec, TensorSpec } from './pickle-builder.js';
export { buildZip, torchZip, setU16, setU32, setU64 } from './zip-builder.js';
export type { ZipRecordSpec, ZipBuildOptions, BuiltEntry, BuiltZip } from './zip-builder.js';
export * from './vectors/index.js';
