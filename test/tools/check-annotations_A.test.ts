import { describe, expect, test } from "vitest";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { awaitingReview, checkTree, findFunctions, findUnannotated, tokenize } from "../../tools/check-annotations.ts";

/** `name@line` of each unannotated declaration. */
function missing(source: string): string[] {
  return findUnannotated(source, "x.ts").map((d) => `${d.name}@${d.line}`);
}

/** `name@line:annotation` of every declaration. */
function all(source: string): string[] {
  return findFunctions(source, "x.ts").map((d) => `${d.name}@${d.line}:${d.annotation ?? "-"}`);
}

describe("function declarations", () => {
  test("annotated and unannotated declarations", () => {
    const src = [
      "export function a(x: number): number { // A",
      "  return x;",
      "}",
      "function b() {",
      "}",
      "export async function c(): Promise<void> { // PA",
      "}",
      "function* d() { yield 1; }",
      "async function* e() {} // HC",
    ].join("\n");
    expect(all(src)).toEqual(["a@1:A", "b@4:-", "c@6:PA", "d@8:-", "e@9:HC"]);
    expect(missing(src)).toEqual(["b@4", "d@8"]);
  });

  test("overload signatures and declare have no body and are not reported", () => {
    const src = [
      "export function f(a: string): string;",
      "export function f(a: number): number;",
      "export function f(a: unknown): unknown { // A",
      "  return a;",
      "}",
      "declare function g(x: number): void;",
    ].join("\n");
    expect(all(src)).toEqual(["f@3:A"]);
  });

  test("multi-line signature: the annotation belongs on the first line", () => {
    const good = ["export async function recoverWal( // PA", "  fs: FileSystem,", "  dir: string,", "): Promise<RecoveredLog> {", "}"].join("\n");
    expect(missing(good)).toEqual([]);
    const bad = ["export async function recoverWal(", "  fs: FileSystem,", "): Promise<{ a: number }> { // PA", "}"].join("\n");
    const found = findUnannotated(bad, "x.ts");
    expect(found.map((d) => `${d.name}@${d.line}`)).toEqual(["recoverWal@1"]);
    expect(found[0]!.hint).toMatch(/line 3.*line 1/);
  });

  test("return types with object literals, predicates and conditionals are skipped", () => {
    const src = [
      "function a(): { x: number; y(): void } { // A",
      "  return { x: 1, y() {} }; // the inline method is reported below",
      "}",
      "function b(v: unknown): v is string { // A",
      "  return typeof v === 'string';",
      "}",
      "function c<T>(v: T): T extends string ? { s: T } : never[] { // A",
      "  throw new Error();",
      "}",
      "function d(cond: unknown): asserts cond { // A",
      "}",
    ].join("\n");
    expect(all(src)).toEqual(["a@1:A", "y@2:-", "b@4:A", "c@7:A", "d@10:A"]);
  });

  test("nested declarations are reported, inline callbacks are not", () => {
    const src = [
      "export function outer(items: number[]): number[] { // A",
      "  function inner(x: number): number {",
      "    return x;",
      "  }",
      "  const helper = (x: number): number => x + 1;",
      "  items.forEach((x) => { inner(x); });",
      "  setTimeout(function () {}, 1);",
      "  new Promise<void>((resolve) => resolve());",
      "  return items.map(function named(x) { return helper(x); });",
      "}",
    ].join("\n");
    expect(missing(src)).toEqual(["inner@2", "helper@5"]);
  });
});

describe("variable definitions", () => {
  test("const/let arrows and function expressions are named by the variable", () => {
    const src = [
      "export const a = (x: number) => { // A",
      "};",
      "const b = async (x: number): Promise<void> => {",
      "};",
      "let c = x => x * 2;",
      "const d: (x: number) => number = (x) => x; // H",
      "const e = function () {};",
      "const f = async function named() {}; // PAC",
      "const g = <T,>(x: T): T => x;",
      "const h = async x => x;",
      "var i = (() => 1)();",
      "const j = compute(() => { return 1; });",
      "const k = 5, l = () => 1;",
    ].join("\n");
    expect(all(src)).toEqual(["a@1:A", "b@3:-", "c@5:-", "d@6:H", "e@7:-", "f@8:PAC", "g@9:-", "h@10:-"]);
  });

  test("a const split over lines is annotated on the name's line", () => {
    const src = ["const handler =", "  (x: number) => { // A", "  };"].join("\n");
    const found = findUnannotated(src, "x.ts");
    expect(found.map((d) => d.line)).toEqual([1]);
    expect(found[0]!.hint).toMatch(/line 2/);
  });

  test("assignment statements of functions count; default parameters do not", () => {
    const src = [
      "class K {",
      "  constructor() { // A",
      "    this.onData = (d: number) => {",
      "    };",
      "  }",
      "}",
      "exports.run = function () {};",
      "function f(cb = () => {}, { g = () => 1 } = {}) { // A",
      "  for (let i = 0; i < 2; i++) {}",
      "}",
    ].join("\n");
    expect(missing(src)).toEqual(["this.onData@3", "exports.run@7"]);
  });
});

