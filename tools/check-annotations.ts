/**
 * check-annotations: every function, method, constructor and accessor in
 * src/, tools/ and bench/ must carry a review annotation (`// A`, `// AP`,
 * `// AC`, `// H`, `// HP`, `// HC`, each optionally prefixed `P` for high
 * risk) on its declaration's first line (CONVENTIONS.md). Exits 1 listing each
 * unannotated function; always lists the `P` functions not yet at `PHC`.
 *
 * TypeScript 7 ships no in-process parser (its JS API is an unstable IPC
 * bridge to the native compiler), so this is a small tokenizer (strings,
 * comments, template literals and regex literals are skipped exactly) plus a
 * structural scanner that knows declarations, class bodies, object literals
 * and enough of the type grammar to skip annotations. Inline callbacks and
 * signatures without a body are not declarations and are not reported.
 *
 * Usage: node dist/tools/check-annotations.js [dir ...]   (default: src tools bench)
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

type TokenKind = "ident" | "punct" | "string" | "number" | "regex" | "template" | "template-head" | "template-middle" | "template-tail";

interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  /** A line break (or a comment holding one) separates this token from the previous one. */
  nlBefore: boolean;
}

/** A function-like declaration found in a source file. */
export interface FunctionDecl {
  file: string;
  line: number;
  name: string;
  /** The marker found on the declaration line ("A", "PA", "PHC", ...), if any. */
  annotation: string | undefined;
  /** Why it looks unannotated when a marker sits on a later line of the signature. */
  hint?: string;
}

