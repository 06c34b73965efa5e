// The SVG chart writer of the benchmark: well-formed XML (checked by the small
// parser below, which walks the characters rather than matching patterns),
// bars proportional to values, zero and missing values, escaping, determinism.
import { describe, expect, test } from "vitest";
import { advantage, barChartSvg, chartSlug, escapeXml, niceCeiling, ratioChartSvg } from "../../bench/charts.ts";
import type { BarChartSpec, RatioChartSpec } from "../../bench/charts.ts";
import { all, parseXml } from "./xml-check.ts";
import type { XmlNode } from "./xml-check.ts";

const byClass = (root: XmlNode, cls: string): XmlNode[] => all(root, (n) => n.attrs.class === cls);
const texts = (root: XmlNode): string[] => all(root, (n) => n.name === "text").map((n) => n.text);

const SPEC: BarChartSpec = {
  title: "fillrandom:batch",
  unit: "ops/s",
  better: "higher",
  reference: 0,
  bars: [
    { label: "ours", value: 400_000 },
    { label: "classic-level", value: 200_000 },
    { label: "lmdb", value: 100_000 },
  ],
};

describe("the checker itself", () => {
  test("rejects malformed XML", () => {
    expect(() => parseXml("<a><b></a></b>")).toThrow();
    expect(() => parseXml("<a>x & y</a>")).toThrow();
    expect(() => parseXml("<a x='1'/>")).toThrow();
    expect(() => parseXml("<a>1 < 2</a>")).toThrow();
    expect(() => parseXml("<a/><b/>")).toThrow();
    expect(() => parseXml("<a>")).toThrow();
    expect(parseXml('<a x="&lt;&amp;">t&#39;</a>')).toEqual({ name: "a", attrs: { x: "<&" }, children: [], text: "t'" });
  });
});

