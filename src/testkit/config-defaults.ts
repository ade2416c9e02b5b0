/**
 * What an operator who sets nothing gets, read from the configuration schema itself, so tests
 * start from the real defaults without writing them down a second time.
 */
import type { AwsAccessOptions } from "../aws";
import { awsAccessSettings, parseServerConfig } from "../server/config";

export function defaultAwsSettings(): ReturnType<typeof awsAccessSettings> {
  const { config, problems } = parseServerConfig("");
  if (config === undefined)
    throw new Error(`the empty configuration is invalid: ${JSON.stringify(problems)}`);
  return awsAccessSettings(config);
}

/** AWS access options with the schema's defaults under `extra`. */
export function awsAccessOptions(extra: Partial<AwsAccessOptions> = {}): AwsAccessOptions {
  return { ...defaultAwsSettings(), ...extra };
}
