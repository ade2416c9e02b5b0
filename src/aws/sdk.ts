/**
 * Lazy loading of the AWS SDK. The plugin must print its go-plugin handshake fast; importing
 * client-ec2 alone costs ~170 ms to `require` (measured on Node 20, SDK 3.1169), so nothing here is imported before
 * the first AWS call. Type-only imports elsewhere are erased and cost nothing.
 */
type Ec2Module = typeof import("@aws-sdk/client-ec2");
type IamModule = typeof import("@aws-sdk/client-iam");
type EksModule = typeof import("@aws-sdk/client-eks");
type AutoScalingModule = typeof import("@aws-sdk/client-auto-scaling");
type StsModule = typeof import("@aws-sdk/client-sts");
type OrganizationsModule = typeof import("@aws-sdk/client-organizations");
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

export const loadEc2 = once<Ec2Module>(() => import("@aws-sdk/client-ec2"));
export const loadIam = once<IamModule>(() => import("@aws-sdk/client-iam"));
export const loadEks = once<EksModule>(() => import("@aws-sdk/client-eks"));
export const loadAutoScaling = once<AutoScalingModule>(() => import("@aws-sdk/client-auto-scaling"));
export const loadSts = once<StsModule>(() => import("@aws-sdk/client-sts"));
export const loadOrganizations = once<OrganizationsModule>(() => import("@aws-sdk/client-organizations"));
export const loadCredentialProviders = once<CredentialProvidersModule>(
  () => import("@aws-sdk/credential-providers"),
);
export const loadHttpHandler = once<HttpHandlerModule>(() => import("@smithy/node-http-handler"));
