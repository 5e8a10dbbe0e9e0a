/**
 * TorchScript archives (`torch.jit.save`; torch/csrc/jit/serialization/import.cpp), read without
 * executing anything: `constants.pkl` and `data.pkl` are unpickled with `__torch__.*` classes kept
 * as inert records, and the module tree they describe is flattened into the `OrderedDict` that
 * `module.state_dict()` returns. Which attributes are parameters and buffers comes from the
 * `__parameters__` / `__buffers__` lists of each class in `code/__torch__/….py`.
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError } from '../../errors.js';
import { checkBound, type Limits } from '../../limits.js';
import type { ReadContext } from '../../read-context.js';
import { lookupGlobal, PyGlobal } from '../../pickle/globals.js';
import { createStorageTable } from '../../pickle/storage.js';
import { decodeUtf8 } from '../../pickle/text.js';
import { isTensorRef } from '../../pickle/tensor-refs.js';
import type { ByteSource } from '../../source.js';
import { OrderedDict, PyObject, type TensorRef } from '../../pickle/values.js';
import { openArchive, type ZipArchive } from '../../zip/archive.js';
import {
  closeSource,
  startsWith,
  ZIP_MAGIC,
  type CheckpointFormatReader,
  type FormatContainer,
} from '../format-reader.js';
import { makeContainer } from '../make-container.js';
import { readArchiveRecords, readPickleRecord, recordsMetadata, storageRecords } from '../torch-zip/records.js';

/**
 * The TorchScript reader. Its magic is the zip magic: {@link torchZipFormat} (which dispatches
 * here when the archive has `constants.pkl`, as `torch.load` does) is the one `openContainer`
 * probes; use this reader to insist on TorchScript (`UNSUPPORTED_FORMAT` for a plain torch zip).
 */
export const torchScriptFormat = {
  id: 'torchscript',
  test: (head: Uint8Array) => startsWith(head, ZIP_MAGIC),
  async open(source: ByteSource, ctx: ReadContext): Promise<FormatContainer> {
    const zip = await openArchive(source, ctx);
    if (!zip.entries.has('constants.pkl')) {
      throw new CheckpointError(
        'UNSUPPORTED_FORMAT',
        `not a TorchScript archive: no ${quote(`${zip.prefix}/constants.pkl`)} record (a torch.save zip?)`,
      );
    }
    return openTorchScriptArchive(zip, ctx);
  },
} as const satisfies CheckpointFormatReader;

/** Globals a TorchScript pickle may use besides the allow list: scripted classes and typed-container builders. */
function scriptGlobal(module: string): boolean {
  return module === '__torch__' || module.startsWith('__torch__.') || module === 'torch.jit._pickle';
}

/**
 * Reads an opened TorchScript archive. The root is an `OrderedDict` of state-dict names to
 * tensors (`requiresGrad` and `parameter` false, as `state_dict()` returns detached tensors); the
 * storages of `constants.pkl` are checked but not exposed (they are not in a state dict).
 * Globals other than the allow list, `__torch__.*` and `torch.jit._pickle.*` fail with
 * `PICKLE_UNSAFE_GLOBAL` unless `unknownClasses: 'record'`.
 */
export async function openTorchScriptArchive(zip: ZipArchive, ctx: ReadContext): Promise<FormatContainer> {
  const { limits } = ctx;
  const records = await readArchiveRecords(zip);
  const recordAll = ctx.unknownClasses === 'record';
  /** `<name>.pkl` with its own storage table, its globals checked unless they are to be recorded. */
  const readScriptPickle = async (name: 'constants' | 'data') => {
    const table = createStorageTable();
    const value = await readPickleRecord(zip, `${name}.pkl`, {
      limits,
      persistentLoad: table.persistentLoad,
      unknownClasses: 'record',
    });
    if (!recordAll) rejectUnknownGlobals(value, `${zip.prefix}/${name}.pkl`, limits);
    return { value, storages: table.storages.values() };
  };
  const constants = await readScriptPickle('constants');
  storageRecords(zip, 'constants', constants.storages, records.byteorder);
  const data = await readScriptPickle('data');
  const root = await stateDict(zip, data.value, limits);
  const read = storageRecords(zip, 'data', data.storages, records.byteorder);
  return makeContainer({
    format: 'torchscript',
    root,
    limits,
    metadata: recordsMetadata(records),
    read,
    close: () => closeSource(zip.source),
  });
}

/** Fails on the first recorded global that is neither allow-listed nor a TorchScript global. */
function rejectUnknownGlobals(root: unknown, entry: string, limits: Limits): void {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    checkBound(seen.size, limits.maxNodes, 'maxNodes', 'objects visited while checking globals', { entry });
    const global = v instanceof PyObject || v instanceof PyGlobal ? { module: v.module, name: v.name } : undefined;
    if (
      global !== undefined &&
      lookupGlobal(global.module, global.name).kind === undefined &&
      !scriptGlobal(global.module)
    ) {
      const full = `${global.module}.${global.name}`;
      throw new CheckpointError(
        'PICKLE_UNSAFE_GLOBAL',
        `unsupported global: ${quote(full)} is not an allowed global in a TorchScript archive; nothing was executed`,
        {
          entry,
          details: { global: full.slice(0, 256) },
        },
      );
    }
    if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (Array.isArray(v) || v instanceof Set) stack.push(...v);
    else if (v instanceof PyObject) stack.push(v.args, v.state, v.items);
  }
}

