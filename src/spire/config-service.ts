import type { Logger } from "../common/logger";
import {
  type ConfigServer,
  type ConfigureRequest,
  ConfigureResponse,
  type CoreConfiguration,
  type ValidateRequest,
  ValidateResponse,
} from "../gen/spire/service/common/config/v1/config";
import type { ConfigurablePlugin, CoreConfig } from "./contracts";
import { unaryHandler } from "./grpc-status";
import type { PluginRuntime } from "./plugin-runtime";
import type { PluginSides } from "./plugin-sides";

function coreConfig(core: CoreConfiguration | undefined): CoreConfig {
  return { trustDomain: core?.trustDomain ?? "" };
}

/** The runtime of the side served and its implementation; rejects before Init chose a side. */
async function configurable(
  sides: PluginSides,
): Promise<{ runtime: PluginRuntime<ConfigurablePlugin>; plugin: ConfigurablePlugin }> {
  const runtime = sides.configurable();
  return { runtime, plugin: await runtime.plugin() };
}

export function configService(sides: PluginSides, logger: Logger): ConfigServer {
  return {
    configure: unaryHandler<ConfigureRequest, ConfigureResponse>("Configure", logger, async (request) => {
      const { runtime, plugin } = await configurable(sides);
      await plugin.configure(coreConfig(request.coreConfiguration), request.hclConfiguration);
      runtime.markConfigured();
      return ConfigureResponse.create();
    }),
    validate: unaryHandler<ValidateRequest, ValidateResponse>("Validate", logger, async (request) => {
      const { plugin } = await configurable(sides);
      const result = await plugin.validate(coreConfig(request.coreConfiguration), request.hclConfiguration);
      return ValidateResponse.create({ valid: result.valid, notes: [...result.notes] });
    }),
  };
}
