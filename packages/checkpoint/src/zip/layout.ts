/**
 * Record signatures and fixed header sizes of the zip format (APPNOTE.TXT §4.3), shared by the
 * reader (`directory.ts`, `archive.ts`) and the writer (`zip-writer.ts`).
 *
 * @module
 */

/**
 * Local file header signature (`PK\3\4`).
 *
 * @example
 * ```ts
 * view.getUint32(0, true) === SIG_LFH; // a local header starts here
 * ```
 */
export const SIG_LFH = 0x04034b50;
/** Data descriptor signature (`PK\7\8`), optional before the descriptor's fields. @example `SIG_DESCRIPTOR.toString(16); // '8074b50'` */
export const SIG_DESCRIPTOR = 0x08074b50;
/** Central directory header signature (`PK\1\2`). @example `view.getUint32(p, true) === SIG_CDH` */
export const SIG_CDH = 0x02014b50;
/** ZIP64 end of central directory record signature (`PK\6\6`). @example `view.getUint32(at, true) === SIG_ZIP64_EOCD` */
export const SIG_ZIP64_EOCD = 0x06064b50;
/** ZIP64 end of central directory locator signature (`PK\6\7`). @example `view.getUint32(at, true) === SIG_ZIP64_LOCATOR` */
export const SIG_ZIP64_LOCATOR = 0x07064b50;
/** End of central directory record signature (`PK\5\6`). @example `view.getUint32(at, true) === SIG_EOCD` */
export const SIG_EOCD = 0x06054b50;

/**
 * Fixed part of a local file header (the name follows at this offset, then the extra field).
 *
 * @example
 * ```ts
 * const nameStart = headerOffset + LFH_SIZE;
 * ```
 */
export const LFH_SIZE = 30;
/** Fixed part of a central directory header. @example `p += CDH_SIZE + nameLength + extraLength + commentLength` */
export const CDH_SIZE = 46;
/** End of central directory record without its comment. @example `size < EOCD_SIZE // too small to be a zip` */
export const EOCD_SIZE = 22;
/** ZIP64 end of central directory locator. @example `const locatorAt = eocdAt - LOCATOR_SIZE` */
export const LOCATOR_SIZE = 20;
/** ZIP64 end of central directory record without extensible data. @example `z64At + ZIP64_EOCD_SIZE <= locatorAt` */
export const ZIP64_EOCD_SIZE = 56;
