/**
 * The one error class of `@x/checkpoint` and its stable codes, among them `SOURCE_IO` (a byte
 * source could not be read), `SOURCE_INVALID` (what was passed as the source is not bytes, a
 * `Blob`, a URL, a path or a `ByteSource`), `OPTION_INVALID` (an option of `open`/`load`/`inspect` of the wrong type or value),
 * `OUTPUT_IO` (a file could not be written: disk full, permission denied, a directory in the way)
 * and `ZIP_CORRUPT_DATA` (a deflated record does not inflate). It extends `@x/device`'s
 * `CodedError`; untrusted text goes into messages through `@x/device`'s `quote`.
 *
 * @module
 */
import { CodedError, isCodedError, quote, type CodedErrorInit } from '@x/device';

/** Stable machine-readable error codes. */
export type CheckpointErrorCode =
  | 'UNSUPPORTED_FORMAT'
  | 'INPUT_TRUNCATED'
  | 'SOURCE_IO'
  | 'SOURCE_INVALID'
  | 'OPTION_INVALID'
  | 'OUTPUT_IO'
  | 'ARCHIVE_EMPTY'
  | 'ARCHIVE_LAYOUT'
  | 'ARCHIVE_MISSING_RECORD'
  | 'ARCHIVE_BAD_VERSION'
  | 'ARCHIVE_BAD_BYTEORDER'
  | 'ZIP_EOCD_NOT_FOUND'
  | 'ZIP_EOCD_AMBIGUOUS'
  | 'ZIP_TRAILING_DATA'
  | 'ZIP_CD_OUT_OF_BOUNDS'
  | 'ZIP_CD_MALFORMED'
  | 'ZIP_ENTRY_COUNT_MISMATCH'
  | 'ZIP_TOO_MANY_ENTRIES'
  | 'ZIP_DUPLICATE_NAME'
  | 'ZIP_UNSAFE_NAME'
  | 'ZIP_HEADER_MISMATCH'
  | 'ZIP_OVERLAP'
  | 'ZIP_UNSUPPORTED_FLAG'
  | 'ZIP_UNSUPPORTED_METHOD'
  | 'ZIP_MULTIDISK'
  | 'ZIP_CRC_MISMATCH'
  | 'ZIP_SIZE_MISMATCH'
  | 'ZIP_ENTRY_OUT_OF_BOUNDS'
  | 'ZIP_CORRUPT_DATA'
  | 'ZIP_BOMB'
  | 'ZIP64_INVALID'
  | 'PICKLE_TRUNCATED'
  | 'PICKLE_INVALID_OPCODE'
  | 'PICKLE_UNSUPPORTED_OPCODE'
  | 'PICKLE_PROTOCOL'
  | 'PICKLE_STACK_UNDERFLOW'
  | 'PICKLE_MARK'
  | 'PICKLE_MEMO_MISSING'
  | 'PICKLE_MEMO_REDEFINED'
  | 'PICKLE_LIMIT'
  | 'PICKLE_STRING'
  | 'PICKLE_FRAME'
  | 'PICKLE_TRAILING_DATA'
  | 'PICKLE_UNSAFE_GLOBAL'
  | 'PICKLE_TYPE'
  | 'PICKLE_DUPLICATE_KEY'
  | 'PICKLE_CYCLE'
  | 'STORAGE_BAD_PID'
  | 'STORAGE_BAD_KEY'
  | 'STORAGE_MISSING'
  | 'STORAGE_SIZE_MISMATCH'
  | 'STORAGE_CONFLICT'
  | 'TENSOR_GEOMETRY'
  | 'TENSOR_OUT_OF_BOUNDS'
  | 'TENSOR_TOO_LARGE'
  | 'TENSOR_LOSSY_DTYPE'
  | 'TENSOR_UNSUPPORTED'
  | 'TENSOR_NO_DATA'
  | 'LEGACY_BAD_MAGIC'
  | 'LEGACY_BAD_HEADER'
  | 'LEGACY_BAD_STORAGE'
  | 'LEGACY_BAD_VIEW'
  | 'LEGACY_TRAILING_DATA'
  | 'PLATFORM_LIMIT'
  | 'RESERVED_NAME';

/** Where an error happened: the archive entry and/or the absolute byte offset. */
export interface ErrorWhere {
  /** Archive entry (full name) or other record the error is about. */
  readonly entry?: string | undefined;
  /** Absolute byte offset in the file, or in the pickle when it is not inside an archive. */
  readonly offset?: number | undefined;
}

/** Optional fields of a {@link CheckpointError}. */
export interface CheckpointErrorInit extends ErrorWhere, CodedErrorInit {}

/**
 * Error thrown for every malformed, unsafe, oversized or unreadable input. The message says what
 * was expected, what was found and where; it is at most 512 characters (`MAX_MESSAGE_LENGTH`)
 * and untrusted strings in it went through `quote`.
 */
export class CheckpointError extends CodedError<CheckpointErrorCode> {
  /** Archive entry the error is about, if any (untrusted text, not escaped). */
  readonly entry: string | undefined;
  /** Absolute byte offset the error is about, if any. */
  readonly offset: number | undefined;

  /**
   * @param message - what was expected and what was found; the location is appended from `init`.
   * @param init - entry, offset, details and cause.
   */
  constructor(code: CheckpointErrorCode, message: string, init: CheckpointErrorInit = {}) {
    super('CheckpointError', code, message + locationSuffix(init), init);
    this.entry = init.entry;
    this.offset = init.offset;
  }
}

/**
 * Type guard for {@link CheckpointError}; works across duplicate copies of the package (checks
 * the name and the code).
 */
export function isCheckpointError(e: unknown): e is CheckpointError {
  return isCodedError(e, 'CheckpointError');
}

function locationSuffix({ entry, offset }: ErrorWhere): string {
  const parts: string[] = [];
  if (entry !== undefined) parts.push(`entry ${quote(entry)}`);
  if (offset !== undefined) parts.push(`byte offset ${offset}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