describe("barChartSvg", () => {
  test("is well-formed SVG with one bar per measured engine", () => {
    const root = parseXml(barChartSvg(SPEC));
    expect(root.name).toBe("svg");
    expect(root.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    expect(Number(root.attrs.width)).toBeLessThanOrEqual(830);
    expect(byClass(root, "bar")).toHaveLength(3);
    expect(all(root, (n) => n.name === "title")[0].text).toBe("fillrandom:batch");
  });

  test("bar widths scale with the values", () => {
    const bars = byClass(parseXml(barChartSvg(SPEC)), "bar").map((b) => Number(b.attrs.width));
    expect(bars[0]).toBeGreaterThan(0);
    expect(bars[1] / bars[0]).toBeCloseTo(0.5, 2);
    expect(bars[2] / bars[0]).toBeCloseTo(0.25, 2);
    // The largest bar fills most of the plot but not past the scale's end.
    const doubled = byClass(parseXml(barChartSvg({ ...SPEC, bars: SPEC.bars.map((b) => ({ ...b, value: b.value! * 2 })) })), "bar");
    expect(doubled.map((b) => Number(b.attrs.width))).toEqual(bars);
  });

  test("labels values and ratios to ours", () => {
    const t = texts(parseXml(barChartSvg(SPEC)));
    expect(t).toContain("400k ops/s");
    expect(t).toContain("ours/peer 2.00x");
    expect(t).toContain("ours/peer 4.00x");
    const lower = texts(parseXml(barChartSvg({ ...SPEC, unit: "ms", better: "lower" })));
    expect(lower).toContain("peer/ours 0.50x");
  });

  test("zero and missing values: a zero-width bar, n/a, no NaN anywhere", () => {
    const spec: BarChartSpec = {
      ...SPEC,
      bars: [
        { label: "ours", value: 0 },
        { label: "classic-level", value: undefined },
        { label: "lmdb", value: Number.NaN },
        { label: "better-sqlite3", value: 5 },
      ],
    };
    const svg = barChartSvg(spec);
    expect(svg).not.toContain("NaN");
    expect(svg).not.toContain("Infinity");
    const root = parseXml(svg);
    const bars = byClass(root, "bar");
    expect(bars.map((b) => b.attrs["data-value"])).toEqual(["0", "5"]);
    expect(Number(bars[0].attrs.width)).toBe(0);
    expect(byClass(root, "missing")).toHaveLength(2);
    expect(texts(root)).toContain("ours/peer 0.00x");
    // Nothing measured at all still draws a valid chart.
    const empty = parseXml(barChartSvg({ ...SPEC, bars: [{ label: "ours", value: undefined }] }));
    expect(byClass(empty, "bar")).toHaveLength(0);
    expect(parseXml(barChartSvg({ ...SPEC, bars: [], reference: undefined })).name).toBe("svg");
  });

  test("names are escaped and read back unchanged", () => {
    const evil = `a<b>&"c'd</text><script>`;
    const svg = barChartSvg({ ...SPEC, title: evil, subtitle: "x & y", bars: [{ label: evil, value: 1 }], unit: "<u>" });
    expect(svg).not.toContain("<script>");
    const root = parseXml(svg);
    expect(texts(root)).toContain(evil);
    expect(texts(root)).toContain("x & y");
    expect(root.attrs["aria-label"]).toBe(evil);
    expect(texts(root)).toContain("1.00 <u>");
  });

  test("the same figures give the same bytes", () => {
    expect(barChartSvg(SPEC)).toBe(barChartSvg({ ...SPEC, bars: SPEC.bars.map((b) => ({ ...b })) }));
  });
});

describe("ratioChartSvg", () => {
  const spec: RatioChartSpec = {
    title: "ours vs peers",
    rows: [
      { group: "fillrandom:batch", label: "classic-level", ratio: 1.04, target: 1.5 },
      { group: "fillrandom:batch", label: "lmdb", ratio: 4 },
      { group: "readrandom:sync", label: "lmdb", ratio: 0.5, target: 1.5 },
      { group: "single:await", label: "classic-level", ratio: undefined, target: 10 },
    ],
  };

  test("well-formed, bars right of 1x when ours is ahead and left when behind, log-proportional", () => {
    const root = parseXml(ratioChartSvg(spec));
    const unity = byClass(root, "unity");
    expect(unity).toHaveLength(1);
    const x1 = Number(unity[0].attrs.x1);
    const bars = byClass(root, "bar");
    expect(bars).toHaveLength(3);
    const [a, b, c] = bars.map((r) => ({ x: Number(r.attrs.x), w: Number(r.attrs.width) }));
    expect(a.x).toBeCloseTo(x1, 0);
    expect(b.x).toBeCloseTo(x1, 0);
    expect(c.x + c.w).toBeCloseTo(x1, 0);
    // 4x is twice as far from 1x as 2x would be, and 0.5x is as far as 2x: log scale.
    expect(b.w / c.w).toBeCloseTo(2, 1);
  });

  test("targets are drawn where set and missing ratios read n/a", () => {
    const root = parseXml(ratioChartSvg(spec));
    expect(byClass(root, "target").map((t) => t.attrs["data-target"])).toEqual(["1.5", "1.5", "10"]);
    const t = texts(root);
    expect(t).toContain("1.04x (target >= 1.50x MISS)");
    expect(t).toContain("n/a (target >= 10.0x)");
    expect(t).toContain("4.00x");
    expect(byClass(root, "group").map((g) => g.text)).toEqual(["fillrandom:batch", "readrandom:sync", "single:await"]);
  });

  test("no rows, or only missing ratios, still give valid SVG", () => {
    expect(parseXml(ratioChartSvg({ title: "t", rows: [] })).name).toBe("svg");
    const svg = ratioChartSvg({ title: "t", rows: [{ group: "g", label: "p", ratio: Number.NaN }] });
    expect(svg).not.toContain("NaN");
    expect(parseXml(svg).name).toBe("svg");
  });
});

describe("helpers", () => {
  test("escapeXml covers markup, quotes and characters XML forbids", () => {
    expect(escapeXml(`<&>"'`)).toBe("&lt;&amp;&gt;&quot;&#39;");
    expect(escapeXml("a\u0001b\ud800c")).toBe("a\ufffdb\ufffdc");
    expect(escapeXml("\ud83d\ude00")).toBe("\ud83d\ude00");
  });

  test("chartSlug, niceCeiling, advantage", () => {
    expect(chartSlug("readrandom:sync")).toBe("readrandom-sync");
    expect(chartSlug("../x y")).toBe("x-y");
    expect(chartSlug("::")).toBe("chart");
    expect([niceCeiling(0), niceCeiling(7), niceCeiling(10), niceCeiling(230_000), niceCeiling(11), niceCeiling(576_000)]).toEqual([1, 8, 10, 250_000, 12, 600_000]);
    expect(advantage(2, 1, "higher")).toBe(2);
    expect(advantage(2, 1, "lower")).toBe(0.5);
    expect(advantage(0, 1, "lower")).toBeUndefined();
    expect(advantage(undefined, 1, "higher")).toBeUndefined();
  });
});
