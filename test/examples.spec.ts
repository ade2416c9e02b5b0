/**
 * Every file under examples/ is loaded here with the plugin's own code, so an example cannot
 * rot when a key, default or message changes:
 * - whole server.conf/agent.conf files (HCL and JSON) through `check-config` exactly as an
 *   operator runs it, then their plugin_data through a real Configure-time compile of the
 *   agent path template;
 * - examples/plugin_data/*.hcl through the side's schema (agent-*.hcl: agent side);
 * - the account list JSON through the file-mode reader the organization cache uses;
 * - aws_iam confs through the aws_iam decoders;
 * - IAM policies: valid JSON whose allowed actions are exactly those docs/iam-permissions.md
 *   lists for that file;
 * - the Helm values' plugin_data and the systemd drop-in.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPluginData, runCheckConfig } from "../src/cli/check-config";
import { type GoValue, parseToGoValue } from "../src/hcl/generic";
import { printHcl } from "../src/hcl/printer";
import { EMBEDDED_CERTIFICATES } from "../src/iid/certs/generated";
import { readAccountListFile } from "../src/org/account-list-file";
import { parseServerConfig } from "../src/server/config";

const root = resolve(__dirname, "..");
const examples = join(root, "examples");
const read = (...p: string[]): string => readFileSync(join(examples, ...p), "utf8");
const SERVER = { side: "server", method: "aws_iid" } as const;

/**
 * The example's /etc/spire paths pointed at files of this machine: the account list of
 * examples/plugin_data and a real AWS rsa2048 certificate written out as PEM.
 */
