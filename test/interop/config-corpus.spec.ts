/**
 * check-config against the plugin itself: every config of a corpus of bad ones
 * (test/fixtures/check-config) and every example (examples/) goes through `check-config` and
 * through a real load under the go-plugin interop host (test/interop/host), which Inits and
 * Configures the plugin the way SPIRE does. Each config check-config calls valid must
 * configure; each it calls invalid must be refused with the same problems:
 *
 * - plugin_data problems: Configure answers InvalidArgument "invalid configuration:" and one
 *   line per problem. A body (plugin_data_file's text, what SPIRE sends as is) gives the very
 *   same lines, positions included. For a whole server.conf the host is handed plugin_data as
 *   SPIRE re-prints it (the Go HCL oracle runs SPIRE's printer), so only the messages compare:
 *   check-config's positions are in the operator's file, Configure's in the re-printed text.
 * - launch problems (plugin_args): the plugin logs the same words when SPIRE starts it.
 *
 * Fixture layout: <target>/<name>.hcl bodies checked as `check-config <target>` and loaded
 * with plugin_args [<target>]; conf/<side>-<name>.conf whole files, loaded with their own
 * plugin_args and a copy of the bundle named as their plugin_cmd.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CheckResult, checkConfigFile, findPlugins } from "../../src/cli/check-config";
import { equalFold, keyName } from "../../src/hcl/generic";
import { parse } from "../../src/hcl/parser";
import { formatProblem } from "../../src/hcl/schema";
import { stringValue } from "../../src/hcl/values";
import { EMBEDDED_CERTIFICATES } from "../../src/iid/certs/generated";
import { GO_BUILD_TIMEOUT_MS } from "../go-toolchain";
import { buildOracle, runOracle } from "../hcl-oracle/oracle";
import { buildGoHost, GO_HOST, type HostEvent, type HostRun, runGoHostAsync } from "./go-host";

const root = resolve(__dirname, "../..");
const corpus = join(root, "test", "fixtures", "check-config");
const examples = join(root, "examples");
const scratch = mkdtempSync(join(tmpdir(), "config-corpus-"));

/** The plugin's environment and check-config's: no AWS beyond a closed loopback port. */
const env: Record<string, string | undefined> = {
  ...process.env,
  AWS_ENDPOINT_URL: "http://127.0.0.1:9",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_ENDPOINT_URL_STS: undefined,
  AWS_EC2_METADATA_SERVICE_ENDPOINT: undefined,
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
};

/** A private copy of the bundle under `name`: the file name selects the method. */
const bundles = new Map<string, string>();
function bundleNamed(name: string): string {
  let path = bundles.get(name);
  if (path === undefined) {
    // Copied once: overwriting a file another load is executing fails with ETXTBSY.
    const dir = join(scratch, `bin-${name}`);
    path = join(dir, name);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(root, "dist", "spire-aws-iid"), path);
    bundles.set(name, path);
  }
  return path;
}

interface Case {
  name: string;
  /** check-config's target word. */
  target: "server" | "agent" | "server-iam" | "agent-iam";
  file: string;
  whole: boolean;
}

const bodyTargets = ["server", "agent", "server-iam", "agent-iam"] as const;

function corpusCases(): Case[] {
  const out: Case[] = [];
  for (const target of bodyTargets) {
    for (const f of readdirSync(join(corpus, target)).sort()) {
      out.push({ name: `${target}/${f}`, target, file: join(corpus, target, f), whole: false });
    }
  }
  for (const f of readdirSync(join(corpus, "conf")).sort()) {
    const target = f.startsWith("agent-") ? "agent" : "server";
    out.push({ name: `conf/${f}`, target, file: join(corpus, "conf", f), whole: true });
  }
  return out;
}

