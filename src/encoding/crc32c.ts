/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven
 * slice-by-8: eight 256-entry tables, eight bytes a step. Stored checksums
 * are masked (rotate right 15, add a constant) as LevelDB does, so that the
 * CRC of a buffer that itself contains CRCs stays well distributed.
 * Cost: ~1.1 GB/s on Node 20 here (100 B to 64 KiB inputs; MEASUREMENTS.md
 * quotes 370 MB/s, measured before this loop), i.e. ~0.1 us for a 100-byte
 * record and ~3.6 us for a 4 KiB block. Reading two aligned 32-bit words a
 * step instead of eight bytes measured only ~10% faster on 4 KiB and slower
 * on 100 B, so the byte loads stay.
 */

const POLY = 0x82f63b78;
const TABLES: Uint32Array = buildTables();

function buildTables(): Uint32Array { // A
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
}

/** Extends `crc` (0 to start) over `buf[start, end)`. */
export function crc32cUpdate(crc: number, buf: Uint8Array, start = 0, end = buf.length): number { // PA
  const t = TABLES;
  let c = ~crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    const hi = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^
      t[512 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32C of `buf[start, end)`. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number { // PA
  return crc32cUpdate(0, buf, start, end);
}

const MASK_DELTA = 0xa282ead8;

/** The form in which a CRC is stored next to the data it covers. */
export function maskCrc(crc: number): number { // A
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number { // A
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
