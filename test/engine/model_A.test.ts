/**
 * fast-check model test: random sequences of put / delete / batch / get /
 * iterate / snapshot / close+reopen against a plain Map.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MemFileSystem, openDB, silentLog, type DB, type IterateOptions, type Snapshot } from "../../src/index.ts";
import { applyOps, dbContents, hex, modelIterate, type Op } from "../support/model.ts";

const byteArb = fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xfe, 0xff);
const keyArb = fc.array(byteArb, { maxLength: 3 }).map((a) => new Uint8Array(a));
const valueArb = fc.uint8Array({ maxLength: 12 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: keyArb, value: valueArb }),
  fc.record({ type: fc.constant("del" as const), key: keyArb }),
);
const iterArb: fc.Arbitrary<IterateOptions> = fc.record(
  { gt: keyArb, gte: keyArb, lt: keyArb, lte: keyArb, prefix: keyArb, reverse: fc.boolean(), limit: fc.nat(6) },
  { requiredKeys: [] },
).filter((o) => !(o.gt !== undefined && o.gte !== undefined) && !(o.lt !== undefined && o.lte !== undefined));

type Cmd =
  | { c: "put"; op: Op; sync: boolean }
  | { c: "batch"; ops: Op[] }
  | { c: "get"; key: Uint8Array; snap: number }
  | { c: "iter"; o: IterateOptions; snap: number }
  | { c: "snap" }
  | { c: "release"; snap: number }
  | { c: "reopen" };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ c: fc.constant("put" as const), op: opArb, sync: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("batch" as const), ops: fc.array(opArb, { maxLength: 8 }) }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant("get" as const), key: keyArb, snap: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("iter" as const), o: iterArb, snap: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.constant({ c: "snap" as const }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("release" as const), snap: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.constant({ c: "reopen" as const }) },
);

async function runCommands(cmds: Cmd[]): Promise<void> {
  const fs = new MemFileSystem();
  const model = new Map<string, string>();
  let db: DB = await openDB("/db", { fs, log: silentLog() });
  // Snapshots: engine handle and frozen model; a reopen invalidates the engine's.
  let snaps: Array<{ s: Snapshot; m: Map<string, string> }> = [];
  try {
    for (const cmd of cmds) {
      const snap = "snap" in cmd && typeof cmd.snap === "number" ? snaps[cmd.snap] : undefined;
      switch (cmd.c) {
        case "put":
          if (cmd.op.type === "put") await db.put(cmd.op.key, cmd.op.value, { sync: cmd.sync });
          else await db.delete(cmd.op.key, { sync: cmd.sync });
          applyOps(model, [cmd.op]);
          break;
        case "batch": {
          const b = db.batch();
          for (const op of cmd.ops) op.type === "put" ? b.put(op.key, op.value) : b.delete(op.key);
          await db.write(b);
          applyOps(model, cmd.ops);
          break;
        }
        case "get": {
          const m = snap?.m ?? model;
          const got = await db.get(cmd.key, snap === undefined ? undefined : { snapshot: snap.s });
          expect(got === undefined ? undefined : hex(got)).toBe(m.get(hex(cmd.key)));
          break;
        }
        case "iter": {
          const m = snap?.m ?? model;
          const o = snap === undefined ? cmd.o : { ...cmd.o, snapshot: snap.s };
          expect(await dbContents(db, o)).toEqual(modelIterate(m, cmd.o));
          break;
        }
        case "snap":
          snaps.push({ s: db.snapshot(), m: new Map(model) });
          break;
        case "release":
          snaps[cmd.snap]?.s.release();
          snaps = snaps.filter((_, i) => i !== cmd.snap);
          break;
        case "reopen":
          for (const s of snaps) s.s.release();
          snaps = [];
          await db.close();
          db = await openDB("/db", { fs, log: silentLog() });
          break;
      }
    }
    expect(await dbContents(db)).toEqual(modelIterate(model, {}));
  } finally {
    await db.close();
  }
}

describe("engine model test", () => {
  test("random command sequences agree with a Map model", async () => {
    await fc.assert(fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 60, size: "max" }), runCommands), { numRuns: 150 });
  });
});
