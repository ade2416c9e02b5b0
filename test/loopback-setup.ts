/**
 * vitest setupFiles: arms the loopback guard (test/loopback-guard.cjs) inside each test worker,
 * even when a worker was started without the NODE_OPTIONS that test/global-setup.ts exports.
 */
import { createRequire } from "node:module";

createRequire(__filename)("./loopback-guard.cjs");