describe("classes", () => {
  test("methods with every modifier, accessors and constructors", () => {
    const src = [
      "export abstract class Store<K extends { id: string }> extends Base<{ a: 1 }> implements I {",
      "  private readonly map = new Map<string, () => void>();",
      "  static count = 0;",
      "  #secret = 1;",
      "  constructor(private readonly fs: FileSystem, readonly n = 1) { // A",
      "    super();",
      "  }",
      "  async load(): Promise<void> { // PA",
      "  }",
      "  static create(): Store<{ id: string }> { // A",
      "    return null!;",
      "  }",
      "  get size(): number { // A",
      "    return 1;",
      "  }",
      "  set size(v: number) {",
      "  }",
      "  private async *walk<T>(x: T): AsyncGenerator<T> {",
      "  }",
      "  protected override toString(): string { return ''; } // AC",
      "  #hidden(): void {",
      "  }",
      "  [Symbol.iterator](): Iterator<number> { // A",
      "    return [][Symbol.iterator]();",
      "  }",
      "  abstract run(): void;",
      "  get(key: string): void { // A",
      "  }",
      "  static {",
      "    function inStaticBlock() {}",
      "  }",
      "}",
    ].join("\n");
    expect(missing(src)).toEqual(["set size@16", "walk@18", "#hidden@21", "inStaticBlock@30"]);
    expect(all(src)).toContain("get size@13:A");
    expect(all(src)).toContain("[Symbol.iterator]@23:A");
    expect(all(src)).toContain("get@27:A");
    expect(all(src).some((d) => d.startsWith("run@"))).toBe(false);
  });

  test("method overloads: only the implementation is a declaration", () => {
    const src = ["class A {", "  f(a: string): void;", "  f(a: number): void;", "  f(a: unknown): void { // A", "  }", "}"].join("\n");
    expect(all(src)).toEqual(["f@4:A"]);
  });

  test("fields holding functions are declarations; other fields are not", () => {
    const src = [
      "class A {",
      "  private handler = (e: Event): void => {",
      "  };",
      "  readonly cb: () => void = function () {}; // A",
      "  x = 1",
      "  y: string[] = []",
      "  z = { m() {} }",
      "  method() { // A",
      "  }",
      "}",
    ].join("\n");
    expect(all(src)).toEqual(["handler@2:-", "cb@4:A", "m@7:-", "method@8:A"]);
  });

  test("class expressions and decorators", () => {
    const src = ["const C = class {", "  @logged()", "  m() {", "  }", "};"].join("\n");
    expect(missing(src)).toEqual(["m@3"]);
  });
});

describe("things that are not declarations", () => {
  test("interface and type-literal method signatures", () => {
    const src = [
      "export interface Clock {",
      "  nowMs(): number;",
      "  sleep(ms: number): Promise<void>;",
      "  get x(): number;",
      "}",
      "type T = { m(): void; n: () => void };",
      "type U<T> = T extends { f(): infer R } ? R : never;",
      "function f(opts: { g(): void; h(x: number): { y(): void } }): void { // A",
      "}",
      "let v: { m(): void } | undefined;",
    ].join("\n");
    expect(all(src)).toEqual(["f@8:A"]);
  });

  test("code-like text in strings, comments, templates and regexes", () => {
    const src = [
      "const s = 'function a() {';",
      'const d = "class B { m() {} }";',
      "// function c() {",
      "/* function d() {",
      "   class E { m() {} } */",
      "const t = `function f() { ${'}'} ${ { a: 1 }.a } ${`nested ${'function g() {'}`}`;",
      "const r = /function h\\(\\) \\{ [/{}] \\/\\/ /g;",
      "const q = a / b / c; // division, not a regex",
      "function real() { // A",
      "}",
    ].join("\n");
    expect(all(src)).toEqual(["real@9:A"]);
  });

  test("keywords used as property names", () => {
    const src = ["const o = x.function;", "obj.class = 1;", "const k = { type: 'a', class: 1, if: 2 };", "function z() {} // A"].join("\n");
    expect(all(src)).toEqual(["z@4:A"]);
  });

  test("control-flow blocks are not mistaken for object literals", () => {
    const src = [
      "function f(x: number) { // A",
      "  switch (x) {",
      "    case 1: {",
      "      if (x) { g(); }",
      "      break;",
      "    }",
      "    default: {",
      "      for (const y of [1]) { h(y); }",
      "    }",
      "  }",
      "  label: {",
      "    function inner() {}",
      "  }",
      "  const o = x ? { a() {} } : { b: 1 };",
      "}",
    ].join("\n");
    expect(missing(src)).toEqual(["inner@12", "a@14"]);
  });
});

