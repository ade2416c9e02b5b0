import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBoundedFile } from "./bounded-read";

describe("readBoundedFile", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bounded-read-"));
    writeFileSync(join(dir, "ten"), "0123456789");
    writeFileSync(join(dir, "sparse"), "");
    truncateSync(join(dir, "sparse"), 4 * 1024 * 1024 * 1024);
    execFileSync("mkfifo", [join(dir, "fifo")]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a regular file up to and including the limit", () => {
    expect(readBoundedFile(join(dir, "ten"), 10).toString()).toBe("0123456789");
  });

  it("refuses a file one byte over the limit, and a sparse file of 4 GiB", () => {
    expect(() => readBoundedFile(join(dir, "ten"), 9)).toThrow(/ten is larger than 9 bytes/);
    expect(() => readBoundedFile(join(dir, "sparse"), 1024)).toThrow(/larger than 1024 bytes/);
  });

  it.each([
    ["/dev/zero", () => "/dev/zero", "a character device"],
    ["a FIFO with no writer", () => join(dir, "fifo"), "a FIFO"],
    ["a directory", () => dir, "a directory"],
  ])("refuses %s without reading it", (_, path, kind) => {
    expect(() => readBoundedFile(path(), 1024)).toThrow(`is not a regular file (it is ${kind})`);
  });

  it("says what Go's os.ReadFile says for a missing file", () => {
    expect(() => readBoundedFile(join(dir, "nope"), 10)).toThrow(
      `open ${join(dir, "nope")}: no such file or directory`,
    );
  });
});
