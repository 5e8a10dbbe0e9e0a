/**
 * `Module`: a tree of parameters, buffers and submodules, like `torch.nn.Module` without code —
 * built from the dotted names of a state dict or declared by hand — with `to(device)` and
 * `loadStateDict` semantics taken from torch/nn/modules/module.py (`Module.to`, `load_state_dict`).
 *
 * @module
 */

import { MetaTensor, quote, type DeviceLike, type DeviceRuntime, type Placed } from '@x/device';
import { MigrateError, listNames } from '../errors.js';
import { isPlaced, relocate } from './placed.js';

/** Whether a tensor slot is a parameter or a buffer. */
export type TensorKind = 'parameter' | 'buffer';

/** A tensor with its full dotted name. */
export interface NamedTensor {
  /** Full name from the module it was asked on, e.g. `'features.0.weight'`. */
  name: string;
  /** The tensor object (the same object under every name of a tied weight). */
  tensor: Placed;
  /** Parameter or buffer. */
  kind: TensorKind;
}

/** Options of {@link Module.fromStateDict}. */
export interface FromStateDictOptions {
  /**
   * Which names are buffers: a set of full names or a predicate. Default: names whose last
   * segment is `running_mean`, `running_var` or `num_batches_tracked` (BatchNorm's buffers).
   */
  buffers?: ReadonlySet<string> | ((name: string) => boolean);
  /** Class name of the root, used in torch's error texts; default `'Module'`. */
  className?: string;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Runtime used to put values on the module's devices (and to dispose replaced tensors). */
  runtime: DeviceRuntime;
  /** Missing or unexpected keys are errors (default `true`), as in torch. */
  strict?: boolean;
  /**
   * `false` (default): the module's tensors keep their device and dtype and take the values of the
   * state dict (torch's `copy_`); `true`: the state dict's tensors replace the module's, so their
   * device and dtype win (torch's `assign=True`).
   */
  assign?: boolean;
}

/** Result of {@link Module.loadStateDict}, torch's `_IncompatibleKeys` plus warnings. */
export interface LoadStateDictResult {
  /** Module tensors the state dict has no value for. */
  missingKeys: string[];
  /** State-dict keys that name no tensor of the module. */
  unexpectedKeys: string[];
  /** Things torch warns about, e.g. copying real data into a meta tensor (a no-op). */
  warnings: string[];
}

const DEFAULT_BUFFER_NAMES: ReadonlySet<string> = new Set(['running_mean', 'running_var', 'num_batches_tracked']);

/**
 * A module tree. Tensors are `Placed` (TF.js tensors or {@link MetaTensor}s). A tensor object
 * registered under two names is a tied weight: it is moved once and stays shared.
 *
 * @example
 * ```ts
 * const net = new Module('Net')
 *   .addModule('fc', new Module('Linear').registerParameter('weight', w).registerParameter('bias', b));
 * net.get('fc.weight') === w; // true
 * net.stateDict().keys();     // 'fc.weight', 'fc.bias'
 * ```
 */
export class Module {
  /** Class name shown in torch's messages ("Error(s) in loading state_dict for Net"). */
  readonly className: string;
  readonly #parameters = new Map<string, Placed | null>();
  readonly #buffers = new Map<string, Placed | null>();
  readonly #modules = new Map<string, Module>();

  /**
   * @param className - Name used in messages, like a torch class name; default `'Module'`.
   */
  constructor(className = 'Module') {
    this.className = className;
  }

  /**
   * Builds a tree from a state dict's dotted names: `features.0.weight` makes submodules
   * `features` and `features.0` and registers `weight` on the latter. Names with an empty
   * segment, or a name that is both a tensor and a module, are errors.
   *
   * @throws MigrateError `MODULE_NAME_INVALID`, `MODULE_NAME_TAKEN`.
   * @example
   * ```ts
   * const m = Module.fromStateDict(new Map([['bn.weight', w], ['bn.running_mean', rm]]));
   * m.namedTensors().map((t) => t.kind); // ['parameter', 'buffer']
   * ```
   */
  static fromStateDict(stateDict: ReadonlyMap<string, Placed>, options: FromStateDictOptions = {}): Module {
    const { buffers } = options;
    const isBuffer =
      buffers === undefined
        ? (name: string) => DEFAULT_BUFFER_NAMES.has(name.slice(name.lastIndexOf('.') + 1))
        : typeof buffers === 'function'
          ? buffers
          : (name: string) => buffers.has(name);
    const root = new Module(options.className);
    for (const [name, tensor] of stateDict) {
      const segments = name.split('.');
      if (segments.includes('')) {
        throw new MigrateError('MODULE_NAME_INVALID', `state-dict key ${quote(name)} has an empty name segment`, {
          key: name,
        });
      }
      let node: Module = root;
      for (const segment of segments.slice(0, -1)) {
        let child = node.#modules.get(segment);
        if (child === undefined) {
          child = new Module();
          node.addModule(segment, child);
        }
        node = child;
      }
      const leaf = segments[segments.length - 1] as string;
      if (isBuffer(name)) node.registerBuffer(leaf, tensor);
      else node.registerParameter(leaf, tensor);
    }
    return root;
  }

