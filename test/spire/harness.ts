/**
 * Runs the real spire-server and spire-agent (test/spire/build.ts) on loopback for the
 * end-to-end specs and the bench: each in its own temp dir (sqlite datastore, disk key manager,
 * sockets), the server's gRPC on 127.0.0.1, no health or telemetry listeners. Logs are JSON
 * (`log_format = "json"`) so specs can read the plugin's lines with their level and fields.
 *
 *   const server = await SpireServer.start({ dir, nodeAttestor: pluginBlock("aws_iid", …), env });
 *   const agent = await SpireAgent.start({ dir, server, nodeAttestor: …, env });
 *   await agent.attested();           // or: await agent.exited() for a refused agent
 *   server.cli(["agent", "list", "-output", "json"]);
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type ProcessResult, runProcess } from "../run-process";
import { REPO_ROOT, SPIRE_AGENT, SPIRE_SERVER } from "./build";

export const TRUST_DOMAIN = "example.org";
/** Bounds every wait on a SPIRE process so a stuck one fails the test instead of hanging it. */
const WAIT_MS = 90_000;
const CLI_TIMEOUT_MS = 60_000;

/** One line of SPIRE's JSON log (logrus): level, msg, and every field flattened beside them. */
export interface SpireLogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** SPIRE's output as log lines; a line that is not JSON (a panic, a usage message) has level "unparsed". */
export function parseLogLines(text: string): SpireLogLine[] {
  const out: SpireLogLine[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as SpireLogLine);
    } catch {
      out.push({ level: "unparsed", msg: line });
    }
  }
  return out;
}

export interface PluginCopy {
  path: string;
  sha256: string;
}

/**
 * A private copy of dist/spire-aws-iid in `dir`: a concurrent `npm run build` must not swap the
 * file under a running SPIRE (it checks plugin_checksum on every launch), and a path unique to
 * the test tells its plugin processes apart from everyone else's. `name` matters without
 * plugin_args: a file named spire-aws-iam runs the aws_iam method.
 */
export function pluginCopy(dir: string, options: { source?: string; name?: string } = {}): PluginCopy {
  const path = join(dir, options.name ?? "spire-aws-iid");
  copyFileSync(options.source ?? join(REPO_ROOT, "dist", "spire-aws-iid"), path);
  chmodSync(path, 0o755);
  return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
}

/** A `NodeAttestor` block; without `plugin` it is SPIRE's built-in of that name. */
export function nodeAttestorBlock(
  name: string,
  pluginData: string,
  plugin?: { copy: PluginCopy; args?: readonly string[] },
): string {
  const external =
    plugin === undefined
      ? ""
      : [
          `    plugin_cmd = ${JSON.stringify(plugin.copy.path)}`,
          `    plugin_checksum = "${plugin.copy.sha256}"`,
          ...(plugin.args === undefined ? [] : [`    plugin_args = ${JSON.stringify(plugin.args)}`]),
        ].join("\n");
  return `  NodeAttestor ${JSON.stringify(name)} {\n${external}\n    plugin_data {\n${pluginData}\n    }\n  }`;
}