const ANNOTATION = /^(P?(?:AP|AC|A|HP|HC|H))(?:\s*$|\s*(?:[:;,(\-\u2013\u2014]|\/\/))/;
const PUNCTUATORS = [
  ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
  "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "**",
];
const REGEX_AFTER_KEYWORDS = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await", "extends"]);
const EXPRESSION_KEYWORDS = new Set(["return", "typeof", "void", "delete", "yield", "await", "in", "of", "case", "throw", "new", "instanceof", "as", "satisfies", "extends"]);
const CLASS_MODIFIERS = new Set(["public", "private", "protected", "static", "readonly", "abstract", "override", "declare", "accessor", "async", "get", "set"]);
const CONTROL_KEYWORDS = new Set(["if", "for", "while", "switch", "catch", "with", "function", "class", "const", "let", "var", "return", "throw", "try", "do", "else"]);
const STATEMENT_PREFIX = new Set([";", "{", "}", "export", "default", "declare"]);

/** Comment text after `//`, keyed by line. */
type LineComments = Map<number, string[]>;

function isIdentStart(c: string): boolean { // A
  return /[A-Za-z_$\\#]/.test(c) || c.charCodeAt(0) > 0x7f;
}

function isIdentPart(c: string): boolean { // A
  return /[A-Za-z0-9_$\\]/.test(c) || c.charCodeAt(0) > 0x7f;
}

function regexAllowedAfter(prev: Token | undefined): boolean { // A
  if (prev === undefined) return true;
  switch (prev.kind) {
    case "ident":
      return REGEX_AFTER_KEYWORDS.has(prev.text);
    case "punct":
      return !(prev.text === ")" || prev.text === "]" || prev.text === "}" || prev.text === "++" || prev.text === "--");
    case "template-head":
    case "template-middle":
      return true;
    default:
      return false;
  }
}

/** Splits TypeScript source into tokens; comments are kept aside by line. */
export function tokenize(src: string): { tokens: Token[]; comments: LineComments } { // A
  const tokens: Token[] = [];
  const comments: LineComments = new Map();
  const templateDepths: number[] = []; // open `{` count inside each pending `${`
  const n = src.length;
  const firstNewline = src.indexOf("\n");
  let i = !src.startsWith("#!") ? 0 : firstNewline < 0 ? n : firstNewline; // a hashbang line is not code
  let line = 1;
  let nl = true;
  const push = (kind: TokenKind, text: string, startLine: number): void => { // A
    tokens.push({ kind, text, line: startLine, nlBefore: nl });
    nl = false;
  };
  const countLines = (from: number, to: number): void => { // A
    for (let k = from; k < to; k++) {
      if (src.charCodeAt(k) === 10) {
        line++;
        nl = true;
      }
    }
  };
  /** Scans template characters from `j`; returns the end and whether a `${` opened. */
  const templateRun = (j: number): { end: number; opens: boolean } => { // A
    while (j < n) {
      const c = src[j]!;
      if (c === "\\") j += 2;
      else if (c === "`") return { end: j + 1, opens: false };
      else if (c === "$" && src[j + 1] === "{") return { end: j + 2, opens: true };
      else j++;
    }
    return { end: n, opens: false };
  };
  while (i < n) {
    const c = src[i]!;
    const startLine = line;
    if (c === "\n") {
      line++;
      nl = true;
      i++;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\u00a0" || c === "\ufeff") {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i) < 0 ? n : src.indexOf("\n", i);
      const list = comments.get(line) ?? [];
      list.push(src.slice(i + 2, end));
      comments.set(line, list);
      i = end;
    } else if (c === "/" && src[i + 1] === "*") {
      const close = src.indexOf("*/", i + 2);
      const end = close < 0 ? n : close + 2;
      countLines(i, end);
      i = end;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      const end = Math.min(n, j + 1);
      push("string", src.slice(i, end), startLine);
      countLines(i, end);
      i = end;
    } else if (c === "`" || (c === "}" && templateDepths.length > 0 && templateDepths[templateDepths.length - 1] === 0)) {
      const fromBrace = c === "}";
      if (fromBrace) templateDepths.pop();
      const run = templateRun(i + 1);
      const kind: TokenKind = fromBrace ? (run.opens ? "template-middle" : "template-tail") : run.opens ? "template-head" : "template";
      push(kind, src.slice(i, run.end), startLine);
      countLines(i, run.end);
      if (run.opens) templateDepths.push(0);
      i = run.end;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      let j = i + 1;
      while (j < n && (/[0-9A-Za-z_.]/.test(src[j]!) || ((src[j] === "+" || src[j] === "-") && /[eE]/.test(src[j - 1]!) && !/^0[xX]/.test(src.slice(i, j))))) j++;
      push("number", src.slice(i, j), startLine);
      i = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(src[j]!)) j += src[j] === "\\" ? 2 : 1;
      push("ident", src.slice(i, j), startLine);
      i = j;
    } else if (c === "/" && regexAllowedAfter(tokens[tokens.length - 1])) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== "\n") {
        const d = src[j]!;
        if (d === "\\") j++;
        else if (d === "[") inClass = true;
        else if (d === "]") inClass = false;
        else if (d === "/" && !inClass) break;
        j++;
      }
      if (j >= n || src[j] === "\n") {
        push("punct", "/", startLine); // not a regex after all: a lone slash
        i++;
      } else {
        j++;
        while (j < n && /[A-Za-z]/.test(src[j]!)) j++;
        push("regex", src.slice(i, j), startLine);
        i = j;
      }
    } else {
      let text = c;
      for (const p of PUNCTUATORS) {
        if (src.startsWith(p, i) && !(p === "?." && /[0-9]/.test(src[i + 2] ?? ""))) {
          text = p;
          break;
        }
      }
      if (templateDepths.length > 0) {
        if (text === "{") templateDepths[templateDepths.length - 1]!++;
        else if (text === "}") templateDepths[templateDepths.length - 1]!--;
      }
      push("punct", text, startLine);
      i += text.length;
    }
  }
  return { tokens, comments };
}

/** For each opening bracket (and template head) the index of its closer, and back. */
function matchBrackets(tokens: Token[]): { close: Int32Array; open: Int32Array } { // A
  const close = new Int32Array(tokens.length).fill(-1);
  const open = new Int32Array(tokens.length).fill(-1);
  const stack: number[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const isOpen = t.kind === "template-head" || (t.kind === "punct" && (t.text === "(" || t.text === "[" || t.text === "{"));
    if (isOpen) {
      stack.push(i);
      continue;
    }
    const want = t.kind === "template-tail" ? "`" : t.kind === "punct" ? pairs[t.text] : undefined;
    if (want === undefined || stack.length === 0) continue;
    const top = stack[stack.length - 1]!;
    const topTok = tokens[top]!;
    const topKey = topTok.kind === "template-head" ? "`" : topTok.text;
    if (topKey !== want) continue; // malformed source: leave unmatched
    stack.pop();
    close[top] = i;
    open[i] = top;
  }
  return { close, open };
}

