export { FakeAutoScaling } from "./autoscaling";
export { CallLog, type CallRecord } from "./call-log";
export { EC2_RATE_LIMITS, FakeEc2, isUnfilteredDescribe } from "./ec2";
export { FakeEks } from "./eks";
export {
  FakeAws,
  type FakeAwsOptions,
  type StaticCredentials,
  startFakeAws,
  stsCallerDirectory,
} from "./fake-aws";
export { type Fault, type FaultMatch, FaultPlan } from "./faults";
export { FakeIam } from "./iam";
export {
  type AccountFieldMode,
  type FakeAccount,
  type FakeAccountState,
  type FakeAccountStatus,
  FakeOrganizations,
  type FakeOrganizationsOptions,
  ORGANIZATIONS_RATE_LIMITS,
} from "./organizations";
export {
  type AwsProtocol,
  FakeAwsError,
  jsonResponse,
  type RenderedResponse,
  renderError,
  renderThrottle,
  xmlEscape,
  xmlResponse,
} from "./protocol";
export {
  AwsFakeServer,
  type AwsFakeServerOptions,
  type FakeRequest,
  type RateLimit,
  type ServiceFake,
} from "./server";
export { FakeSts, type IssuedCredentials } from "./sts";
export {
  SIGV4_MAX_SKEW_MS,
  type SigV4Request,
  type SigV4Secret,
  type SigV4VerifyOptions,
  verifySigV4,
} from "./sts-sigv4";
export { TokenBucket } from "./token-bucket";
export {
  type AutoScalingGroupSpec,
  AwsWorld,
  type CallerDirectory,
  type EksClusterSpec,
  INSTANCE_STATE_CODES,
  type InstanceProfileSpec,
  type InstanceSpec,
  type InstanceStateName,
  type NetworkInterfaceSpec,
  newInstanceId,
  partitionOfRegion,
  type SecurityGroupRef,
  type WorldInstance,
  type WorldInstanceProfile,
} from "./world";
