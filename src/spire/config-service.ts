/**
 * spire.service.common.config.v1.Config. Configure runs at load and again on SIGUSR1 with
 * plugin_data_file, possibly concurrently with attestations; a failed reconfigure leaves the
 * plugin in use with its previous configuration (the implementation keeps it; we never mark
 * the plugin unconfigured again). Validate comes from `spire-server validate` without any
 * prior Configure.
 */
import type * as grpc from "@grpc/grpc-js";
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
import { toServiceError } from "./grpc-status";
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
    configure(
      call: grpc.ServerUnaryCall<ConfigureRequest, ConfigureResponse>,
      callback: grpc.sendUnaryData<ConfigureResponse>,
    ): void {
      const { coreConfiguration, hclConfiguration } = call.request;
      configurable(sides)
        .then(({ runtime, plugin }) =>
          plugin.configure(coreConfig(coreConfiguration), hclConfiguration).then(() => runtime),
        )
        .then(
          (runtime) => {
            runtime.markConfigured();
            callback(null, ConfigureResponse.create());
          },
          (err: unknown) => callback(toServiceError(err, logger, "Configure")),
        );
    },
    validate(
      call: grpc.ServerUnaryCall<ValidateRequest, ValidateResponse>,
      callback: grpc.sendUnaryData<ValidateResponse>,
    ): void {
      const { coreConfiguration, hclConfiguration } = call.request;
      configurable(sides)
        .then(({ plugin }) => plugin.validate(coreConfig(coreConfiguration), hclConfiguration))
        .then(
          (result) =>
            callback(null, ValidateResponse.create({ valid: result.valid, notes: [...result.notes] })),
          (err: unknown) => callback(toServiceError(err, logger, "Validate")),
        );
    },
  };
}
