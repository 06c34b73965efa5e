/**
 * SVG charts of a benchmark run, written by hand: no dependency, the same
 * bytes for the same figures (no dates, no random ids, coordinates rounded to
 * 0.1 px), every piece of text XML-escaped. Two kinds:
 *
 * - `barChartSvg`: one case, one horizontal bar per engine (ours highlighted),
 *   each bar labelled with its value and, for the peers, the ratio between
 *   ours and that peer. Linear scale from 0, so bar lengths compare directly.
 * - `ratioChartSvg`: the overview, one row per (case, peer) with ours' ratio
 *   on a log scale around 1x (right of the 1x line: ours ahead), and the
 *   issue's target drawn as a mark on the rows that have one.
 *
 * 760 px wide: GitHub renders a README column at about 830 px, so text at
 * 12-13 px stays readable without zooming. A white background keeps the
 * charts legible in dark mode too.
 */

export interface ChartBar {
  label: string;
  /** undefined (or not finite) = not measured: no bar, "n/a". */
  value: number | undefined;
}

export interface BarChartSpec {
  title: string;
  subtitle?: string;
  /** Appended to every value: "ops/s", "MB/s", "ms". */
  unit: string;
  /** "higher": throughput, the ratio is ours / peer; "lower": time or space, the ratio is peer / ours. Either way > 1 means ours is better. */
  better: "higher" | "lower";
  bars: readonly ChartBar[];
  /** Index of ours in `bars`; the other bars get a ratio label. No ratios without it. */
  reference?: number;
}

export interface RatioRow {
  /** The case ("fillrandom:batch"); consecutive rows with the same group are drawn together. */
  group: string;
  /** The peer ("classic-level"). */
  label: string;
  /** Ours' advantage (> 1: ours better); undefined = not measured. */
  ratio: number | undefined;
  /** The issue's minimum for this ratio, if one is set. */
  target?: number;
}

export interface RatioChartSpec {
  title: string;
  subtitle?: string;
  rows: readonly RatioRow[];
}

const WIDTH = 760;
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const OURS_COLOUR = "#d9480f";
const PEER_COLOUR = "#5c7cfa";
const AHEAD_COLOUR = "#2f9e44";
const BEHIND_COLOUR = "#e03131";
const GRID_COLOUR = "#dee2e6";
const MUTED = "#495057";

/** Text made safe for XML content and attribute values; control characters XML 1.0 forbids and lone surrogates become U+FFFD. */
export function escapeXml(s: string): string { // A
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x26) out += "&amp;";
    else if (c === 0x3c) out += "&lt;";
    else if (c === 0x3e) out += "&gt;";
    else if (c === 0x22) out += "&quot;";
    else if (c === 0x27) out += "&#39;";
    else if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) out += "\ufffd";
    else if (c === 0xfffe || c === 0xffff) out += "\ufffd";
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += "\ufffd";
    } else if (c >= 0xdc00 && c <= 0xdfff) out += "\ufffd";
    else out += s[i];
  }
  return out;
}

/** A file-name-safe slug: "readrandom:sync" -> "readrandom-sync". */
export function chartSlug(s: string): string { // A
  let out = "";
  for (const ch of s.toLowerCase()) out += (ch >= "a" && ch <= "z") || (ch >= "0" && ch <= "9") ? ch : "-";
  while (out.includes("--")) out = out.replace("--", "-");
  const trimmed = out.replace(/^-+|-+$/g, "");
  return trimmed === "" ? "chart" : trimmed;
}

