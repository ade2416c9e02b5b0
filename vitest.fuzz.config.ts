/**
 * `npm run fuzz`: the fuzz targets alone, at FUZZ_RUNS cases per property, without a time limit.
 * They drive the source in process, so nothing is built first: the global setup only arms the
 * loopback guard. (`npm test` runs them too, at 10,000 cases, with everything else.)
 */
import { defineConfig } from "vitest/config";
import base from "./vitest.config";

export default defineConfig({
  test: {
    ...base.test,
    globalSetup: ["test/loopback-global-setup.ts"],
    include: ["test/fuzz/**/*.spec.ts"],
    testTimeout: 0,
  },
});
