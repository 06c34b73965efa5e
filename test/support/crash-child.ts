/**
 * Child process of the real-process crash test: writes batches to the
 * database at argv[2] forever (until SIGKILLed) and prints "ack N" once
 * batch N's write promise has resolved. Batch N holds keys b{N}-{j}.
 * Run compiled: <runtime> dist/test/support/crash-child.js <dir> <seed>
 */
import { openDB } from "../../src/index.ts";
import { SeededRandom } from "../../src/platform/random.ts";
import { crashDbOptions } from "./crash-options.ts";

async function main(): Promise<void> { // A
  const dir = process.argv[2]!;
  const seed = Number(process.argv[3] ?? 1);
  const rng = new SeededRandom(seed);
  const db = await openDB(dir, crashDbOptions(seed));
  process.stdout.write("ready\n");
  for (let n = 0; ; ) {
    const group = 1 + rng.int(4);
    const writes: Promise<void>[] = [];
    for (let g = 0; g < group; g++, n++) {
      const b = db.batch();
      const size = 1 + rng.int(20);
      for (let j = 0; j < size; j++) b.put(`b${n}-${j}`, `value-${n}-${j}-${"x".repeat(rng.int(200))}`);
      b.put(`b${n}-size`, String(size));
      const id = n;
      writes.push(db.write(b, { sync: rng.int(4) === 0 }).then(() => void process.stdout.write(`ack ${id}\n`)));
    }
    await Promise.all(writes);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`crash-child failed: ${String(e)}\n`);
  process.exit(3);
});
