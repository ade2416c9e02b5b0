import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.spec.ts", "test/**/*.spec.ts"],
    // Integration tests spawn plugin processes and loopback servers: give them room on a 2-core box.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
