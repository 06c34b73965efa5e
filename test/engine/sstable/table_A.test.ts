import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { KIND_DELETE, KIND_PUT } from "../../../src/engine/memtable/memtable.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { TableBuilder } from "../../../src/engine/sstable/table-builder.ts";
import { AssertionFailedError, ClosedError } from "../../../src/errors.ts";
import {
  buildTable, compareLatin1, describeEntry, entriesArb, keyArb, MapCache, openTable, optionsArb, sameEntry, simpleEntries, TableModel,
  type Entry,
} from "./sstable-helpers.ts";

/** A probe key: a stored key, a neighbour of one, or a random key. */
function probeKeys(model: TableModel, extra: string[]): string[] {
  const out = [...extra, ...model.keys];
  for (const k of model.keys) out.push(`${k}\u0000`, k.slice(0, -1));
  return out;
}

describe("sstable round trip against a sorted model", () => {
  test("kinds agree with the memtable's", () => {
    expect(KIND_DELETE).toBe(0);
    expect(KIND_PUT).toBe(1);
  });

  test("get at random snapshots, entries() and properties equal the model", () => {
    fc.assert(
      fc.property(entriesArb(300), optionsArb, fc.array(keyArb, { maxLength: 10 }), fc.boolean(), (entries, options, extra, useCache) => {
        const { fs, props } = buildTable(entries, options);
        const cache = useCache ? new MapCache() : undefined;
        const t = openTable(fs, cache);
        try {
          const model = new TableModel(entries);
          expect(t.properties).toEqual(props);
          expect(props.entryCount).toBe(entries.length);
          expect(props.deletionCount).toBe(entries.filter((e) => e.kind === 0).length);
          expect(props.keyCount).toBe(model.keys.length);
          expect(props.smallestKey).toBe(model.keys[0]);
          expect(props.largestKey).toBe(model.keys[model.keys.length - 1]);
          expect(props.minSeq).toBe(Math.min(...entries.map((e) => e.seq)));
          expect(props.maxSeq).toBe(Math.max(...entries.map((e) => e.seq)));
          expect(props.rawKeyBytes).toBe(entries.reduce((n, e) => n + e.key.length, 0));
          expect(props.rawValueBytes).toBe(entries.reduce((n, e) => n + (e.value?.length ?? 0), 0));
          expect(props.fileBytes).toBe(fs.stat("/db/000007.sst")!.sizeBytes);
          const seqs = [0, props.minSeq - 1, ...entries.map((e) => e.seq), props.maxSeq + 5];
          for (const key of probeKeys(model, extra)) {
            if (options.bitsPerKey !== 0 && model.keys.includes(key)) expect(t.mayContain(key)).toBe(true);
            for (const s of [seqs[0]!, seqs[seqs.length - 1]!, seqs[(key.length * 7) % seqs.length]!, ...entries.filter((e) => e.key === key).map((e) => e.seq)]) {
              const got = t.get(key, s);
              const want = model.get(key, s);
              if (!sameEntry(got, want)) throw new Error(`get(${JSON.stringify(key)}, ${s}) = ${describeEntry(got)}, model ${describeEntry(want)}`);
            }
          }
          const walked = [...t.entries()];
          expect(walked.length).toBe(entries.length);
          walked.forEach((e, i) => {
            expect(e.key).toBe(entries[i]!.key);
            expect(sameEntry(e, entries[i])).toBe(true);
          });
          expect(t.verify()).toEqual({ blocks: props.dataBlockCount + 3, problems: [] });
        } finally {
          t.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  test("cursor forward, backward, seek and seekForPrev follow the model", () => {
    type Op = { op: "first" | "last" | "next" | "prev" | "seek" | "seekForPrev"; key: string; snap: number };
    const opArb: fc.Arbitrary<Op> = fc.record({
      op: fc.constantFrom("first", "last", "next", "prev", "next", "prev", "seek", "seekForPrev"),
      key: keyArb,
      snap: fc.integer({ min: 0, max: 400 }),
    });
    fc.assert(
      fc.property(entriesArb(200), optionsArb, fc.array(opArb, { maxLength: 60 }), (entries, options, ops) => {
        const { fs } = buildTable(entries, options);
        const t = openTable(fs, new MapCache());
        const model = new TableModel(entries);
        const base = Math.min(...entries.map((e) => e.seq));
        const c = t.cursor();
        let at = -1; // model position; -1 or keys.length = not valid
        for (const o of ops) {
          const valid = at >= 0 && at < model.keys.length;
          switch (o.op) {
            case "first": c.seekFirst(); at = 0; break;
            case "last": c.seekLast(); at = model.keys.length - 1; break;
            case "seek": c.seek(o.key); at = model.ceilingIndex(o.key); break;
            case "seekForPrev": c.seekForPrev(o.key); at = model.floorIndex(o.key); break;
            case "next": if (!valid) continue; c.next(); at++; break;
            case "prev": if (!valid) continue; c.prev(); at--; break;
          }
          const want = at >= 0 && at < model.keys.length;
          expect(c.valid()).toBe(want);
          if (!want) continue;
          const key = model.keys[at]!;
          expect(c.key()).toBe(key);
          for (const s of [base + o.snap, Number.MAX_SAFE_INTEGER, 0]) {
            const got = c.visible(s);
            if (!sameEntry(got, model.get(key, s))) throw new Error(`visible(${s}) at ${JSON.stringify(key)} = ${describeEntry(got)}`);
          }
        }
        // A full walk each way gives every key once, in order.
        const fwd: string[] = [];
        for (c.seekFirst(); c.valid(); c.next()) fwd.push(c.key());
        expect(fwd).toEqual(model.keys);
        const back: string[] = [];
        for (c.seekLast(); c.valid(); c.prev()) back.push(c.key());
        expect(back).toEqual([...model.keys].reverse());
        t.close();
      }),
      { numRuns: 150 },
    );
  });

  test("one key with many versions spread over many 64-byte blocks", () => {
    const entries: Entry[] = [];
    for (let s = 500; s >= 1; s--) entries.push({ key: "hot", seq: s, kind: s % 7 === 0 ? 0 : 1, value: s % 7 === 0 ? undefined : new Uint8Array([s & 255, s >> 8]) });
    const all = [{ key: "a", seq: 900, kind: 1, value: new Uint8Array([1]) }, ...entries, { key: "z", seq: 901, kind: 1, value: new Uint8Array([2]) }];
    const { fs, props } = buildTable(all, { blockBytes: 64, restartInterval: 1 });
    expect(props.dataBlockCount).toBeGreaterThan(50);
    const t = openTable(fs);
    const model = new TableModel(all);
    for (const s of [0, 1, 6, 7, 8, 250, 499, 500, 501, 1000]) expect(sameEntry(t.get("hot", s), model.get("hot", s))).toBe(true);
    const c = t.cursor();
    c.seek("hot");
    expect(c.key()).toBe("hot");
    expect(c.visible(3)?.seq).toBe(3);
    c.next();
    expect(c.key()).toBe("z");
    c.prev();
    expect(c.key()).toBe("hot");
    expect(c.visible(1000)?.seq).toBe(500);
    c.prev();
    expect(c.key()).toBe("a");
    c.seekForPrev("hou");
    expect(c.key()).toBe("hot");
    expect(c.visible(2)?.seq).toBe(2);
    t.close();
  });

  test("values are views of the cached block: no copy per read, the same bytes every time", () => {
    const entries = simpleEntries(200, 2, 50);
    const { fs } = buildTable(entries, { blockBytes: 512 });
    const cache = new MapCache();
    const t = openTable(fs, cache);
    const key = entries[10]!.key;
    const first = t.get(key, Number.MAX_SAFE_INTEGER)!;
    const again = t.get(key, Number.MAX_SAFE_INTEGER)!;
    expect(cache.hits).toBeGreaterThan(0);
    expect(again.value).toEqual(first.value);
    expect(again.value!.buffer).toBe(first.value!.buffer); // one block, viewed twice
    const c = t.cursor();
    c.seek(key);
    expect(c.visible(Number.MAX_SAFE_INTEGER)?.value).toEqual(first.value);
    t.close();
  });

  test("open reads only the metadata; get reads one data block on a cold cache", () => {
    const entries = simpleEntries(3000, 1, 100);
    const { fs, props } = buildTable(entries);
    const before = fs.callCount;
    const t = openTable(fs);
    const openCalls = fs.callCount - before;
    expect(openCalls).toBeLessThanOrEqual(7); // open, size, footer, index, filter, properties
    const mid = fs.callCount;
    expect(t.get(entries[1500]!.key, Number.MAX_SAFE_INTEGER)).toBeDefined();
    expect(fs.callCount - mid).toBe(1);
    expect(props.dataBlockCount).toBeGreaterThan(50);
    // A key the filter rejects costs no read at all.
    const probe = fs.callCount;
    let rejected = 0;
    for (let i = 0; i < 200; i++) if (!t.mayContain(`absent${i}`)) { rejected++; expect(t.get(`absent${i}`, 1e9)).toBeUndefined(); }
    expect(rejected).toBeGreaterThan(180);
    expect(fs.callCount - probe).toBeLessThanOrEqual(200 - rejected);
    t.close();
    expect(() => t.get("x", 1)).toThrow(ClosedError);
  });

  test("builder rejects out-of-order entries, bad kinds and empty tables", () => {
    const fs = new MemFileSystem();
    const b = new TableBuilder(fs.open("/t.sst", { create: true }), { fileNumber: 1 });
    b.add("b", 5, 1, new Uint8Array(1));
    expect(() => b.add("a", 6, 1, new Uint8Array(1))).toThrow(AssertionFailedError);
    expect(() => b.add("b", 5, 0, undefined)).toThrow(AssertionFailedError);
    expect(() => b.add("b", 6, 0, undefined)).toThrow(AssertionFailedError);
    expect(() => b.add("c", 1, 0, new Uint8Array(1))).toThrow(AssertionFailedError);
    expect(() => b.add("c", 1, 2, undefined)).toThrow(AssertionFailedError);
    b.add("b", 4, 0, undefined);
    b.abandon();
    expect(() => b.add("c", 1, 0, undefined)).toThrow(AssertionFailedError);
    const empty = new TableBuilder(fs.open("/e.sst", { create: true }), { fileNumber: 2 });
    expect(() => empty.finish()).toThrow(AssertionFailedError);
  });

  test("keys order as unsigned bytes (0x00 and 0xff, empty key)", () => {
    const keys = ["", "\u0000", "\u0000\u0000", "\u007f", "\u0080", "\u00ff", "\u00ff\u00ff"];
    expect([...keys].sort(compareLatin1)).toEqual(keys);
    const entries = keys.map((key, i) => ({ key, seq: i + 1, kind: 1, value: new Uint8Array([i]) }));
    const { fs } = buildTable(entries, { blockBytes: 1, restartInterval: 1 });
    const t = openTable(fs);
    for (const e of entries) expect(t.get(e.key, 100)?.value).toEqual(e.value);
    expect([...t.entries()].map((e) => e.key)).toEqual(keys);
    t.close();
  });
});
