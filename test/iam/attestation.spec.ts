import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/common/errors";
import { createIamServerPluginWith } from "../../src/iam/server-plugin";
import {
  encodeHello,
  encodeSignedRequest,
  GET_CALLER_IDENTITY_BODY,
  type SignedStsRequest,
} from "../../src/iam/wire";
import { rejection } from "../../src/testkit/recording";
import {
  ACCOUNT,
  agentPlugin,
  attest,
  type Rig,
  ROLE_ARN,
  serverPlugin,
  startRig,
  TRUST_DOMAIN,
  testEnvironment,
} from "./harness";

const BASE_SERVER = `allowed_account_ids = ["${ACCOUNT}"]`;

/** Signs like a (mis)behaving agent would, with full control over what is signed. */
async function signCustom(
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  opts: {
    host: string;
    region: string;
    headers: Record<string, string>;
    body?: string;
    unsignable?: string[];
    date?: Date;
  },
): Promise<SignedStsRequest> {
  const signer = new SignatureV4({
    service: "sts",
    region: opts.region,
    credentials: creds,
    sha256: Sha256,
    applyChecksum: false,
  });
  const body = opts.body ?? GET_CALLER_IDENTITY_BODY;
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: "https:",
      hostname: opts.host,
      path: "/",
      query: {},
      headers: { host: opts.host, "content-type": "application/x-www-form-urlencoded", ...opts.headers },
      body,
    },
    {
      ...(opts.unsignable === undefined ? {} : { unsignableHeaders: new Set(opts.unsignable) }),
      ...(opts.date === undefined ? {} : { signingDate: opts.date }),
    },
  );
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(signed.headers)) headers.set(k.toLowerCase(), String(v));
  return { method: "POST", url: `https://${opts.host}/`, headers, body };
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

