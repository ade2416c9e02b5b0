/** Fully-qualified gRPC service names exchanged in SPIRE's Init (spire-plugin-sdk). */
export const SERVER_NODE_ATTESTOR = "spire.plugin.server.nodeattestor.v1.NodeAttestor";
export const AGENT_NODE_ATTESTOR = "spire.plugin.agent.nodeattestor.v1.NodeAttestor";
export const CONFIG_SERVICE = "spire.service.common.config.v1.Config";
export const AGENT_STORE_HOST_SERVICE = "spire.hostservice.server.agentstore.v1.AgentStore";
export const METRICS_HOST_SERVICE = "spire.hostservice.common.metrics.v1.Metrics";
export const IDENTITY_PROVIDER_HOST_SERVICE = "spire.hostservice.server.identityprovider.v1.IdentityProvider";

/** SPIRE and the SDK share this broker id for the host-service socket (HostServiceProviderID). */
export const HOST_SERVICE_BROKER_ID = 1;

export type PluginSide = "server" | "agent";

/** What SPIRE offers in InitRequest.host_service_names when it says nothing (pre-Init calls). */
export function defaultHostServices(side: PluginSide): string[] {
  return side === "server"
    ? [IDENTITY_PROVIDER_HOST_SERVICE, AGENT_STORE_HOST_SERVICE, METRICS_HOST_SERVICE]
    : [METRICS_HOST_SERVICE];
}