/** Walks the token stream and collects function-like declarations. */
class DeclarationScanner {
  readonly found: FunctionDecl[] = [];
  private readonly close: Int32Array;
  private readonly open: Int32Array;
  /** `function` keywords already reported through a declarator or field. */
  private readonly handled = new Set<number>();
  /** `{` tokens known to open a function or method body. */
  private readonly bodies = new Set<number>();

  constructor(private readonly tokens: Token[], private readonly comments: LineComments, private readonly file: string) { // A
    const m = matchBrackets(tokens);
    this.close = m.close;
    this.open = m.open;
  }

  private txt(i: number): string { // A
    return this.tokens[i]?.text ?? "";
  }

  private kind(i: number): TokenKind | undefined { // A
    return this.tokens[i]?.kind;
  }

  private isPunct(i: number, text: string): boolean { // A
    const t = this.tokens[i];
    return t !== undefined && t.kind === "punct" && t.text === text;
  }

  /** Index after the bracket group opening at `i` (or i + 1 if unmatched). */
  private after(i: number): number { // A
    const c = this.close[i] ?? -1;
    return c < 0 ? i + 1 : c + 1;
  }

  private isOpener(i: number): boolean { // A
    const t = this.tokens[i];
    return t !== undefined && (t.kind === "template-head" || (t.kind === "punct" && (t.text === "(" || t.text === "[" || t.text === "{")));
  }

  private record(name: string, line: number, laterLines: number[] = []): void { // A
    const annotation = annotationOn(this.comments, line);
    const decl: FunctionDecl = { file: this.file, line, name, annotation };
    if (annotation === undefined) {
      const misplaced = laterLines.find((l) => l > line && annotationOn(this.comments, l) !== undefined);
      if (misplaced !== undefined) decl.hint = `annotation found on line ${misplaced}; it belongs on line ${line}`;
    }
    this.found.push(decl);
  }

  scanRegion(start: number, end: number): void { // A
    let i = start;
    while (i < end) {
      const next = this.step(i, end);
      i = next > i ? next : i + 1;
    }
  }

  /** Handles the token at `i`; returns where to continue. */
  private step(i: number, end: number): number { // A
    const t = this.tokens[i]!;
    const prevText = this.txt(i - 1);
    if (t.kind === "ident" && prevText !== "." && prevText !== "?.") {
      switch (t.text) {
        case "function":
          return this.onFunction(i);
        case "class":
          return this.isClassStart(i) ? this.onClass(i, end) : i + 1;
        case "interface":
          return this.kind(i + 1) === "ident" && this.atStatementStart(i) ? this.skipToBodyEnd(i + 1, end) : i + 1;
        case "enum":
          return this.kind(i + 1) === "ident" ? this.skipToBodyEnd(i + 1, end) : i + 1;
        case "type":
          return this.onTypeAlias(i);
        case "const":
        case "let":
        case "var":
          return this.onDeclarator(i);
      }
    }
    if (t.kind === "punct" && t.text === "=") this.onAssignment(i);
    if (t.kind === "punct" && t.text === "{" && this.isObjectLiteralBrace(i)) {
      const c = this.close[i]!;
      if (c > i) {
        this.scanObjectLiteral(i + 1, c);
        return c + 1;
      }
    }
    return i + 1;
  }

  private atStatementStart(i: number): boolean { // A
    return i === 0 || STATEMENT_PREFIX.has(this.txt(i - 1)) || this.tokens[i]!.nlBefore;
  }

  private isClassStart(i: number): boolean { // A
    const next = this.txt(i + 1);
    return this.kind(i + 1) === "ident" || next === "{" || next === "<";
  }

