/**
 * The one way the plugin and its commands read an operator-named file (aws_certificate pem_path,
 * account_list_file, check-config's inputs, plugin_cmd): a regular file of at most `limit` bytes.
 *
 * A path can name /dev/zero, a FIFO with no writer or a sparse file of terabytes; reading such a
 * thing whole hangs Configure or exhausts memory, and SPIRE never restarts a plugin. So: stat
 * first, refuse anything that is not a regular file, open without blocking (a FIFO swapped in
 * after the stat must not block the open either), check the opened file again, and read at most
 * one byte more than its size, so a file that grows while it is read is refused too.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";

/** Refused before or while reading; `code` is the fs error code (ENOENT, EACCES…) when there is one. */
export class BoundedReadError extends Error {
  override readonly name = "BoundedReadError";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export function readBoundedFile(path: string, limit: number): Buffer {
  checkStat(
    path,
    statOrThrow(() => statSync(path), path),
    limit,
  );
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fsError(err, path);
  }
  try {
    const size = checkStat(
      path,
      statOrThrow(() => fstatSync(fd), path),
      limit,
    );
    // One byte more than the size seen: a file that grows while it is read is noticed.
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got === buf.length) throw new BoundedReadError(`${path} grew while it was read`);
    return buf.subarray(0, got);
  } catch (err) {
    throw err instanceof BoundedReadError ? err : fsError(err, path);
  } finally {
    closeSync(fd);
  }
}

/** The size, for a regular file within the limit; otherwise the reason it is refused. */
function checkStat(path: string, st: Stats, limit: number): number {
  if (!st.isFile())
    throw new BoundedReadError(`${path} is not a regular file (it is ${kindOf(st)})`, "ENOTREG");
  if (st.size > limit) throw new BoundedReadError(`${path} is larger than ${limit} bytes`);
  return st.size;
}

function statOrThrow(stat: () => Stats, path: string): Stats {
  try {
    return stat();
  } catch (err) {
    throw fsError(err, path);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a file";
}

/** Go's os.ReadFile wording for the common cases ("open <path>: no such file or directory"). */
function fsError(err: unknown, path: string): BoundedReadError {
  const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
  switch (code) {
    case "ENOENT":
      return new BoundedReadError(`open ${path}: no such file or directory`, code);
    case "EACCES":
      return new BoundedReadError(`open ${path}: permission denied`, code);
    default:
      return new BoundedReadError(err instanceof Error ? err.message : String(err), code);
  }
}
