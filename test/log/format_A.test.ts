import { describe, expect, test } from "vitest";
import { LOG_FIELDS_CHARS_MAX, formatLogFields, formatLogLine, formatLogTime } from "../../src/log/index.ts";
import { CorruptionError } from "../../src/errors.ts";

describe("formatLogLine", () => {
  test("time, padded level, node, component, event, JSON fields", () => {
    const line = formatLogLine({ timeMs: 1_700_000_000_000, level: "info", component: "engine.wal", event: "opened", fields: { n: 3 }, node: "n1" });
    expect(line).toBe('2023-11-14T22:13:20.000Z INFO  n1 engine.wal opened {"n":3}');
  });

  test("omits empty parts", () => {
    expect(formatLogLine({ timeMs: 0, level: "error", component: "", event: "x", fields: {} })).toBe("1970-01-01T00:00:00.000Z ERROR x");
  });

  test("an invalid time is printed as a number instead of throwing", () => {
    expect(formatLogTime(Number.NaN)).toBe("NaN");
    expect(formatLogTime(1e300)).toBe("1e+300");
  });
});

describe("formatLogFields", () => {
  test("renders values JSON cannot carry without throwing", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const text = formatLogFields({
      big: 10n,
      err: new CorruptionError("bad block", { file: "000005.sst", offset: 7 }),
      bytes: Uint8Array.of(0, 1, 255),
      cyclic,
      fn: () => 1,
      missing: undefined,
    });
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed.big).toBe("10n");
    expect(parsed.err).toEqual({ name: "CorruptionError", code: "ERR_CORRUPTION", message: "bad block (file 000005.sst at offset 7)" });
    expect(parsed.bytes).toBe("0x0001ff");
    expect(parsed.cyclic).toEqual({ a: 1, self: "[repeated]" });
    expect(parsed.fn).toBe("[function]");
    expect("missing" in parsed).toBe(false);
  });

  test("long byte arrays are shortened", () => {
    const text = formatLogFields({ b: new Uint8Array(100) });
    expect(text).toBe(`{"b":"0x${"00".repeat(32)}...(100 bytes)"}`);
  });

  test("output is one bounded line", () => {
    const text = formatLogFields({ s: "line1\nline2\r", long: "x".repeat(LOG_FIELDS_CHARS_MAX * 2) });
    expect(text).not.toMatch(/[\r\n]/);
    expect(text.length).toBeLessThan(LOG_FIELDS_CHARS_MAX + 40);
    expect(text).toMatch(/\.\.\.\(\d+ chars\)$/);
  });
});