/** A scripted module class's parameter and buffer names, from its source. */
interface ModuleClass {
  readonly parameters: readonly string[];
  readonly buffers: readonly string[];
}

/**
 * Flattens the module tree like `state_dict()`: a module's parameters, then its buffers (both in
 * declaration order, `None` skipped), then each submodule attribute in attribute order, prefixed
 * with its name. Objects whose class declares no `__parameters__` are not modules.
 */
async function stateDict(zip: ZipArchive, top: unknown, limits: Limits): Promise<OrderedDict<string, TensorRef>> {
  const classes = new Map<string, ModuleClass | undefined>();
  const classOf = async (obj: PyObject): Promise<ModuleClass | undefined> => {
    const key = `${obj.module}.${obj.name}`;
    if (!classes.has(key)) classes.set(key, await readModuleClass(zip, obj, limits));
    return classes.get(key);
  };
  const out = new OrderedDict<string, TensorRef>();
  if (!(top instanceof PyObject) || (await classOf(top)) === undefined) {
    throw new CheckpointError(
      'ARCHIVE_LAYOUT',
      `TorchScript data.pkl must hold a scripted module, found ${top instanceof PyObject ? quote(`${top.module}.${top.name}`) : 'another value'}`,
      {
        entry: `${zip.prefix}/data.pkl`,
      },
    );
  }
  const stack: { obj: PyObject; prefix: string; depth: number }[] = [{ obj: top, prefix: '', depth: 1 }];
  let visits = 0;
  while (stack.length > 0) {
    const { obj, prefix, depth } = stack.pop()!;
    checkBound(depth, limits.maxDepth, 'maxDepth', 'TorchScript module nesting', { entry: `${zip.prefix}/data.pkl` });
    checkBound(++visits, limits.maxNodes, 'maxNodes', 'TorchScript modules visited', {
      entry: `${zip.prefix}/data.pkl`,
    });
    const cls = (await classOf(obj))!;
    const attrs = obj.state instanceof Map ? obj.state : new Map();
    for (const name of [...cls.parameters, ...cls.buffers]) {
      const t: unknown = attrs.get(name);
      if (t === null || t === undefined) continue;
      if (!isTensorRef(t)) {
        throw new CheckpointError(
          'ARCHIVE_LAYOUT',
          `TorchScript attribute ${quote(prefix + name)} is declared a parameter or buffer but is not a tensor`,
          { entry: `${zip.prefix}/data.pkl` },
        );
      }
      out.set(
        prefix + name,
        Object.freeze({
          storage: t.storage,
          offset: t.offset,
          shape: t.shape,
          stride: t.stride,
          dtype: t.dtype,
          requiresGrad: false,
          parameter: false,
        }),
      );
    }
    const children: { obj: PyObject; prefix: string; depth: number }[] = [];
    for (const [name, value] of attrs) {
      if (
        typeof name === 'string' &&
        value instanceof PyObject &&
        scriptGlobal(value.module) &&
        (await classOf(value)) !== undefined
      ) {
        children.push({ obj: value, prefix: `${prefix}${name}.`, depth: depth + 1 });
      }
    }
    stack.push(...children.reverse());
  }
  return out;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Finds `class <name>(` in `code/<module path>.py` and reads its `__parameters__` / `__buffers__` lists. */
async function readModuleClass(zip: ZipArchive, obj: PyObject, limits: Limits): Promise<ModuleClass | undefined> {
  const parts = obj.module.split('.');
  if (parts[0] !== '__torch__' || !parts.every((p) => IDENTIFIER.test(p)) || !IDENTIFIER.test(obj.name))
    return undefined;
  const record = `code/${parts.join('/')}.py`;
  const entry = zip.entries.get(record);
  if (entry === undefined) return undefined;
  checkBound(entry.size, limits.maxStringBytes, 'maxStringBytes', 'TorchScript source size', { entry: entry.name });
  const text = decodeUtf8(await zip.read(entry));
  if (text === undefined)
    throw new CheckpointError('ARCHIVE_LAYOUT', 'TorchScript source is not valid UTF-8', { entry: entry.name });
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`class ${obj.name}(`));
  if (start === -1) return undefined;
  let end = start + 1;
  while (end < lines.length && (lines[end]!.startsWith(' ') || lines[end]!.trim() === '')) end++;
  const body = lines.slice(start + 1, end);
  const names = (attribute: string): string[] | undefined => {
    const line = body.find((l) => l.trimStart().startsWith(`${attribute} = [`));
    if (line === undefined) return undefined;
    const list = /\[(.*)\]/.exec(line)?.[1] ?? '';
    return [...list.matchAll(/"([^"\\]*)"/g)].map((m) => m[1]!);
  };
  const parameters = names('__parameters__');
  if (parameters === undefined) return undefined;
  return { parameters, buffers: names('__buffers__') ?? [] };
}
