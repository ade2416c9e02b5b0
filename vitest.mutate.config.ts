/**
 * The suite Stryker runs against each mutant (`npm run mutate`): the in-process specs that can
 * see a trust-path decision change. Process-level suites (interop, e2e, real SPIRE, soak) and
 * the fuzz targets are left out: they run the built bundle, not the mutated source, so they
 * could never kill a mutant and would only multiply the run time. For the same reason nothing
 * is built first: the global setup only arms the loopback guard.
 */
import { defineConfig } from "vitest/config";
import base from "./vitest.config";

export default defineConfig({
  test: {
    ...base.test,
    globalSetup: ["test/loopback-global-setup.ts"],
    include: [
      "src/**/*.spec.ts",
      "test/vectors/**/*.spec.ts",
      "test/parity/**/*.spec.ts",
      "test/iam/**/*.spec.ts",
    ],
    exclude: ["**/node_modules/**"],
  },
});