describe("object literals", () => {
  test("methods and accessors are declarations; property values are not", () => {
    const src = [
      "export function make() { // A",
      "  return {",
      "    next(): number { // A",
      "      return 1;",
      "    },",
      "    get done(): boolean {",
      "      return false;",
      "    },",
      "    async close() {},",
      "    value: () => 1,",
      "    other: function () {},",
      "    ...rest,",
      "    [Symbol.asyncIterator]() { return this; }, // A",
      "  };",
      "}",
    ].join("\n");
    expect(missing(src)).toEqual(["get done@6", "close@9"]);
  });
});

describe("annotation markers", () => {
  test("every marker with and without P is accepted", () => {
    for (const m of ["A", "AP", "AC", "H", "HP", "HC", "PA", "PAP", "PAC", "PH", "PHP", "PHC"]) {
      expect(all(`function f() { //${m === "A" ? "" : " "}${m}\n}`)).toEqual([`f@1:${m}`]);
    }
  });

  test("a note may follow a separator", () => {
    expect(all("function f() { // PA: crash recovery\n}")).toEqual(["f@1:PA"]);
    expect(all("function f() { // A // LOGGER: the log itself\n}")).toEqual(["f@1:A"]);
  });

  test("prose, unknown markers and block comments are not annotations", () => {
    for (const c of ["// A helper", "// AX", "// PP", "// a", "/* A */", "// HCX", "// TODO A"]) {
      expect(missing(`function f() { ${c}\n}`)).toEqual(["f@1"]);
    }
  });

  test("awaitingReview lists P functions not yet at PHC", () => {
    const src = ["function a() {} // PA", "function b() {} // PHC", "function c() {} // A", "function d() {} // PHP", "function e() {}"].join("\n");
    expect(awaitingReview(findFunctions(src, "x.ts")).map((d) => `${d.name}:${d.annotation}`)).toEqual(["a:PA", "d:PHP"]);
  });
});

describe("tokenizer", () => {
  test("tracks lines across multi-line strings, templates and comments", () => {
    const src = "const a = `x\ny`;\n/* one\ntwo */\nconst b = 'c\\\nd';\nfunction e() {} // A";
    const { tokens } = tokenize(src);
    const e = tokens.find((t) => t.text === "e");
    expect(e?.line).toBe(7);
    expect(all(src)).toEqual(["e@7:A"]);
  });

  test("a hashbang line is skipped", () => {
    expect(all("#!/usr/bin/env node\nfunction main() {} // A")).toEqual(["main@2:A"]);
  });
});

describe("the repository's own tool", () => {
  test("check-annotations.ts itself is fully annotated", () => {
    const src = readFileSync(new URL("../../tools/check-annotations.ts", import.meta.url), "utf8");
    expect(findUnannotated(src, "tools/check-annotations.ts")).toEqual([]);
    expect(findFunctions(src, "tools/check-annotations.ts").length).toBeGreaterThan(30);
  });
});

describe("checkTree", () => {
  test("reports unannotated functions with file:line and fails; P functions are listed", () => {
    const root = mkdtempSync(join(tmpdir(), "check-annotations-"));
    try {
      mkdirSync(join(root, "src", "sub"), { recursive: true });
      writeFileSync(join(root, "src", "ok.ts"), "export function a() {} // PA\n");
      writeFileSync(join(root, "src", "sub", "bad.ts"), "\nexport function b() {}\n");
      writeFileSync(join(root, "src", "types.d.ts"), "export function c(): void;\n");
      const failing = checkTree(root, ["src", "bench"]);
      expect(failing.exitCode).toBe(1);
      expect(failing.report).toContain("src/sub/bad.ts:2 b");
      expect(failing.report).toContain("P functions awaiting review, not yet PHC (1):");
      expect(failing.report).toContain("src/ok.ts:1 a [PA]");
      writeFileSync(join(root, "src", "sub", "bad.ts"), "\nexport function b() {} // A\n");
      const passing = checkTree(root, ["src"]);
      expect(passing.exitCode).toBe(0);
      expect(passing.report).toContain("2 files, 2 functions");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
