import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.spec.ts", "test/**/*.spec.ts"],
    // Builds dist/spire-aws-iid and the scripted fixture plugin once, so `npm test` works on a
    // fresh clone.
    globalSetup: ["test/global-setup.ts"],
    // No test reaches beyond loopback; the guard refuses it in workers and their children.
    setupFiles: ["test/loopback-setup.ts"],
    // Integration tests spawn plugin processes and loopback servers: give them room on a 2-core box.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