const scratch = mkdtempSync(join(tmpdir(), "examples-"));
const pem = join(scratch, "cert.pem");
const rsa2048 = EMBEDDED_CERTIFICATES.find((c) => c.kind === "rsa2048")!;
writeFileSync(
  pem,
  `-----BEGIN CERTIFICATE-----\n${rsa2048.der.replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`,
);
function localFiles(text: string): string {
  return text
    .replace("/etc/spire/org-accounts.json", join(examples, "plugin_data", "org-accounts.json"))
    .replace(/\/etc\/spire\/aws-certs\/[^"]+\.pem/, pem);
}

async function checkConfig(side: "server" | "agent", file: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = {
    out: (s: string): void => {
      lines.push(s);
    },
    err: (s: string): void => {
      lines.push(s);
    },
  };
  const code = await runCheckConfig([side, join(examples, file)], io, { env: {} });
  return { code, out: lines.map((l) => `${l}\n`).join("") };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

function mapGet(v: GoValue | undefined, key: string): GoValue | undefined {
  if (v === undefined) return undefined;
  if (v.t === "slice") return v.items.length === 1 ? mapGet(v.items[0], key) : undefined;
  return v.t === "map" ? v.m.get(key) : undefined;
}

/** plugin_data of NodeAttestor `name`, re-printed as HCL the way SPIRE hands it to a plugin. */
function pluginDataOf(confText: string, name: string): string {
  const tree = parseToGoValue(confText);
  let data = mapGet(mapGet(mapGet(mapGet(tree, "plugins"), "NodeAttestor"), name), "plugin_data");
  if (data?.t === "slice") data = data.items[0];
  if (data === undefined || data.t !== "map") throw new Error(`no plugin_data for ${name}`);
  return printHcl(data);
}

describe("examples: whole SPIRE configuration files", () => {
  it.each([
    ["server", "server.conf"],
    ["server", "server.conf.json"],
    ["agent", "agent.conf"],
    ["agent", "agent.conf.json"],
  ] as const)("check-config %s examples/%s is valid", async (side, file) => {
    const { code, out } = await checkConfig(side, file);
    expect(out).toContain(`valid aws_iid ${side} configuration of NodeAttestor "aws_iid"`);
    expect(code).toBe(0);
  });

  it("the built bundle prints one line per result (what an operator sees)", () => {
    // dist/spire-aws-iid is built by test/global-setup.ts.
    const run = (file: string): { status: number | null; stdout: string } =>
      spawnSync(process.execPath, [join(root, "dist", "spire-aws-iid"), "check-config", "server", file], {
        encoding: "utf8",
        cwd: root,
      });
    const ok = run("examples/server.conf");
    expect(ok.stdout).toBe(
      'examples/server.conf: valid aws_iid server configuration of NodeAttestor "aws_iid"\n',
    );
    expect(ok.status).toBe(0);
    const bad = run("examples/plugin_data/agent-imds.hcl");
    expect(bad.stdout.split("\n")).toEqual([
      'examples/plugin_data/agent-imds.hcl:3:1: unknown key "ec2_metadata_endpoint"',
      'examples/plugin_data/agent-imds.hcl:4:1: unknown key "imds_timeout"',
      'examples/plugin_data/agent-imds.hcl:5:1: unknown key "disable_imdsv1_fallback"',
      "examples/plugin_data/agent-imds.hcl: invalid aws_iid server configuration: 3 problems",
      "",
    ]);
    expect(bad.status).toBe(1);
  });

  it("HCL and JSON flavours say the same thing", () => {
    for (const [a, b] of [
      ["server.conf", "server.conf.json"],
      ["agent.conf", "agent.conf.json"],
    ]) {
      const hcl = pluginDataOf(read(a!), "aws_iid");
      const json = pluginDataOf(read(b!), "aws_iid");
      if (a === "agent.conf") {
        // agent.conf keeps the endpoint as a comment only.
        expect(json).toBe(hcl);
      } else {
        expect(parseServerConfig(json, { env: {} }).config).toEqual(
          parseServerConfig(hcl, { env: {} }).config,
        );
      }
    }
  });

  it("the whole-file checker really rejects a broken example (the test can fail)", async () => {
    const broken = read("server.conf").replace("assume_role =", "asume_role =");
    expect(
      (await checkPluginData(SERVER, pluginDataOf(broken, "aws_iid"), { env: {} })).map((p) => p.message),
    ).toEqual(['unknown key "asume_role", did you mean assume_role?']);
  });
});

describe("examples/plugin_data", () => {
  const files = readdirSync(join(examples, "plugin_data")).filter((f) => f.endsWith(".hcl"));

  it("has one example per documented feature", () => {
    expect(files.sort()).toEqual(
      [
        "agent-imds.hcl",
        "path-template.hcl",
        "assume-role.hcl",
        "aws-certificate.hcl",
        "client-ip.hcl",
        "eks.hcl",
        "minimal.hcl",
        "organization-api.hcl",
        "organization-file.hcl",
        "organization-short.hcl",
        "strict.hcl",
        "tuning.hcl",
      ].sort(),
    );
  });

  it.each(files)("%s is valid plugin_data", async (file) => {
    const side = file.startsWith("agent-") ? "agent" : "server";
    const text = localFiles(read("plugin_data", file));
    expect(
      (await checkPluginData({ side, method: "aws_iid" }, text, { env: {} })).map((p) => p.message),
    ).toEqual([]);
  });

  it("the files an example names are read: absent here, they are what check-config reports", async () => {
    for (const file of ["aws-certificate.hcl", "organization-file.hcl"]) {
      const problems = await checkPluginData(SERVER, read("plugin_data", file), { env: {} });
      expect(problems.map((p) => p.message)).toEqual([
        expect.stringMatching(/\/etc\/spire\/.*no such file or directory/),
      ]);
    }
  });

  it("the account list file is what file mode accepts", async () => {
    const accounts = await readAccountListFile(join(examples, "plugin_data", "org-accounts.json"));
    expect(accounts.length).toBeGreaterThan(0);
  });
});

describe("examples/aws-iam", () => {
  it.each([
    ["server", "server.conf"],
    ["server", "server-organization.conf"],
    ["agent", "agent.conf"],
  ] as const)("check-config %s examples/aws-iam/%s is valid aws_iam", async (side, file) => {
    const { code, out } = await checkConfig(side, join("aws-iam", file));
    expect(out).toContain(`valid aws_iam ${side} configuration of NodeAttestor "aws_iam"`);
    expect(code).toBe(0);
  });
});

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
}

function actionsOf(json: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (doc: unknown): void => {
    if (typeof doc !== "object" || doc === null) return;
    const statements = (doc as { Statement?: PolicyStatement[] }).Statement;
    if (Array.isArray(statements)) {
      for (const s of statements) {
        if (s.Effect !== "Allow") continue;
        for (const a of Array.isArray(s.Action) ? s.Action : [s.Action]) out.add(a);
      }
      return;
    }
    for (const v of Object.values(doc)) visit(v);
  };
  visit(json);
  return out;
}

/** Example file → actions, from the table of docs/iam-permissions.md. */
function documentedActions(): Map<string, Set<string>> {
  const doc = readFileSync(join(root, "docs", "iam-permissions.md"), "utf8");
  const byFile = new Map<string, Set<string>>();
  for (const line of doc.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 7 || !cells[5]?.includes("examples/")) continue;
    const actions = [...(cells[2] ?? "").matchAll(/`([a-z0-9-]+:[A-Za-z]+)`/g)].map((m) => m[1]!);
    for (const file of [...(cells[5] ?? "").matchAll(/`(examples\/[^`]+)`/g)].map((m) => m[1]!)) {
      const set = byFile.get(file) ?? new Set<string>();
      for (const a of actions) set.add(a);
      byFile.set(file, set);
    }
  }
  return byFile;
}

describe("examples: IAM policies", () => {
  const documented = documentedActions();
  const policyFiles = [
    ...readdirSync(join(examples, "iam")).map((f) => `examples/iam/${f}`),
    "examples/aws-iam/org-role-trust-and-permissions.json",
  ];

  it("docs/iam-permissions.md names every aws_iid policy example", () => {
    expect([...documented.keys()].sort()).toEqual(
      policyFiles.filter((f) => f.startsWith("examples/iam/")).sort(),
    );
  });

  it.each(policyFiles)("%s is valid JSON with exactly the documented actions", (file) => {
    const json: unknown = JSON.parse(readFileSync(join(root, file), "utf8"));
    const actions = actionsOf(json);
    // The aws_iam example bundles the organization role's trust and permissions in one file.
    const expected =
      file === "examples/aws-iam/org-role-trust-and-permissions.json"
        ? new Set([
            ...documented.get("examples/iam/organization-role-policy.json")!,
            ...documented.get("examples/iam/organization-role-trust.json")!,
          ])
        : documented.get(file);
    expect([...actions].sort()).toEqual([...(expected ?? [])].sort());
  });
});

describe("examples: deployment snippets", () => {
  it("helm/values.yaml: the chart's customPlugins route for server and agent, no plugin_args, a valid plugin_data", async () => {
    const text = read("helm", "values.yaml");
    expect(text).not.toMatch(/^\s*plugin_args:/m);
    expect(text).not.toMatch(/unsupportedBuiltInPlugins/);
    // customPlugins.nodeAttestor.aws_iid under both subcharts, each with the route's four keys.
    for (const chart of ["spire-server", "spire-agent"]) {
      const section = text.slice(text.indexOf(`\n${chart}:\n`));
      const entry = section.slice(section.indexOf("  customPlugins:\n    nodeAttestor:\n      aws_iid:\n"));
      expect(entry.length, chart).toBeLessThan(section.length);
      for (const key of ["image:", "plugin_cmd:", "plugin_checksum:", "plugin_data:"]) {
        expect(entry.slice(0, 1200), `${chart} ${key}`).toContain(`        ${key}`);
      }
    }
    expect(text).toMatch(/repository: platform\/spire-server-glibc/);
    expect(text).toMatch(/tag: "1\.15\.\d+"/);
    expect(text).toMatch(/runAsNonRoot: true/);
    expect(text).toMatch(/readOnlyRootFilesystem: true/);
    const start = text.indexOf("plugin_data: {");
    expect(start).toBeGreaterThan(0);
    let depth = 0;
    let end = start + "plugin_data: ".length;
    for (; end < text.length; end++) {
      if (text[end] === "{") depth++;
      if (text[end] === "}" && --depth === 0) break;
    }
    const json = text.slice(start + "plugin_data: ".length, end + 1);
    expect((await checkPluginData(SERVER, json, { env: {} })).map((p) => p.message)).toEqual([]);
  });

  it("no example pins a checksum: every plugin_checksum is a placeholder, never a build's 64 hex digits", () => {
    // A real checksum goes stale with the next build (SPIRE then refuses to start the plugin);
    // the operator pastes the first field of the .sha256 that ships with the file they install.
    const files = walk(examples).filter(
      (f) => /\.(conf|json|ya?ml|hcl)$/.test(f) || f.endsWith("Dockerfile"),
    );
    const found: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^\s*"?plugin_checksum"?\s*[:=]\s*"?([^"\n]*)"?/gm)) {
        found.push(m[1] ?? "");
        // 64 zeros where check-config must accept the file (valid hex, no build's value).
        expect(m[1], file).toMatch(/^(<[^<>]+>|0{64})$/);
      }
      expect(text.replace(/\b0{64}\b/g, ""), file).not.toMatch(/\b[0-9a-f]{64}\b/);
    }
    expect(found.length).toBeGreaterThanOrEqual(6);
  });

  it("systemd drop-in puts a node directory on PATH in a [Service] section", () => {
    const text = read("systemd", "spire-server.service.d-spire-aws-iid.conf");
    expect(text).toMatch(/^\[Service\]$/m);
    expect(text).toMatch(/^Environment=PATH=\S*node\S*\/bin:/m);
  });
});
