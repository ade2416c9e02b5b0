/**
 * Drop-in check against SPIRE itself: the same spire-server/spire-agent 1.13.3, the same real
 * AWS-signed node served by the same fakes, the same plugin_data — once with SPIRE's built-in
 * aws_iid, once with this plugin. The agent IDs must be identical, and the selector sets too but
 * for the one selector SPIRE added after 1.13.3.
 */
import { describe, expect, it } from "vitest";
import { realNodes } from "./real-nodes";
import { attestSideBySide } from "./side-by-side";

describe("built-in aws_iid vs the plugin in real SPIRE", () => {
  it("gives the real node the same agent ID and selectors", async () => {
    const [node] = realNodes();
    expect(node?.name).toBe("taskcluster-2018-us-west-2");
    const builtin = await attestSideBySide("builtin", node!);
    const plugin = await attestSideBySide("plugin", node!);
    expect(builtin.agents.map((a) => a.outcome)).toEqual(["attested"]);
    expect(plugin.agents.map((a) => a.outcome)).toEqual(["attested"]);
    expect(builtin.agentId).toBe(
      `spiffe://example.org/spire/agent/aws_iid/${node!.accountId}/${node!.region}/${node!.instanceId}`,
    );
    expect(plugin.agentId).toBe(builtin.agentId);
    expect(builtin.selectors).toContain("aws_iid:tag:team:blue");
    // account_id is SPIRE 1.15's selector (spiffe/spire#6697), which the plugin follows and the
    // 1.13.3 built-in predates; every other selector is the same, so existing entries keep matching.
    expect(builtin.selectors).not.toContain(`aws_iid:account_id:${node!.accountId}`);
    expect(plugin.selectors).toEqual([...builtin.selectors, `aws_iid:account_id:${node!.accountId}`].sort());
    expect(plugin.leftoverPlugins).toBe(0);
  });
});
