/**
 * `spire-aws-iid verify`: verify a copy of a node's IMDS output offline, with the same code the
 * server runs, so an operator can see why a node was rejected (wrong region certificate, a
 * document edited in transit, a region newer than this release…).
 *
 * Exit codes: 0 verified, 1 rejected (the reason is printed), 2 usage or unreadable input.
 */
import { parseArgs } from "node:util";
import { readBoundedFile } from "../common/bounded-read";
import { codeName, describeError, isPluginError } from "../common/errors";
import { decodeBase64Strict, encodeBase64Lines } from "../iid/base64";
import { CERTIFICATE_KINDS, type TrustedCertificate } from "../iid/certificate";
import { CertificateStore, parseOperatorCertificate } from "../iid/certificate-store";
import { parseSignedData } from "../iid/cms";
import { parseInstanceIdentityDocument } from "../iid/document";
import { Oid } from "../iid/oids";
import { MAX_PAYLOAD_BYTES } from "../iid/payload";
import type { SignatureKind } from "../iid/policy";
import {
  type AttestationPayloadInput,
  type VerifiedIdentity,
  verifyInstanceIdentitySync,
} from "../iid/verify";

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const USAGE = `usage: spire-aws-iid verify --document FILE --signature FILE [--kind rsa2048|rsa|pkcs7] [--region-cert PEM] [--json]

Verifies an EC2 instance identity document the way the server plugin does.
  --document FILE     /latest/dynamic/instance-identity/document, saved byte for byte
  --signature FILE    /rsa2048, /signature or /pkcs7 output (base64 as served, PEM, or binary DER)
  --kind KIND         rsa2048 | rsa (the legacy /signature) | pkcs7 (DSA); detected when omitted
  --region-cert PEM   also trust this certificate for the document's region (like aws_certificate)
  --json              print one JSON object instead of text
`;

const KINDS: readonly SignatureKind[] = ["rsa2048", "rsa", "pkcs7"];
const FIELD: Readonly<Record<SignatureKind, keyof AttestationPayloadInput>> = {
  rsa2048: "rsa2048",
  rsa: "signature",
  pkcs7: "pkcs7",
};
const DSA_ALGORITHMS: ReadonlySet<string> = new Set([Oid.dsaWithSha1, Oid.dsaWithSha256]);

class UsageError extends Error {}

/** The signature as IMDS text: base64 as served, PEM armour stripped, binary re-encoded. */
function signatureText(raw: Buffer): string {
  const text = raw.toString("latin1");
  const armoured = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/.exec(text);
  if (armoured !== null) return armoured[1]!.trim();
  if (/^[A-Za-z0-9+/=\s]+$/.test(text)) return text.trim();
  return encodeBase64Lines(raw);
}

/** PKCS#7 vs raw signature, and DSA vs RSA from the signer; RSA PKCS#7 may also be China's /pkcs7. */
function detectKinds(signature: string): SignatureKind[] {
  let der: Buffer;
  try {
    der = decodeBase64Strict(signature);
  } catch {
    return ["rsa"];
  }
  try {
    const signer = parseSignedData(der).signerInfos[0];
    if (signer !== undefined && DSA_ALGORITHMS.has(signer.signatureAlgorithm.oid)) return ["pkcs7"];
    return ["rsa2048", "pkcs7"];
  } catch {
    return ["rsa"];
  }
}

function extraCertificates(pemPath: string, region: string): TrustedCertificate[] {
  let pem: string;
  try {
    pem = readBoundedFile(pemPath, MAX_PAYLOAD_BYTES).toString("utf8");
  } catch (err) {
    throw new UsageError(`cannot read --region-cert ${pemPath}: ${describeError(err)}`);
  }
  const out: TrustedCertificate[] = [];
  const reasons: string[] = [];
  for (const kind of CERTIFICATE_KINDS) {
    try {
      out.push(parseOperatorCertificate(pem, region, kind, pemPath));
    } catch (err) {
      reasons.push(describeError(err));
    }
  }
  if (out.length === 0)
    throw new UsageError(`--region-cert ${pemPath}: ${reasons[0] ?? "unusable certificate"}`);
  return out;
}

