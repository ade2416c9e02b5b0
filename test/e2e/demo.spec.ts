/**
 * The demo a newcomer runs first (`npm run demo` = build + `dist/spire-aws-iid demo`), and the
 * bundle's command line as a person sees it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProcessResult, runProcess } from "../run-process";
import { type PrivateBundle, privateBundle, ROOT } from "./bundle";

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
  .version;

let bundle: PrivateBundle;

beforeAll(() => {
  bundle = privateBundle();
});

afterAll(() => {
  bundle?.remove();
});

function run(args: string[]): Promise<ProcessResult> {
  // A person's shell, not a go-plugin host.
  return runProcess(process.execPath, [bundle.path, ...args], {
    env: { ...process.env, NodeAttestor: undefined },
  });
}

describe("spire-aws-iid demo", () => {
  it("plays the story: member accepted with its agent ID, outsider refused with PermissionDenied; exit 0", async () => {
    const r = await run(["demo"]);
    expect(r.stderr).toBe("");
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(
      /agent SPIFFE ID {2}spiffe:\/\/example\.org\/spire\/agent\/aws_iid\/111122223333\/us-west-2\/i-[0-9a-f]{17}\n/,
    );
    expect(r.stdout).toContain("aws_iid:iamrole:arn:aws:iam::111122223333:role/web-node");
    expect(r.stdout).toMatch(
      /AWS calls by the server: {4}ec2:DescribeInstances ×1, iam:GetInstanceProfile ×1/,
    );
    expect(r.stdout).toContain("gRPC code  PermissionDenied (7)");
    expect(r.stdout).toContain("aws account 777788889999 is not in organization");
    expect(r.stdout).toContain("INFO Attestation accepted");
    expect(r.stdout).toContain("WARN Attestation rejected");
    expect(r.stdout).toContain("Result: as expected");
    expect(r.stdout.split("\n")[0]).toContain(`spire-aws-iid ${PACKAGE_VERSION} (commit `);
  });

  it("exits 1 and says what went wrong when the plugin cannot be launched", async () => {
    const r = await run(["demo", "--plugin", "/bin/false"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("Result: FAILED");
    expect(r.stdout).toContain("plugin exited before we could connect");

    const source = await run(["demo", "--plugin", "src/main.ts"]);
    expect(source.status).toBe(1);
    expect(source.stderr).toContain("npm run demo");
  });
});

describe("the bundle's command line", () => {
  it("lists the four plugin sides and the operator commands on a wrong command", async () => {
    const r = await run(["bogus"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "bogus"');
    expect(r.stderr).toContain("server|agent|server-iam|agent-iam");
    for (const command of ["check-config", "verify", "demo", "version", "help"]) {
      expect(r.stderr).toMatch(new RegExp(`^ +${command} +\\S`, "m"));
    }
  });

  it("--help and help list the commands on stdout, exit 0", async () => {
    for (const arg of ["--help", "help", "-h"]) {
      const r = await run([arg]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("server|agent|server-iam|agent-iam");
      for (const command of ["check-config", "verify", "demo", "version"]) {
        expect(r.stdout).toMatch(new RegExp(`^ +${command} +\\S`, "m"));
      }
    }
  });

  it("--version and version print the package version, the git commit built from and the Node it runs on", async () => {
    for (const arg of ["--version", "version"]) {
      const r = await run([arg]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout.split("\n")).toEqual([
        `spire-aws-iid ${PACKAGE_VERSION}`,
        expect.stringMatching(/^commit [0-9a-f]{40}(-dirty)?$/),
        `node ${process.version} (${process.execPath})`,
        "",
      ]);
      // A commit of this checkout: HEAD when the tree was built, or its ancestor if someone
      // committed while the suite ran.
      const commit = /^commit ([0-9a-f]{40})/m.exec(r.stdout)?.[1] ?? "";
      const ancestor = spawnSync("git", ["merge-base", "--is-ancestor", commit, "HEAD"], { cwd: ROOT });
      expect(ancestor.status, `${commit} is not HEAD or an ancestor of it`).toBe(0);
    }
  });
});
