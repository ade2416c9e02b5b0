/**
 * The single executable runs where SPIRE runs: a root filesystem with nothing but the glibc
 * runtime libraries it links (what a distroless "cc" base image holds) and no node. The test
 * builds such a root with chroot(2): the static Go interop host (CGO_ENABLED=0, like SPIRE's
 * own static binaries), the executable installed as the spiffe Helm chart installs an
 * image-route plugin (/plugins/nodeAttestor/aws_iid, no plugin_args), the libraries `ldd`
 * lists, an empty /tmp for go-plugin's socket, and the test CA's PEM files. In it the host
 * loads both sides, configures them (checksum verified), and attests an agent against the
 * loopback fakes this process serves (a chroot shares the network namespace).
 *
 * docker is not available on the project's machines; this test is what proves the image
 * recipe in examples/docker/.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSea, seaNode } from "../../scripts/build-sea";
import { type FakeImds, startFakeImds } from "../../src/testkit/fake-imds";
import { SCENARIO_ACCOUNT, type Scenario, startScenario } from "../../src/testkit/scenario";
import { pluginEnv } from "../e2e/bundle";
import { GO_BUILD_TIMEOUT_MS } from "../go-toolchain";
import { buildGoHost, type HostEvent, type HostRun, runGoHostAsync } from "../interop/go-host";

const isRoot = process.getuid?.() === 0;
const TD = "example.org";
const PLUGIN = "/plugins/nodeAttestor/aws_iid";

/** Shared libraries `ldd` resolves for a binary: absolute paths, the dynamic loader included. */
export function lddLibraries(binary: string): string[] {
  const r = spawnSync("ldd", [binary], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ldd ${binary} failed: ${r.stderr}`);
  const libs = new Set<string>();
  for (const line of r.stdout.split("\n")) {
    // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m?.[1] !== undefined) libs.add(m[1]);
    if (/=>\s*not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
  }
  return [...libs];
}

/** Copy a file to the same absolute path under root (symlinks followed: the image holds files). */
function install(root: string, from: string, to = from, mode?: number): void {
  const dest = join(root, to);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(from, dest);
  if (mode !== undefined) chmodSync(dest, mode);
}

/** Every file under dir, relative paths. */
function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

/** chroot(8) by absolute path: the chrooted process gets a clean environment without PATH. */
function chrootBinary(): string {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  const found = dirs
    .filter((d) => d !== "")
    .map((d) => join(d, "chroot"))
    .find((p) => existsSync(p));
  if (found === undefined) throw new Error("chroot(8) not found");
  return found;
}

/** The command in a clean environment, as a container has: no PATH, nothing inherited. */
function runInChroot(
  root: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<HostRun> {
  return runGoHostAsync(chrootBinary(), [root, ...args], env);
}

describe.skipIf(!isRoot)(
  "single executable in a distroless-like root (chroot; needs root, as CI runs)",
  () => {
    let work: string;
    let root: string;
    let libs: string[];
    let scenario: Scenario;
    let imds: FakeImds | undefined;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "sea-chroot-"));
      root = join(work, "root");
      const sea = await buildSea(seaNode(), {
        out: join(work, "spire-aws-iid-sea"),
        bundleOut: join(work, "bundle", "spire-aws-iid"),
      });
      const host = buildGoHost();
      libs = lddLibraries(sea.path);

      install(root, host, "/host", 0o755);
      install(root, sea.path, PLUGIN, 0o755);
      for (const lib of libs) install(root, lib);
      mkdirSync(join(root, "tmp"), { recursive: true });
      chmodSync(join(root, "tmp"), 0o1777);
      scenario = await startScenario();
      for (const e of scenario.certificateEntries) install(root, e.pemPath);
    }, GO_BUILD_TIMEOUT_MS);

    afterAll(async () => {
      await imds?.close();
      await scenario?.close();
      if (work !== undefined) rmSync(work, { recursive: true, force: true });
    });

    it("the root holds only glibc runtime libraries, the executable and the static host: no node, no shell", () => {
      // The Go host is static: nothing for ldd to resolve.
      expect(spawnSync("ldd", [join(root, "host")], { encoding: "utf8" }).status).not.toBe(0);
      for (const lib of libs) {
        expect(lib).toMatch(/\/(ld-linux[^/]*|lib(c|m|dl|pthread|rt|gcc_s|stdc\+\+|resolv)\.so[.\d]*)$/);
      }
      const files = filesUnder(root).map((f) => `/${f}`);
      expect(files.some((f) => /(^|\/)(node|sh|bash|env)$/.test(f))).toBe(false);
      expect(files.filter((f) => !f.includes(".so") && !f.endsWith(".pem")).sort()).toEqual([
        "/host",
        PLUGIN,
      ]);
    });

    it("loads without plugin_args on both sides, configures with the checksum verified, and attests", async () => {
      const node = scenario.addNode({ tags: { team: "blue" } });
      imds = await startFakeImds({ identity: node.identity });
      mkdirSync(join(root, "conf"), { recursive: true });
      writeFileSync(join(root, "conf", "agent.hcl"), `ec2_metadata_endpoint = "${imds.url}"\n`);
      writeFileSync(join(root, "conf", "server.hcl"), scenario.pluginData());

      const run = await runInChroot(
        root,
        [
          "/host",
          "roundtrip",
          "-no-args",
          "-checksum",
          "auto",
          "-trust-domain",
          TD,
          "-agent-config-file",
          "/conf/agent.hcl",
          "-server-config-file",
          "/conf/server.hcl",
          "--",
          PLUGIN,
        ],
        // HOME as runc sets it for a user without a passwd entry (this root has no /etc/passwd).
        // SPIRE passes its environment on to plugins; without HOME the AWS SDK's os.homedir()
        // (for ~/.aws/config) fails with uv_os_homedir ENOENT.
        { ...pluginEnv(scenario.env()), HOME: "/" },
      );
      const of = (name: string): HostEvent[] => run.events.filter((e) => e.event === name);
      expect(
        of("error"),
        run.stderr + JSON.stringify(run.events.filter((e) => e.event === "log").slice(-20)),
      ).toEqual([]);
      expect(of("init").map((e) => [e.side, e.unsupported])).toEqual([
        ["agent", []],
        ["server", []],
      ]);
      expect(of("configure").map((e) => e.code)).toEqual(["OK", "OK"]);
      const i = node.instance;
      const logs = JSON.stringify(
        run.events.filter((e) => e.event === "log" && e.level !== "trace").slice(-15),
      );
      expect(of("attest")[0], `${JSON.stringify(of("attest")[0])}\n${logs}`).toMatchObject({
        code: "OK",
        spiffe_id: `spiffe://${TD}/spire/agent/aws_iid/${SCENARIO_ACCOUNT}/${i.region}/${i.instanceId}`,
      });
      expect(of("attest")[0]?.selector_values).toEqual(expect.arrayContaining(["tag:team:blue"]));
      expect(of("unloaded").map((e) => e.graceful)).toEqual([true, true]);
      expect(run.status).toBe(0);
    });
  },
);