describe("aws_iam attestation against a SigV4-verifying STS fake", () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => {
    await rig.close();
  });

  it("accepts a challenge-bound GetCallerIdentity end to end and may re-attest", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    const agent = await agentPlugin(rig.creds);
    const before = rig.fake.calls.count({ service: "sts", action: "GetCallerIdentity" });
    const attrs = await attest(server, agent);
    expect(attrs).toEqual({
      spiffeId: `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iam/${ACCOUNT}/spire-node/i-0123456789abcdef0`,
      selectorValues: [
        `account_id:${ACCOUNT}`,
        `principal_arn:arn:aws:sts::${ACCOUNT}:assumed-role/spire-node/i-0123456789abcdef0`,
        "role:spire-node",
        `role_arn:${ROLE_ARN}`,
        "session_name:i-0123456789abcdef0",
      ],
      canReattest: true,
    });
    expect(rig.fake.calls.count({ service: "sts", action: "GetCallerIdentity" })).toBe(before + 1);
    // Re-attestation is a fresh challenge and a fresh signature: same identity again.
    await expect(attest(server, agent)).resolves.toMatchObject({ spiffeId: attrs.spiffeId });
  });

  it("renders agent_path_template over the principal (issue 11: templatable agent ID)", async () => {
    const server = await serverPlugin(
      rig,
      `${BASE_SERVER}\nagent_path_template = "/{{ .PluginName }}/{{ .AccountID }}/{{ .RoleName | lower }}/{{ .PrincipalType }}"`,
    );
    const attrs = await attest(server, await agentPlugin(rig.creds));
    expect(attrs.spiffeId).toBe(
      `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iam/${ACCOUNT}/spire-node/assumed-role`,
    );
  });

  it("uses the SDK default provider chain when no credentials are injected", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: rig.creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rig.creds.secretAccessKey,
      AWS_SESSION_TOKEN: rig.creds.sessionToken,
    });
    try {
      const { createIamAgentPluginWith } = await import("../../src/iam/agent-plugin");
      const agent = createIamAgentPluginWith(testEnvironment(), { env: {} });
      await agent.configure({ trustDomain: TRUST_DOMAIN }, 'region = "eu-west-1"');
      const server = await serverPlugin(rig, BASE_SERVER);
      await expect(attest(server, agent)).resolves.toMatchObject({ canReattest: true });
    } finally {
      process.env = saved;
    }
  });

  it("accepts the global endpoint and a FIPS endpoint", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    for (const hcl of ["use_global_endpoint = true", 'region = "us-west-2"\nuse_fips_endpoint = true']) {
      const agent = await agentPlugin(rig.creds, hcl);
      await expect(attest(server, agent)).resolves.toMatchObject({ canReattest: true });
    }
  });

  it("rejects a replayed response: it carries the previous attestation's challenge", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    const agent = await agentPlugin(rig.creds);
    let captured: Uint8Array | undefined;
    await attest(server, agent, { capture: (b) => (captured = b) });
    const err = await rejection(attest(server, agent, { respond: async () => captured! }));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain("does not carry the challenge this server issued");
  });

  it("rejects a signature over another challenge", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    const agent = await agentPlugin(rig.creds);
    const err = await rejection(attest(server, agent, { challengeForAgent: (c) => c.map((x) => x ^ 1) }));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain("challenge");
  });

  it("rejects a challenge header that is not covered by the signature", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    const agent = await agentPlugin(rig.creds);
    const err = await rejection(
      attest(server, agent, {
        respond: async (c) =>
          encodeSignedRequest(
            await signCustom(rig.creds, {
              host: "sts.us-east-1.amazonaws.com",
              region: "us-east-1",
              headers: { "x-spire-challenge": b64(c) },
              unsignable: ["x-spire-challenge"],
            }),
          ),
      }),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toBe("header x-spire-challenge is not covered by the request signature");
  });

  it("rejects an x-amz-date outside the server's window, before contacting STS", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    const agent = await agentPlugin(rig.creds, 'region = "us-east-1"', {
      now: () => new Date(Date.now() - 10 * 60_000),
    });
    const before = rig.fake.calls.count({ service: "sts" });
    const err = await rejection(attest(server, agent));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/X-Amz-Date \d{8}T\d{6}Z is more than 5 minutes/);
    expect(rig.fake.calls.count({ service: "sts" })).toBe(before);
  });

  it("maps STS's own verdicts: expired signature, bad signature, expired token", async () => {
    const agent = await agentPlugin(rig.creds);
    // STS's clock is 20 minutes ahead of both plugins: STS says the signature expired.
    const skewed = await serverPlugin(rig, BASE_SERVER);
    rig.sts.now = () => Date.now() + 20 * 60_000;
    try {
      const err = await rejection(attest(skewed, agent));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toContain("SignatureDoesNotMatch: Signature expired");
    } finally {
      rig.sts.now = () => Date.now();
    }

    const wrongSecret = await agentPlugin({ ...rig.creds, secretAccessKey: "not-the-secret" });
    const bad = await rejection(attest(skewed, wrongSecret));
    expect(bad.code).toBe(Code.PermissionDenied);
    expect(bad.message).toContain(
      "SignatureDoesNotMatch: The request signature we calculated does not match",
    );

    const shortLived = rig.sts.issueRoleCredentials(ROLE_ARN, "short", 1);
    rig.sts.now = () => Date.now() + 5_000;
    try {
      const expired = await rejection(attest(skewed, await agentPlugin(shortLived)));
      expect(expired.code).toBe(Code.PermissionDenied);
      expect(expired.message).toContain("ExpiredToken");
    } finally {
      rig.sts.now = () => Date.now();
    }
  });

  describe("refuses hosts that are not known STS endpoints, without contacting them", () => {
    const cases: Array<[string, string, RegExp]> = [
      ["look-alike domain", "https://sts.evil.com/", /not a known STS endpoint/],
      ["suffix attack", "https://sts.amazonaws.com.evil.com/", /not a known STS endpoint/],
      ["IPv4 literal", "https://127.0.0.1/", /not a known STS endpoint/],
      ["IPv6 literal", "https://[::1]/", /not of the form/],
      ["userinfo", "https://sts.amazonaws.com@evil.com/", /not of the form/],
      ["fragment userinfo", "https://evil.com#@sts.amazonaws.com/", /not of the form/],
      ["explicit port", "https://sts.us-east-1.amazonaws.com:8443/", /not of the form/],
      ["plain http", "http://sts.us-east-1.amazonaws.com/", /not of the form/],
      ["upper case", "https://STS.US-EAST-1.AMAZONAWS.COM/", /not of the form/],
      ["trailing dot", "https://sts.us-east-1.amazonaws.com./", /not a known STS endpoint/],
      ["path", "https://sts.us-east-1.amazonaws.com/x", /not of the form/],
      ["query", "https://sts.us-east-1.amazonaws.com/?Action=AssumeRole", /not of the form/],
      ["unknown region", "https://sts.xx-new-9.amazonaws.com/", /not a known STS endpoint/],
      [
        "region AWS has not opened here",
        "https://sts.eu-west-9.amazonaws.com/",
        /"eu-west-9" is not known to this plugin version/,
      ],
      [
        "partition not configured",
        "https://sts.cn-north-1.amazonaws.com.cn/",
        /partition aws-cn, which is not in the configured partitions/,
      ],
      ["another service", "https://iam.amazonaws.com/", /not a known STS endpoint/],
    ];
    for (const [name, url, message] of cases) {
      it(name, async () => {
        const server = await serverPlugin(rig, BASE_SERVER);
        const agent = await agentPlugin(rig.creds);
        const before = rig.fake.calls.count({ service: "sts" });
        const err = await rejection(
          attest(server, agent, {
            tamper: (req) => {
              req.url = url;
              const host = /^https?:\/\/([^/]*)/.exec(url)?.[1];
              if (host !== undefined) req.headers.set("host", host);
            },
          }),
        );
        expect(err.code).toBe(Code.PermissionDenied);
        expect(err.message).toMatch(message);
        expect(rig.fake.calls.count({ service: "sts" })).toBe(before);
      });
    }

    it("a request genuinely signed for a look-alike host", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(
        attest(server, agent, {
          respond: async (c) =>
            encodeSignedRequest(
              await signCustom(rig.creds, {
                host: "sts.us-east-1.amazonaws.com.evil.com",
                region: "us-east-1",
                headers: { "x-spire-challenge": b64(c) },
              }),
            ),
        }),
      );
      expect(err.code).toBe(Code.PermissionDenied);
    });

    it("a Host header that differs from the URL", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(
        attest(server, agent, { tamper: (req) => req.headers.set("host", "evil.com") }),
      );
      expect(err.message).toContain("Host header does not match");
    });
  });

  it("accepts a China-partition host when aws-cn is configured (and STS is then asked)", async () => {
    const server = await serverPlugin(rig, `${BASE_SERVER}\npartitions = ["aws", "aws-cn"]`);
    const agent = await agentPlugin(rig.creds, 'region = "cn-north-1"');
    // The fake returns an aws-partition ARN, which does not match the aws-cn endpoint: refused.
    const err = await rejection(attest(server, agent));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain("does not match the STS endpoint's aws-cn");
  });

  describe("refuses altered bodies and methods", () => {
    const bodies = [
      "Action=AssumeRole&Version=2011-06-15&RoleArn=x",
      `${GET_CALLER_IDENTITY_BODY}&Extra=1`,
      "Version=2011-06-15&Action=GetCallerIdentity",
      "",
    ];
    for (const body of bodies) {
      it(`body ${JSON.stringify(body)}`, async () => {
        const server = await serverPlugin(rig, BASE_SERVER);
        const agent = await agentPlugin(rig.creds);
        const err = await rejection(attest(server, agent, { tamper: (req) => (req.body = body) }));
        expect(err.code).toBe(Code.PermissionDenied);
        expect(err.message).toContain("body must be exactly");
      });
    }
    it("method GET", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(attest(server, agent, { tamper: (req) => (req.method = "GET") }));
      expect(err.message).toContain("method POST");
    });
  });

  describe("server ID header (cross-server replay)", () => {
    const serverConf = `${BASE_SERVER}\nserver_id_header_value = "spire-a.example.org"`;
    it("accepts the configured server ID", async () => {
      const server = await serverPlugin(rig, serverConf);
      const agent = await agentPlugin(rig.creds, 'server_id_header_value = "spire-a.example.org"');
      await expect(attest(server, agent)).resolves.toMatchObject({ canReattest: true });
    });
    it("rejects a response made for another server", async () => {
      const server = await serverPlugin(rig, serverConf);
      const agent = await agentPlugin(rig.creds, 'server_id_header_value = "spire-b.example.org"');
      const err = await rejection(attest(server, agent));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toContain("different server ID");
    });
    it("rejects a response without the server ID", async () => {
      const server = await serverPlugin(rig, serverConf);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(attest(server, agent));
      expect(err.message).toBe("header x-spire-server-id is not covered by the request signature");
    });
    it("rejects a server ID swapped in after signing: STS sees the signature break", async () => {
      const server = await serverPlugin(rig, serverConf);
      const agent = await agentPlugin(rig.creds, 'server_id_header_value = "spire-b.example.org"');
      const err = await rejection(
        attest(server, agent, {
          tamper: (req) => req.headers.set("x-spire-server-id", "spire-a.example.org"),
        }),
      );
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toContain("SignatureDoesNotMatch");
    });
  });

  describe("size caps", () => {
    it("payload over 1 KiB", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(attest(server, agent, { payload: new Uint8Array(2048).fill(0x20) }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.message).toContain("over the 1024-byte limit");
    });
    it("an aws_iid payload sent to aws_iam", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const payload = new TextEncoder().encode(JSON.stringify({ document: "{}", signature: "x" }));
      const err = await rejection(attest(server, agent, { payload }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.message).toContain("not an aws_iam hello");
    });
    it("response over 32 KiB", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(attest(server, agent, { respond: async () => new Uint8Array(40_000) }));
      expect(err.code).toBe(Code.InvalidArgument);
    });
    it("too many headers", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(
        attest(server, agent, {
          tamper: (req) => {
            for (let i = 0; i < 40; i++) req.headers.set(`x-pad-${i}`, "1");
          },
        }),
      );
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.message).toContain("over the limit of 32");
    });
    it("a header value with CR/LF", async () => {
      const server = await serverPlugin(rig, BASE_SERVER);
      const agent = await agentPlugin(rig.creds);
      const err = await rejection(
        attest(server, agent, { tamper: (req) => req.headers.set("x-spire-challenge", "a\r\nx-evil: 1") }),
      );
      expect(err.code).toBe(Code.InvalidArgument);
    });
  });

  it("drops unsigned headers and refuses framing headers even when signed", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    const agent = await agentPlugin(rig.creds);
    await expect(
      attest(server, agent, { tamper: (req) => req.headers.set("x-unsigned-extra", "1") }),
    ).resolves.toMatchObject({ canReattest: true });
    // The SDK never signs these; listed in SignedHeaders by hand they are refused, not forwarded.
    for (const [name, value] of [
      ["transfer-encoding", "chunked"],
      ["proxy-authorization", "Basic Zm9vOmJhcg=="],
      ["connection", "close"],
    ] as const) {
      const smuggled = await rejection(
        attest(server, agent, {
          tamper: (req) => {
            req.headers.set(name, value);
            req.headers.set(
              "authorization",
              req.headers.get("authorization")!.replace("SignedHeaders=", `SignedHeaders=${name};`),
            );
          },
        }),
      );
      expect(smuggled.message).toBe(`signed request may not carry header ${name}`);
    }
  });

  describe("policy", () => {
    it("allowed_account_ids refuses other accounts", async () => {
      const server = await serverPlugin(rig, 'allowed_account_ids = ["999999999999"]');
      const err = await rejection(attest(server, await agentPlugin(rig.creds)));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toBe(`account ${ACCOUNT} is not in allowed_account_ids`);
    });
    const globs: Array<[string, boolean]> = [
      [`arn:aws:iam::${ACCOUNT}:role/spire-*`, true],
      [`arn:aws:iam::*:role/spire-node`, true],
      [`arn:aws:iam::${ACCOUNT}:role/spire-nod?`, true],
      [`arn:aws:iam::${ACCOUNT}:role/spire-no?`, false],
      [`arn:aws:iam::${ACCOUNT}:role/other-*`, false],
      [`arn:aws:iam::222233334444:role/*`, false],
    ];
    for (const [pattern, allowed] of globs) {
      it(`allowed_role_arns ${pattern} -> ${allowed ? "accept" : "refuse"}`, async () => {
        // A wildcard account is no bound on its own (src/iam/config.ts): pair it with the account.
        const bound = pattern.includes("::*:") ? `\nallowed_account_ids = ["${ACCOUNT}"]` : "";
        const server = await serverPlugin(rig, `allowed_role_arns = ["${pattern}"]${bound}`);
        const p = attest(server, await agentPlugin(rig.creds));
        if (allowed) await expect(p).resolves.toMatchObject({ canReattest: true });
        else expect((await rejection(p)).code).toBe(Code.PermissionDenied);
      });
    }
    it("IAM users are refused unless allow_iam_users, and then get a four-segment agent ID", async () => {
      rig.sts.addStaticCredentials("AKIAUSERKEY000000001", ACCOUNT, "ci-runner", "user-secret");
      const user = { accessKeyId: "AKIAUSERKEY000000001", secretAccessKey: "user-secret" };
      const refused = await rejection(attest(await serverPlugin(rig, BASE_SERVER), await agentPlugin(user)));
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(refused.message).toContain("allow_iam_users");
      const server = await serverPlugin(rig, `${BASE_SERVER}\nallow_iam_users = true`);
      await expect(attest(server, await agentPlugin(user))).resolves.toMatchObject({
        spiffeId: `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iam/${ACCOUNT}/user/ci-runner/AKIAUSERKEY000000001`,
        selectorValues: [`account_id:${ACCOUNT}`, `principal_arn:arn:aws:iam::${ACCOUNT}:user/ci-runner`],
      });
    });
    it("verify_organization (file mode, the aws_iid cache) admits members only", async () => {
      const dir = await mkdtemp(join(tmpdir(), "iam-org-"));
      try {
        const members = join(dir, "members.json");
        const others = join(dir, "others.json");
        await writeFile(members, JSON.stringify([ACCOUNT, "444455556666"]));
        await writeFile(others, JSON.stringify(["444455556666"]));
        const org = (path: string): string => `verify_organization {\n  account_list_file = "${path}"\n}`;
        const accepted = await serverPlugin(rig, org(members));
        await expect(attest(accepted, await agentPlugin(rig.creds))).resolves.toMatchObject({
          canReattest: true,
        });
        await accepted.close();
        const refusing = await serverPlugin(rig, org(others));
        const err = await rejection(attest(refusing, await agentPlugin(rig.creds)));
        expect(err.code).toBe(Code.PermissionDenied);
        expect(err.message).toContain(ACCOUNT);
        await refusing.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("transient trouble is Unavailable", () => {
    it("STS throttling", async () => {
      rig.fake.faults.add({ service: "sts", action: "GetCallerIdentity", times: 1 }, { kind: "throttle" });
      const err = await rejection(attest(await serverPlugin(rig, BASE_SERVER), await agentPlugin(rig.creds)));
      expect(err.code).toBe(Code.Unavailable);
    });
    it("STS 503", async () => {
      rig.fake.faults.add(
        { service: "sts", action: "GetCallerIdentity", times: 1 },
        { kind: "status", status: 503 },
      );
      const err = await rejection(attest(await serverPlugin(rig, BASE_SERVER), await agentPlugin(rig.creds)));
      expect(err.code).toBe(Code.Unavailable);
    });
    it("STS hangs past the forward deadline", async () => {
      rig.fake.faults.add({ service: "sts", action: "GetCallerIdentity", times: 1 }, { kind: "hang" });
      const server = await serverPlugin(rig, BASE_SERVER, { stsTimeoutMs: 200 });
      const err = await rejection(attest(server, await agentPlugin(rig.creds)));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.message).toContain("unreachable");
    });
    it("STS unreachable", async () => {
      const server = await serverPlugin(rig, BASE_SERVER, {
        env: { AWS_ENDPOINT_URL_STS: "http://127.0.0.1:1" },
      });
      const err = await rejection(attest(server, await agentPlugin(rig.creds)));
      expect(err.code).toBe(Code.Unavailable);
    });
  });

  it("a challenge expires when no response arrives within its lifetime", async () => {
    const server = await serverPlugin(rig, BASE_SERVER, { challengeTtlMs: 50 });
    const agent = await agentPlugin(rig.creds);
    const err = await rejection(attest(server, agent, { respond: () => new Promise<Uint8Array>(() => {}) }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.message).toContain("challenge has expired");
  });

  it("answers FailedPrecondition before configure and keeps the old config after a failed one", async () => {
    const fresh = createIamServerPluginWith(testEnvironment(), {
      env: { AWS_ENDPOINT_URL_STS: rig.fake.url },
    });
    const err = await rejection(attest(fresh, await agentPlugin(rig.creds)));
    expect(err.code).toBe(Code.FailedPrecondition);
    await fresh.configure({ trustDomain: TRUST_DOMAIN }, BASE_SERVER);
    await expect(
      fresh.configure({ trustDomain: TRUST_DOMAIN }, "allowed_acount_ids = []"),
    ).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    await expect(attest(fresh, await agentPlugin(rig.creds))).resolves.toMatchObject({ canReattest: true });
  });

  it("a hello with a valid shape but a forged region changes nothing: the signed request decides", async () => {
    const server = await serverPlugin(rig, BASE_SERVER);
    const agent = await agentPlugin(rig.creds);
    const payload = encodeHello({ method: "aws_iam", version: 1, region: "cn-north-1" });
    await expect(attest(server, agent, { payload })).resolves.toMatchObject({ canReattest: true });
  });
});
