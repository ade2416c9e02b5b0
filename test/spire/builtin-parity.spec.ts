/**
 * Drop-in check against SPIRE itself: the same spire-server/spire-agent 1.13.3, the same real
 * AWS-signed node served by the same fakes, the same plugin_data — once with SPIRE's built-in
 * aws_iid, once with this plugin. The agent IDs and selector sets must be identical.
 */
import { describe, expect, it } from "vitest";
import { realNodes } from "./real-nodes";
import { attestSideBySide } from "./side-by-side";

describe("built-in aws_iid vs the plugin in real SPIRE", () => {
  it("gives every real node the same agent ID and selectors", async () => {
    const nodes = realNodes();
    // taskcluster (rsa2048 + signature + pkcs7), teleport (rsa2048 only), rspamd (signature only).
    expect(nodes.length).toBeGreaterThanOrEqual(5);
    const builtin = await attestSideBySide("builtin", nodes);
    const plugin = await attestSideBySide("plugin", nodes);
    for (const [i, n] of nodes.entries()) {
      const b = builtin.nodes[i]!;
      const p = plugin.nodes[i]!;
      expect(b.agentId, n.name).toBe(
        `spiffe://example.org/spire/agent/aws_iid/${n.accountId}/${n.region}/${n.instanceId}`,
      );
      expect(p.agentId, n.name).toBe(b.agentId);
      expect(b.selectors, n.name).toContain("aws_iid:tag:team:blue");
      expect(p.selectors, n.name).toEqual(b.selectors);
    }
    expect(plugin.leftoverPlugins).toBe(0);
  });
});
