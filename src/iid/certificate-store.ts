/**
 * AWS certificates by (region, kind): the embedded set generated from AWS's published list,
 * plus operator `aws_certificate { region, kind, pem_path }` blocks.
 *
 * Why operators can add certificates: SPIRE (#6879, eight missing regions → "unsupported
 * region") and Teleport (#8699, China; #39045, new regions) needed a release for every new
 * region; Vault's `config/certificate` is the only runtime escape hatch. Here an entry is
 * ADDED to the embedded candidates of its (region, kind), never replacing them: AWS signs an
 * IID once at launch, so after a certificate rotation both the old and the new certificate
 * must verify (instances launched before the rotation keep their old signatures). PKCS#7
 * picks the candidate by issuer and serial; the raw `/signature` tries each (bounded).
 *
 * The region comes from the not-yet-verified document, i.e. it is attacker-controlled text.
 * It is only ever a key in a `Map` (no object property lookup, so `__proto__` or
 * `constructor` are plain misses), never part of a path or file name, and it must look like a
 * region before it is looked up at all.
 */

import { isRegionName, partitionOfRegion } from "../aws/partition";
import { readBoundedFile } from "../common/bounded-read";
import { invalidArgument } from "../common/errors";
import {
  CERTIFICATE_KINDS,
  type CertificateKind,
  type EmbeddedCertificate,
  parseTrustedCertificate,
  pemCertificates,
  type TrustedCertificate,
} from "./certificate";
import { EMBEDDED_CERTIFICATES } from "./certs/generated";

/** The raw config block, as the server's HCL decoding hands it over. */
export interface AwsCertificateConfig {
  readonly region: string;
  readonly kind: CertificateKind;
  readonly pemPath: string;
}

/** Bounds the store (and the raw-RSA tries per region) whatever the configuration says. */
export const MAX_OPERATOR_CERTIFICATES = 256;
const MAX_PEM_BYTES = 64 * 1024;

function slotKey(region: string, kind: CertificateKind): string {
  return `${kind}\u0000${region}`;
}

// Parsed embedded certificates, shared by every store: bounded by the embedded set.
const embeddedParsed = new Map<string, TrustedCertificate>();

function parseEmbedded(entry: EmbeddedCertificate): TrustedCertificate {
  let cert = embeddedParsed.get(entry.name);
  if (cert === undefined) {
    cert = parseTrustedCertificate(Buffer.from(entry.der, "base64"), { ...entry, source: "embedded" });
    embeddedParsed.set(entry.name, cert);
  }
  return cert;
}

interface Slot {
  readonly embedded: readonly EmbeddedCertificate[];
  readonly operator: readonly TrustedCertificate[];
  parsed?: readonly TrustedCertificate[];
}

export class CertificateStore {
  private readonly slots: Map<string, Slot>;

  private constructor(slots: Map<string, Slot>) {
    this.slots = slots;
  }

  /** A store of the given embedded and operator certificates (operator ones already parsed). */
  static of(
    embedded: readonly EmbeddedCertificate[],
    operator: readonly TrustedCertificate[] = [],
  ): CertificateStore {
    const slots = new Map<string, { embedded: EmbeddedCertificate[]; operator: TrustedCertificate[] }>();
    const slot = (
      region: string,
      kind: CertificateKind,
    ): { embedded: EmbeddedCertificate[]; operator: TrustedCertificate[] } => {
      const key = slotKey(region, kind);
      let s = slots.get(key);
      if (s === undefined) {
        s = { embedded: [], operator: [] };
        slots.set(key, s);
      }
      return s;
    };
    for (const e of embedded) slot(e.region, e.kind).embedded.push(e);
    for (const o of operator) {
      const s = slot(o.region, o.kind);
      if (!s.operator.some((x) => x.fingerprint === o.fingerprint)) s.operator.push(o);
    }
    return new CertificateStore(new Map(slots));
  }

  /** The embedded AWS set (every partition), shared process-wide. */
  static embedded(): CertificateStore {
    embeddedStore ??= CertificateStore.of(EMBEDDED_CERTIFICATES);
    return embeddedStore;
  }

  /** The embedded set plus operator certificates (see the module comment: add, never replace). */
  static withOperatorCertificates(operator: readonly TrustedCertificate[]): CertificateStore {
    return operator.length === 0
      ? CertificateStore.embedded()
      : CertificateStore.of(EMBEDDED_CERTIFICATES, operator);
  }

