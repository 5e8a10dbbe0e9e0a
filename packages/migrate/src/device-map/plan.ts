/**
 * Planned device maps: accelerate's `get_balanced_memory` + `infer_auto_device_map` over a tree of
 * tensor byte sizes, with tied tensors kept on one device.
 *
 * @module
 */

import { quote, tfItemSize, type TfDType } from '@x/device';
import { deviceString, resolveDeviceMap, type TiedGroups } from './device-map.js';
import { MigrateError } from '../errors.js';
import { parseMemory, type MemorySize } from './memory.js';
import type { Module } from '../module/module.js';

/** One tensor of the model to plan: its full dotted name and its size in bytes. */
export interface SizeEntry {
  /** Full dotted name, e.g. `'features.0.weight'`. */
  name: string;
  /** Bytes the tensor takes on a device. Ignored when `tiedTo` is set. */
  bytes: number;
  /** Name of another entry that is the very same tensor (tied weight); counted once. */
  tiedTo?: string;
  /** A buffer, not a parameter (only changes the order items are tried in, as in accelerate). */
  buffer?: boolean;
}

/** How to spread a model; `'auto'` and `'balanced'` are the same plan (as in accelerate today). */
export type PlanStrategy = 'auto' | 'balanced' | 'balanced_low_0' | 'sequential';

/** Options of {@link planDeviceMap}. */
export interface PlanOptions {
  /** How to spread the model; default `'auto'`. */
  strategy?: PlanStrategy;
  /**
   * Budget per device, e.g. `{ 'cuda:0': '2GiB', cpu: '8GiB' }`. Devices are filled in this
   * order, except that `cpu` always comes last; the first non-cpu device and `cpu` keep room for
   * the largest layer, as accelerate's "main devices" do.
   */
  maxMemory: Readonly<Record<string, MemorySize>>;
  /**
   * Modules that must not be split across devices (accelerate's `no_split_module_classes`; our
   * trees have paths, not classes): dotted-path globs where `*` matches one path segment, e.g.
   * `'encoder.layer.*'`. One glob stands for one class: the balanced strategies size their extra
   * room by the first module each glob matches, as accelerate does by the first module of each
   * class, so write one glob per class (T5's encoder and decoder `T5Block`s: `'*.block.*'`).
   */
  noSplit?: readonly string[];
  /** More groups of tied tensor names, in addition to `tiedTo` and shared tensors of a Module. */
  tiedGroups?: TiedGroups;
}

/** Result of {@link planDeviceMap}. */
export interface DevicePlan {
  /** Module path -> device, with siblings on one device merged into their parent (`''` = all). */
  deviceMap: Record<string, string>;
  /** Bytes placed on each device that got something (a tied tensor counts once). */
  totals: Record<string, number>;
  /** The budget each device was planned with (after balancing), in fill order. */
  budgets: Record<string, number>;
  /** Bytes of the whole model (each distinct tensor once). */
  modelBytes: number;
}

const STRATEGIES: readonly PlanStrategy[] = ['auto', 'balanced', 'balanced_low_0', 'sequential'];

/**
 * The size entries of a {@link Module}: every name of every tensor, bytes from shape and dtype
 * (`numel × item size` of the TensorFlow.js dtype), and `tiedTo` for later names of a shared
 * tensor.
 */
export function sizeEntries(module: Module): SizeEntry[] {
  const firstName = new Map<unknown, string>();
  return module.namedTensors({ removeDuplicate: false }).map(({ name, tensor, kind }) => {
    const bytes = tensor.shape.reduce((a, b) => a * b, 1) * tfItemSize(tensor.dtype as TfDType);
    const tiedTo = firstName.get(tensor);
    if (tiedTo === undefined) firstName.set(tensor, name);
    return tiedTo === undefined
      ? { name, bytes, buffer: kind === 'buffer' }
      : { name, bytes, tiedTo, buffer: kind === 'buffer' };
  });
}

/** A module or tensor of the planning tree. */
interface Node {
  name: string;
  tensor: boolean;
  params: Node[];
  children: Node[];
  buffers: Node[];
  /**
   * Accelerate's `module_sizes[name]`: bytes of the tensors under this node, a tied tensor counted
   * only under its first name (so a module holding only alias names weighs 0).
   */
  size: number;
}