/** Compact figures: 1.23M, 469k, 12.3k, 345, 45.6, 1.23. */
export function formatValue(v: number): string { // A
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e5) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function formatRatio(r: number): string { // A
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

function num(x: number): string { // A
  const r = Math.round(x * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}

function measured(v: number | undefined): v is number { // A
  return v !== undefined && Number.isFinite(v) && v >= 0;
}

/** The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) at or above `v` (1 for v <= 0). */
export function niceCeiling(v: number): number { // A
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/** Ours' advantage over a peer: ours / peer for "higher", peer / ours for "lower"; undefined when it is not defined. */
export function advantage(ours: number | undefined, peer: number | undefined, better: "higher" | "lower"): number | undefined { // A
  if (!measured(ours) || !measured(peer)) return undefined;
  const [num, den] = better === "higher" ? [ours, peer] : [peer, ours];
  return den > 0 ? num / den : undefined;
}

function text(x: number, y: number, s: string, attrs = ""): string { // A
  return `<text x="${num(x)}" y="${num(y)}"${attrs === "" ? "" : ` ${attrs}`}>${escapeXml(s)}</text>`;
}

function frame(title: string, height: number, body: readonly string[]): string { // A
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${num(height)}" viewBox="0 0 ${WIDTH} ${num(height)}" ` +
      `role="img" aria-label="${escapeXml(title)}" font-family="${escapeXml(FONT)}" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect class="background" x="0" y="0" width="${WIDTH}" height="${num(height)}" fill="#ffffff"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

function heading(spec: { title: string; subtitle?: string }): string[] { // A
  const out = [text(12, 24, spec.title, `font-size="16" font-weight="bold" fill="#212529"`)];
  if (spec.subtitle !== undefined && spec.subtitle !== "") out.push(text(12, 44, spec.subtitle, `fill="${MUTED}"`));
  return out;
}

/** One case: a bar per engine, value and ratio labelled. */
export function barChartSvg(spec: BarChartSpec): string { // A
  const top = 60, rowH = 30, barH = 18, x0 = 160, barMax = 380;
  const values = spec.bars.map((b) => (measured(b.value) ? b.value : undefined)); // A
  const scaleMax = niceCeiling(Math.max(0, ...values.map((v) => v ?? 0))); // A
  const ours = spec.reference === undefined ? undefined : values[spec.reference];
  const body = heading(spec);
  const bottom = top + spec.bars.length * rowH;
  for (let t = 0; t <= 4; t++) {
    const x = x0 + (barMax * t) / 4;
    body.push(`<line class="grid" x1="${num(x)}" y1="${top - 4}" x2="${num(x)}" y2="${num(bottom)}" stroke="${GRID_COLOUR}"/>`);
    body.push(text(x, bottom + 14, formatValue((scaleMax * t) / 4), `text-anchor="middle" fill="${MUTED}" font-size="11"`));
  }
  spec.bars.forEach((bar, i) => { // A
    const y = top + i * rowH;
    const isOurs = i === spec.reference;
    const v = values[i];
    body.push(text(x0 - 8, y + barH / 2 + 4, bar.label, `text-anchor="end" fill="#212529"${isOurs ? ` font-weight="bold"` : ""}`));
    if (v === undefined) {
      body.push(text(x0 + 4, y + barH / 2 + 4, "n/a (not measured)", `fill="${MUTED}" class="missing"`));
      return;
    }
    const w = (barMax * v) / scaleMax;
    body.push(`<rect class="bar" data-value="${escapeXml(String(v))}" x="${x0}" y="${num(y)}" width="${num(w)}" height="${barH}" ` +
      `fill="${isOurs ? OURS_COLOUR : PEER_COLOUR}"/>`);
    body.push(text(x0 + w + 6, y + barH / 2 + 4, `${formatValue(v)}${spec.unit.startsWith("x") ? "" : " "}${spec.unit}`, `class="value" fill="#212529"`));
    if (ours === undefined || isOurs) return;
    const r = advantage(ours, v, spec.better);
    const label = `${spec.better === "higher" ? "ours/peer" : "peer/ours"} ${r === undefined ? "n/a" : formatRatio(r)}`;
    const colour = r === undefined ? MUTED : r >= 1 ? AHEAD_COLOUR : BEHIND_COLOUR;
    body.push(text(WIDTH - 12, y + barH / 2 + 4, label, `class="ratio" text-anchor="end" fill="${colour}"`));
  });
  const foot = `${spec.better === "higher" ? "higher is better" : "lower is better"}; ratio > 1x: ours ahead`;
  body.push(text(12, bottom + 34, foot, `fill="${MUTED}" font-size="11"`));
  return frame(spec.title, bottom + 46, body);
}

/** Log-scale domain covering every ratio and target, at least 0.5x..2x, widened to powers of ten. */
function logDomain(rows: readonly RatioRow[]): [number, number] { // A
  let lo = 0.5, hi = 2;
  for (const r of rows) {
    for (const v of [r.ratio, r.target]) {
      if (v === undefined || !Number.isFinite(v) || v <= 0) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return [10 ** Math.floor(Math.log10(lo) + 1e-9), 10 ** Math.ceil(Math.log10(hi) - 1e-9)];
}

/** Overview: ours' ratio to each peer per case, log scale, 1x line, target marks. */
export function ratioChartSvg(spec: RatioChartSpec): string { // A
  const top = 60, rowH = 20, headH = 20, gap = 6, barH = 14, x0 = 250, plotW = 300;
  const [lo, hi] = logDomain(spec.rows);
  const xOf = (v: number): number => x0 + (plotW * (Math.log10(v) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo)); // A
  const ys: number[] = [];
  const heads: Array<[number, string]> = [];
  let y = top;
  spec.rows.forEach((r, i) => { // A
    if (i === 0 || r.group !== spec.rows[i - 1].group) {
      if (i > 0) y += gap;
      heads.push([y + 14, r.group]);
      y += headH;
    }
    ys.push(y);
    y += rowH;
  });
  const bottom = y;
  const body = heading(spec);
  for (const t of logTicks(lo, hi)) {
    const x = xOf(t);
    const isOne = Math.abs(t - 1) < 1e-9;
    body.push(`<line class="${isOne ? "unity" : "grid"}" x1="${num(x)}" y1="${top - 6}" x2="${num(x)}" y2="${num(bottom)}" stroke="${isOne ? "#212529" : GRID_COLOUR}"/>`);
    body.push(text(x, bottom + 14, `${Number(t.toPrecision(3))}x`, `text-anchor="middle" fill="${MUTED}" font-size="11"`));
  }
  for (const [hy, group] of heads) body.push(text(12, hy, group, `class="group" font-weight="bold" fill="#212529"`));
  spec.rows.forEach((r, i) => { // A
    const yy = ys[i];
    const mid = yy + barH / 2 + 4;
    body.push(text(x0 - 8, mid, r.label, `text-anchor="end" fill="#212529"`));
    body.push(...ratioBar(r, yy, barH, xOf, lo, hi));
  });
  const foot = "ours' advantage on a log scale: throughput ours/peer, time and space peer/ours; right of 1x = ours ahead; | = the issue's target";
  body.push(text(12, bottom + 34, foot, `fill="${MUTED}" font-size="11"`));
  return frame(spec.title, bottom + 46, body);
}

function ratioBar(r: RatioRow, y: number, barH: number, xOf: (v: number) => number, lo: number, hi: number): string[] { // A
  const out: string[] = [];
  const mid = y + barH / 2 + 4;
  const ok = r.ratio !== undefined && Number.isFinite(r.ratio) && r.ratio > 0;
  if (ok) {
    const v = Math.min(hi, Math.max(lo, r.ratio!));
    const a = xOf(1), b = xOf(v);
    out.push(`<rect class="bar" data-value="${escapeXml(String(r.ratio))}" x="${num(Math.min(a, b))}" y="${num(y)}" width="${num(Math.abs(b - a))}" ` +
      `height="${barH}" fill="${v >= 1 ? AHEAD_COLOUR : BEHIND_COLOUR}"/>`);
  }
  if (r.target !== undefined && Number.isFinite(r.target) && r.target > 0) {
    const x = xOf(Math.min(hi, Math.max(lo, r.target)));
    out.push(`<line class="target" data-target="${escapeXml(String(r.target))}" x1="${num(x)}" y1="${num(y - 3)}" x2="${num(x)}" y2="${num(y + barH + 3)}" stroke="#212529" stroke-width="3"/>`);
  }
  const status = !ok || r.target === undefined ? "" : r.ratio! >= r.target ? " PASS" : " MISS";
  const targetText = r.target === undefined ? "" : ` (target >= ${formatRatio(r.target)}${status})`;
  out.push(text(WIDTH - 12, mid, `${ok ? formatRatio(r.ratio!) : "n/a"}${targetText}`, `class="ratio" text-anchor="end" fill="#212529"`));
  return out;
}

/** 1, 2, 5 times each power of ten inside [lo, hi] (only the powers of ten over more than two decades). */
function logTicks(lo: number, hi: number): number[] { // A
  const out: number[] = [];
  const first = Math.round(Math.log10(lo)), last = Math.round(Math.log10(hi));
  const steps = last - first <= 2 ? [1, 2, 5] : [1];
  for (let p = first; p <= last && out.length < 64; p++) {
    for (const m of steps) {
      const t = m * 10 ** p;
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push(Number(t.toPrecision(6)));
    }
  }
  return out;
}
