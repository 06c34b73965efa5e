export * from "./varint.ts";
export * from "./fixed.ts";
export * from "./bytes.ts";
export * from "./crc32c.ts";
