/**
 * spire.service.private.init.v1.Init: SPIRE calls Init once after dispense (after it has
 * announced host services on broker id 1) and binds the plugin by the names we return; any
 * name it does not expect is logged as "Unsupported plugin service found", so we list exactly
 * what this side serves (src/spire/plugin-sides.ts chooses the side). Deinit is the "about to unload" notice (10 s deadline): the SDK calls
 * Close on the implementation, and so do we.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "../common/logger";
import {
  type DeinitRequest,
  DeinitResponse,
  type InitRequest,
  InitResponse,
  type InitServer,
} from "../gen/spire/service/private/init/v1/init";
import { unaryHandler } from "./grpc-status";
import type { PluginSides } from "./plugin-sides";
import { AGENT_NODE_ATTESTOR, CONFIG_SERVICE, type PluginSide, SERVER_NODE_ATTESTOR } from "./service-names";

export function servedServiceNames(side: PluginSide): string[] {
  return [side === "server" ? SERVER_NODE_ATTESTOR : AGENT_NODE_ATTESTOR, CONFIG_SERVICE];
}

export function initService(sides: PluginSides, logger: Logger): InitServer {
  return {
    init(
      call: grpc.ServerUnaryCall<InitRequest, InitResponse>,
      callback: grpc.sendUnaryData<InitResponse>,
    ): void {
      logger.debug("Init", { host_services: call.request.hostServiceNames.join(",") });
      const side = sides.init(call.request.hostServiceNames);
      callback(null, InitResponse.create({ pluginServiceNames: servedServiceNames(side) }));
    },
    deinit: unaryHandler<DeinitRequest, DeinitResponse>("Deinit", logger, async () => {
      await sides.close();
      return DeinitResponse.create();
    }),
  };
}