  /** Trusted certificates for a region and kind; empty when there are none (or the region is junk). */
  candidates(region: string, kind: CertificateKind): readonly TrustedCertificate[] {
    if (!isRegionName(region)) return [];
    const slot = this.slots.get(slotKey(region, kind));
    if (slot === undefined) return [];
    if (slot.parsed === undefined) {
      const parsed = slot.embedded.map(parseEmbedded);
      for (const o of slot.operator) if (!parsed.some((p) => p.fingerprint === o.fingerprint)) parsed.push(o);
      slot.parsed = parsed;
    }
    return slot.parsed;
  }

  /** Regions with at least one certificate of this kind, sorted. */
  regions(kind: CertificateKind): string[] {
    const out: string[] = [];
    const prefix = `${kind}\u0000`;
    for (const key of this.slots.keys()) if (key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out.sort();
  }
}

let embeddedStore: CertificateStore | undefined;

function keyFits(cert: TrustedCertificate, kind: CertificateKind): string | undefined {
  if (kind === "rsa2048" && (cert.keyType !== "rsa" || cert.keyBits < 2048)) {
    return `an rsa2048 certificate needs an RSA key of at least 2048 bits, found ${cert.keyType.toUpperCase()}-${cert.keyBits}`;
  }
  if (kind === "rsa" && (cert.keyType !== "rsa" || cert.keyBits < 1024)) {
    return `an rsa certificate needs an RSA key of at least 1024 bits, found ${cert.keyType.toUpperCase()}-${cert.keyBits}`;
  }
  if (kind === "dsa" && cert.keyType === "rsa" && cert.keyBits < 2048) {
    // AWS's only RSA-keyed "DSA" certificate (China) is RSA-2048.
    return `a dsa certificate needs a DSA key or an RSA key of at least 2048 bits, found RSA-${cert.keyBits}`;
  }
  return undefined;
}

/**
 * Parses one operator certificate from PEM text. `origin` names it in errors and in
 * `VerifiedIdentity.certificate.name` (usually the pem_path).
 */
export function parseOperatorCertificate(
  pem: string,
  region: string,
  kind: CertificateKind,
  origin: string,
): TrustedCertificate {
  const ders = pemCertificates(pem);
  if (ders.length !== 1) throw new Error(`expected exactly one PEM CERTIFICATE block, found ${ders.length}`);
  const cert = parseTrustedCertificate(ders[0]!, {
    name: `aws_certificate:${origin}`,
    partition: partitionOfRegion(region),
    region,
    kind,
    source: "operator",
  });
  const misfit = keyFits(cert, kind);
  if (misfit !== undefined) throw new Error(misfit);
  return cert;
}

/** Reads a PEM file for aws_certificate: bounded, regular files only. */
export function readPemFile(path: string): string {
  return readBoundedFile(path, MAX_PEM_BYTES).toString("utf8");
}

/**
 * Reads and validates one `aws_certificate` block (the `index`-th, for messages) at configure
 * time. Every problem is an InvalidArgument naming the block and the path, so SPIRE refuses to
 * start with a clear reason; server/configuration.ts bounds how many blocks there may be.
 */
export function loadOperatorCertificate(
  entry: AwsCertificateConfig,
  index: number,
  readFile: (path: string) => string = readPemFile,
): TrustedCertificate {
  const where = `aws_certificate[${index}]`;
  if (typeof entry.region !== "string" || !isRegionName(entry.region)) {
    throw invalidArgument(`${where}: region ${JSON.stringify(entry.region)} is not an AWS region name`);
  }
  if (!(CERTIFICATE_KINDS as readonly string[]).includes(entry.kind)) {
    throw invalidArgument(`${where}: kind ${JSON.stringify(entry.kind)} must be one of rsa2048, rsa, dsa`);
  }
  if (typeof entry.pemPath !== "string" || entry.pemPath === "") {
    throw invalidArgument(`${where}: pem_path is required`);
  }
  const kind = entry.kind;
  const label = `${where} (region "${entry.region}", kind "${kind}"): pem_path ${JSON.stringify(entry.pemPath)}`;
  let pem: string;
  try {
    pem = readFile(entry.pemPath);
  } catch (err) {
    throw invalidArgument(`${label}: cannot read: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  try {
    return parseOperatorCertificate(pem, entry.region, kind, entry.pemPath);
  } catch (err) {
    throw invalidArgument(`${label}: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}