  private skipToBodyEnd(i: number, end: number): number { // A
    let j = i;
    while (j < end && !this.isPunct(j, "{")) j = this.txt(j) === "<" ? this.skipAngles(j) : this.isOpener(j) ? this.after(j) : j + 1;
    return j < end ? this.after(j) : j;
  }

  /** `function` keyword: a declaration if in statement position, else an inline expression. */
  private onFunction(i: number): number { // A
    let j = i + 1;
    if (this.isPunct(j, "*")) j++;
    let name: string | undefined;
    if (this.kind(j) === "ident") name = this.txt(j++);
    if (this.isPunct(j, "<")) j = this.skipAngles(j);
    if (!this.isPunct(j, "(")) return i + 1;
    const paramsClose = this.close[j]!;
    if (paramsClose < 0) return i + 1;
    let k = paramsClose + 1;
    if (this.isPunct(k, ":")) k = this.skipType(k + 1);
    this.scanRegion(j + 1, paramsClose);
    if (!this.isPunct(k, "{")) return k; // overload or `declare`: no body
    this.bodies.add(k);
    if (!this.handled.has(i) && this.isStatementFunction(i)) {
      this.record(name ?? "(anonymous function)", this.tokens[i]!.line, [this.tokens[k]!.line]);
    }
    return k;
  }

  private isStatementFunction(i: number): boolean { // A
    let p = i - 1;
    if (this.txt(p) === "async") p--;
    if (p < 0) return true;
    const prev = this.tokens[p]!;
    if (STATEMENT_PREFIX.has(prev.text)) return true;
    return this.tokens[p + 1]!.nlBefore && endsExpression(prev);
  }

  private onClass(i: number, end: number): number { // A
    let j = i + 1;
    while (j < end && !this.isPunct(j, "{")) j = this.isPunct(j, "<") ? this.skipAngles(j) : this.isOpener(j) ? this.after(j) : j + 1;
    const c = this.close[j] ?? -1;
    if (j >= end || c < 0) return j;
    this.scanClassBody(j + 1, c);
    return c + 1;
  }

  private onTypeAlias(i: number): number { // A
    if (this.kind(i + 1) !== "ident" || !this.atStatementStart(i)) return i + 1;
    let j = i + 2;
    if (this.isPunct(j, "<")) j = this.skipAngles(j);
    if (!this.isPunct(j, "=")) return i + 1;
    return this.skipType(j + 1);
  }

  /** `const name[: Type] = <function>`: the variable names the function. */
  private onDeclarator(i: number): number { // A
    let j = i + 1;
    if (this.kind(j) !== "ident") return i + 1;
    const nameTok = this.tokens[j++]!;
    if (this.isPunct(j, "!")) j++;
    if (this.isPunct(j, ":")) j = this.skipType(j + 1);
    if (!this.isPunct(j, "=")) return j;
    this.noteFunctionValue(j + 1, nameTok.text, nameTok.line);
    return j + 1;
  }

  /** If the expression at `j` is a function or arrow, records it under `name`. */
  private noteFunctionValue(j: number, name: string, line: number): void { // A
    const fn = this.functionValueAt(j);
    if (fn === undefined) return;
    if (fn.keyword >= 0) this.handled.add(fn.keyword);
    this.record(name, line, [fn.line]);
  }

  /** An assignment statement `a.b = function/arrow`: the target names the function. */
  private onAssignment(eq: number): void { // A
    let s = eq - 1;
    if (this.kind(s) !== "ident") return;
    while (this.isPunct(s - 1, ".") && this.kind(s - 2) === "ident") s -= 2;
    const before = this.tokens[s - 1];
    const atStatement = before === undefined || before.text === ";" || before.text === "{" || before.text === "}" || (this.tokens[s]!.nlBefore && endsExpression(before));
    if (!atStatement || (before !== undefined && before.kind === "ident" && ["const", "let", "var"].includes(before.text))) return;
    const target = this.tokens.slice(s, eq).map((t) => t.text).join("");
    this.noteFunctionValue(eq + 1, target, this.tokens[s]!.line);
  }

