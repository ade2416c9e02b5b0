import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCheckConfig } from "./check-config";

const dir = mkdtempSync(join(tmpdir(), "check-config-"));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCheckConfig(
    argv,
    { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) },
    { env: {} },
  );
  return { code, out, err };
}

describe("check-config", () => {
  it("accepts a valid plugin_data body", async () => {
    const r = await run("server", file("ok.hcl", 'assume_role = "r"\n'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid aws_iid server configuration/);
  });

  it("prints every problem with its position in the whole server.conf", async () => {
    const conf = file(
      "server.conf",
      [
        'server { trust_domain = "example.org" }',
        "plugins {",
        '  NodeAttestor "aws_iid" {',
        '    plugin_cmd = "/usr/local/bin/spire-aws-iid"',
        "    plugin_data {",
        '      verify_organisation { management_account_id = "123456789012" }',
        '      skip_block_device = "true"',
        "    }",
        "  }",
        "}",
      ].join("\n"),
    );
    const r = await run("check-config", "server", conf);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${conf}:6:7: unknown key "verify_organisation", did you mean verify_organization?`,
    );
    expect(r.out).toContain(`${conf}:7:27: skip_block_device: expected true or false`);
    expect(r.out).toMatch(/2 problems/);
  });

  it("finds this plugin among several NodeAttestors, or says it cannot", async () => {
    const two = (cmd: string): string =>
      `plugins {\n NodeAttestor "join_token" { plugin_data {} }\n NodeAttestor "aws" {\n plugin_cmd = "${cmd}"\n plugin_data { partition = "bad" }\n }\n}`;
    const r1 = await run("server", file("two.conf", two("/opt/spire-aws-iid")));
    expect(r1.code).toBe(1);
    expect(r1.out).toMatch(/invalid partition "bad"/);
    const r2 = await run("server", file("amb.conf", two("/opt/other")));
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/several NodeAttestor plugins/);
    const r3 = await run("server", "--name", "join_token", file("amb2.conf", two("/opt/other")));
    expect(r3.code).toBe(0);
  });

  it("reads JSON configs and plugin_data_file", async () => {
    const data = file("data.hcl", 'log_level = "loud"\n');
    const conf = file(
      "agent.json",
      JSON.stringify({ plugins: { NodeAttestor: { aws_iid: { plugin_data_file: data } } } }),
    );
    const r = await run("agent", conf);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${data}:1:13: log_level: must be one of`);
    const jsonOk = file(
      "ok.json",
      JSON.stringify({ plugins: { NodeAttestor: { aws_iid: { plugin_data: { imds_retries: 2 } } } } }),
    );
    expect((await run("agent", jsonOk)).code).toBe(0);
  });

  it("warns about a trailing heredoc that SPIRE's re-printing breaks", async () => {
    const conf = file(
      "heredoc.conf",
      'plugins {\n NodeAttestor "aws_iid" {\n  plugin_data {\n   agent_path_template = <<EOF\n/{{ .InstanceID }}\n   EOF\n  }\n }\n}\n',
    );
    const r = await run("server", conf);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/heredoc as the last setting/);
  });

  it("returns 2 on usage errors", async () => {
    expect((await run()).code).toBe(2);
    expect((await run("both", "x")).code).toBe(2);
    expect((await run("server", join(dir, "missing.hcl"))).code).toBe(2);
  });
});

