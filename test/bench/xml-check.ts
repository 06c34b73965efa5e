// A strict little XML checker for the benchmark's SVG charts: it walks the
// characters (no pattern matching) and throws on anything that is not
// well-formed for the subset the charts use. Shared by the bench tests.

export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Character data directly inside, entities decoded. */
  text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function isNameChar(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "-" || c === "_" || c === ":" || c === ".";
}

/** Decodes `&name;` and `&#N;`; throws on a bare `&`, an unknown entity or a raw `<`. */
function decode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "<") throw new Error(`raw < in character data: ${s}`);
    if (s[i] !== "&") {
      out += s[i];
      continue;
    }
    const end = s.indexOf(";", i);
    if (end < 0 || end - i > 10) throw new Error(`bare & in: ${s}`);
    const name = s.slice(i + 1, end);
    if (name.startsWith("#")) {
      const code = Number(name.slice(1));
      if (!Number.isInteger(code) || code <= 0) throw new Error(`bad character reference &${name};`);
      out += String.fromCodePoint(code);
    } else if (name in ENTITIES) out += ENTITIES[name];
    else throw new Error(`unknown entity &${name};`);
    i = end;
  }
  return out;
}

/** A strict little parser for the subset of XML the charts use: one root, elements, attributes in double quotes, text, an XML comment-free body. */
export function parseXml(src: string): XmlNode {
  let i = 0;
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  const readName = (): string => {
    const start = i;
    while (i < src.length && isNameChar(src[i])) i++;
    if (i === start) throw new Error(`expected a name at ${i}`);
    return src.slice(start, i);
  };
  const skipSpace = (): void => {
    while (i < src.length && (src[i] === " " || src[i] === "\n" || src[i] === "\t" || src[i] === "\r")) i++;
  };
  while (i < src.length) {
    if (src[i] !== "<") {
      const next = src.indexOf("<", i);
      const chunk = src.slice(i, next < 0 ? src.length : next);
      const decoded = decode(chunk);
      if (stack.length === 0) {
        if (decoded.trim() !== "") throw new Error(`text outside the root: ${chunk}`);
      } else stack[stack.length - 1].text += decoded;
      i = next < 0 ? src.length : next;
      continue;
    }
    i++;
    if (src[i] === "/") {
      i++;
      const name = readName();
      skipSpace();
      if (src[i] !== ">") throw new Error(`expected > after </${name}`);
      i++;
      const open = stack.pop();
      if (open === undefined || open.name !== name) throw new Error(`</${name}> closes ${open?.name ?? "nothing"}`);
      continue;
    }
    const node: XmlNode = { name: readName(), attrs: {}, children: [], text: "" };
    for (;;) {
      skipSpace();
      if (src[i] === ">" || (src[i] === "/" && src[i + 1] === ">")) break;
      const attr = readName();
      if (src[i] !== "=" || src[i + 1] !== '"') throw new Error(`attribute ${attr} of <${node.name}> is not ="..."`);
      const end = src.indexOf('"', i + 2);
      if (end < 0) throw new Error(`unterminated attribute ${attr}`);
      if (attr in node.attrs) throw new Error(`duplicate attribute ${attr}`);
      node.attrs[attr] = decode(src.slice(i + 2, end));
      i = end + 1;
      if (src[i] !== " " && src[i] !== ">" && src[i] !== "/" && src[i] !== "\n") throw new Error(`no space after attribute ${attr}`);
    }
    if (stack.length > 0) stack[stack.length - 1].children.push(node);
    else if (root === undefined) root = node;
    else throw new Error("a second root element");
    if (src[i] === "/") i += 2;
    else {
      i++;
      stack.push(node);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root === undefined) throw new Error("no root element");
  return root;
}

export function all(node: XmlNode, pred: (n: XmlNode) => boolean): XmlNode[] {
  const out: XmlNode[] = [];
  const walk = (n: XmlNode): void => {
    if (pred(n)) out.push(n);
    for (const c of n.children) walk(c);
  };
  walk(node);
  return out;
}

