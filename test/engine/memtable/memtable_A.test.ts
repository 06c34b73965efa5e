import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { AssertionFailedError } from "../../../src/errors.ts";
import {
  KIND_DELETE,
  KIND_PUT,
  MEMTABLE_KEY_OVERHEAD_BYTES,
  MEMTABLE_VALUE_OVERHEAD_BYTES,
  MEMTABLE_VERSION_OVERHEAD_BYTES,
  MemTable,
  type MemTableIterator,
} from "../../../src/engine/memtable/memtable.ts";
import { type AddOp, Model, addOpArb, applyAdd, compareLatin1, keyArb, sameEntry } from "./memtable-model.ts";

function filled(ops: AddOp[]): { mem: MemTable; model: Model; seq: number } {
  const mem = new MemTable();
  const model = new Model();
  let seq = 0;
  for (const op of ops) seq = applyAdd(mem, model, op, seq);
  return { mem, model, seq };
}

/** Where the iterator stands, as the model would say it: a key or undefined. */
function at(it: MemTableIterator): string | undefined {
  return it.valid() ? it.key() : undefined;
}

describe("MemTable against a model", () => {
  test("get at every snapshot returns the newest version with seq <= snapshot", () => {
    fc.assert(
      fc.property(fc.array(addOpArb, { maxLength: 300 }), fc.array(keyArb, { maxLength: 20 }), (ops, probes) => {
        const { mem, model, seq } = filled(ops);
        expect(mem.keyCount).toBe(model.keys.length);
        expect(mem.versionCount).toBe(ops.length);
        expect(mem.lastSeq).toBe(seq);
        for (const key of [...model.keys, ...probes]) {
          for (let snap = 0; snap <= seq + 1; snap += 1 + (seq >> 4)) {
            expect(sameEntry(mem.get(key, snap), model.get(key, snap))).toBe(true);
          }
          expect(sameEntry(mem.get(key, seq), model.get(key, seq))).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  test("forward and backward walks from random seeks visit exactly the model's keys in order", () => {
    fc.assert(
      fc.property(fc.array(addOpArb, { maxLength: 400 }), keyArb, fc.boolean(), fc.nat(), (ops, from, forward, snapPick) => {
        const { mem, model, seq } = filled(ops);
        const snap = seq === 0 ? 0 : snapPick % (seq + 1);
        const it = mem.iterator();
        const seen: string[] = [];
        if (forward) for (it.seek(from); it.valid(); it.next()) seen.push(it.key());
        else for (it.seekForPrev(from); it.valid(); it.prev()) seen.push(it.key());
        const want = model.keys.filter((k) => (forward ? compareLatin1(k, from) >= 0 : compareLatin1(k, from) <= 0));
        expect(seen).toEqual(forward ? want : want.reverse());
        for (it.seek(from); it.valid(); it.next()) expect(sameEntry(it.visible(snap), model.get(it.key(), snap))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test("seekFirst/seekLast land on the smallest/largest key, or are invalid when empty", () => {
    fc.assert(
      fc.property(fc.array(addOpArb, { maxLength: 200 }), (ops) => {
        const { mem, model } = filled(ops);
        const it = mem.iterator();
        it.seekFirst();
        expect(at(it)).toBe(model.keys[0]);
        it.seekLast();
        expect(at(it)).toBe(model.keys[model.keys.length - 1]);
      }),
    );
  });

  test("steps interleaved with adds always reach the true neighbour in the current contents", () => {
    const step = fc.record({ forward: fc.boolean(), adds: fc.array(addOpArb, { maxLength: 6 }) });
    fc.assert(
      fc.property(fc.array(addOpArb, { maxLength: 300 }), keyArb, fc.array(step, { maxLength: 120 }), (ops, from, steps) => {
        const { mem, model } = filled(ops);
        let seq = mem.lastSeq;
        const it = mem.iterator();
        it.seek(from);
        expect(at(it)).toBe(model.ceiling(from, false));
        for (const s of steps) {
          if (!it.valid()) break;
          const here = it.key();
          for (const op of s.adds) seq = applyAdd(mem, model, op, seq);
          // The position itself must not move because keys were inserted around it.
          expect(it.key()).toBe(here);
          expect(sameEntry(it.visible(seq), model.get(here, seq))).toBe(true);
          if (s.forward) it.next();
          else it.prev();
          expect(at(it)).toBe(s.forward ? model.ceiling(here, true) : model.floor(here, true));
        }
      }),
      { numRuns: 200 },
    );
  });

  test("a forward walk with writes between steps visits every key that existed at its start, once, ascending", () => {
    fc.assert(
      fc.property(fc.array(addOpArb, { minLength: 1, maxLength: 300 }), fc.array(fc.array(addOpArb, { maxLength: 8 }), { maxLength: 400 }), (ops, writes) => {
        const { mem, model } = filled(ops);
        const atStart = [...model.keys];
        let seq = mem.lastSeq;
        const it = mem.iterator();
        const seen: string[] = [];
        let w = 0;
        for (it.seekFirst(); it.valid(); it.next()) {
          seen.push(it.key());
          for (const op of writes[w++ % Math.max(1, writes.length)] ?? []) seq = applyAdd(mem, model, op, seq);
        }
        for (let i = 1; i < seen.length; i++) expect(compareLatin1(seen[i - 1]!, seen[i]!)).toBeLessThan(0);
        const visited = new Set(seen);
        for (const k of atStart) expect(visited.has(k)).toBe(true);
        expect(seen[seen.length - 1]).toBe(model.keys[model.keys.length - 1]);
      }),
      { numRuns: 100 },
    );
  });
});

describe("MemTable rules", () => {
  test("seq must strictly increase; a refused add changes nothing", () => {
    const mem = new MemTable();
    mem.add("a", 5, KIND_PUT, new Uint8Array([1]));
    const before = [mem.sizeBytes, mem.keyCount, mem.versionCount, mem.lastSeq];
    expect(() => mem.add("b", 5, KIND_PUT, new Uint8Array([2]))).toThrow(AssertionFailedError);
    expect(() => mem.add("a", 4, KIND_DELETE, undefined)).toThrow(AssertionFailedError);
    expect(() => mem.add("a", Number.NaN, KIND_DELETE, undefined)).toThrow(AssertionFailedError);
    expect(() => mem.add("a", 6.5, KIND_DELETE, undefined)).toThrow(AssertionFailedError);
    expect([mem.sizeBytes, mem.keyCount, mem.versionCount, mem.lastSeq]).toEqual(before);
    expect(mem.get("b", 100)).toBeUndefined();
    mem.add("b", 6, KIND_DELETE, undefined);
    expect(mem.lastSeq).toBe(6);
  });

  test("a put needs a value and a delete must not have one", () => {
    const mem = new MemTable();
    expect(() => mem.add("a", 1, KIND_PUT, undefined)).toThrow(AssertionFailedError);
    expect(() => mem.add("a", 1, KIND_DELETE, new Uint8Array(0))).toThrow(AssertionFailedError);
    expect(() => mem.add("a", 1, 7, undefined)).toThrow(AssertionFailedError);
    expect(mem.versionCount).toBe(0);
    expect(mem.lastSeq).toBe(0);
  });

  test("sizeBytes grows with every add by the documented charges", () => {
    const mem = new MemTable();
    expect(mem.sizeBytes).toBe(0);
    mem.add("abc", 1, KIND_PUT, new Uint8Array(10));
    expect(mem.sizeBytes).toBe(3 + MEMTABLE_KEY_OVERHEAD_BYTES + MEMTABLE_VERSION_OVERHEAD_BYTES + MEMTABLE_VALUE_OVERHEAD_BYTES + 10);
    let last = mem.sizeBytes;
    mem.add("abc", 2, KIND_DELETE, undefined);
    expect(mem.sizeBytes).toBe(last + MEMTABLE_VERSION_OVERHEAD_BYTES);
    last = mem.sizeBytes;
    fc.assert(
      fc.property(addOpArb, (op) => {
        const seq = mem.lastSeq + op.seqGap;
        mem.add(op.key, seq, op.del ? KIND_DELETE : KIND_PUT, op.del ? undefined : new Uint8Array(op.valueByte));
        expect(mem.sizeBytes).toBeGreaterThan(last);
        last = mem.sizeBytes;
      }),
    );
  });

  test("every version stays readable: versions() lists them newest first, visible() picks per snapshot", () => {
    const mem = new MemTable();
    mem.add("k", 1, KIND_PUT, new Uint8Array([1]));
    mem.add("j", 2, KIND_PUT, new Uint8Array([9]));
    mem.add("k", 3, KIND_DELETE, undefined);
    mem.add("k", 4, KIND_PUT, new Uint8Array([4]));
    const it = mem.iterator();
    it.seek("k");
    expect(it.key()).toBe("k");
    expect(it.versions().map((v) => [v.seq, v.kind])).toEqual([[4, KIND_PUT], [3, KIND_DELETE], [1, KIND_PUT]]);
    expect(it.visible(0)).toBeUndefined();
    expect(it.visible(2)?.value).toEqual(new Uint8Array([1]));
    expect(it.visible(3)?.kind).toBe(KIND_DELETE);
    expect(mem.get("k", 3)?.value).toBeUndefined();
    expect(mem.get("k", 99)?.seq).toBe(4);
  });

  test("keys order as unsigned bytes, including 0x00, 0x7f, 0x80, 0xff and prefixes", () => {
    const keys = ["", "\u0000", "\u0000\u0000", "\u007f", "\u0080", "\u00ff", "\u00ff\u0000", "a", "ab", "b"];
    const mem = new MemTable();
    [...keys].reverse().forEach((k, i) => mem.add(k, i + 1, KIND_DELETE, undefined));
    const it = mem.iterator();
    const seen: string[] = [];
    for (it.seekFirst(); it.valid(); it.next()) seen.push(it.key());
    expect(seen).toEqual(["", "\u0000", "\u0000\u0000", "a", "ab", "b", "\u007f", "\u0080", "\u00ff", "\u00ff\u0000"]);
  });

  test("an iterator on an empty memtable is invalid everywhere, and reading it throws", () => {
    const it = new MemTable().iterator();
    for (const move of [() => it.seekFirst(), () => it.seekLast(), () => it.seek("a"), () => it.seekForPrev("a")]) {
      move();
      expect(it.valid()).toBe(false);
    }
    expect(() => it.key()).toThrow(AssertionFailedError);
    expect(() => it.next()).toThrow(AssertionFailedError);
  });
});
