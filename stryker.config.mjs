// Mutation testing of the trust path (`npm run mutate`; docs/security.md has the scores and
// the equivalent survivors). Stryker is installed by that script (npm install --no-save), not
// listed in devDependencies: its Babel 8 requires Node >= 22.18, and npm ci on an older system
// Node printed an EBADENGINE warning per package for every newcomer.
// `npm run mutate -- --mutate src/iid/cms.ts --concurrency 1` runs one file (docs/security.md
// has the incremental form the scores were measured with).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts" },
  checkers: ["typescript"],
  tsconfigFile: "tsconfig.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: "perTest",
  // Static mutants (module-level tables such as the CMS signature rules) re-run every test per
  // mutant (22 of cms.ts's 253). They are left to the explicit table tests (src/iid/cms.spec.ts);
  // `npm run mutate -- --ignoreStatic false` includes them.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 20_000,
  mutate: [
    // Signature and document checks.
    "src/iid/**/*.ts",
    "!src/iid/**/*.spec.ts",
    "!src/iid/certs/**",
    // aws_iam: what the server checks before STS sees a request, and the principal it derives.
    "src/iam/verify-request.ts",
    "src/iam/principal.ts",
    // The server pipeline's decisions: TOFU, instance state, block device, client IP, policy,
    // selectors and agent IDs.
    "src/server/attest.ts",
    "src/aws/instance-state.ts",
    "src/server/instance-checks.ts",
    "src/server/selectors.ts",
    "src/server/agent-id.ts",
    // Organization membership decisions (src/org after the move).
    "src/org/**/*.ts",
    "src/server/org/**/*.ts",
    "!**/*.spec.ts",
  ],
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
