import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configNotes, runCheckConfig } from "./check-config";

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
    expect(r.out).toMatch(/valid server configuration/);
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

  it("gives Validate the same problems as notes", () => {
    expect(configNotes("server", "")).toEqual([]);
    expect(configNotes("agent", "imds_retries = true\nfoo = 1")).toEqual([
      "At 1:16: imds_retries: expected an integer, got a bool",
      'At 2:1: unknown key "foo"',
    ]);
    expect(configNotes("server", "a = [")).toEqual([
      expect.stringMatching(/^At 1:\d+: unexpected token while parsing list: EOF/),
    ]);
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
    expect(r.out).toMatch(/valid server configuration/);
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
    expect(out).toMatch(/valid server configuration/);
    out = "";
    // Without the flag the account list holds the literal "$ACCOUNT", which is no account ID.
    expect(await runCheckConfig(["server", conf], io, { env })).toBe(1);
  });
});
