/**
 * The performance targets of the issues, checked against the figures of one
 * run: each is a ratio between ours and a peer measured in the same process
 * (figures on these shared machines drift up to 2x between runs; ratios in
 * one run do not), or, for disk, between our directory size and the raw
 * payload. One line per target: our figure, the peer's, the ratio, what was
 * required, PASS or MISS ("not measured" when a side is missing).
 */
import type { CaseName, DiskUsage, Flavour, Measurement } from "./cases.ts";
import type { EngineName } from "./engines.ts";

export type TargetStatus = "PASS" | "MISS" | "not measured";

export interface TargetLine {
  target: string;
  ours: string;
  peer: string;
  ratio: number | undefined;
  /** The ratio as printed: two decimals, three for disk (its bound, 1.05, is close to where engines land). */
  ratioText: string;
  required: string;
  status: TargetStatus;
}

interface ThroughputTarget {
  label: string;
  case: CaseName;
  oursFlavour: Flavour;
  peer: EngineName;
  peerFlavour: Flavour;
  /** ours / peer must be at least this. */
  ratioMin: number;
}

/** Issue 3 (the LSM tree), then the one target of issue 2 that is still tracked. */
const THROUGHPUT_TARGETS: readonly ThroughputTarget[] = [
  { label: "fillseq (batches) >= 1.0x lmdb", case: "fillseq", oursFlavour: "batch", peer: "lmdb", peerFlavour: "batch", ratioMin: 1.0 },
  { label: "fillrandom (batches) >= 1.5x classic-level", case: "fillrandom", oursFlavour: "batch", peer: "classic-level", peerFlavour: "batch", ratioMin: 1.5 },
  { label: "readrandom after reopen, db.getSync >= 1.5x lmdb sync get", case: "readrandom", oursFlavour: "sync", peer: "lmdb", peerFlavour: "sync", ratioMin: 1.5 },
  { label: "readseq, iterate().nextSync >= 1.0x lmdb getRange", case: "readseq", oursFlavour: "sync", peer: "lmdb", peerFlavour: "sync", ratioMin: 1.0 },
];

const ISSUE2_TARGET: ThroughputTarget = {
  label: "(issue 2) single awaited put >= 10x classic-level", case: "single", oursFlavour: "await", peer: "classic-level", peerFlavour: "await", ratioMin: 10,
};

/** Our directory after fillrandom + compaction, over keys * (16 + 100) bytes. */
const DISK_RATIO_MAX = 1.05;

export function evaluateTargets(ms: readonly Measurement[], disk: readonly DiskUsage[]): TargetLine[] { // A
  return [...THROUGHPUT_TARGETS.map((t) => throughputLine(ms, t)), diskLine(disk), throughputLine(ms, ISSUE2_TARGET)]; // A
}

function throughputLine(ms: readonly Measurement[], t: ThroughputTarget): TargetLine { // A
  const find = (engine: EngineName, fl: Flavour): Measurement | undefined => ms.find((m) => m.engine === engine && m.case === t.case && m.flavour === fl); // A
  const ours = find("ours", t.oursFlavour);
  const peer = find(t.peer, t.peerFlavour);
  const ratio = ours !== undefined && peer !== undefined ? ours.opsPerSec / peer.opsPerSec : undefined;
  return {
    target: t.label,
    ours: ours === undefined ? "-" : `${opsText(ours.opsPerSec)}/s`,
    peer: peer === undefined ? "-" : `${t.peer} ${opsText(peer.opsPerSec)}/s`,
    ratio,
    ratioText: ratio === undefined ? "-" : `${ratio.toFixed(2)}x`,
    required: `>= ${t.ratioMin.toFixed(1)}x`,
    status: ratio === undefined ? "not measured" : ratio >= t.ratioMin ? "PASS" : "MISS",
  };
}

function diskLine(disk: readonly DiskUsage[]): TargetLine { // A
  const d = disk.find((x) => x.engine === "ours" && x.compacted); // A
  const ratio = d === undefined ? undefined : d.bytes / d.payloadBytes;
  return {
    target: "disk after fillrandom + compaction <= 1.05x raw payload",
    ours: d === undefined ? "-" : megabytes(d.bytes),
    peer: d === undefined ? "-" : `payload ${megabytes(d.payloadBytes)}`,
    ratio,
    ratioText: ratio === undefined ? "-" : `${ratio.toFixed(3)}x`,
    required: `<= ${DISK_RATIO_MAX.toFixed(2)}x`,
    status: ratio === undefined ? "not measured" : ratio <= DISK_RATIO_MAX ? "PASS" : "MISS",
  };
}

/** The targets as table rows (header first), for the text and markdown reports. */
export function targetsTable(lines: readonly TargetLine[]): string[][] { // A
  const rows = lines.map((l) => [l.target, l.ours, l.peer, l.ratioText, l.required, l.status]); // A
  return [["target", "ours", "peer / reference", "ratio", "required", "status"], ...rows];
}

/** Decimal megabytes with one decimal: disk figures are compared as ratios, and 116.0 MB is the 1M-key payload. */
export function megabytes(bytes: number): string { // A
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function opsText(n: number): string { // A
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e5) return `${(n / 1e3).toFixed(0)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}