/** The model as the planner sees it. */
interface Tree {
  root: Node;
  /** Bytes per entry index: the first name of each distinct tensor carries them, aliases 0. */
  bytes: number[];
  /** Entry index of each name. */
  index: Map<string, number>;
  /** Entry index of each name's distinct tensor (its first name). */
  tensorOf: Map<string, number>;
  tiedGroups: string[][];
  names: string[];
  /** Accelerate's `module_sizes` keys in insertion order (first names, then every prefix). */
  sizedPaths: string[];
}

/**
 * Plans a device map under per-device memory budgets, following accelerate 1.15's
 * `get_balanced_memory` and `infer_auto_device_map` step for step:
 * `balanced`/`balanced_low_0`/`auto` first shrink the budgets of all but the last non-cpu device
 * to `floor(model / n) + buffer`, `buffer = floor(1.25 × max(largest first noSplit block, mean
 * leaf module))` (`balanced_low_0`: the first device gets `max(0, model − sum of the others)`);
 * then items are taken in definition order (direct parameters, child modules, direct buffers) and
 * put on the current device when they fit together with the modules holding their tied tensors,
 * the first non-cpu device and cpu keeping room for the largest remaining layer; a module that
 * does not fit is replaced by its parameters and child modules unless it is a leaf or matches
 * `noSplit`; otherwise the next device is used (never going back). Sizes are accelerate's: a tied
 * tensor counts once, under its first name, so a module holding only alias names weighs 0.
 *
 * Entries must come in the model's definition order (`model.state_dict()` order): the order
 * decides the plan. Differences from accelerate: there is no disk, so running out of devices is
 * an error; tied names are matched by dotted prefix (accelerate tests substrings); a split
 * module's direct buffers stay items after its children (accelerate drops them from the plan);
 * `noSplit` patterns stand for classes (see {@link PlanOptions.noSplit}).
 *
 * @throws MigrateError `PLAN_DOES_NOT_FIT` with the numbers, `DEVICE_MAP_INVALID`, `MEMORY_INVALID`.
 * @example
 * ```ts
 * const plan = planDeviceMap(
 *   [{ name: 'a.weight', bytes: 400 }, { name: 'b.weight', bytes: 400 }],
 *   { strategy: 'sequential', maxMemory: { 'cuda:0': 900, cpu: 2000 } },
 * );
 * plan.deviceMap; // { a: 'cuda:0', b: 'cpu' }: cuda:0 keeps 400 free for the largest layer
 * ```
 */
export function planDeviceMap(source: Module | readonly SizeEntry[], options: PlanOptions): DevicePlan {
  const strategy = options.strategy ?? 'auto';
  if (!STRATEGIES.includes(strategy)) {
    throw new MigrateError(
      'DEVICE_MAP_INVALID',
      `If passing a string for \`device_map\`, please choose 'auto', 'balanced', 'balanced_low_0' or 'sequential'. Found ${quote(String(strategy), '')}.`,
      { strategy },
    );
  }
  const tree = buildTree(
    Array.isArray(source) ? (source as readonly SizeEntry[]) : sizeEntries(source as Module),
    options.tiedGroups,
  );
  const patterns = compileGlobs(options.noSplit ?? []);
  const isNoSplit = (n: Node): boolean => !n.tensor && patterns.some((re) => re.test(n.name));
  let budgets = orderBudgets(options.maxMemory);
  if (strategy !== 'sequential') budgets = balance(tree, budgets, strategy === 'balanced_low_0', patterns);
  const placed = infer(tree, budgets, isNoSplit);
  const deviceMap = cleanDeviceMap(placed);
  const { placement } = resolveDeviceMap(Object.fromEntries(deviceMap), tree.names, { tiedGroups: tree.tiedGroups });
  return {
    deviceMap: Object.fromEntries(deviceMap),
    totals: totalsOf(tree, placement),
    budgets: Object.fromEntries(budgets),
    modelBytes: tree.root.size,
  };
}

