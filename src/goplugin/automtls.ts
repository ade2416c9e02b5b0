/**
 * go-plugin AutoMTLS, plugin side. When the host sets PLUGIN_CLIENT_CERT (its own PEM
 * certificate) a go-plugin server serves mTLS with a fresh self-signed certificate and puts
 * that certificate (DER, base64 without padding: Go's RawStdEncoding) in handshake field 6.
 * The host verifies it with ServerName "localhost", so DNS:localhost must be in the SAN.
 * SPIRE hard-codes AutoMTLS off today (go-plugin issue #109 with brokering); other go-plugin
 * hosts turn it on. pkijs is imported lazily: only this path needs it.
 */
import { webcrypto } from "node:crypto";
import type * as Pkijs from "pkijs";

// pkijs is typed against the DOM's WebCrypto; Node's implementation is the same API.
type PkijsCryptoKey = Parameters<Pkijs.Certificate["sign"]>[0];
type PkijsCrypto = NonNullable<ConstructorParameters<typeof Pkijs.CryptoEngine>[0]>["crypto"];

export interface ServerCertificate {
  certPem: Buffer;
  keyPem: Buffer;
  /** Unpadded standard base64 of the DER certificate, for the handshake line. */
  derBase64Raw: string;
}

function pem(label: string, der: ArrayBuffer): Buffer {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return Buffer.from(`-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`);
}

export async function generateServerCertificate(): Promise<ServerCertificate> {
  const [pkijs, asn1js] = await Promise.all([import("pkijs"), import("asn1js")]);
  const engine = new pkijs.CryptoEngine({ name: "node", crypto: webcrypto as unknown as PkijsCrypto });
  const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;

  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = webcrypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] ?? 1) & 0x7f; // positive INTEGER
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  // CN only: several attributes in one typesAndValues make a multi-valued RDN.
  const name = (): InstanceType<typeof pkijs.RelativeDistinguishedNames> =>
    new pkijs.RelativeDistinguishedNames({
      typesAndValues: [
        new pkijs.AttributeTypeAndValue({
          type: "2.5.4.3",
          value: new asn1js.Utf8String({ value: "localhost" }),
        }),
      ],
    });
  cert.issuer = name();
  cert.subject = name();
  const now = Date.now();
  cert.notBefore.value = new Date(now - 30_000);
  // go-plugin's own generateCert uses 262980 hours; a plugin process never lives that long.
  cert.notAfter.value = new Date(now + 10 * 365 * 24 * 3600 * 1000);

  const basicConstraints = new pkijs.BasicConstraints({ cA: true });
  // digitalSignature | keyEncipherment | keyAgreement | keyCertSign, as go-plugin's generateCert.
  const keyUsageBits = new Uint8Array([0b10101100]);
  const keyUsage = new asn1js.BitString({ valueHex: keyUsageBits.buffer, unusedBits: 2 });
  const extKeyUsage = new pkijs.ExtKeyUsage({ keyPurposes: ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"] });
  const san = new pkijs.GeneralNames({ names: [new pkijs.GeneralName({ type: 2, value: "localhost" })] });
  cert.extensions = [
    new pkijs.Extension({
      extnID: "2.5.29.19",
      critical: true,
      extnValue: basicConstraints.toSchema().toBER(false),
      parsedValue: basicConstraints,
    }),
    new pkijs.Extension({ extnID: "2.5.29.15", critical: true, extnValue: keyUsage.toBER(false) }),
    new pkijs.Extension({ extnID: "2.5.29.37", extnValue: extKeyUsage.toSchema().toBER(false) }),
    new pkijs.Extension({ extnID: "2.5.29.17", extnValue: san.toSchema().toBER(false) }),
  ];
  await cert.subjectPublicKeyInfo.importKey(keys.publicKey as unknown as PkijsCryptoKey, engine);
  await cert.sign(keys.privateKey as unknown as PkijsCryptoKey, "SHA-256", engine);
  const der = cert.toSchema().toBER(false);
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: pem("CERTIFICATE", der),
    keyPem: pem("PRIVATE KEY", pkcs8),
    derBase64Raw: Buffer.from(der).toString("base64").replace(/=+$/, ""),
  };
}