  /** Recognizes `function`, `async function`, `x =>`, `(..) =>`, `<T>(..): R =>` at `j`. */
  private functionValueAt(j: number): { keyword: number; line: number } | undefined { // A
    if (this.txt(j) === "async" && this.tokens[j + 1] !== undefined && !this.tokens[j + 1]!.nlBefore) {
      const n = this.txt(j + 1);
      if (n === "function" || n === "(" || n === "<" || (this.kind(j + 1) === "ident" && this.isPunct(j + 2, "=>"))) j++;
    }
    if (this.kind(j) === "ident" && this.txt(j) === "function") return { keyword: j, line: this.tokens[j]!.line };
    if (this.kind(j) === "ident" && this.isPunct(j + 1, "=>")) return { keyword: -1, line: this.tokens[j + 1]!.line };
    if (this.isPunct(j, "<")) j = this.skipAngles(j);
    if (!this.isPunct(j, "(")) return undefined;
    let k = this.after(j);
    if (this.isPunct(k, ":")) k = this.skipType(k + 1);
    return this.isPunct(k, "=>") ? { keyword: -1, line: this.tokens[k]!.line } : undefined;
  }

  /** Decides whether `{` at `i` starts an object literal (or type literal) rather than a block. */
  private isObjectLiteralBrace(i: number): boolean { // A
    if (this.bodies.has(i)) return false;
    const prev = this.tokens[i - 1];
    if (prev === undefined) return false;
    if (prev.kind === "template-head" || prev.kind === "template-middle") return true;
    if (prev.kind === "ident") return EXPRESSION_KEYWORDS.has(prev.text);
    if (prev.kind !== "punct") return false;
    if ([")", "]", "}", ";", "{", "=>", ">"].includes(prev.text)) return false;
    if (prev.text === ":") return !this.isLabelColon(i - 1);
    return true;
  }

  /** True for the colon of `case x:`, `default:` or `label:` (a block may follow). */
  private isLabelColon(colon: number): boolean { // A
    for (let q = colon - 1, steps = 0; q >= 0 && steps < 400; steps++) {
      const t = this.tokens[q]!;
      const o = this.open[q] ?? -1;
      if (o >= 0) {
        q = o - 1;
        continue;
      }
      if (t.kind === "ident" && (t.text === "case" || t.text === "default")) return true;
      if (t.text === ";" || t.text === "}") return true;
      if (t.kind === "punct" && (t.text === "{" || t.text === "," || t.text === "?" || t.text === "(" || t.text === "[")) return false;
      q--;
    }
    return false;
  }

  private scanClassBody(start: number, end: number): void { // A
    let i = start;
    while (i < end) {
      if (this.isPunct(i, ";")) i++;
      else if (this.isPunct(i, "@")) i = this.skipDecorator(i);
      else i = Math.max(i + 1, this.classMember(i, end));
    }
  }

  private skipDecorator(i: number): number { // A
    let j = i + 1;
    if (this.isPunct(j, "(")) return this.after(j);
    while (this.kind(j) === "ident") {
      j++;
      if (!this.isPunct(j, ".")) break;
      j++;
    }
    if (this.isPunct(j, "<")) j = this.skipAngles(j);
    return this.isPunct(j, "(") ? this.after(j) : j;
  }

  /** One class member starting at `i`; returns the index after it. */
  private classMember(i: number, end: number): number { // A
    if (this.txt(i) === "static" && this.isPunct(i + 1, "{")) {
      this.scanRegion(i + 2, this.close[i + 1]!);
      return this.after(i + 1);
    }
    let accessor = "";
    while (CLASS_MODIFIERS.has(this.txt(i)) && this.isMemberNameStart(i + 1) && !(this.txt(i) === "async" && this.tokens[i + 1]!.nlBefore)) {
      if (this.txt(i) === "get" || this.txt(i) === "set") accessor = `${this.txt(i)} `;
      i++;
    }
    if (this.isPunct(i, "*")) i++;
    const name = this.memberName(i);
    if (name === undefined) return i + 1;
    return this.memberRest(name.end, end, accessor + name.text, this.tokens[i]!.line, true);
  }

