/**
 * Real EC2 nodes for comparing the plugin with SPIRE's built-in aws_iid: each is an instance
 * whose identity document AWS itself signed (test/vectors/testdata/aws-iid, captured from
 * real instances and published), served byte for byte by the fake IMDS, and the same
 * instance in the fake EC2. The built-in verifies signatures only with AWS's own certificates
 * (compiled into SPIRE), so these are the only nodes both implementations can accept.
 *
 * Only instances captured with both forms a real IMDS serves to SPIRE's agent (/rsa2048 and
 * /signature) qualify: both agents fetch both, and the plugin's agent refuses an empty one as
 * "not EC2 IMDS" where SPIRE's server would fall back from /rsa2048 to /signature.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FakeImdsIdentity } from "../../src/testkit/fake-imds";
import { REPO_ROOT } from "./build";

const VECTORS = join(REPO_ROOT, "test", "vectors", "testdata", "aws-iid", "vectors");

/** The identity document's fields this comparison uses (AWS's names). */
interface DocumentFields {
  accountId: string;
  region: string;
  instanceId: string;
  availabilityZone: string;
  imageId: string;
  instanceType: string;
  privateIp: string;
  pendingTime: string;
}

export interface RealNode extends Omit<DocumentFields, "pendingTime"> {
  /** The vector ids this node's signatures come from, without the kind: taskcluster-2018-us-west-2. */
  name: string;
  pendingTime: Date;
  identity: FakeImdsIdentity;
}

const FORM_OF_KIND: Record<string, "rsa2048" | "signature" | "pkcs7"> = {
  rsa2048: "rsa2048",
  rsasig: "signature",
  dsa: "pkcs7",
};

/** Instances with both RSA forms, grouped from the vector directories `<source>-<year>-<region>[-…]-<kind>`. */
export function realNodes(): RealNode[] {
  const byDocument = new Map<string, { name: string; forms: Partial<Record<string, string>> }>();
  for (const id of readdirSync(VECTORS).sort()) {
    const kind = id.slice(id.lastIndexOf("-") + 1);
    const form = FORM_OF_KIND[kind];
    if (form === undefined) continue;
    const document = readFileSync(join(VECTORS, id, "document.json"), "utf8");
    const entry = byDocument.get(document) ?? { name: id.slice(0, id.lastIndexOf("-")), forms: {} };
    entry.forms[form] = readFileSync(join(VECTORS, id, "signature.b64"), "utf8");
    byDocument.set(document, entry);
  }
  const nodes: RealNode[] = [];
  for (const [document, { name, forms }] of byDocument) {
    if (forms.rsa2048 === undefined || forms.signature === undefined) continue;
    const d = JSON.parse(document) as DocumentFields;
    nodes.push({
      name,
      accountId: d.accountId,
      region: d.region,
      instanceId: d.instanceId,
      availabilityZone: d.availabilityZone,
      imageId: d.imageId,
      instanceType: d.instanceType,
      privateIp: d.privateIp,
      pendingTime: new Date(d.pendingTime),
      identity: {
        document,
        rsa2048: forms.rsa2048,
        signature: forms.signature,
        ...(forms.pkcs7 === undefined ? {} : { pkcs7: forms.pkcs7 }),
      },
    });
  }
  return nodes;
}
