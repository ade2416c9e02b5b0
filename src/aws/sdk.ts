/**
 * Lazy loading of the AWS SDK. The plugin must print its go-plugin handshake fast; importing
 * client-ec2 alone costs ~170 ms to `require` (measured on Node 20, SDK 3.1169), so nothing here is imported before
 * the first AWS call. Type-only imports elsewhere are erased and cost nothing.
 *
 * Each client is imported through src/aws/sdk-clients/, which names the commands the plugin
 * sends, and the bundle takes the SDK's ES module builds (scripts/bundle.ts, which also makes
 * the schema modules tree-shakable), so esbuild keeps only what those commands reach: the lazy
 * part went from 2.9 to 1.5 MB of JavaScript, and V8's parser memory for it, which glibc keeps
 * after the compile, with it (`rss` bench after 10,000 attestations: 252 -> 178 MiB).
 */
type Ec2Module = typeof import("./sdk-clients/ec2");
type IamModule = typeof import("./sdk-clients/iam");
type EksModule = typeof import("./sdk-clients/eks");
type AutoScalingModule = typeof import("./sdk-clients/auto-scaling");
type StsModule = typeof import("./sdk-clients/sts");
type OrganizationsModule = typeof import("./sdk-clients/organizations");
type CredentialProvidersModule = typeof import("@aws-sdk/credential-providers");
type HttpHandlerModule = typeof import("@smithy/node-http-handler");

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
}

export const loadEc2 = once<Ec2Module>(() => import("./sdk-clients/ec2"));
export const loadIam = once<IamModule>(() => import("./sdk-clients/iam"));
export const loadEks = once<EksModule>(() => import("./sdk-clients/eks"));
export const loadAutoScaling = once<AutoScalingModule>(() => import("./sdk-clients/auto-scaling"));
export const loadSts = once<StsModule>(() => import("./sdk-clients/sts"));
export const loadOrganizations = once<OrganizationsModule>(() => import("./sdk-clients/organizations"));
export const loadCredentialProviders = once<CredentialProvidersModule>(
  () => import("@aws-sdk/credential-providers"),
);
export const loadHttpHandler = once<HttpHandlerModule>(() => import("@smithy/node-http-handler"));