  private isMemberNameStart(i: number): boolean { // A
    const t = this.tokens[i];
    if (t === undefined) return false;
    if (t.kind === "ident" || t.kind === "string" || t.kind === "number") return true;
    return t.kind === "punct" && (t.text === "[" || t.text === "*");
  }

  private memberName(i: number): { text: string; end: number } | undefined { // A
    const t = this.tokens[i];
    if (t === undefined) return undefined;
    if (t.kind === "ident" || t.kind === "string" || t.kind === "number") return { text: t.text, end: i + 1 };
    if (t.kind === "punct" && t.text === "[") {
      const end = this.after(i);
      return { text: this.tokens.slice(i, end).map((x) => x.text).join("").slice(0, 60), end };
    }
    return undefined;
  }

  /**
   * After a member name at `j`: a method with a body is recorded and its body
   * scanned; a field's initializer is scanned (and recorded if a function,
   * for class fields). Returns the index after the member.
   */
  private memberRest(j: number, end: number, name: string, line: number, inClass: boolean): number { // A
    if (this.isPunct(j, "?") || this.isPunct(j, "!")) j++;
    if (this.isPunct(j, "<")) j = this.skipAngles(j);
    if (this.isPunct(j, "(")) {
      const paramsClose = this.close[j]!;
      if (paramsClose < 0) return j + 1;
      let k = paramsClose + 1;
      if (this.isPunct(k, ":")) k = this.skipType(k + 1);
      this.scanRegion(j + 1, paramsClose);
      if (!this.isPunct(k, "{")) return k;
      this.bodies.add(k);
      this.record(name, line, [this.tokens[k]!.line]);
      this.scanRegion(k + 1, this.close[k]!);
      return this.after(k);
    }
    if (!inClass) return j;
    if (this.isPunct(j, ":")) j = this.skipType(j + 1);
    if (!this.isPunct(j, "=")) return j;
    const initEnd = this.initializerEnd(j + 1, end);
    this.noteFunctionValue(j + 1, name, line);
    this.scanRegion(j + 1, initEnd);
    return initEnd;
  }

  /** End of a class field initializer: `;`, the class end, or a line break where a new member starts. */
  private initializerEnd(k: number, end: number): number { // A
    let j = k;
    while (j < end) {
      const t = this.tokens[j]!;
      if (j > k && t.nlBefore && endsExpression(this.tokens[j - 1]!) && startsMember(t)) return j;
      if (t.kind === "punct" && t.text === ";") return j;
      j = this.isOpener(j) ? this.after(j) : j + 1;
    }
    return end;
  }

  private scanObjectLiteral(start: number, end: number): void { // A
    let i = start;
    while (i < end) {
      if (this.isPunct(i, ",") || this.isPunct(i, ";")) {
        i++;
      } else if (this.isPunct(i, "...")) {
        const e = this.valueEnd(i + 1, end);
        this.scanRegion(i + 1, e);
        i = Math.max(i + 1, e);
      } else {
        i = Math.max(i + 1, this.objectMember(i, end));
      }
    }
  }

  private objectMember(i: number, end: number): number { // A
    const first = i;
    let accessor = "";
    const lead = this.txt(i);
    if ((lead === "get" || lead === "set" || lead === "async") && this.isMemberNameStart(i + 1) && !this.tokens[i + 1]!.nlBefore) {
      if (lead !== "async") accessor = `${lead} `;
      i++;
    }
    if (this.isPunct(i, "*")) i++;
    const name = this.memberName(i);
    const after = name === undefined ? "" : this.txt(name.end);
    const shaped = name !== undefined && (name.end >= end || ["(", "<", ":", ",", "}", "?", "=", ";"].includes(after)) && !(after === "(" && CONTROL_KEYWORDS.has(name.text));
    if (name === undefined || !shaped) {
      // Not an object member after all (a block taken for an object): scan it as statements.
      this.scanRegion(first, end);
      return end;
    }
    if (after === "(" || after === "<" || (after === "?" && this.isPunct(name.end + 1, "("))) {
      return this.memberRest(name.end, end, accessor + name.text, this.tokens[i]!.line, false);
    }
    // `key: value`, or `key = default` in a destructuring pattern (not an assignment statement).
    const e = this.valueEnd(name.end, end);
    this.scanRegion(name.end + 1, e);
    return e;
  }

