/**
 * The agent's half: a SigV4-signed `POST https://<sts host>/ Action=GetCallerIdentity&...`
 * that carries the server's challenge (and server ID) in signed headers. The request is
 * never sent by the agent; the server forwards it. Whoever holds it can learn the caller's
 * identity through STS but cannot change the challenge or server ID without breaking the
 * signature, which is what makes it useless to replay elsewhere (Teleport RFD 41, Vault iam).
 */
import type { StsEndpoint } from "./sts-endpoints";
import { CHALLENGE_HEADER, GET_CALLER_IDENTITY_BODY, SERVER_ID_HEADER, type SignedStsRequest } from "./wire";

/** The shape of the SDK's credential identity (kept local: @smithy/types is not a direct dependency). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface SignOptions {
  endpoint: StsEndpoint;
  credentials: AwsCredentials;
  challenge: Uint8Array;
  serverId: string | undefined;
  signingDate?: Date;
}

export async function signGetCallerIdentity(opts: SignOptions): Promise<SignedStsRequest> {
  // Lazy: the signer and hash are only needed once a challenge arrives, after the handshake.
  const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
    import("@smithy/signature-v4"),
    import("@aws-crypto/sha256-js"),
  ]);
  const signer = new SignatureV4({
    service: "sts",
    region: opts.endpoint.signingRegion,
    credentials: opts.credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const headers: Record<string, string> = {
    host: opts.endpoint.host,
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    [CHALLENGE_HEADER]: Buffer.from(opts.challenge).toString("base64"),
  };
  if (opts.serverId !== undefined) headers[SERVER_ID_HEADER] = opts.serverId;
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: "https:",
      hostname: opts.endpoint.host,
      path: "/",
      query: {},
      headers,
      body: GET_CALLER_IDENTITY_BODY,
    },
    opts.signingDate === undefined ? {} : { signingDate: opts.signingDate },
  );
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(signed.headers)) out.set(name.toLowerCase(), String(value));
  return {
    method: "POST",
    url: `https://${opts.endpoint.host}/`,
    headers: out,
    body: GET_CALLER_IDENTITY_BODY,
  };
}