describe("check-config: how SPIRE launches the plugin", () => {
  const binary = file("spire-aws-iid", "#!/bin/sh\necho plugin\n");
  const sha = createHash("sha256").update(readFileSync(binary)).digest("hex");
  const conf = (side: "server" | "agent", launch: string): string =>
    file(
      `${side}-launch.conf`,
      `plugins {\n  NodeAttestor "aws_iid" {\n${launch}\n    plugin_data {}\n  }\n}\n`,
    );

  it("accepts the file's own checksum, and no plugin_args at all", async () => {
    const r = await run(
      "server",
      conf("server", `    plugin_cmd = "${binary}"\n    plugin_checksum = "${sha}"`),
    );
    expect(r.out).toMatch(/valid aws_iid server configuration/);
    expect(r.code).toBe(0);
  });

  it("reports a checksum that does not match the file at plugin_cmd, with SPIRE's words and the right value", async () => {
    const wrong = "0".repeat(64);
    const path = conf("server", `    plugin_cmd = "${binary}"\n    plugin_checksum = "${wrong}"`);
    const r = await run("server", path);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${path}:4:5: plugin_checksum: checksums did not match: ${binary} has sha256 ${sha}, plugin_checksum says ${wrong}`,
    );
  });

  it.each([
    ["NOT_A_CHECKSUM", "checksum is not a valid hex string"],
    ["DEADBEEF", "expected checksum of length 64; got 8"],
  ])("refuses plugin_checksum %s as SPIRE does", async (sum, message) => {
    const r = await run(
      "server",
      conf("server", `    plugin_cmd = "${binary}"\n    plugin_checksum = "${sum}"`),
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(`plugin_checksum: ${message}`);
  });

  it("hashes plugin_cmd through the bounded reader: a FIFO is refused, a missing file is a note", async () => {
    const fifo = join(dir, "fifo-plugin");
    execFileSync("mkfifo", [fifo]);
    const r = await run(
      "server",
      conf("server", `    plugin_cmd = "${fifo}"\n    plugin_checksum = "${sha}"`),
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `plugin_checksum: cannot hash plugin_cmd: ${fifo} is not a regular file (it is a FIFO)`,
    );
    const missing = join(dir, "not-installed-here");
    const m = await run(
      "server",
      conf("server", `    plugin_cmd = "${missing}"\n    plugin_checksum = "${sha}"`),
    );
    expect(m.code).toBe(0);
    expect(m.err).toContain(`plugin_checksum not checked: open ${missing}: no such file or directory`);
  });

  it("reports plugin_args naming the other side, or an unknown value, in the plugin's words", async () => {
    const agentInServer = conf("server", `    plugin_cmd = "${binary}"\n    plugin_args = ["agent"]`);
    const r = await run("server", agentInServer);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${agentInServer}:4:5: plugin_args say "agent" but the host offers the services of a SPIRE server; plugin_args can be left out, the side is then chosen at Init`,
    );
    const bogus = await run(
      "agent",
      conf("agent", `    plugin_cmd = "${binary}"\n    plugin_args = ["client"]`),
    );
    expect(bogus.code).toBe(1);
    expect(bogus.out).toContain('unknown plugin_args "client": leave plugin_args out');
    for (const [side, args] of [
      ["server", '["server"]'],
      ["agent", '["agent"]'],
      ["server", "[]"],
    ] as const) {
      const ok = await run(side, conf(side, `    plugin_cmd = "${binary}"\n    plugin_args = ${args}`));
      expect(ok.code, `${side} ${args}`).toBe(0);
    }
  });
});

describe("check-config --expand-env", () => {
  it("expands ${VAR} and $VAR from the environment before parsing, as SPIRE's -expandEnv", async () => {
    const conf = file(
      "env.conf",
      'plugins {\n  NodeAttestor "aws_iid" {\n    plugin_data {\n      assume_role = "${ROLE}"\n      allowed_account_ids = ["$ACCOUNT"]\n    }\n  }\n}\n',
    );
    let out = "";
    const io = {
      out: (s: string): void => {
        out += `${s}\n`;
      },
      err: (): void => {},
    };
    const env = { ROLE: "spire-server-delegate", ACCOUNT: "123456789012" };
    expect(await runCheckConfig(["server", "--expand-env", conf], io, { env })).toBe(0);
    expect(out).toMatch(/valid aws_iid server configuration/);
    out = "";
    // Without the flag the account list holds the literal "$ACCOUNT", which is no account ID.
    expect(await runCheckConfig(["server", conf], io, { env })).toBe(1);
  });
});

