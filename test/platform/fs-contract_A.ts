// The behaviour every FileSystem must share, run against node:fs, the memory
// FS and the fault wrapper (with no rules), so the engine cannot tell them apart.
import { describe, expect, test } from "vitest";
import { ClosedError, InvalidArgumentError, IOError, LockedError, NotFoundError } from "../../src/errors.ts";
import type { FileSystem } from "../../src/platform/fs.ts";

export interface FsFixture {
  fs: FileSystem;
  /** A directory that exists and is empty. */
  root: string;
  cleanup(): void;
}

const bytes = (...v: number[]): Uint8Array => new Uint8Array(v);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function put(fs: FileSystem, path: string, data: Uint8Array): void {
  const h = fs.open(path, { create: true });
  h.append(data);
  h.close();
}

function withFixture(make: () => FsFixture, body: (fs: FileSystem, root: string) => void | Promise<void>) {
  return async () => {
    const fx = make();
    try {
      await body(fx.fs, fx.root);
    } finally {
      fx.cleanup();
    }
  };
}

export function fsContract(name: string, make: () => FsFixture): void {
  const it = (title: string, body: (fs: FileSystem, root: string) => void | Promise<void>) =>
    test(title, withFixture(make, body));

  describe(`${name}: FileSystem contract`, () => {
    it("positional write then read returns the bytes; a gap reads as zeros", (fs, root) => {
      const h = fs.open(`${root}/f`, { create: true });
      h.write(bytes(1, 2, 3), 4);
      expect(h.size()).toBe(7);
      const into = new Uint8Array(10);
      expect(h.read(into, 0)).toBe(7);
      expect([...into.subarray(0, 7)]).toEqual([0, 0, 0, 0, 1, 2, 3]);
      expect(h.read(new Uint8Array(4), 7)).toBe(0);
      expect(h.read(new Uint8Array(4), 100)).toBe(0);
      h.close();
    });

    it("append goes to the end, also after a reopen", (fs, root) => {
      const h = fs.open(`${root}/log`, { create: true });
      h.append(text("ab"));
      h.append(text("cd"));
      h.close();
      const h2 = fs.open(`${root}/log`);
      h2.append(text("e"));
      expect(h2.size()).toBe(5);
      h2.close();
      expect(new TextDecoder().decode(fs.readFile(`${root}/log`))).toBe("abcde");
    });

    it("truncate shrinks and grows with zeros; append follows the new size", (fs, root) => {
      const h = fs.open(`${root}/t`, { create: true });
      h.append(bytes(1, 2, 3, 4));
      h.truncate(2);
      h.append(bytes(9));
      h.truncate(5);
      expect([...fs.readFile(`${root}/t`)]).toEqual([1, 2, 9, 0, 0]);
      h.close();
    });

    it("open with truncate empties an existing file", (fs, root) => {
      const h = fs.open(`${root}/t`, { create: true });
      h.append(bytes(1, 2));
      h.close();
      fs.open(`${root}/t`, { truncate: true }).close();
      expect(fs.readFile(`${root}/t`).length).toBe(0);
    });

    it("a second handle sees the first one's appends in size()", (fs, root) => {
      const w = fs.open(`${root}/s`, { create: true });
      const r = fs.open(`${root}/s`, { readOnly: true });
      w.append(bytes(1, 2, 3));
      expect(r.size()).toBe(3);
      w.close();
      r.close();
    });

    it("open errors: missing file, exclusive on existing, directory, bad options", (fs, root) => {
      expect(() => fs.open(`${root}/missing`)).toThrow(NotFoundError);
      fs.open(`${root}/x`, { create: true }).close();
      const err = (() => {
        try {
          fs.open(`${root}/x`, { exclusive: true });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(IOError);
      expect((err as IOError).errno).toBe("EEXIST");
      fs.mkdir(`${root}/d`);
      expect(() => fs.open(`${root}/d`, { readOnly: true })).toThrow(IOError);
      expect(() => fs.open(`${root}/x`, { readOnly: true, truncate: true })).toThrow(InvalidArgumentError);
    });

    it("a read-only handle refuses writes; a closed handle refuses everything; close is idempotent", (fs, root) => {
      fs.open(`${root}/r`, { create: true }).close();
      const r = fs.open(`${root}/r`, { readOnly: true });
      expect(() => r.append(bytes(1))).toThrow(IOError);
      expect(() => r.write(bytes(1), 0)).toThrow(IOError);
      r.close();
      r.close();
      expect(() => r.size()).toThrow(ClosedError);
      expect(() => r.read(new Uint8Array(1), 0)).toThrow(ClosedError);
    });

    it("negative or fractional positions are rejected, not reinterpreted", (fs, root) => {
      const h = fs.open(`${root}/p`, { create: true });
      expect(() => h.write(bytes(1), -1)).toThrow(InvalidArgumentError);
      expect(() => h.read(new Uint8Array(1), 0.5)).toThrow(InvalidArgumentError);
      expect(() => h.truncate(-2)).toThrow(InvalidArgumentError);
      expect(h.size()).toBe(0);
      h.close();
    });

    it("sync and syncDir resolve; syncDir of a missing dir rejects with NotFoundError", async (fs, root) => {
      const h = fs.open(`${root}/d`, { create: true });
      h.append(bytes(7));
      await h.sync();
      await fs.syncDir(root);
      h.close();
      await expect(fs.syncDir(`${root}/nope`)).rejects.toBeInstanceOf(NotFoundError);
      await expect(h.sync()).rejects.toBeInstanceOf(ClosedError);
    });

    it("rename moves and replaces; missing source is NotFoundError", (fs, root) => {
      put(fs, `${root}/a`, text("new"));
      put(fs, `${root}/b`, text("old"));
      fs.rename(`${root}/a`, `${root}/b`);
      expect(fs.stat(`${root}/a`)).toBeUndefined();
      expect(new TextDecoder().decode(fs.readFile(`${root}/b`))).toBe("new");
      expect(() => fs.rename(`${root}/a`, `${root}/c`)).toThrow(NotFoundError);
    });

    it("remove deletes files only", (fs, root) => {
      fs.open(`${root}/f`, { create: true }).close();
      fs.remove(`${root}/f`);
      expect(fs.stat(`${root}/f`)).toBeUndefined();
      expect(() => fs.remove(`${root}/f`)).toThrow(NotFoundError);
      fs.mkdir(`${root}/d`);
      expect(() => fs.remove(`${root}/d`)).toThrow(IOError);
      expect(fs.stat(`${root}/d`)?.isDirectory).toBe(true);
    });

    it("list is sorted names; missing dir is NotFoundError", (fs, root) => {
      for (const n of ["b", "a", "c10", "c2"]) fs.open(`${root}/${n}`, { create: true }).close();
      fs.mkdir(`${root}/sub`);
      expect(fs.list(root)).toEqual(["a", "b", "c10", "c2", "sub"]);
      expect(() => fs.list(`${root}/nope`)).toThrow(NotFoundError);
    });

    it("mkdir: recursive, existing dir is fine, missing parent without recursive fails, file in the way fails", (fs, root) => {
      fs.mkdir(`${root}/x/y/z`, { recursive: true });
      fs.mkdir(`${root}/x/y/z`);
      fs.mkdir(`${root}/x/y/z`, { recursive: true });
      expect(fs.stat(`${root}/x/y/z`)?.isDirectory).toBe(true);
      expect(() => fs.mkdir(`${root}/p/q`)).toThrow(NotFoundError);
      fs.open(`${root}/file`, { create: true }).close();
      expect(() => fs.mkdir(`${root}/file`)).toThrow(IOError);
    });

    it("stat reports size and kind, undefined when missing (even below a file)", (fs, root) => {
      put(fs, `${root}/f`, bytes(1, 2, 3));
      expect(fs.stat(`${root}/f`)).toEqual({ sizeBytes: 3, isDirectory: false });
      expect(fs.stat(root)?.isDirectory).toBe(true);
      expect(fs.stat(`${root}/none`)).toBeUndefined();
      expect(fs.stat(`${root}/f/below`)).toBeUndefined();
    });

    it("readFile of a missing file is NotFoundError", (fs, root) => {
      expect(() => fs.readFile(`${root}/none`)).toThrow(NotFoundError);
    });

    it("lock is exclusive until released; release is idempotent", (fs, root) => {
      const l = fs.lock(`${root}/LOCK`);
      expect(() => fs.lock(`${root}/LOCK`)).toThrow(LockedError);
      l.release();
      l.release();
      const again = fs.lock(`${root}/LOCK`);
      again.release();
    });
  });
}