function buildTree(entries: readonly SizeEntry[], extraTies: TiedGroups | undefined): Tree {
  const index = new Map<string, number>();
  entries.forEach((e, i) => {
    if (e.name === '' || e.name.split('.').includes('')) {
      throw new MigrateError('DEVICE_MAP_INVALID', `tensor name ${quote(e.name)} has an empty path segment`, {
        name: e.name,
      });
    }
    if (!(Number.isSafeInteger(e.bytes) && e.bytes >= 0) && e.tiedTo === undefined) {
      throw new MigrateError(
        'DEVICE_MAP_INVALID',
        `tensor ${quote(e.name)} has ${quote(String(e.bytes), '')} bytes; expected a non-negative integer`,
        { name: e.name },
      );
    }
    if (index.has(e.name))
      throw new MigrateError('DEVICE_MAP_INVALID', `tensor ${quote(e.name)} is listed twice`, { name: e.name });
    index.set(e.name, i);
  });
  // Union-find over entry indexes; the root of a set is its first entry (the name accelerate counts).
  const parent = entries.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  const unite = (a: string, b: string): void => {
    const ia = index.get(a);
    const ib = index.get(b);
    if (ia === undefined || ib === undefined) {
      const missing = ia === undefined ? a : b;
      throw new MigrateError('DEVICE_MAP_INVALID', `tied name ${quote(missing)} is not a tensor of the model`, {
        name: missing,
      });
    }
    const [ra, rb] = [find(ia), find(ib)];
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  for (const e of entries) if (e.tiedTo !== undefined) unite(e.tiedTo, e.name);
  for (const group of extraTies ?? []) for (const name of group.slice(1)) unite(group[0] as string, name);

  const bytes = entries.map((e, i) => (find(i) === i ? e.bytes : 0));
  const tensorOf = new Map(entries.map((e, i) => [e.name, find(i)]));
  const groups = new Map<number, string[]>();
  for (const [i, e] of entries.entries()) groups.set(find(i), [...(groups.get(find(i)) ?? []), e.name]);
  const root = makeNode('', false);
  const modules = new Map<string, Node>([['', root]]);
  entries.forEach((e, i) => {
    const size = bytes[i] as number;
    const segments = e.name.split('.');
    let node = root;
    node.size += size;
    for (let depth = 1; depth < segments.length; depth++) {
      const path = segments.slice(0, depth).join('.');
      let child = modules.get(path);
      if (child === undefined) {
        if (index.has(path)) throw taken(path);
        child = makeNode(path, false);
        modules.set(path, child);
        node.children.push(child);
      }
      child.size += size;
      node = child;
    }
    if (modules.has(e.name)) throw taken(e.name);
    const leaf = makeNode(e.name, true);
    leaf.size = size;
    (e.buffer === true ? node.buffers : node.params).push(leaf);
  });
  return {
    root,
    bytes,
    index,
    tensorOf,
    tiedGroups: [...groups.values()].filter((g) => g.length > 1),
    names: entries.map((e) => e.name),
    sizedPaths: sizedPaths(entries.filter((_, i) => find(i) === i)),
  };
}

/**
 * Keys of accelerate's `compute_module_sizes` in insertion order: it walks `named_parameters()` then
 * `named_buffers()` (each distinct tensor once) and adds every prefix of each name.
 */
function sizedPaths(counted: readonly SizeEntry[]): string[] {
  const keys = new Set<string>();
  for (const e of [...counted.filter((c) => c.buffer !== true), ...counted.filter((c) => c.buffer === true)]) {
    const segments = e.name.split('.');
    for (let depth = 0; depth <= segments.length; depth++) keys.add(segments.slice(0, depth).join('.'));
  }
  return [...keys];
}

function taken(name: string): MigrateError {
  return new MigrateError('DEVICE_MAP_INVALID', `${quote(name)} is both a tensor and a module`, { name });
}

function makeNode(name: string, tensor: boolean): Node {
  return { name, tensor, params: [], children: [], buffers: [], size: 0 };
}

function itemsOf(node: Node): Node[] {
  return [...node.params, ...node.children, ...node.buffers];
}

function compileGlobs(patterns: readonly string[]): RegExp[] {
  return patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^.]*')}$`,
      ),
  );
}

function orderBudgets(maxMemory: Readonly<Record<string, MemorySize>>): Map<string, number> {
  const accelerators: [string, number][] = [];
  const cpu: [string, number][] = [];
  for (const [key, size] of Object.entries(maxMemory)) {
    const name = deviceString(key, key);
    (name === 'cpu' ? cpu : accelerators).push([name, parseMemory(size)]);
  }
  if (accelerators.length + cpu.length === 0) {
    throw new MigrateError('DEVICE_MAP_INVALID', 'maxMemory names no device; give at least one, e.g. { cpu: "8GiB" }');
  }
  return new Map([...accelerators, ...cpu]);
}