/**
 * Every file this command reads is an IMDS answer or a PEM: a few KiB. The server's payload cap
 * bounds them, and keeps a mistyped path such as /dev/zero from hanging the command.
 */
function readInput(path: string, what: string): Buffer {
  try {
    return readBoundedFile(path, MAX_PAYLOAD_BYTES);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${describeError(err)}`);
  }
}

function attempt(
  document: string,
  signature: string,
  kinds: readonly SignatureKind[],
  store: CertificateStore,
): VerifiedIdentity {
  let first: unknown;
  for (const kind of kinds) {
    try {
      return verifyInstanceIdentitySync({ document, [FIELD[kind]]: signature }, { store, kind });
    } catch (err) {
      first ??= err;
    }
  }
  throw first;
}

export async function runVerify(argv: string[], io: CliIo): Promise<number> {
  const args = argv[0] === "verify" ? argv.slice(1) : argv;
  let json = false;
  try {
    const { values } = parseArgs({
      args,
      options: {
        document: { type: "string" },
        signature: { type: "string" },
        kind: { type: "string" },
        "region-cert": { type: "string", multiple: true },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    json = values.json === true;
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (values.document === undefined || values.signature === undefined) {
      throw new UsageError("--document and --signature are required");
    }
    if (values.kind !== undefined && !(KINDS as readonly string[]).includes(values.kind)) {
      throw new UsageError(`--kind must be one of ${KINDS.join(", ")}`);
    }
    const documentBytes = readInput(values.document, "--document");
    const signature = signatureText(readInput(values.signature, "--signature"));
    const document = documentBytes.toString("utf8");
    const kinds = values.kind !== undefined ? [values.kind as SignatureKind] : detectKinds(signature);

    let store = CertificateStore.embedded();
    const extra = values["region-cert"] ?? [];
    if (extra.length > 0) {
      let region: string;
      try {
        region = parseInstanceIdentityDocument(documentBytes).region;
      } catch (err) {
        throw new UsageError(`--region-cert needs the document's region: ${describeError(err)}`);
      }
      store = CertificateStore.withOperatorCertificates(extra.flatMap((p) => extraCertificates(p, region)));
    }

    let identity: VerifiedIdentity;
    let note: string | undefined;
    try {
      identity = attempt(document, signature, kinds, store);
    } catch (err) {
      // IMDS serves the document without a trailing newline; editors and `echo` add one.
      const trimmed = document.replace(/\r?\n+$/, "");
      if (trimmed === document) throw err;
      try {
        identity = attempt(trimmed, signature, kinds, store);
      } catch {
        throw err;
      }
      note = `${values.document} ends with a newline that IMDS does not serve; it verified without it (an agent sends IMDS's bytes)`;
    }
    report(io, json, identity, note);
    return 0;
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err instanceof Error && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      if (json) io.out(`${JSON.stringify({ verified: false, usage: true, error: err.message })}\n`);
      else io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    const code = isPluginError(err) ? codeName[err.code] : "Internal";
    if (json) io.out(`${JSON.stringify({ verified: false, code, error: describeError(err) })}\n`);
    else io.err(`NOT VERIFIED (${code}): ${describeError(err)}\n`);
    return 1;
  }
}

function report(io: CliIo, json: boolean, id: VerifiedIdentity, note: string | undefined): void {
  const c = id.certificate;
  if (json) {
    io.out(
      `${JSON.stringify({
        verified: true,
        accountId: id.document.accountId,
        region: id.document.region,
        instanceId: id.document.instanceId,
        kind: id.kind,
        certificate: c,
        document: id.document,
        ...(note !== undefined ? { note } : {}),
      })}\n`,
    );
    return;
  }
  const pending = id.document.pendingTime?.toISOString() ?? "(none)";
  io.out(
    [
      "verified",
      `  account:     ${id.document.accountId}`,
      `  region:      ${id.document.region}`,
      `  instance:    ${id.document.instanceId}`,
      `  launched:    ${pending}`,
      `  kind:        ${id.kind}`,
      `  certificate: ${c.name} (${c.source}, partition ${c.partition}, sha256 ${c.fingerprint})`,
      "",
    ].join("\n"),
  );
  if (note !== undefined) io.err(`note: ${note}\n`);
}
