import { afterEach, describe, expect, test, vi } from "vitest";
import process from "node:process";
import { VirtualClock } from "../../src/platform/clock.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { createLog, parseLogLevel, silentLog, stderrSink } from "../../src/log/index.ts";
import type { LogRecord } from "../../src/log/index.ts";

function collecting(): { records: LogRecord[]; sink: (r: LogRecord) => void } {
  const records: LogRecord[] = [];
  return { records, sink: (r) => records.push(r) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("records", () => {
  test("carry the injected clock's time, level, component, event, fields and node", () => {
    const clock = new VirtualClock(1_000);
    const { records, sink } = collecting();
    const log = createLog({ clock, minLevel: "debug", sinks: [sink], node: "n1", component: "engine" });
    log.info("opened", { dir: "/db" });
    clock.advance(250);
    log.child("wal").warn("tail.torn", { offset: 42 });
    expect(records).toEqual([
      { timeMs: 1_000, level: "info", component: "engine", event: "opened", fields: { dir: "/db" }, node: "n1" },
      { timeMs: 1_250, level: "warn", component: "engine.wal", event: "tail.torn", fields: { offset: 42 }, node: "n1" },
    ]);
  });

  test("a record without a node has no node property, and fields default to {}", () => {
    const log = silentLog();
    log.error("boom");
    const [r] = log.recent(1);
    expect(r).toEqual({ timeMs: 0, level: "error", component: "", event: "boom", fields: {} });
    expect(r && "node" in r).toBe(false);
  });

  test("records are frozen copies: later changes to the caller's fields do not leak in", () => {
    const log = silentLog();
    const fields = { n: 1 };
    log.info("x", fields);
    fields.n = 2;
    const [r] = log.recent(1);
    expect(r!.fields).toEqual({ n: 1 });
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r!.fields)).toBe(true);
  });

  test("replaying the same calls on the same virtual clock yields identical records", () => {
    const run = (): LogRecord[] => {
      const clock = new VirtualClock(5);
      const log = createLog({ clock, minLevel: "debug", sinks: [] });
      for (let i = 0; i < 10; i++) {
        clock.advance(i * 3);
        log.child(`c${i % 3}`).log(i % 2 === 0 ? "debug" : "warn", "tick", { i });
      }
      return log.recent();
    };
    expect(run()).toEqual(run());
  });
});

describe("levels", () => {
  test("records below minLevel are not kept, delivered or counted", () => {
    const { records, sink } = collecting();
    const log = createLog({ clock: new VirtualClock(), minLevel: "warn", sinks: [sink] });
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(records.map((r) => r.event)).toEqual(["w", "e"]);
    expect(log.recent().map((r) => r.event)).toEqual(["w", "e"]);
    expect(log.stats().records).toBe(2);
    expect(log.enabled("info")).toBe(false);
    expect(log.enabled("error")).toBe(true);
  });

  test("the default minLevel is info, and setMinLevel applies to the whole tree", () => {
    const log = createLog({ clock: new VirtualClock(), sinks: [] });
    const child = log.child("a");
    expect(log.minLevel).toBe("info");
    child.debug("hidden");
    log.setMinLevel("debug");
    child.debug("shown");
    expect(log.recent().map((r) => r.event)).toEqual(["shown"]);
    expect(() => log.setMinLevel("loud" as never)).toThrow(InvalidArgumentError);
  });

  test("parseLogLevel accepts any case and rejects unknown names", () => {
    expect(parseLogLevel("WARN")).toBe("warn");
    expect(() => parseLogLevel("verbose")).toThrow(InvalidArgumentError);
    expect(() => parseLogLevel("constructor")).toThrow(InvalidArgumentError);
  });
});

describe("children", () => {
  test("share sinks, subscribers and the ring with the root", () => {
    const { records, sink } = collecting();
    const root = createLog({ clock: new VirtualClock(), sinks: [] });
    const child = root.child("engine").child("wal");
    child.addSink(sink);
    const seen: string[] = [];
    child.subscribe((r) => {
      seen.push(r.component);
    });
    root.info("root.event");
    child.info("child.event");
    expect(records.map((r) => r.component)).toEqual(["", "engine.wal"]);
    expect(seen).toEqual(["", "engine.wal"]);
    expect(root.recent().length).toBe(2);
    expect(child.recent().length).toBe(2);
  });

  test("a child may carry its own node id", () => {
    const log = createLog({ clock: new VirtualClock(), sinks: [], node: "a" });
    log.child("sim", { node: "b" }).info("x");
    log.child("sim").info("y");
    expect(log.recent().map((r) => r.node)).toEqual(["b", "a"]);
  });
});

