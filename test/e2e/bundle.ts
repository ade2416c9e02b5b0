/**
 * The built bundle as the e2e specs launch it. A private copy per spec file: a concurrent
 * `npm run build` in the same tree must not swap the file under a running plugin (go-plugin
 * also hashes plugin_cmd on every launch when a checksum is configured).
 */
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Scenario } from "../../src/testkit/scenario";
import { loadPlugin, type SpireHost } from "../../src/testkit/spire-host";

export const ROOT = resolve(__dirname, "../..");

export interface PrivateBundle {
  path: string;
  remove(): void;
}

export function privateBundle(): PrivateBundle {
  const dir = mkdtempSync(join(tmpdir(), "e2e-bundle-"));
  const path = join(dir, "spire-aws-iid");
  copyFileSync(join(ROOT, "dist", "spire-aws-iid"), path);
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The fakes' environment for a plugin process, minus AWS_EC2_METADATA_DISABLED: the agent
 * side honours it like the SDK does, and the server side reaches AWS only through the
 * AWS_ENDPOINT_URL/AWS_REGION settings anyway.
 */
export function pluginEnv(env: Record<string, string>): Record<string, string | undefined> {
  return { ...env, AWS_EC2_METADATA_DISABLED: undefined };
}

/**
 * The bundle loaded as SPIRE loads an aws_iam server plugin. The SDK's standard override
 * (AWS_ENDPOINT_URL_STS) makes the server send the agent-signed bytes to the scenario's fake.
 */
export function loadIamServer(bundle: PrivateBundle, scenario: Scenario, config: string): Promise<SpireHost> {
  return loadPlugin({
    command: bundle.path,
    args: ["server-iam"],
    side: "server",
    trustDomain: "example.org",
    config,
    env: { AWS_ENDPOINT_URL_STS: scenario.aws.url, AWS_ENDPOINT_URL: undefined },
  });
}