  /**
   * Adds (or replaces) a parameter, like `register_parameter`; `null` keeps the name without a
   * tensor (torch's `None`).
   *
   * @throws MigrateError `MODULE_NAME_INVALID` / `MODULE_NAME_TAKEN` with torch's texts.
   */
  registerParameter(name: string, tensor: Placed | null): this {
    this.#checkName('parameter', name, this.#parameters);
    this.#parameters.set(name, tensor);
    return this;
  }

  /**
   * Adds (or replaces) a buffer, like `register_buffer` (persistent).
   *
   * @throws MigrateError `MODULE_NAME_INVALID` / `MODULE_NAME_TAKEN` with torch's texts.
   */
  registerBuffer(name: string, tensor: Placed | null): this {
    this.#checkName('buffer', name, this.#buffers);
    this.#buffers.set(name, tensor);
    return this;
  }

  /**
   * Adds (or replaces) a submodule, like `add_module`. One module object may be added under two
   * names (a shared submodule).
   *
   * @throws MigrateError `MODULE_NAME_INVALID` / `MODULE_NAME_TAKEN` with torch's texts.
   */
  addModule(name: string, module: Module): this {
    this.#checkName('module', name, this.#modules);
    this.#modules.set(name, module);
    return this;
  }

  /**
   * The submodule, parameter or buffer at a dotted path (`''` is this module); `undefined` when
   * nothing (or a `null` tensor) is there.
   */
  get(path: string): Module | Placed | undefined {
    if (path === '') return this;
    const segments = path.split('.');
    let node: Module = this;
    for (const segment of segments.slice(0, -1)) {
      const child = node.#modules.get(segment);
      if (child === undefined) return undefined;
      node = child;
    }
    const last = segments[segments.length - 1] as string;
    return node.#modules.get(last) ?? node.#parameters.get(last) ?? node.#buffers.get(last) ?? undefined;
  }

