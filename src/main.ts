/**
 * Entry point of dist/spire-aws-iid.
 *
 * - Started by SPIRE (magic cookie NodeAttestor=NodeAttestor in the environment): a plugin
 *   process; side and method from plugin_args if given, else from Init and the file name
 *   (src/plugin-selection.ts).
 * - Started by a person: argv[2] is an operator command (verify, check-config, demo), or
 *   version / --version, help / --help.
 *
 * Static imports stay limited to the go-plugin/SPIRE runtime: the attestors (and the AWS SDK
 * behind them) and the operator commands are imported on demand, after the handshake line for
 * the plugin. pkijs is loaded only for go-plugin AutoMTLS (goplugin/automtls.ts), which SPIRE
 * leaves off.
 */
import { basename } from "node:path";
import { COMMIT, VERSION, versionText } from "./common/build-info";
import { describeError } from "./common/errors";
import { capYoungGeneration } from "./common/heap-tuning";
import { appProtocolAccepted, hasMagicCookie, missingCookieMessage } from "./goplugin/handshake";
import { HclogLogger } from "./goplugin/hclog";
import { guardStdout } from "./goplugin/stdout-guard";
import { isPluginArg, type Method, type PluginSelection, selectPlugin } from "./plugin-selection";
import type { PluginFactories } from "./spire/plugin-sides";
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

const METHODS: Record<Method, PluginFactories> = {
  aws_iid: {
    server: async () => (await import("./server/plugin")).createServerPlugin,
    agent: async () => (await import("./agent/plugin")).createAgentPlugin,
  },
  aws_iam: {
    server: async () => (await import("./iam/server-plugin")).createIamServerPlugin,
    agent: async () => (await import("./iam/agent-plugin")).createIamAgentPlugin,
  },
};

function usage(program: string): string {
  return [
    `usage: ${program} [server|agent|server-iam|agent-iam]`,
    "         started by SPIRE as an external NodeAttestor plugin; plugin_args are optional: the",
    "         side is chosen at Init, the method from the file name (aws_iam if it contains",
    '         "aws_iam" or "aws-iam", else aws_iid)',
    `       ${program} <command> [args]`,
    ...Object.entries(COMMANDS).map(([name, c]) => `         ${name.padEnd(14)} ${c.summary}`),
    `       ${program} <command> --help   usage of one command`,
    "",
  ].join("\n");
}

async function runPlugin({ side, method }: PluginSelection, logger: HclogLogger): Promise<void> {
  capYoungGeneration({ execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS });
  process.on("uncaughtException", (err) => {
    // SPIRE never restarts a dead plugin (every later call fails until SPIRE restarts), so a
    // stray exception is logged and survived rather than turned into a crash.
    logger.error("Uncaught exception", { error: describeError(err), stack: err.stack ?? "" });
  });
  process.on("unhandledRejection", (reason) => {
    logger.error("Unhandled promise rejection", { error: describeError(reason) });
  });
  try {
    await serve({ side, factories: METHODS[method], logger });
  } catch (err) {
    // Before the handshake: SPIRE reports "plugin exited before we could connect"; the reason
    // is only here. As an hclog record go-plugin re-logs it at ERROR (raw text would be DEBUG).
    logger.error(`cannot start the ${method} plugin: ${describeError(err)}`, {
      side: side ?? "chosen at Init",
    });
    process.exit(1);
  }
  guardStdout(logger);
  logger.debug("Plugin started", {
    method,
    side: side ?? "chosen at Init",
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
    const selection = selectPlugin(arg, program);
    if (typeof selection === "string") {
      logger.error(selection);
      process.exit(2);
    }
    if (!appProtocolAccepted(env)) {
      logger.error(
        `the host does not accept plugin protocol version 1 (PLUGIN_PROTOCOL_VERSIONS=${env.PLUGIN_PROTOCOL_VERSIONS ?? ""})`,
      );
      process.exit(1);
    }
    await runPlugin(selection, logger);
    return;
  }

  const entry = arg === undefined ? undefined : COMMANDS[ALIASES[arg] ?? arg];
  if (entry !== undefined) {
    const command = await entry.load();
    process.exitCode = await command.run(argv.slice(3));
    return;
  }
  if (arg === undefined || isPluginArg(arg)) {
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