/** Accelerate's `get_balanced_memory`, over non-cpu devices with a positive budget. */
function balance(
  tree: Tree,
  budgets: Map<string, number>,
  lowZero: boolean,
  patterns: readonly RegExp[],
): Map<string, number> {
  const gpus = [...budgets].filter(([d, bytes]) => d !== 'cpu' && bytes > 0).map(([d]) => d);
  if (gpus.length === 0) return budgets;
  const low = lowZero && gpus.length > 1;
  const total = tree.root.size;
  const sizes = moduleSizes(tree);
  const modulePaths = tree.sizedPaths.filter((p) => p !== '' && !tree.tensorOf.has(p));
  // One noSplit pattern stands for one class: its first module (in module_sizes order) counts.
  const blocks = patterns.map((re) => modulePaths.find((p) => re.test(p))).filter((p) => p !== undefined);
  const block = Math.max(0, ...blocks.map((p) => sizes.get(p) as number));
  const tensorLeaves = new Set(moduleLeaves(tree.sizedPaths));
  const leaves = moduleLeaves(tree.sizedPaths.filter((p) => !tensorLeaves.has(p)));
  const meanLeaves = Math.trunc(leaves.reduce((s, p) => s + (sizes.get(p) as number), 0) / Math.max(leaves.length, 1));
  const perGpu =
    Math.floor(total / (low ? gpus.length - 1 : gpus.length)) + Math.trunc(1.25 * Math.max(block, meanLeaves));
  const out = new Map(budgets);
  for (const d of gpus.slice(0, -1)) if (!(low && d === gpus[0])) out.set(d, Math.min(perGpu, out.get(d) as number));
  if (low) {
    const first = gpus[0] as string;
    const others = gpus.slice(1).reduce((s, d) => s + (out.get(d) as number), 0);
    out.set(first, Math.min(Math.max(0, total - others), out.get(first) as number));
  }
  return out;
}

function moduleSizes(tree: Tree): Map<string, number> {
  const sizes = new Map<string, number>();
  const walk = [tree.root];
  while (walk.length > 0) {
    const node = walk.pop() as Node;
    sizes.set(node.name, node.size);
    walk.push(...itemsOf(node));
  }
  return sizes;
}

/** Accelerate's `get_module_leaves`: paths no other path names as its parent (top-level paths never do). */
function moduleLeaves(paths: Iterable<string>): string[] {
  const list = [...paths];
  const parents = new Set(list.filter((p) => p.includes('.')).map((p) => p.slice(0, p.lastIndexOf('.'))));
  return list.filter((p) => p !== '' && !parents.has(p));
}

/** Accelerate's `get_max_layer_size`: largest leaf module, noSplit block or tensor in `items`. */
function maxLayer(items: readonly Node[], isNoSplit: (n: Node) => boolean): { size: number; names: string[] } {
  let size = 0;
  let names: string[] = [];
  const queue = [...items];
  while (queue.length > 0) {
    const node = queue.shift() as Node;
    if (node.children.length > 0 && !isNoSplit(node)) {
      queue.unshift(...node.children);
      continue;
    }
    if (node.size > size) [size, names] = [node.size, [node.name]];
    else if (node.size === size) names.push(node.name);
  }
  return { size, names };
}

function inside(moduleName: string, name: string): boolean {
  return moduleName === '' || name === moduleName || name.startsWith(`${moduleName}.`);
}

