/**
 * Entry point of dist/spire-aws-iid.
 *
 * - Started by SPIRE (magic cookie NodeAttestor=NodeAttestor in the environment): argv[2] is
 *   the side from plugin_args: "server" or "agent" (aws_iid), "server-iam" or "agent-iam"
 *   (aws_iam, docs/aws-iam.md). SPIRE uses the same cookie for both sides and both methods,
 *   so the side cannot come from anywhere else.
 * - Started by a person: argv[2] is an operator command (verify, check-config, demo), or
 *   version / --version, help / --help.
 *
 * Static imports stay limited to the go-plugin/SPIRE runtime: the attestors (AWS SDK, pkijs)
 * and the operator commands are imported on demand, after the handshake line for the plugin.
 */
import { basename } from "node:path";
import { COMMIT, VERSION, versionText } from "./common/build-info";
import { describeError } from "./common/errors";
import { appProtocolAccepted, hasMagicCookie, missingCookieMessage } from "./goplugin/handshake";
import { HclogLogger } from "./goplugin/hclog";
import { guardStdout } from "./goplugin/stdout-guard";
import { serve } from "./spire/serve";

/** An operator command module: `export async function run(args): Promise<exitCode>`. */
export interface OperatorCommand {
  run(args: readonly string[]): Promise<number>;
}

const stdio = {
  out: (s: string): void => void process.stdout.write(s),
  err: (s: string): void => void process.stderr.write(s),
};

interface CommandEntry {
  /** One line for `--help`. */
  summary: string;
  /** Lazily imported so a plugin start never pays for it. */
  load(): Promise<OperatorCommand>;
}

const COMMANDS: Record<string, CommandEntry> = {
  "check-config": {
    summary: "check a server.conf/agent.conf or a plugin_data body",
    load: async () => {
      const { runCheckConfig } = await import("./cli/check-config");
      // runCheckConfig hands over one line per call (its CheckIo contract), without "\n".
      const lines = {
        out: (s: string): void => stdio.out(`${s}\n`),
        err: (s: string): void => stdio.err(`${s}\n`),
      };
      return { run: (args) => runCheckConfig([...args], lines) };
    },
  },
  verify: {
    summary: "verify an instance identity document saved from IMDS",
    load: async () => {
      const { runVerify } = await import("./cli/verify");
      return { run: (args) => runVerify([...args], stdio) };
    },
  },
  // The demo bundles the loopback testkit; it stays behind this import so a plugin start
  // never loads it.
  demo: {
    summary: "attest two nodes end to end on loopback fakes (no AWS account)",
    load: async () => {
      const { runDemo } = await import("./cli/demo");
      return { run: (args) => runDemo([...args], stdio) };
    },
  },
  version: {
    summary: "print the version, the git commit and the Node.js it runs on (also --version)",
    load: async () => ({ run: async () => printed(versionText()) }),
  },
  help: {
    summary: "print this text (also --help)",
    load: async () => ({ run: async () => printed(usage(basename(process.argv[1] ?? "spire-aws-iid"))) }),
  },
};
function printed(text: string): number {
  stdio.out(text);
  return 0;
}
const ALIASES: Record<string, string> = { "--version": "version", "--help": "help", "-h": "help" };

const SIDES = ["server", "agent", "server-iam", "agent-iam"] as const;
type Side = (typeof SIDES)[number];

function isSide(s: string | undefined): s is Side {
  return (SIDES as readonly (string | undefined)[]).includes(s);
}

function usage(program: string): string {
  return [
    `usage: ${program} server|agent|server-iam|agent-iam`,
    "         started by SPIRE as an external NodeAttestor plugin (plugin_args): server/agent for",
    '         NodeAttestor "aws_iid", server-iam/agent-iam for NodeAttestor "aws_iam"',
    `       ${program} <command> [args]`,
    ...Object.entries(COMMANDS).map(([name, c]) => `         ${name.padEnd(14)} ${c.summary}`),
    `       ${program} <command> --help   usage of one command`,
    "",
  ].join("\n");
}

async function runPlugin(side: Side, logger: HclogLogger): Promise<void> {
  process.on("uncaughtException", (err) => {
    // SPIRE never restarts a dead plugin (every later call fails until SPIRE restarts), so a
    // stray exception is logged and survived rather than turned into a crash.
    logger.error("Uncaught exception", { error: describeError(err), stack: err.stack ?? "" });
  });
  process.on("unhandledRejection", (reason) => {
    logger.error("Unhandled promise rejection", { error: describeError(reason) });
  });
  try {
    switch (side) {
      case "server":
        await serve({
          side: "server",
          logger,
          loadFactory: async () => (await import("./server/plugin")).createServerPlugin,
        });
        break;
      case "agent":
        await serve({
          side: "agent",
          logger,
          loadFactory: async () => (await import("./agent/plugin")).createAgentPlugin,
        });
        break;
      case "server-iam":
        await serve({
          side: "server",
          logger,
          loadFactory: async () => (await import("./iam/server-plugin")).createIamServerPlugin,
        });
        break;
      case "agent-iam":
        await serve({
          side: "agent",
          logger,
          loadFactory: async () => (await import("./iam/agent-plugin")).createIamAgentPlugin,
        });
        break;
    }
  } catch (err) {
    // Before the handshake: SPIRE reports "plugin exited before we could connect"; the reason
    // is only here. As an hclog record go-plugin re-logs it at ERROR (raw text would be DEBUG).
    logger.error(`cannot start the ${side} plugin: ${describeError(err)}`);
    process.exit(1);
  }
  guardStdout(logger);
  logger.debug("Plugin started", {
    side,
    version: VERSION,
    commit: COMMIT,
    pid: process.pid,
    node: process.version,
  });
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const program = basename(argv[1] ?? "spire-aws-iid");
  const arg = argv[2];

  if (hasMagicCookie(env)) {
    // Started by a go-plugin host: complaints go out as hclog records so SPIRE shows them at
    // ERROR next to its own "plugin exited before we could connect".
    const logger = new HclogLogger();
    if (!isSide(arg)) {
      logger.error(
        `unknown plugin side ${JSON.stringify(arg ?? "")}: set plugin_args = ["server"] in server.conf or plugin_args = ["agent"] in agent.conf (aws_iam: ["server-iam"] / ["agent-iam"])`,
      );
      process.exit(2);
    }
    if (!appProtocolAccepted(env)) {
      logger.error(
        `the host does not accept plugin protocol version 1 (PLUGIN_PROTOCOL_VERSIONS=${env.PLUGIN_PROTOCOL_VERSIONS ?? ""})`,
      );
      process.exit(1);
    }
    await runPlugin(arg, logger);
    return;
  }

  const entry = arg === undefined ? undefined : COMMANDS[ALIASES[arg] ?? arg];
  if (entry !== undefined) {
    const command = await entry.load();
    process.exitCode = await command.run(argv.slice(3));
    return;
  }
  if (arg === undefined || isSide(arg)) {
    // Like a Go plugin run by hand, with a pointer to the operator commands.
    process.stderr.write(missingCookieMessage(program));
    process.exit(1);
  }
  process.stderr.write(`${program}: unknown command ${JSON.stringify(arg)}\n${usage(program)}`);
  process.exit(2);
}

void main(process.argv, process.env).catch((err: unknown) => {
  process.stderr.write(`spire-aws-iid: ${describeError(err)}\n`);
  process.exit(1);
});