  /**
   * `[path, module]` for this module and every submodule, pre-order (torch's `named_modules`);
   * with `removeDuplicate` (default) a module added under two names is listed once.
   */
  namedModules(options: { removeDuplicate?: boolean } = {}): [string, Module][] {
    const removeDuplicate = options.removeDuplicate ?? true;
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const stack: [string, Module][] = [['', this]];
    while (stack.length > 0) {
      const [path, module] = stack.pop() as [string, Module];
      if (removeDuplicate) {
        if (seen.has(module)) continue;
        seen.add(module);
      }
      out.push([path, module]);
      const children = [...module.#modules].reverse();
      for (const [name, child] of children) stack.push([path === '' ? name : `${path}.${name}`, child]);
    }
    return out;
  }

  /**
   * Every parameter and buffer with its full name, in state-dict order (per module: parameters,
   * then buffers; modules pre-order). With `removeDuplicate` (default) a tied tensor is listed
   * once, under its first name, as torch's `named_parameters` does; `null` tensors are skipped.
   */
  namedTensors(options: { removeDuplicate?: boolean } = {}): NamedTensor[] {
    const removeDuplicate = options.removeDuplicate ?? true;
    const seen = new Set<Placed>();
    const out: NamedTensor[] = [];
    for (const [path, module] of this.namedModules({ removeDuplicate })) {
      for (const [kind, slots] of module.#slots()) {
        for (const [name, tensor] of slots) {
          if (tensor === null || (removeDuplicate && seen.has(tensor))) continue;
          seen.add(tensor);
          out.push({ name: path === '' ? name : `${path}.${name}`, tensor, kind });
        }
      }
    }
    return out;
  }

  /**
   * Names that share one tensor object, one group per shared tensor (accelerate's
   * `find_tied_parameters`, over buffers too), in first-appearance order.
   */
  tiedGroups(): string[][] {
    const groups = new Map<Placed, string[]>();
    for (const { name, tensor } of this.namedTensors({ removeDuplicate: false })) {
      groups.set(tensor, [...(groups.get(tensor) ?? []), name]);
    }
    return [...groups.values()].filter((g) => g.length > 1);
  }

  /** The devices the module's tensors are on, in first-appearance order. */
  devices(runtime: DeviceRuntime): string[] {
    return [...new Set(this.namedTensors().map(({ tensor }) => runtime.deviceOf(tensor).toString()))];
  }

  /**
   * Name -> tensor for every parameter and buffer, tied names included, in registration order
   * (torch's `state_dict()`, which also lists a tied tensor under each name).
   */
  stateDict(): Map<string, Placed> {
    return new Map(this.namedTensors({ removeDuplicate: false }).map(({ name, tensor }) => [name, tensor]));
  }

  /**
   * Replaces every tensor by `fn(tensor, name, kind)`, children first, then own parameters, then
   * own buffers (torch's `_apply` order). `fn` is called once per tensor object — under the first
   * name met in that order — and every slot holding that object gets the result, so tied weights
   * stay tied.
   */
  applyTensors(fn: (tensor: Placed, name: string, kind: TensorKind) => Placed): this {
    const done = new Map<Placed, Placed>();
    for (const [path, module] of this.#postOrder()) {
      for (const [kind, slots] of module.#slots()) {
        for (const [name, tensor] of slots) {
          if (tensor === null) continue;
          let result = done.get(tensor);
          if (result === undefined) {
            result = fn(tensor, path === '' ? name : `${path}.${name}`, kind);
            done.set(tensor, result);
          }
          slots.set(name, result);
        }
      }
    }
    return this;
  }

  /**
   * Moves every parameter and buffer to `device` in place, children first (torch's `Module.to`).
   * A tensor already there is kept (no copy, nothing in the ledger); a tied tensor is moved once
   * and stays tied; each replaced tensor is disposed through the runtime, so the ledger shows the
   * bytes leaving the old device.
   *
   * @throws DeviceError from `runtime.check` / `runtime.to` (device unavailable, meta source).
   */
  to(device: DeviceLike, runtime: DeviceRuntime): this {
    const target = runtime.check(device);
    return this.applyTensors((tensor) => relocate(tensor, target, runtime));
  }

  /**
   * Loads values by name, torch's `load_state_dict`: returns missing and unexpected keys; throws
   * torch's "Error(s) in loading state_dict for …" text when `strict` finds either, and always
   * for shape mismatches and non-tensor values (nothing is changed then). Without `assign` a
   * value takes the device of the module's tensor (its dtype must match: TF.js tensors cannot be
   * cast in place, pass `assign` to keep the checkpoint's dtype); a value already on that device
   * is shared, not copied. Replaced tensors no longer held anywhere are disposed.
   *
   * @throws MigrateError `LOAD_STATE_DICT`.
   */
  loadStateDict(stateDict: ReadonlyMap<string, unknown>, options: LoadStateDictOptions): LoadStateDictResult {
    const { runtime } = options;
    const strict = options.strict ?? true;
    const assign = options.assign ?? false;
    const missingKeys: string[] = [];
    const unexpectedKeys: string[] = [];
    const errors: string[] = [];
    const warnings: string[] = [];
    const assignments: [slots: Map<string, Placed | null>, name: string, value: Placed][] = [];
    const copies = new Map<Placed, Placed>();

    for (const [path, module] of this.namedModules({ removeDuplicate: false })) {
      const prefix = path === '' ? '' : `${path}.`;
      const local = new Map<string, [Map<string, Placed | null>, Placed]>();
      for (const [, slots] of module.#slots())
        for (const [name, t] of slots) if (t !== null) local.set(name, [slots, t]);
      for (const [name, [slots, current]] of local) {
        const key = prefix + name;
        if (!stateDict.has(key)) {
          missingKeys.push(key);
          continue;
        }
        const value = stateDict.get(key);
        if (!isPlaced(value, runtime)) {
          errors.push(
            `While copying the parameter named ${quote(key)}, expected torch.Tensor or Tensor-like object from checkpoint but received ${pythonType(value)}`,
          );
        } else if (!sameShape(value.shape, current.shape)) {
          errors.push(
            `size mismatch for ${quote(key, '')}: copying a param with shape ${torchSize(value.shape)} from checkpoint, the shape in current model is ${torchSize(current.shape)}.`,
          );
        } else if (assign) {
          assignments.push([slots, name, value]);
        } else if (value.dtype !== current.dtype) {
          errors.push(
            `dtype mismatch for ${quote(key, '')}: copying a param with dtype ${value.dtype} from checkpoint, the dtype in current model is ${current.dtype} (pass assign: true to keep the checkpoint's dtype).`,
          );
        } else if (current instanceof MetaTensor && !(value instanceof MetaTensor)) {
          warnings.push(
            `for ${quote(key, '')}: copying from a non-meta parameter in the checkpoint to a meta parameter in the current model, which is a no-op. (Did you mean to pass \`assign=True\` to assign items in the state dictionary to their corresponding key in the module instead of copying them in place?)`,
          );
        } else {
          copies.set(current, value);
        }
      }
      for (const key of stateDict.keys()) {
        if (!key.startsWith(prefix)) continue;
        const head = key.slice(prefix.length).split('.', 1)[0] as string;
        if (!module.#modules.has(head) && !local.has(head)) unexpectedKeys.push(key);
      }
    }

    if (strict && unexpectedKeys.length > 0)
      errors.unshift(`Unexpected key(s) in state_dict: ${listNames(unexpectedKeys, { quote: true })}. `);
    if (strict && missingKeys.length > 0)
      errors.unshift(`Missing key(s) in state_dict: ${listNames(missingKeys, { quote: true })}. `);
    if (errors.length > 0) {
      throw new MigrateError(
        'LOAD_STATE_DICT',
        `Error(s) in loading state_dict for ${quote(this.className, '')}:\n\t${errors.join('\n\t')}`,
        {
          missingKeys,
          unexpectedKeys,
          errors,
        },
      );
    }

    const before = new Set(this.namedTensors().map(({ tensor }) => tensor));
    const replaced = new Map<Placed, Placed>();
    for (const [current, value] of copies) replaced.set(current, runtime.to(value, runtime.deviceOf(current)));
    this.applyTensors((tensor) => replaced.get(tensor) ?? tensor);
    for (const [slots, name, value] of assignments) slots.set(name, value);
    const after = new Set(this.namedTensors().map(({ tensor }) => tensor));
    const inStateDict = new Set(stateDict.values());
    for (const tensor of before) if (!after.has(tensor) && !inStateDict.has(tensor)) runtime.dispose(tensor);
    return { missingKeys, unexpectedKeys, warnings };
  }

  /** This module's own tensor slots: parameters, then buffers. */
  #slots(): [TensorKind, Map<string, Placed | null>][] {
    return [
      ['parameter', this.#parameters],
      ['buffer', this.#buffers],
    ];
  }

  /** `[path, module]` children before parents (torch's `_apply` recursion), without recursion. */
  #postOrder(): [string, Module][] {
    const out: [string, Module][] = [];
    const stack: [string, Module, boolean][] = [['', this, false]];
    while (stack.length > 0) {
      const [path, module, expanded] = stack.pop() as [string, Module, boolean];
      if (expanded) {
        out.push([path, module]);
        continue;
      }
      stack.push([path, module, true]);
      for (const [name, child] of [...module.#modules].reverse()) {
        stack.push([path === '' ? name : `${path}.${name}`, child, false]);
      }
    }
    return out;
  }

  #checkName(what: 'parameter' | 'buffer' | 'module', name: string, own: ReadonlyMap<string, unknown>): void {
    if (name.includes('.')) {
      const suffix = what === 'module' ? `, got: ${quote(name, '')}` : '';
      throw new MigrateError('MODULE_NAME_INVALID', `${what} name can't contain "."${suffix}`, { name });
    }
    if (name === '') throw new MigrateError('MODULE_NAME_INVALID', `${what} name can't be empty string ""`, { name });
    const taken = this.#parameters.has(name) || this.#buffers.has(name) || this.#modules.has(name);
    if (taken && !own.has(name)) {
      throw new MigrateError('MODULE_NAME_TAKEN', `attribute ${quote(name, "'")} already exists`, { name });
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function torchSize(shape: readonly number[]): string {
  return `torch.Size([${shape.join(', ')}])`;
}

/** How Python would print the type of a value that came from a checkpoint. */
function pythonType(value: unknown): string {
  const primitive: Record<string, string> = { string: 'str', boolean: 'bool', bigint: 'int', undefined: 'NoneType' };
  let name: string;
  if (value === null) name = 'NoneType';
  else if (typeof value === 'number') name = Number.isInteger(value) ? 'int' : 'float';
  else if (typeof value !== 'object') name = primitive[typeof value] ?? typeof value;
  else if (value instanceof Map) name = 'dict';
  else if (Array.isArray(value)) name = 'list';
  else name = String(Object.getPrototypeOf(value)?.constructor?.name ?? 'object');
  return `<class ${quote(name, "'")}>`;
}