describe("check-config runs Configure's own checks", () => {
  it.each([
    [
      'agent_path_template = "/{{ .Nope"',
      /^At 1:23: failed to parse agent svid template: "\/\{\{ \.Nope": template: /,
    ],
    [
      'agent_path_template = "/{{ uuidv4 }}"',
      /^At 1:23: .*function "uuidv4" is not available in agent_path_template/,
    ],
    ['agent_path_template = "/{{ env \\"HOME\\" }}"', /^At 1:23: .*"env"/],
    [
      'verify_organization {\n  account_list_file = "/nonexistent.json"\n}',
      /^At 2:23: invalid "account_list_file" in the block: "verify_organization": unable to read account list file: open \/nonexistent.json: no such file or directory$/,
    ],
    [
      'aws_certificate {\n  region = "us-east-1"\n  kind = "rsa2048"\n  pem_path = "/nonexistent.pem"\n}',
      /^At 4:14: aws_certificate\[0\] \(region "us-east-1", kind "rsa2048"\): pem_path "\/nonexistent.pem": cannot read: open \/nonexistent.pem: no such file or directory$/,
    ],
  ])("%s: the problem Configure reports, at its position", async (text, expected) => {
    const path = file("configure-check.hcl", `${text}\n`);
    const r = await run("server", path);
    expect(r.code).toBe(1);
    const [line] = r.out.split("\n");
    expect(line!.slice(path.length + 1).replace(/^(\d+):(\d+): /, "At $1:$2: ")).toMatch(expected);
  });

  it("reads aws_iam plugin_data with aws_iam's checks (server-iam, agent-iam)", async () => {
    const server = file("iam-server.hcl", 'allowed_role_arns = ["arn:aws:iam::*:role/x"]\n');
    const r = await run("server-iam", server);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${server}:1:21: allowed_role_arns: "arn:aws:iam::*:role/x" does not fix the account`,
    );
    const ok = await run("server-iam", file("iam-ok.hcl", 'allowed_account_ids = ["123456789012"]\n'));
    expect(ok.out).toMatch(/valid aws_iam server configuration/);
    const agent = await run("agent-iam", file("iam-agent.hcl", 'region = "mars-east-1"\n'));
    expect(agent.out).toContain('1:10: region "mars-east-1" is not a known AWS region with an STS endpoint');
  });

  it("chooses the method of a whole file as the plugin does at load: plugin_args, else plugin_cmd's file name", async () => {
    const conf = (cmd: string, args: string): string =>
      file(
        "method.conf",
        `plugins {\n  NodeAttestor "aws_iam" {\n    plugin_cmd = "${cmd}"\n${args}    plugin_data {\n      allowed_account_ids = ["123456789012"]\n    }\n  }\n}\n`,
      );
    expect((await run("server", conf("/opt/spire-aws-iam", ""))).out).toMatch(/valid aws_iam server/);
    expect(
      (await run("server", conf("/opt/spire-aws-iid", '    plugin_args = ["server-iam"]\n'))).out,
    ).toMatch(/valid aws_iam server/);
    // Asked for aws_iam, but SPIRE would load aws_iid: said before aws_iid's own checks.
    const iid = await run("server-iam", conf("/opt/spire-aws-iid", ""));
    expect(iid.code).toBe(1);
    expect(iid.out).toContain(
      'NodeAttestor "aws_iam" loads aws_iid, not aws_iam: without plugin_args the file name of plugin_cmd ("spire-aws-iid") selects aws_iid',
    );
    const args = await run("server-iam", conf("/opt/spire-aws-iam", '    plugin_args = ["server"]\n'));
    expect(args.out).toContain(
      ':4:5: NodeAttestor "aws_iam" loads aws_iid, not aws_iam: plugin_args ["server"] select aws_iid; set plugin_args = ["server-iam"]',
    );
  });

  it("says when the file is the other side's configuration", async () => {
    const conf = file(
      "agent-side.conf",
      'agent {\n  trust_domain = "example.org"\n}\nplugins {\n  NodeAttestor "aws_iid" {\n    plugin_data {}\n  }\n}\n',
    );
    const r = await run("server", conf);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${conf}:1:1: this file has an "agent" block: it is a SPIRE agent configuration; check it with check-config agent`,
    );
    expect((await run("agent", conf)).code).toBe(0);
  });
});

describe("check-config reads the environment Configure reads", () => {
  it("refuses the agent's IMDS settings of the environment as Configure does", async () => {
    const body = file("agent-env.hcl", "imds_retries = 2\n");
    const lines: string[] = [];
    const io = { out: (s: string) => void lines.push(s), err: (s: string) => void lines.push(s) };
    const code = await runCheckConfig(["agent", body], io, {
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv5" },
    });
    expect(code).toBe(1);
    expect(lines[0]).toBe(
      `${body}:AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE="IPv5" is not a valid IMDS endpoint mode, must be IPv4 or IPv6`,
    );
    expect(await runCheckConfig(["agent", body], io, { env: {} })).toBe(0);
  });
});

describe("check-config reads the aws_iam server's environment as Configure does", () => {
  it("refuses an STS endpoint override Configure would refuse", async () => {
    const body = file("iam-env.hcl", 'allowed_account_ids = ["123456789012"]\n');
    const lines: string[] = [];
    const io = { out: (s: string) => void lines.push(s), err: (s: string) => void lines.push(s) };
    expect(await runCheckConfig(["server-iam", body], io, { env: { AWS_ENDPOINT_URL_STS: "ftp://x" } })).toBe(
      1,
    );
    expect(lines[0]).toMatch(new RegExp(`^${body}:.*AWS_ENDPOINT_URL`));
    expect(await runCheckConfig(["server-iam", body], io, { env: {} })).toBe(0);
  });
});