  private valueEnd(k: number, end: number): number { // A
    let j = k;
    while (j < end && !this.isPunct(j, ",") && !this.isPunct(j, ";")) j = this.isOpener(j) ? this.after(j) : j + 1;
    return j;
  }

  /** Index after a `<...>` group starting at `i` (nested, `>>` counts twice). */
  private skipAngles(i: number): number { // A
    let depth = 0;
    let j = i;
    while (j < this.tokens.length) {
      const t = this.tokens[j]!;
      if (t.kind === "punct") {
        if (t.text === "<") depth++;
        else if (t.text === ">" || t.text === ">>" || t.text === ">>>") depth -= t.text.length;
        else if (t.text === ";" || (t.text === "=>" && depth <= 0)) return j; // not a type argument list
      }
      if (depth <= 0) return j + 1;
      j = this.isOpener(j) ? this.after(j) : j + 1;
    }
    return j;
  }

  /** Index after a type starting at `j`: unions, intersections, conditionals. */
  private skipType(j: number): number { // A
    j = this.skipTypeUnion(j);
    if (this.txt(j) === "extends" && !this.tokens[j]!.nlBefore) {
      j = this.skipTypeUnion(j + 1);
      if (this.isPunct(j, "?")) {
        j = this.skipType(j + 1);
        if (this.isPunct(j, ":")) j = this.skipType(j + 1);
      }
    }
    return j;
  }

  private skipTypeUnion(j: number): number { // A
    if (this.isPunct(j, "|") || this.isPunct(j, "&")) j++;
    for (let guard = 0; guard < 10_000; guard++) {
      const next = this.skipTypeOperand(j);
      if (next === j) return j;
      j = next;
      if (!(this.isPunct(j, "|") || this.isPunct(j, "&"))) return j;
      j++;
    }
    return j;
  }

  private skipTypeOperand(j: number): number { // A
    while (["keyof", "unique", "readonly", "infer", "asserts"].includes(this.txt(j)) && this.kind(j + 1) !== "punct") j++;
    if (this.txt(j) === "abstract" && this.txt(j + 1) === "new") j++;
    if (this.txt(j) === "new" && this.kind(j) === "ident") j++;
    const t = this.tokens[j];
    if (t === undefined) return j;
    let k: number;
    if (t.kind === "punct" && (t.text === "{" || t.text === "[")) {
      k = this.after(j);
    } else if (t.kind === "punct" && t.text === "(") {
      k = this.after(j);
      if (this.isPunct(k, "=>")) return this.skipType(k + 1);
    } else if (t.kind === "punct" && t.text === "<") {
      return this.skipTypeOperand(this.skipAngles(j));
    } else if (t.kind === "punct" && t.text === "-" && this.kind(j + 1) === "number") {
      k = j + 2;
    } else if (t.kind === "template-head") {
      k = this.after(j);
    } else if (t.kind === "ident" || t.kind === "string" || t.kind === "number" || t.kind === "template") {
      k = j + 1;
      if (t.text === "typeof" || t.text === "import") {
        if (this.isPunct(k, "(")) k = this.after(k);
        else if (this.kind(k) === "ident") k++;
      }
      while (this.isPunct(k, ".") && this.kind(k + 1) === "ident") k += 2;
      if (this.isPunct(k, "<") && !this.tokens[k]!.nlBefore) k = this.skipAngles(k);
      if (this.txt(k) === "is" && this.kind(k) === "ident" && !this.tokens[k]!.nlBefore) return this.skipType(k + 1);
    } else {
      return j;
    }
    while (this.isPunct(k, "[") && !this.tokens[k]!.nlBefore) k = this.after(k);
    return k;
  }
}