/** Accelerate's `infer_auto_device_map` main loop (without disk); returns module path -> device. */
function infer(tree: Tree, budgets: Map<string, number>, isNoSplit: (n: Node) => boolean): Map<string, string> {
  const devices = [...budgets.keys()];
  const gpus = devices.filter((d) => d !== 'cpu');
  const mainDevices = new Set(gpus.length > 0 ? [gpus[0], 'cpu'] : ['cpu']);
  const used = new Map(devices.map((d) => [d, 0]));
  const map = new Map<string, string>();
  let list = itemsOf(tree.root);
  let current = 0;
  let { size: maxLayerSize, names: maxLayerNames } = maxLayer(list, isNoSplit);
  const refreshMaxLayer = (): void => {
    ({ size: maxLayerSize, names: maxLayerNames } = maxLayer(
      list.filter((n) => !n.tensor),
      isNoSplit,
    ));
  };
  while (list.length > 0) {
    const node = list.shift() as Node;
    maxLayerNames = maxLayerNames.filter((n) => !inside(node.name, n));
    if (maxLayerNames.length === 0) refreshMaxLayer();
    const tiedOutside = tree.tiedGroups
      .filter((g) => g.some((n) => inside(node.name, n)) && !g.every((n) => inside(node.name, n)))
      .flatMap((g) => g.filter((n) => !inside(node.name, n)));
    // Accelerate's get_module_size_with_ties: each tied name outside adds the module holding it,
    // minus that name's own counted bytes (a module holding two such names is added twice).
    const holders = tiedOutside.map((n) => list.find((item) => inside(item.name, n)));
    let withTies = node.size;
    tiedOutside.forEach((n, i) => {
      const holder = holders[i];
      if (holder !== undefined) withTies += holder.size - (tree.bytes[tree.index.get(n) as number] as number);
    });
    const device = devices[current];
    if (device === undefined) throw doesNotFit(tree, node, withTies, budgets, used, maxLayerSize);
    const reserved = mainDevices.has(device) ? maxLayerSize : 0;
    const budget = (budgets.get(device) as number) - reserved;
    const deviceUsed = used.get(device) as number;
    if (deviceUsed + withTies <= budget) {
      used.set(device, deviceUsed + withTies);
      map.set(node.name, device);
      for (const holder of holders) {
        if (holder === undefined) continue;
        list = list.filter((n) => n !== holder);
        map.set(holder.name, device);
      }
      continue;
    }
    if (tiedOutside.length > 0 && deviceUsed + node.size <= budget) {
      const splittable = holders.find((n) => n !== undefined && n.children.length > 0 && !isNoSplit(n));
      if (splittable !== undefined) {
        list = [node, ...list.flatMap((n) => (n === splittable ? itemsOf(n) : [n]))];
        refreshMaxLayer();
        continue;
      }
    }
    if (deviceUsed + node.size >= budget && node.children.length > 0 && !isNoSplit(node)) {
      list = [...itemsOf(node), ...list];
      refreshMaxLayer();
      continue;
    }
    used.set(device, deviceUsed + reserved);
    current += 1;
    list.unshift(node);
  }
  return map;
}

function doesNotFit(
  tree: Tree,
  node: Node,
  withTies: number,
  budgets: ReadonlyMap<string, number>,
  used: ReadonlyMap<string, number>,
  maxLayerSize: number,
): MigrateError {
  const modelBytes = tree.root.size;
  const perDevice = [...budgets].map(([d, b]) => `${d} ${b} B (filled ${used.get(d) ?? 0} B incl. reserve)`).join(', ');
  return new MigrateError(
    'PLAN_DOES_NOT_FIT',
    `The model (${modelBytes} B) does not fit the memory budgets: ${quote(node.name)} needs ${withTies} B ` +
      `(with its tied tensors) and no device is left. Budgets: ${perDevice}; the first non-cpu device and cpu ` +
      `each keep ${maxLayerSize} B free for the largest layer. Raise maxMemory or add a device.`,
    {
      module: node.name,
      bytes: withTies,
      modelBytes,
      budgets: Object.fromEntries(budgets),
      used: Object.fromEntries(used),
      reserve: maxLayerSize,
    },
  );
}

/** Accelerate's `clean_device_map`: siblings on one device merge into their parent's key. */
function cleanDeviceMap(map: Map<string, string>): Map<string, string> {
  const queue = [''];
  while (queue.length > 0) {
    const moduleName = queue.shift() as string;
    const prefix = moduleName === '' ? '' : `${moduleName}.`;
    const keys = [...map.keys()].filter((k) => k.startsWith(prefix));
    const values = new Set(keys.map((k) => map.get(k)));
    if (values.size === 1 && keys.length > 1) {
      const value = map.get(keys[0] as string) as string;
      for (const k of keys) map.delete(k);
      map.set(moduleName, value);
    }
    const depth = moduleName === '' ? 1 : moduleName.split('.').length + 1;
    const children = new Set(
      [...map.keys()]
        .filter((k) => k.startsWith(prefix) && k.length > moduleName.length)
        .map((k) => k.split('.').slice(0, depth).join('.')),
    );
    queue.push(...children);
  }
  return map;
}

function totalsOf(tree: Tree, placement: ReadonlyMap<string, string>): Record<string, number> {
  const ids = new Map<string, Set<number>>();
  for (const [name, device] of placement) {
    const set = ids.get(device) ?? new Set<number>();
    set.add(tree.tensorOf.get(name) as number);
    ids.set(device, set);
  }
  return Object.fromEntries(
    [...ids].map(([d, set]) => [d, [...set].reduce((s, id) => s + (tree.bytes[id] as number), 0)]),
  );
}