describe("sinks", () => {
  test("each sink has its own min level, and removal stops delivery", () => {
    const all = collecting();
    const errorsOnly = collecting();
    const log = createLog({ clock: new VirtualClock(), minLevel: "debug", sinks: [all.sink, { sink: errorsOnly.sink, minLevel: "error" }] });
    const extra = collecting();
    const remove = log.addSink(extra.sink, { minLevel: "info" });
    log.debug("a");
    log.error("b");
    remove();
    log.info("c");
    expect(all.records.map((r) => r.event)).toEqual(["a", "b", "c"]);
    expect(errorsOnly.records.map((r) => r.event)).toEqual(["b"]);
    expect(extra.records.map((r) => r.event)).toEqual(["b"]);
    expect(log.stats().sinks).toBe(2);
  });

  test("a throwing sink is counted and does not stop other sinks or the caller", () => {
    const good = collecting();
    const log = createLog({
      clock: new VirtualClock(),
      sinks: [
        () => {
          throw new Error("disk full");
        },
        good.sink,
      ],
    });
    expect(() => log.info("a")).not.toThrow();
    log.info("b");
    expect(good.records.map((r) => r.event)).toEqual(["a", "b"]);
    expect(log.stats().sinkErrors).toBe(2);
  });

  test("without sinks given, warn and error go to stderr as one line each", () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => {
      writes.push(String(chunk));
      return true;
    });
    const log = createLog({ clock: new VirtualClock(0), component: "engine" });
    log.info("quiet");
    log.warn("loud", { file: "000001.log" });
    vi.restoreAllMocks();
    expect(writes).toEqual(['1970-01-01T00:00:00.000Z WARN  engine loud {"file":"000001.log"}\n']);
    expect(log.stats().sinks).toBe(1);
  });

  test("stderrSink rejects an unknown level", () => {
    expect(() => stderrSink("loud" as never)).toThrow(InvalidArgumentError);
  });
});

describe("subscribers", () => {
  test("receive records at or above their level until they unsubscribe", () => {
    const log = silentLog();
    const got: string[] = [];
    const unsubscribe = log.subscribe((r) => {
      got.push(r.event);
    }, { minLevel: "warn" });
    log.info("i");
    log.warn("w1");
    unsubscribe();
    unsubscribe(); // twice is harmless
    log.warn("w2");
    expect(got).toEqual(["w1"]);
    expect(log.stats().subscribers).toBe(0);
  });

  test("a subscriber that throws is removed, others keep receiving, and the removal is logged", () => {
    const log = silentLog();
    const got: string[] = [];
    let calls = 0;
    log.subscribe(() => {
      calls++;
      throw new Error("peer gone");
    });
    log.subscribe((r) => {
      got.push(r.event);
    });
    expect(() => log.info("a")).not.toThrow();
    log.info("b");
    expect(calls).toBe(1);
    expect(got).toEqual(["a", "log.subscriber_removed", "b"]);
    const removed = log.recent().find((r) => r.event === "log.subscriber_removed");
    expect(removed?.level).toBe("warn");
    expect(removed?.fields).toEqual({ error: "peer gone" });
    expect(log.stats()).toMatchObject({ subscribersRemoved: 1, subscribers: 1 });
  });

  test("a subscriber whose promise rejects is removed", async () => {
    const log = silentLog();
    let calls = 0;
    log.subscribe(async () => {
      calls++;
      throw new Error("send failed");
    });
    log.info("a");
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await Promise.resolve();
    log.info("b");
    expect(calls).toBe(1);
    expect(log.stats().subscribersRemoved).toBe(1);
    expect(log.recent().map((r) => r.event)).toEqual(["a", "log.subscriber_removed", "b"]);
  });

  test("a subscriber that logs on every record does not recurse without end", () => {
    const log = silentLog();
    const sinkSaw: string[] = [];
    log.addSink((r) => sinkSaw.push(r.event));
    let calls = 0;
    log.subscribe((r) => {
      calls++;
      log.info("echo", { of: r.event });
    });
    log.info("a");
    // "a" is delivered; its echo is delivered one level down; the echo's echo is kept but not delivered.
    expect(sinkSaw).toEqual(["a", "echo"]);
    expect(calls).toBe(2);
    expect(log.recent().map((r) => r.event)).toEqual(["a", "echo", "echo"]);
    expect(log.stats().nestedDropped).toBe(1);
    log.info("b"); // logging still works afterwards
    expect(sinkSaw).toEqual(["a", "echo", "b", "echo"]);
  });

  test("a sink that logs is guarded the same way", () => {
    const log = silentLog();
    let calls = 0;
    log.addSink(() => {
      calls++;
      log.warn("sink.log");
    });
    log.info("a");
    expect(calls).toBe(2);
    expect(log.stats().nestedDropped).toBe(1);
  });

  test("unsubscribing during delivery neither skips nor repeats the others", () => {
    const log = silentLog();
    const got: string[] = [];
    let unsubscribeFirst = (): void => {};
    unsubscribeFirst = log.subscribe((r) => {
      got.push(`1:${r.event}`);
      unsubscribeFirst();
    });
    log.subscribe((r) => {
      got.push(`2:${r.event}`);
    });
    log.info("a");
    log.info("b");
    expect(got).toEqual(["1:a", "2:a", "2:b"]);
  });
});

describe("recent-record ring", () => {
  test("keeps the last recentMax records, oldest first", () => {
    const log = createLog({ clock: new VirtualClock(), sinks: [], recentMax: 3 });
    for (let i = 0; i < 7; i++) log.info(`e${i}`);
    expect(log.recent().map((r) => r.event)).toEqual(["e4", "e5", "e6"]);
    expect(log.recent(2).map((r) => r.event)).toEqual(["e5", "e6"]);
    expect(log.recent(100).length).toBe(3);
    expect(log.recent(0)).toEqual([]);
    expect(log.recent(-1)).toEqual([]);
    expect(log.stats().records).toBe(7);
  });

  test("before it fills, recent returns only what was logged", () => {
    const log = createLog({ clock: new VirtualClock(), sinks: [], recentMax: 10 });
    log.info("only");
    expect(log.recent().map((r) => r.event)).toEqual(["only"]);
  });

  test("rejects a capacity that is not a positive bounded integer", () => {
    for (const recentMax of [0, -1, 1.5, Number.NaN, 2 ** 40]) {
      expect(() => createLog({ clock: new VirtualClock(), sinks: [], recentMax })).toThrow(InvalidArgumentError);
    }
  });
});