/** True if `t` can end an expression (so a line break after it may end a statement). */
function endsExpression(t: Token): boolean { // A
  if (t.kind === "ident") return !EXPRESSION_KEYWORDS.has(t.text);
  if (t.kind === "punct") return [")", "]", "}", "++", "--", "!"].includes(t.text);
  return t.kind !== "template-head" && t.kind !== "template-middle";
}

function startsMember(t: Token): boolean { // A
  if (t.kind === "ident") return !EXPRESSION_KEYWORDS.has(t.text);
  if (t.kind === "string" || t.kind === "number") return true;
  return t.kind === "punct" && (t.text === "[" || t.text === "@" || t.text === "*");
}

/** The annotation marker among the `//` comments of `line`, if any. */
function annotationOn(comments: LineComments, line: number): string | undefined { // A
  for (const text of comments.get(line) ?? []) {
    const m = ANNOTATION.exec(text.trim());
    if (m !== null) return m[1];
  }
  return undefined;
}

/** Every function-like declaration of `source`, with the annotation found on its line. */
export function findFunctions(source: string, file: string): FunctionDecl[] { // A
  const { tokens, comments } = tokenize(source);
  const scanner = new DeclarationScanner(tokens, comments, file);
  scanner.scanRegion(0, tokens.length);
  return scanner.found.sort((a, b) => a.line - b.line);
}

/** The declarations of `source` that lack an annotation on their first line. */
export function findUnannotated(source: string, file: string): FunctionDecl[] { // A
  return findFunctions(source, file).filter((d) => d.annotation === undefined);
}

/** High-risk functions not yet fully human-reviewed. */
export function awaitingReview(decls: readonly FunctionDecl[]): FunctionDecl[] { // A
  return decls.filter((d) => d.annotation !== undefined && d.annotation.startsWith("P") && d.annotation !== "PHC");
}

/** `.ts` files under `dir` (not `.d.ts`, not node_modules or dist), sorted. */
export function listSourceFiles(dir: string, limitFiles = 100_000): string[] { // A
  const out: string[] = [];
  const walk = (d: string): void => { // A
    for (const entry of readdirSync(d).sort()) {
      if (entry === "node_modules" || entry === "dist" || entry.startsWith(".")) continue;
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(".ts") && !entry.endsWith(".d.ts")) out.push(path);
      if (out.length > limitFiles) throw new Error(`more than ${limitFiles} files under ${dir}; refusing to scan`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Checks the given directories under `root`; returns the report text and the exit code. */
export function checkTree(root: string, dirs: readonly string[]): { report: string; exitCode: number } { // A
  const all: FunctionDecl[] = [];
  let files = 0;
  for (const dir of dirs) {
    for (const path of listSourceFiles(join(root, dir))) {
      files++;
      const rel = relative(root, path).split(sep).join("/");
      all.push(...findFunctions(readFileSync(path, "utf8"), rel));
    }
  }
  const missing = all.filter((d) => d.annotation === undefined);
  const review = awaitingReview(all);
  const lines = [`check-annotations: ${files} files, ${all.length} functions in ${dirs.join(", ")}`];
  if (missing.length > 0) {
    lines.push(`unannotated functions (${missing.length}):`);
    for (const d of missing) lines.push(`  ${d.file}:${d.line} ${d.name}${d.hint === undefined ? "" : `  (${d.hint})`}`);
  }
  lines.push(`P functions awaiting review, not yet PHC (${review.length}):`);
  for (const d of review) lines.push(`  ${d.file}:${d.line} ${d.name} [${d.annotation}]`);
  lines.push(missing.length === 0 ? "ok: every function is annotated" : `FAILED: ${missing.length} unannotated function(s)`);
  return { report: lines.join("\n"), exitCode: missing.length === 0 ? 0 : 1 };
}

function isMain(): boolean { // A
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const args = process.argv.slice(2);
  const { report, exitCode } = checkTree(process.cwd(), args.length > 0 ? args : ["src", "tools", "bench"]);
  process.stdout.write(`${report}\n`);
  process.exitCode = exitCode;
}
