/**
 * Vectors 1–7: container detection, dispatch and polyglots.
 *
 * @module
 */
import { PickleBuilder } from '../pickle-builder.js';
import { buildZip, torchZip } from '../zip-builder.js';
import {
  bytesOf,
  concat,
  latin1,
  pickleZip,
  strList,
  sysInfoPickle,
  tarArchive,
  validCheckpoint,
  validLegacy,
  type HostileCase,
} from './common.js';
import { reducerPickle } from './reducers.js';

const noise = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 151 + 7) & 0xff);

/**
 * Vector 1: foreign magic numbers (7z, gzip, bz2, xz, PNG, PYTORCH1, NumPy), each followed by
 * 64 bytes of noise. `UNSUPPORTED_FORMAT` naming the kind; only the 512-byte head is read.
 */
export function foreignMagic(): HostileCase[] {
  const magics: readonly (readonly [string, number[]])[] = [
    ['7z', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04]],
    ['gzip', [0x1f, 0x8b, 0x08]],
    ['bz2', [...bytesOf('BZh9')]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
    ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
    ['pytorch1', [...bytesOf('PYTORCH1')]],
    ['numpy', [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]],
  ];
  return magics.map(([name, magic]) => ({
    vector: 1,
    name,
    bytes: concat(Uint8Array.from(magic), noise(64)),
    code: 'UNSUPPORTED_FORMAT',
  }));
}

/**
 * Vector 1, tar variant: a lone 512-byte ustar header whose checksum is wrong. Torch tar files are
 * read by design (issue 3), so the header is parsed, and refused as a tar layout error.
 */
export function foreignTarHeader(): HostileCase {
  const header = new Uint8Array(512);
  header.set(latin1('ustar\0'), 257);
  header.set(latin1('not-a-checkpoint'), 0);
  return { vector: 1, name: 'tar header', bytes: header, code: 'ARCHIVE_LAYOUT' };
}

/**
 * Vectors 2–4: a valid zip after 8 junk bytes; a legacy file followed by a complete zip; a zip
 * followed by 100 bytes.
 */
export function polyglots(): HostileCase[] {
  const zip = validCheckpoint().zip.bytes;
  const other = torchZip([
    ['data.pkl', latin1('\x80\x02N.')],
    ['version', '3\n'],
  ]).bytes;
  return [
    { vector: 2, name: 'zip with prefix', bytes: concat(bytesOf('JUNKJUNK'), zip), code: 'UNSUPPORTED_FORMAT' },
    { vector: 3, name: 'legacy + appended zip', bytes: concat(validLegacy(), other), code: 'LEGACY_TRAILING_DATA' },
    { vector: 4, name: 'zip + trailing bytes', bytes: concat(zip, noise(100)), code: 'ZIP_TRAILING_DATA' },
  ];
}

/**
 * Vector 5: TorchScript archives are read by design (issue 3: state dicts of scripted modules),
 * but their pickles go through the same allow list: a `constants.pkl` or `data.pkl` reducing to
 * `posix.system` fails with `PICKLE_UNSAFE_GLOBAL`.
 */
export function torchScriptHostile(): HostileCase[] {
  const evil = reducerPickle('posix', 'system', 2).bytes;
  const evalPkl = reducerPickle('builtins', 'eval', 2, '1+1').bytes;
  const empty = latin1('\x80\x02).');
  const code = ['code/__torch__.py', 'class M(Module):\n  __parameters__ = []\n'] as const;
  return [
    {
      vector: 5,
      name: 'torchscript data.pkl os.system',
      bytes: torchZip([['data.pkl', evil], ['constants.pkl', empty], code, ['version', '3\n']], 'm').bytes,
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'posix.system' },
      secret: 'echo pwned',
    },
    {
      vector: 5,
      name: 'torchscript constants.pkl eval',
      bytes: torchZip([['data.pkl', empty], ['constants.pkl', evalPkl], code, ['version', '3\n']], 'm').bytes,
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'builtins.eval' },
    },
  ];
}

/**
 * Vector 6: the CVE-2025-32434 legacy tar (members `sys_info`, `storages`, `tensors`, `pickle`)
 * whose `pickle` reduces to `os.system`. Tar checkpoints are read by design (issue 3); the pickle is
 * refused by the allow list before anything runs.
 */
export function legacyTarHostile(): HostileCase {
  const zero = new PickleBuilder().proto(2).int(0).stop().bytes();
  const members = [
    ['sys_info', sysInfoPickle()],
    ['storages', concat(zero, strList([]))],
    ['tensors', zero],
    ['pickle', reducerPickle('posix', 'system', 2, 'touch x').bytes],
  ] as const;
  return {
    vector: 6,
    name: 'legacy tar os.system',
    bytes: tarArchive(members),
    code: 'PICKLE_UNSAFE_GLOBAL',
    details: { global: 'posix.system' },
    secret: 'touch x',
  };
}

/** Vector 7: empty and degenerate inputs; never an empty result. */
export function degenerate(): HostileCase[] {
  const dirOnly = buildZip([{ name: 'archive/', data: '' }]).bytes;
  return [
    { vector: 7, name: 'empty', bytes: new Uint8Array(0), code: 'UNSUPPORTED_FORMAT' },
    { vector: 7, name: 'lone PROTO byte', bytes: latin1('\x80'), code: 'PICKLE_TRUNCATED' },
    { vector: 7, name: 'PROTO 2 only', bytes: latin1('\x80\x02'), code: 'PICKLE_TRUNCATED' },
    {
      vector: 7,
      name: 'empty zip',
      bytes: concat(latin1('PK\x05\x06'), new Uint8Array(18)),
      code: 'UNSUPPORTED_FORMAT',
    },
    { vector: 7, name: 'directory only', bytes: dirOnly, code: 'ARCHIVE_EMPTY' },
    { vector: 7, name: 'empty data.pkl', bytes: pickleZip(new Uint8Array(0)).bytes, code: 'PICKLE_TRUNCATED' },
  ];
}

/** All cases of vectors 1–7. */
export function containerVectors(): HostileCase[] {
  return [
    ...foreignMagic(),
    foreignTarHeader(),
    ...polyglots(),
    ...torchScriptHostile(),
    legacyTarHostile(),
    ...degenerate(),
  ];
}