/** PIDs of live processes whose command line mentions `path` (the plugin processes of one test). */
export function processesRunning(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // A zombie has already exited; its parent just has not reaped it yet.
      if (cmdline.includes(path) && !/^\d+ \(.*\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Plugin processes of `path` still alive after go-plugin's 2 s grace for a closed client. */
export async function settledProcessCount(path: string): Promise<number> {
  let left = processesRunning(path);
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesRunning(path);
  }
  return left.length;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export type CliResult = ProcessResult;

/**
 * One SPIRE process (server or agent) with its JSON log collected line by line. stdout and
 * stderr both carry log lines; anything that is not JSON (a Go panic, a CLI usage message) is
 * kept as an "unparsed" line so a failing test can show it.
 */
class SpireProcess {
  readonly logs: SpireLogLine[] = [];
  private readonly child: ChildProcess;
  private readonly exit: Promise<number | null>;
  private waiters: (() => void)[] = [];
  exitCode: number | null | undefined;

  constructor(binary: string, configPath: string, env: Record<string, string | undefined>) {
    this.child = spawn(binary, ["run", "-config", configPath], {
      env: processEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        rest += chunk;
        const lines = rest.split("\n");
        rest = lines.pop() ?? "";
        for (const l of lines) this.addLine(l);
      });
    }
    this.exit = new Promise((resolveExit) => {
      this.child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        this.notify();
        resolveExit(this.exitCode);
      });
      this.child.once("error", (err) => {
        this.logs.push({ level: "error", msg: `spawn failed: ${err.message}` });
        this.exitCode = -1;
        this.notify();
        resolveExit(-1);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private addLine(line: string): void {
    this.logs.push(...parseLogLines(line));
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the first log line matching, or rejects when the process exits first or time runs out. */
  async waitForLog(
    match: (l: SpireLogLine) => boolean,
    what: string,
    timeoutMs = WAIT_MS,
  ): Promise<SpireLogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found !== undefined) return found;
      if (this.exitCode !== undefined) {
        throw new Error(`exited (${this.exitCode}) before ${what}:\n${this.tail()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}:\n${this.tail()}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The process's exit code, waiting at most `timeoutMs`. */
  async exited(timeoutMs = WAIT_MS): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`did not exit within ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then the exit code (SIGKILL if it does not stop in time, and the test fails). */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.kill("SIGTERM");
    try {
      return await this.exited(timeoutMs);
    } catch (err) {
      this.child.kill("SIGKILL");
      throw err;
    }
  }

  tail(n = 40): string {
    return this.logs
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join("\n");
  }
}

/** The caller's environment minus anything that could send AWS traffic off the machine, plus `env`. */
function processEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  for (const k of Object.keys(out)) {
    if (k.startsWith("AWS_ENDPOINT_URL") || k === "AWS_PROFILE" || k.startsWith("AWS_ACCESS_KEY"))
      delete out[k];
  }
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

export interface SpireServerOptions {
  /** Working directory (config, data, sockets); the caller removes it. */
  dir: string;
  /** NodeAttestor block(s), see nodeAttestorBlock. */
  nodeAttestor: string;
  /** Environment for the server and so for its plugins (AWS endpoints and credentials). */
  env?: Record<string, string | undefined>;
  logLevel?: string;
}

export class SpireServer extends SpireProcess {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly socketPath: string,
    readonly configPath: string,
    env: Record<string, string | undefined>,
  ) {
    super(SPIRE_SERVER, configPath, env);
  }

  /** Writes server.conf into `dir` (no process). Returns its path. */
  static writeConfig(options: SpireServerOptions, port: number): string {
    const { dir } = options;
    mkdirSync(join(dir, "data"), { recursive: true });
    const config = `server {
  bind_address = "127.0.0.1"
  bind_port = "${port}"
  socket_path = ${JSON.stringify(join(dir, "api.sock"))}
  trust_domain = "${TRUST_DOMAIN}"
  data_dir = ${JSON.stringify(join(dir, "data"))}
  log_level = "${options.logLevel ?? "DEBUG"}"
  log_format = "json"
}

plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = ${JSON.stringify(join(dir, "data", "datastore.sqlite3"))}
    }
  }
  KeyManager "disk" {
    plugin_data {
      keys_path = ${JSON.stringify(join(dir, "data", "keys.json"))}
    }
  }
${options.nodeAttestor}
}
`;
    const path = join(dir, "server.conf");
    writeFileSync(path, config);
    return path;
  }

  /** Starts `spire-server run` and waits until its API answers (healthcheck). */
  static async start(options: SpireServerOptions): Promise<SpireServer> {
    const port = await freePort();
    const configPath = SpireServer.writeConfig(options, port);
    const server = new SpireServer(
      options.dir,
      port,
      join(options.dir, "api.sock"),
      configPath,
      options.env ?? {},
    );
    await server.waitForLog((l) => l.msg === "Starting Server APIs", "the server APIs");
    await server.waitHealthy();
    return server;
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const r = await this.cli(["healthcheck", "-shallow"]);
      if (r.status === 0) return;
      if (this.exitCode !== undefined || Date.now() > deadline) {
        throw new Error(`spire-server never became healthy: ${r.stderr}\n${this.tail()}`);
      }
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /**
   * `spire-server <args> -socketPath <this server's socket>`. Never spawnSync here: the loopback
   * fakes the server's plugin talks to live in the calling process and must keep answering.
   */
  cli(args: readonly string[]): Promise<CliResult> {
    return runCommand(SPIRE_SERVER, [...args, "-socketPath", this.socketPath]);
  }

  /** The trust bundle (PEM) an agent bootstraps from, written to `path`. */
  async writeBundle(path: string): Promise<void> {
    const r = await this.cli(["bundle", "show"]);
    if (r.status !== 0) throw new Error(`bundle show failed: ${r.stderr}`);
    writeFileSync(path, r.stdout);
  }

  /** `spire-server agent list -output json`, the agents as SPIRE's API returns them. */
  async listAgents(): Promise<ApiAgent[]> {
    const r = await this.cli(["agent", "list", "-output", "json"]);
    if (r.status !== 0) throw new Error(`agent list failed: ${r.stderr}`);
    return ((JSON.parse(r.stdout) as { agents?: ApiAgent[] }).agents ?? []) as ApiAgent[];
  }

  /** `spire-server entry create …`; throws with SPIRE's message when it refuses. */
  async createEntry(args: readonly string[]): Promise<void> {
    const r = await this.cli(["entry", "create", ...args]);
    if (r.status !== 0) throw new Error(`entry create ${args.join(" ")} failed: ${r.stderr}${r.stdout}`);
  }
}

export interface ApiAgent {
  id: { trust_domain: string; path: string };
  attestation_type: string;
  selectors?: { type: string; value: string }[];
  can_reattest?: boolean;
  banned?: boolean;
}

export const agentIdOf = (a: ApiAgent): string => `spiffe://${a.id.trust_domain}${a.id.path}`;
export const selectorsOf = (a: ApiAgent): string[] =>
  (a.selectors ?? []).map((s) => `${s.type}:${s.value}`).sort();

export interface SpireAgentOptions {
  dir: string;
  server: SpireServer;
  nodeAttestor: string;
  env?: Record<string, string | undefined>;
  logLevel?: string;
}

export class SpireAgent extends SpireProcess {
  private constructor(
    readonly dir: string,
    readonly socketPath: string,
    configPath: string,
    env: Record<string, string | undefined>,
  ) {
    super(SPIRE_AGENT, configPath, env);
  }

  /** Starts `spire-agent run` (bootstrapping from the server's bundle); does not wait. */
  static async start(options: SpireAgentOptions): Promise<SpireAgent> {
    const { dir } = options;
    mkdirSync(join(dir, "data"), { recursive: true });
    const bundlePath = join(dir, "bundle.pem");
    await options.server.writeBundle(bundlePath);
    const socketPath = join(dir, "workload.sock");
    const config = `agent {
  data_dir = ${JSON.stringify(join(dir, "data"))}
  log_level = "${options.logLevel ?? "DEBUG"}"
  log_format = "json"
  server_address = "127.0.0.1"
  server_port = "${options.server.port}"
  socket_path = ${JSON.stringify(socketPath)}
  trust_bundle_path = ${JSON.stringify(bundlePath)}
  trust_domain = "${TRUST_DOMAIN}"
}

plugins {
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
${options.nodeAttestor}
}
`;
    const configPath = join(dir, "agent.conf");
    writeFileSync(configPath, config);
    return new SpireAgent(dir, socketPath, configPath, options.env ?? {});
  }

  /** Resolves once the agent holds its SVID (SPIRE logs "Node attestation was successful"). */
  attested(timeoutMs = WAIT_MS): Promise<SpireLogLine> {
    return this.waitForLog((l) => l.msg === "Node attestation was successful", "node attestation", timeoutMs);
  }

  /** `spire-agent api fetch x509` against this agent's Workload API, as the calling process. */
  fetchX509(): Promise<CliResult> {
    return runCommand(SPIRE_AGENT, [
      "api",
      "fetch",
      "x509",
      "-socketPath",
      this.socketPath,
      "-output",
      "json",
    ]);
  }
}

/** `spire-server <args>` on its own (validate, or a run expected to fail), waiting for its exit. */
export function spireServerCommand(args: readonly string[]): Promise<CliResult> {
  return runCommand(SPIRE_SERVER, args);
}

/** Runs a command to its end (bounded by the CLI timeout) without blocking the fakes in this process. */
export function runCommand(binary: string, args: readonly string[]): Promise<CliResult> {
  return runProcess(binary, args, { timeoutMs: CLI_TIMEOUT_MS });
}

/** What a spec or bench run started; a part is undefined when the run failed before starting it. */
export interface SpireRun {
  agents: readonly SpireAgent[];
  server: SpireServer | undefined;
  /** Loopback fakes (IMDS, AWS), closed once SPIRE has stopped. */
  fakes: readonly ({ close(): Promise<void> } | undefined)[];
  dir: string | undefined;
}

/** Stops everything a run started, agents before their server, and removes its directory. */
export async function stopAll(run: SpireRun): Promise<void> {
  for (const a of run.agents) await a.stop().catch(() => undefined);
  await run.server?.stop().catch(() => undefined);
  for (const fake of run.fakes) await fake?.close();
  if (run.dir !== undefined) rmSync(run.dir, { recursive: true, force: true });
}
