/**
 * The SSTable's byte format (SPEC.md, "SSTable"): constants, the block
 * trailer every block carries, and the fixed-size footer at the end of the
 * file that locates the index, filter and properties blocks.
 *
 * File layout:
 *   data block 0 | trailer | data block 1 | trailer | ... |
 *   index block | trailer | filter block | trailer | properties block | trailer |
 *   footer (60 bytes)
 * Block trailer (5 bytes): u8 compression (0 = none), u32 masked CRC32C of
 *   the block contents followed by the compression byte.
 * Footer (60 bytes):
 *   0  u64 index offset     8  u32 index length
 *   12 u64 filter offset    20 u32 filter length (0: no filter)
 *   24 u64 properties offset 32 u32 properties length
 *   36 u64 file number      44 u16 format version (1)   46 u16 flags (0)
 *   48 u32 masked CRC32C of bytes [0, 48)
 *   52 magic "OUROBSST"
 * Lengths count the block contents only; the trailer follows at offset + length.
 */
import { CorruptionError } from "../../errors.ts";
import { crc32c, crc32cUpdate, maskCrc, unmaskCrc } from "../../encoding/crc32c.ts";
import { getU16, getU32, getU64, putU16, putU32, putU64 } from "../../encoding/fixed.ts";

export const SST_MAGIC = new Uint8Array([0x4f, 0x55, 0x52, 0x4f, 0x42, 0x53, 0x53, 0x54]); // "OUROBSST"
export const SST_FORMAT_VERSION = 1;
export const SST_FOOTER_BYTES = 60;
export const BLOCK_TRAILER_BYTES = 5;
/** The only compression this version writes or reads; the byte leaves room for others. */
export const COMPRESSION_NONE = 0;
/** Entry kinds as stored (the memtable's KIND_DELETE / KIND_PUT / KIND_VALUE_POINTER). */
export const SST_KIND_DELETE = 0;
export const SST_KIND_PUT = 1;
/** A put whose stored value is a value-log pointer (SPEC.md, value log). */
export const SST_KIND_VALUE_POINTER = 2;
/** Bytes of one restart offset and of the restart count at a block's end. */
export const RESTART_ENTRY_BYTES = 4;

/** Where a block sits in the file: `length` bytes of contents at `offset`, trailer after. */
export interface BlockHandle {
  offset: number;
  length: number;
}

export interface Footer {
  index: BlockHandle;
  filter: BlockHandle;
  properties: BlockHandle;
  fileNumber: number;
}

/** File name of table number `n`: six or more digits, then ".sst". */
export function tableFileName(fileNumber: number): string { // A
  return `${String(fileNumber).padStart(6, "0")}.sst`;
}

/** The table number of a file name, or undefined if the name is not one. */
export function parseTableFileName(name: string): number | undefined { // A
  const m = /^(\d{6,16})\.sst$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The 5-byte trailer for `contents` (compression none). */
export function blockTrailer(contents: Uint8Array): Uint8Array { // PA
  const t = new Uint8Array(BLOCK_TRAILER_BYTES);
  t[0] = COMPRESSION_NONE;
  putU32(t, 1, maskCrc(crc32cUpdate(crc32c(contents), t, 0, 1)));
  return t;
}

/**
 * Checks a block read as contents + trailer (`buf.length === length + 5`)
 * and returns the contents (a view of `buf`). CorruptionError names the file
 * and the block's offset.
 */
export function checkBlock(buf: Uint8Array, file: string, offset: number): Uint8Array { // PA
  const length = buf.length - BLOCK_TRAILER_BYTES;
  if (length < 0) throw new CorruptionError("sstable block shorter than its trailer", { file, offset });
  const stored = unmaskCrc(getU32(buf, length + 1));
  if (stored !== crc32c(buf, 0, length + 1)) {
    throw new CorruptionError(`sstable block checksum mismatch (block of ${length} bytes)`, { file, offset });
  }
  const compression = buf[length]!;
  if (compression !== COMPRESSION_NONE) {
    throw new CorruptionError(`sstable block uses unknown compression ${compression}`, { file, offset });
  }
  return buf.subarray(0, length);
}

export function encodeFooter(f: Footer): Uint8Array { // PA
  const out = new Uint8Array(SST_FOOTER_BYTES);
  putU64(out, 0, f.index.offset);
  putU32(out, 8, f.index.length);
  putU64(out, 12, f.filter.offset);
  putU32(out, 20, f.filter.length);
  putU64(out, 24, f.properties.offset);
  putU32(out, 32, f.properties.length);
  putU64(out, 36, f.fileNumber);
  putU16(out, 44, SST_FORMAT_VERSION);
  putU16(out, 46, 0);
  putU32(out, 48, maskCrc(crc32c(out, 0, 48)));
  out.set(SST_MAGIC, 52);
  return out;
}

/**
 * Decodes the footer (the file's last 60 bytes; `fileBytes` is the file's
 * size) and checks that every handle lies inside the file before the footer.
 */
export function decodeFooter(buf: Uint8Array, file: string, fileBytes: number): Footer { // PA
  const at = fileBytes - SST_FOOTER_BYTES;
  if (buf.length !== SST_FOOTER_BYTES || at < 0) {
    throw new CorruptionError(`file of ${fileBytes} bytes is too short to be an sstable`, { file, offset: 0 });
  }
  for (let i = 0; i < SST_MAGIC.length; i++) {
    if (buf[52 + i] !== SST_MAGIC[i]) throw new CorruptionError("not an sstable (bad magic in footer)", { file, offset: at + 52 });
  }
  if (unmaskCrc(getU32(buf, 48)) !== crc32c(buf, 0, 48)) {
    throw new CorruptionError("sstable footer checksum mismatch", { file, offset: at });
  }
  const version = getU16(buf, 44);
  if (version !== SST_FORMAT_VERSION) {
    throw new CorruptionError(`unsupported sstable format version ${version} (this build reads ${SST_FORMAT_VERSION})`, { file, offset: at + 44 });
  }
  if (getU16(buf, 46) !== 0) throw new CorruptionError("sstable footer has unknown flags", { file, offset: at + 46 });
  for (const field of [0, 12, 24, 36]) {
    if (getU32(buf, field + 4) > 0x1fffff) throw new CorruptionError("sstable footer field exceeds 2^53-1", { file, offset: at + field });
  }
  const footer: Footer = {
    index: { offset: getU64(buf, 0), length: getU32(buf, 8) },
    filter: { offset: getU64(buf, 12), length: getU32(buf, 20) },
    properties: { offset: getU64(buf, 24), length: getU32(buf, 32) },
    fileNumber: getU64(buf, 36),
  };
  // The three blocks follow each other, in this order, right before the footer.
  const indexEnd = footer.index.offset + footer.index.length + BLOCK_TRAILER_BYTES;
  const filterEnd = footer.filter.offset + footer.filter.length + BLOCK_TRAILER_BYTES;
  const propsEnd = footer.properties.offset + footer.properties.length + BLOCK_TRAILER_BYTES;
  if (footer.filter.offset !== indexEnd || footer.properties.offset !== filterEnd || propsEnd !== at) {
    throw new CorruptionError("sstable footer block handles do not tile the file", { file, offset: at });
  }
  return footer;
}
