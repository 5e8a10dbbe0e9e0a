/**
 * Vectors 84–87: the legacy (non-zip) stream format.
 *
 * @module
 */
import { PickleBuilder } from '../pickle-builder.js';
import {
  concat,
  float32Bytes,
  LEGACY_MAGIC,
  legacyFile,
  legacyMain,
  sysInfoPickle,
  validLegacy,
  type HostileCase,
} from './common.js';
import { reducerPickle } from './reducers.js';

const FOUR = float32Bytes([1, 2, 3, 4]);
const MAIN = legacyMain([['w', '123', 4]]);

/**
 * Vectors 84–87: a valid legacy file, header corruptions, storage-section corruptions, views past
 * their storage.
 */
export function legacyVectors(): HostileCase[] {
  const file = validLegacy();
  const pickle = (build: (p: PickleBuilder) => PickleBuilder) => build(new PickleBuilder().proto(2)).stop().bytes();
  const storages = [[4, FOUR]] as const;
  const withKeys = (keys: readonly string[]) => legacyFile({ main: MAIN, keys, storages });
  const withCount = (count: number | bigint) => legacyFile({ main: MAIN, keys: ['123'], storages: [[count, FOUR]] });
  return [
    {
      vector: 84,
      name: 'valid legacy file',
      bytes: file,
      accepted: 'the legacy stream format is read (torch.load reads it)',
    },
    {
      vector: 85,
      name: 'wrong magic',
      bytes: legacyFile({ magic: pickle((p) => p.long(LEGACY_MAGIC + 1n)), main: MAIN, keys: ['123'], storages }),
      code: 'LEGACY_BAD_MAGIC',
    },
    {
      vector: 85,
      name: 'protocol 1000',
      bytes: legacyFile({ protocol: pickle((p) => p.int(1000)), main: MAIN, keys: ['123'], storages }),
      code: 'LEGACY_BAD_HEADER',
    },
    {
      vector: 85,
      name: 'sys_info a list',
      bytes: legacyFile({ sysInfo: pickle((p) => p.emptyList()), main: MAIN, keys: ['123'], storages }),
      code: 'LEGACY_BAD_HEADER',
    },
    {
      vector: 85,
      name: 'sys_info little_endian False',
      bytes: legacyFile({ sysInfo: sysInfoPickle(false), main: MAIN, keys: ['123'], storages }),
      code: 'LEGACY_BAD_HEADER',
    },
    {
      vector: 85,
      name: 'sys_info reduces os.system',
      bytes: legacyFile({ sysInfo: reducerPickle('os', 'system', 2).bytes, main: MAIN, keys: ['123'], storages }),
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'os.system' },
    },
    {
      vector: 85,
      name: 'an extra pickle before the object',
      bytes: legacyFile({
        main: concat(
          pickle((p) => p.none()),
          MAIN,
        ),
        keys: ['123'],
        storages,
      }),
      code: 'PICKLE_UNSUPPORTED_OPCODE',
    },
    { vector: 86, name: 'key listed twice', bytes: withKeys(['123', '123']), code: 'LEGACY_BAD_STORAGE' },
    { vector: 86, name: 'listed key never used', bytes: withKeys(['123', '999']), code: 'LEGACY_BAD_STORAGE' },
    { vector: 86, name: 'used key not listed', bytes: withKeys([]), code: 'LEGACY_BAD_STORAGE' },
    { vector: 86, name: 'count 5 for numel 4', bytes: withCount(5), code: 'LEGACY_BAD_STORAGE' },
    { vector: 86, name: 'count -1', bytes: withCount(-1), code: 'LEGACY_BAD_STORAGE' },
    { vector: 86, name: 'count 2^62', bytes: withCount(2n ** 62n), code: 'LEGACY_BAD_STORAGE' },
    { vector: 86, name: 'data truncated', bytes: file.subarray(0, file.length - 4), code: 'LEGACY_BAD_STORAGE' },
    {
      vector: 87,
      name: 'view (offset 3, size 4) of 4 elements',
      bytes: legacyFile({ main: legacyMain([['w', '123', 4, ['124', 3, 4]]]), keys: ['123'], storages }),
      code: 'LEGACY_BAD_VIEW',
    },
  ];
}
