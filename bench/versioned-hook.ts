/**
 * run.ts's hook for `npm run bench -- --cases versioned [flags]`: hands the
 * run to the versioned store's benchmark (versioned-run.ts), loaded only
 * then, so the engine's benchmark never depends on the versioned layer.
 */

/** When `argv` names `--cases versioned` (alone), runs that benchmark with the other flags and returns true; else false. */
export async function delegateToVersioned(argv: readonly string[]): Promise<boolean> { // A
  const i = argv.findIndex((a) => a === "--cases" || a.startsWith("--cases=")); // A
  if (i < 0) return false;
  const inline = argv[i]!.startsWith("--cases=");
  if ((inline ? argv[i]!.slice("--cases=".length) : argv[i + 1]) !== "versioned") return false;
  const { runVersionedBench } = await import("./versioned-run.ts");
  await runVersionedBench([...argv.slice(0, i), ...argv.slice(i + (inline ? 1 : 2))]);
  return true;
}
