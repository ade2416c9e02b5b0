/**
 * Reduced soak (scripts/soak.ts runs 100,000 with `npm run soak`): 3,000 attestations, six
 * kinds mixed (valid, TOFU reuse, forged, foreign organization account, stopped instance,
 * malformed), through one bundle process under the SPIRE-like host. Every decision is checked;
 * the process must survive and unload gracefully, and its descriptor count must not grow
 * (a leaked socket per attestation would show as thousands). No timing or memory asserts:
 * RSS is reported by the full soak, not judged on a shared CI machine.
 */
import { describe, expect, it } from "vitest";
import { runSoak } from "../scripts/soak";

const TOTAL = Number.parseInt(process.env.SOAK_TEST_TOTAL ?? "", 10) || 3_000;
/** Descriptors that may legitimately come and go: keep-alive sockets to the fakes, timers' fds. */
const FD_SLACK = 8;

describe("soak (reduced)", () => {
  it(`${TOTAL} mixed attestations through one plugin process: no crash, no wrong decision, no fd growth`, async () => {
    const r = await runSoak({ total: TOTAL, concurrency: 16, samples: 10 });
    expect(r.crashed, r.exitedEarly).toBe(false);
    expect(r.total).toBe(TOTAL);
    expect(r.wrong).toEqual([]);
    for (const count of Object.values(r.byKind)) expect(count).toBeGreaterThan(0);
    expect(r.final.fds - r.baseline.fds).toBeLessThanOrEqual(FD_SLACK);
    expect(r.unloadGraceful).toBe(true);
  }, 300_000);
});
