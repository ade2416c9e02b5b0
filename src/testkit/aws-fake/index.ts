export { CallLog, type CallRecord } from "./call-log";
export { type Fault, type FaultMatch, FaultPlan } from "./faults";
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
export { TokenBucket } from "./token-bucket";
export {
  type AccountFieldMode,
  type FakeAccount,
  type FakeAccountState,
  type FakeAccountStatus,
  FakeOrganizations,
  type FakeOrganizationsOptions,
  ORGANIZATIONS_RATE_LIMITS,
} from "./organizations";
