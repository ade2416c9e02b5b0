/**
 * A real AWS instance identity (taskcluster/iid-verify, us-west-2, 2018): the document and
 * both signatures IMDS served for it, byte for byte. Copied from the project's shared test
 * data so tests never read outside the repository.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = __dirname;

const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));

export interface RealIdentity {
  document: Uint8Array;
  signature: Uint8Array;
  rsa2048: Uint8Array;
}

export const realIdentity: RealIdentity = {
  document: read("taskcluster-2018-us-west-2.document.json"),
  signature: read("taskcluster-2018-us-west-2.signature.b64"),
  rsa2048: read("taskcluster-2018-us-west-2.rsa2048.b64"),
};

/** SPIRE's payload for `realIdentity`, produced by Go's json.Marshal (testdata/README). */
export const realPayloadGolden: Uint8Array = read("taskcluster-2018-us-west-2.payload.golden.json");

/** Raw bytes exercising every Go string-escaping rule, and Go's output for them. */
export const escapesInput: Uint8Array = new Uint8Array(
  Buffer.from(readFileSync(join(dir, "go-string-escapes.input.hex"), "utf8").replace(/\s+/g, ""), "hex"),
);
export const escapesGolden: Uint8Array = read("go-string-escapes.payload.golden.json");
