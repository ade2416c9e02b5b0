/** The Go interop host (test/interop/host, go-plugin v1.8.0), built once per test process. */
import { join, resolve } from "node:path";
import { goBuild } from "../go-toolchain";

const root = resolve(__dirname, "../..");
export const GO_HOST = join(root, "test", "interop", "bin", "spire-host-go");

export function buildGoHost(): string {
  return goBuild(join(root, "test", "interop", "host"), GO_HOST);
}
