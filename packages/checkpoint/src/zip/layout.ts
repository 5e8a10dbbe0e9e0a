/**
 * Record signatures and fixed header sizes of the zip format (APPNOTE.TXT §4.3), shared by the
 * reader (`directory.ts`, `archive.ts`) and the writer (`writer.ts`).
 *
 * @module
 */

/** Local file header signature (`PK\3\4`). */
export const SIG_LFH = 0x04034b50;
/** Data descriptor signature (`PK\7\8`), optional before the descriptor's fields. */
export const SIG_DESCRIPTOR = 0x08074b50;
/** Central directory header signature (`PK\1\2`). */
export const SIG_CDH = 0x02014b50;
/** ZIP64 end of central directory record signature (`PK\6\6`). */
export const SIG_ZIP64_EOCD = 0x06064b50;
/** ZIP64 end of central directory locator signature (`PK\6\7`). */
export const SIG_ZIP64_LOCATOR = 0x07064b50;
/** End of central directory record signature (`PK\5\6`). */
export const SIG_EOCD = 0x06054b50;

/** Fixed part of a local file header (the name follows at this offset, then the extra field). */
export const LFH_SIZE = 30;
/** Fixed part of a central directory header. */
export const CDH_SIZE = 46;
/** End of central directory record without its comment. */
export const EOCD_SIZE = 22;
/** ZIP64 end of central directory locator. */
export const LOCATOR_SIZE = 20;
/** ZIP64 end of central directory record without extensible data. */
export const ZIP64_EOCD_SIZE = 56;
