/**
 * go-plugin's process contract (hashicorp/go-plugin server.go, client.go): the magic cookie
 * in the environment, the socket location, and the one handshake line on stdout.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** SPIRE uses the plugin type as both key and value of go-plugin's magic cookie. */
export const MAGIC_COOKIE_KEY = "NodeAttestor";
export const MAGIC_COOKIE_VALUE = "NodeAttestor";
export const CORE_PROTOCOL_VERSION = 1;
/** SPIRE's HandshakeConfig.ProtocolVersion; PLUGIN_PROTOCOL_VERSIONS is always "1". */
export const APP_PROTOCOL_VERSION = 1;

export function hasMagicCookie(env: NodeJS.ProcessEnv): boolean {
  return env[MAGIC_COOKIE_KEY] === MAGIC_COOKIE_VALUE;
}

/** Same wording as a Go plugin started by hand (go-plugin server.go). */
export function missingCookieMessage(programName: string): string {
  return [
    "This binary is a plugin. These are not meant to be executed directly.",
    "Please execute the program that consumes these plugins, which will",
    "load any plugins automatically.",
    "",
    `(${programName} is SPIRE's external NodeAttestor for AWS EC2 instance identity: set`,
    `plugin_cmd to it in server.conf / agent.conf, or run "${programName} demo" / "verify" /`,
    `"check-config" for the operator commands.)`,
    "",
  ].join("\n");
}

/**
 * The host lists acceptable app protocol versions; refuse early (with a message on stderr)
 * rather than print a handshake the host will reject.
 */
export function appProtocolAccepted(env: NodeJS.ProcessEnv): boolean {
  const raw = env.PLUGIN_PROTOCOL_VERSIONS;
  if (raw === undefined || raw.trim() === "") return true;
  return raw.split(",").some((v) => Number.parseInt(v.trim(), 10) === APP_PROTOCOL_VERSION);
}

/**
 * A fresh private directory for the socket. sun_path holds ~107 bytes, so the directory name
 * stays short ("/tmp/plugin-XXXXXX/plugin.sock"); go-plugin hosts that use a custom runner
 * pass PLUGIN_UNIX_SOCKET_DIR and expect the socket there.
 */
export function makeSocketDir(env: NodeJS.ProcessEnv): string {
  const base = env.PLUGIN_UNIX_SOCKET_DIR || env.TMPDIR || tmpdir();
  return mkdtempSync(join(base, "plugin-"));
}

/**
 * `1|1|unix|/abs/path|grpc|<cert>`: absolute path without a `unix:` prefix (go-plugin resolves
 * it with net.ResolveUnixAddr), sixth field the unpadded base64 DER certificate under AutoMTLS.
 */
export function handshakeLine(socketPath: string, serverCertDerBase64 = ""): string {
  return `${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socketPath}|grpc|${serverCertDerBase64}\n`;
}
