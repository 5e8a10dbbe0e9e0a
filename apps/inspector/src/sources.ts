/**
 * What the page opens: one file, a dropped or picked folder (a Hugging Face model directory with
 * an index and shards), or a URL read with HTTP Range requests. Every source counts the bytes it
 * reads so long reads show progress.
 */
import { CheckpointError, fromBlob, type ByteSource } from '@x/checkpoint';
import { resolveSource, type ResolvedSource } from '@x/checkpoint/internal';
import { quote } from '@x/device';

/** A file with the path it had inside a dropped or picked folder (`''` for a lone file). */
export interface PickedFile {
  readonly file: File;
  readonly path: string;
}

/** A source to open, with a label for the page. */
export interface Opening {
  readonly label: string;
  readonly resolved: ResolvedSource;
}

/** The file of a model folder that is opened, in order of preference; other shards are opened through it. */
const ENTRY_NAMES = [
  'model.safetensors.index.json',
  'pytorch_model.bin.index.json',
  'model.safetensors',
  'pytorch_model.bin',
];
const CHECKPOINT_EXTENSIONS = /\.(safetensors|pt|pth|bin|ckpt|tar)$/i;

/** The file to open among picked files: a lone file, else the folder's index or single weight file. */
export function fromPickedFiles(files: readonly PickedFile[], onRead: (bytes: number) => void): Opening {
  if (files.length === 0) throw new CheckpointError('SOURCE_IO', 'no file was given');
  const byName = new Map(files.map((f) => [f.file.name, f.file]));
  const entry =
    files.length === 1
      ? files[0]!.file
      : (ENTRY_NAMES.map((n) => byName.get(n)).find((f) => f !== undefined) ??
        files.map((f) => f.file).find((f) => CHECKPOINT_EXTENSIONS.test(f.name)));
  if (entry === undefined) {
    throw new CheckpointError(
      'SOURCE_IO',
      `the folder holds no checkpoint: expected ${ENTRY_NAMES.join(', ')} or a .safetensors/.pt/.pth/.bin file among ${files.length} files`,
    );
  }
  const folder = files.length > 1 ? `${files[0]!.path.split('/')[0] ?? ''}/` : '';
  return {
    label: `${folder}${entry.name}`,
    resolved: {
      source: counting(fromBlob(entry, entry.name), onRead),
      resolve: async (name) => {
        const file = byName.get(name.split('/').pop() ?? name);
        if (file === undefined) {
          throw new CheckpointError(
            'SOURCE_IO',
            `shard ${quote(name)} is not in the opened folder (${files.length} files)`,
          );
        }
        return counting(fromBlob(file, file.name), onRead);
      },
    },
  };
}

/** A URL read with HTTP Range requests (sibling shards resolved against it). */
export async function fromUrlText(text: string, onRead: (bytes: number) => void): Promise<Opening> {
  const resolved = await resolveSource(text.trim());
  const { resolve } = resolved;
  return {
    label: text.trim(),
    resolved: {
      source: counting(resolved.source, onRead),
      resolve: resolve === undefined ? undefined : async (name) => counting(await resolve(name), onRead),
    },
  };
}

/** The files of a drop: lone files, and every file under dropped folders with its path. */
export async function droppedFiles(items: DataTransferItemList): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const stack: FileSystemEntry[] = [];
  // entries must be taken during the drop event; a file without one (a DataTransfer built by a script) is taken as is
  for (const item of items) {
    const entry = item.kind === 'file' ? item.webkitGetAsEntry() : null;
    const file = entry === null && item.kind === 'file' ? item.getAsFile() : null;
    if (entry !== null) stack.push(entry);
    else if (file !== null) out.push({ file, path: file.name });
  }
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, '') });
    } else if (entry.isDirectory) {
      stack.push(...(await readAllEntries((entry as FileSystemDirectoryEntry).createReader())));
    }
  }
  return out;
}

/** The files of an `<input type=file>` (with `webkitRelativePath` when a folder was picked). */
export function pickedFiles(list: FileList): PickedFile[] {
  return [...list].map((file) => ({ file, path: file.webkitRelativePath }));
}

async function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

/** `source`, reporting the size of every read. */
function counting(source: ByteSource, onRead: (bytes: number) => void): ByteSource {
  return {
    size: source.size,
    name: source.name,
    read: async (offset, length) => {
      const bytes = await source.read(offset, length);
      onRead(bytes.length);
      return bytes;
    },
    ...(source.readInto === undefined
      ? {}
      : {
          readInto: async (target: Uint8Array, offset: number) => {
            await source.readInto!(target, offset);
            onRead(target.length);
          },
        }),
  };
}
