// A strict TypeScript consumer (module nodenext, skipLibCheck false, no @types/node): it must
// type-check against the published declarations alone.
import type { Tensor } from '@tensorflow/tfjs-core';
import { createDeviceRuntime, type DeviceRuntime } from '@x/device';
import { load, CheckpointError, type LoadResult } from '@x/checkpoint';
import { loadModule, type Module, type ModuleLoad } from '@x/migrate';

export async function shapes(path: string): Promise<number[][]> {
  const runtime: DeviceRuntime = await createDeviceRuntime({ cuda: false });
  const loaded: LoadResult<Map<string, Tensor>> = await load<Map<string, Tensor>>(path, {
    runtime,
    mapLocation: 'cpu',
  });
  const viaModule: ModuleLoad = await loadModule(path, { runtime, mapLocation: { 'cuda:0': 'cpu' } });
  const tree: Module = viaModule.module;
  try {
    return [...loaded.value.values()].map((t) => t.shape).concat(tree.namedTensors().map(({ tensor }) => tensor.shape));
  } catch (error) {
    if (error instanceof CheckpointError) throw new Error(error.code);
    throw error;
  }
}