/** The example's /etc/spire paths pointed at files of this machine (an AWS PEM, the account list). */
function exampleText(text: string): string {
  const cert = EMBEDDED_CERTIFICATES.find((c) => c.kind === "rsa2048")!;
  const pem = join(scratch, "cert.pem");
  writeFileSync(
    pem,
    `-----BEGIN CERTIFICATE-----\n${cert.der.replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`,
  );
  return text
    .replace("/etc/spire/org-accounts.json", join(examples, "plugin_data", "org-accounts.json"))
    .replace(/\/etc\/spire\/aws-certs\/[^"]+\.pem/, pem);
}

function exampleCases(): Case[] {
  const out: Case[] = [];
  const whole: [Case["target"], string][] = [
    ["server", "server.conf"],
    ["server", "server.conf.json"],
    ["agent", "agent.conf"],
    ["agent", "agent.conf.json"],
    ["server", "aws-iam/server.conf"],
    ["server", "aws-iam/server-organization.conf"],
    ["agent", "aws-iam/agent.conf"],
  ];
  for (const [target, f] of whole) {
    out.push({ name: `examples/${f}`, target, file: join(examples, f), whole: true });
  }
  for (const f of readdirSync(join(examples, "plugin_data")).filter((n) => n.endsWith(".hcl"))) {
    const file = join(scratch, `example-${f}`);
    writeFileSync(file, exampleText(readFileSync(join(examples, "plugin_data", f), "utf8")));
    const target = f.startsWith("agent-") ? "agent" : "server";
    out.push({ name: `examples/plugin_data/${f}`, target, file, whole: false });
  }
  return out;
}

const cases = [...corpusCases(), ...exampleCases()];

interface Outcome {
  check: CheckResult;
  /** plugin_data as the host handed it to Configure. */
  sent: string;
  host: HostRun;
}

function entrySetting(text: string, plugin: string, key: string): string[] | undefined {
  const entry = findPlugins(parse(text).root)?.find((p) => p.type === "NodeAttestor" && p.name === plugin);
  const item = entry?.items.filter((i) => i.keys.length === 1 && equalFold(keyName(i), key)).at(-1);
  if (item?.val === undefined) return undefined;
  const vals = item.val.kind === "list" ? item.val.items : [item.val];
  return vals.map((v) => (v.kind === "literal" ? stringValue(v.token) : ""));
}

async function runCase(c: Case): Promise<Outcome> {
  const check = await checkConfigFile(c.target, c.file, { env });
  if (typeof check === "string") throw new Error(check);
  const side = c.target.startsWith("agent") ? "agent" : "server";
  let sent: string;
  let args: string[];
  let program: string;
  if (c.whole) {
    const text = readFileSync(c.file, "utf8");
    // SPIRE's own path: parse the whole file, re-print the NodeAttestor's plugin_data.
    const [printed] = runOracle([{ mode: "spire", input: text }]);
    const plugin = printed?.plugins?.find((p) => p.name === check.plugin);
    if (plugin === undefined)
      throw new Error(`the oracle found no NodeAttestor ${check.plugin} in ${c.name}`);
    sent = plugin.has_data ? plugin.data : "";
    args = entrySetting(text, check.plugin!, "plugin_args") ?? [];
    program = basename(plugin.plugin_cmd || "spire-aws-iid");
  } else {
    sent = readFileSync(c.file, "utf8");
    args = [c.target];
    program = "spire-aws-iid";
  }
  const config = join(scratch, `${c.name.replace(/[^A-Za-z0-9.-]/g, "_")}.sent`);
  writeFileSync(config, sent);
  const host = await runGoHostAsync(
    GO_HOST,
    ["load", "-side", side, "-config-file", config, "--", bundleNamed(program), ...args],
    env,
  );
  return { check, sent, host };
}

/** Runs `fn` over `items`, `limit` at a time: each load starts Node, and the machine is small. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const of = (run: HostRun, name: string): HostEvent[] => run.events.filter((e) => e.event === name);
const pluginMessages = (run: HostRun): string[] =>
  run.events
    .filter((e) => e.event === "log" && String(e.module).startsWith("host.") && e.module !== "host.stdio")
    .map((e) => String(e.message));
const withoutPosition = (line: string): string => line.replace(/^At \d+:\d+: /, "");

const outcomes = new Map<string, Outcome>();

beforeAll(async () => {
  buildGoHost();
  buildOracle();
  const results = await pool(cases, 3, runCase);
  for (const [i, c] of cases.entries()) outcomes.set(c.name, results[i]!);
}, GO_BUILD_TIMEOUT_MS);

describe("check-config says what the plugin refuses under a go-plugin host", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { check, host } = outcomes.get(c.name)!;
    const configure = of(host, "configure")[0];
    if (check.problems.length === 0) {
      expect(configure, JSON.stringify(host.events)).toMatchObject({ code: "OK" });
      return;
    }
    const messages = check.problems.map((p) => p.message);
    const logged = pluginMessages(host);
    const atLaunch = messages.filter((m) => logged.includes(m));
    if (atLaunch.length > 0) {
      // plugin_args: the plugin says so when SPIRE starts it, and the load fails.
      expect(configure?.code).not.toBe("OK");
      expect(host.status).not.toBe(0);
      return;
    }
    expect(configure, JSON.stringify(host.events)).toMatchObject({ code: "InvalidArgument" });
    const [header, ...lines] = String(configure!.message).split("\n");
    expect(header).toBe("invalid configuration:");
    if (c.whole) {
      expect(lines.map(withoutPosition).sort()).toEqual([...messages].sort());
    } else {
      // The same text, so the same positions.
      expect(lines).toEqual(check.problems.map(formatProblem));
    }
  });

  it("covers the cases the issue names, each refused", () => {
    for (const name of [
      "server/template-unclosed.hcl",
      "server/template-uuidv4.hcl",
      "server/template-env.hcl",
      "server/account-list-missing.hcl",
      "server/pem-missing.hcl",
      "server-iam/no-bound.hcl",
      "conf/server-plugin-args-agent.conf",
      "conf/agent-plugin-args-server.conf",
    ]) {
      expect(outcomes.get(name)?.check.problems.length, name).toBeGreaterThan(0);
    }
    for (const name of ["examples/aws-iam/server.conf", "conf/server-iam-by-file-name.conf"]) {
      expect(outcomes.get(name)?.check).toMatchObject({ method: "aws_iam", problems: [] });
    }
  });

  it("points into the operator's file, while Configure can only point into SPIRE's re-printed plugin_data", () => {
    const { check, host, sent } = outcomes.get("conf/server-typo-deep.conf")!;
    const [problem] = check.problems;
    expect(problem?.message).toMatch(/unknown key "verify_organisation"/);
    expect(problem?.pos).toMatchObject({ line: 52, column: 7 });
    const [, line] = String(of(host, "configure")[0]?.message).split("\n");
    const [, printedLine, printedColumn] = /^At (\d+):(\d+): /.exec(line ?? "") ?? [];
    // The re-printed body starts at line 1, unindented, with runs of blank lines collapsed.
    expect([Number(printedLine), Number(printedColumn)]).toEqual([41, 1]);
    expect(sent.split("\n")[40]).toBe("verify_organisation {");
  });
});
