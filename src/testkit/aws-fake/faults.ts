/**
 * Fault injection for the loopback fakes: tests and benchmarks describe what should go wrong
 * (for which service and action, how many times) and the server applies it before the fake
 * answers. Every fault the plugin must survive has a name here.
 */
export type Fault =
  /** Answer normally, but only after this delay. */
  | { kind: "latency"; ms: number }
  /** The protocol's throttling error (RequestLimitExceeded, Throttling, TooManyRequestsException…). */
  | { kind: "throttle" }
  /** A modelled AWS error with this status and code. */
  | { kind: "error"; status: number; code: string; message?: string }
  /** A bare 5xx with an empty body. */
  | { kind: "status"; status: number }
  /** Never answer; the socket stays open until the client gives up or the server closes. */
  | { kind: "hang" }
  /** Send headers, then the body a few bytes at a time. */
  | { kind: "drip"; bytesPerChunk: number; intervalMs: number }
  /** Promise a longer body than is sent, then close the connection. */
  | { kind: "truncate" }
  /** 200 with a body that is not the protocol's format. */
  | { kind: "malformed" }
  /** Destroy the connection without answering. */
  | { kind: "reset" }
  /** Answer with exactly this status and body (e.g. a 200 whose body parses but says nothing). */
  | { kind: "body"; status: number; body: string; contentType?: string };

export interface FaultMatch {
  /** Signing name of the service: ec2, iam, sts, organizations, eks, autoscaling, imds. */
  service?: string;
  /** Action name (DescribeInstances, ListAccounts, …). */
  action?: string;
  /** Apply to this many matching requests, then stop (default: every one). */
  times?: number;
  /** Let this many matching requests through before applying (default 0). */
  after?: number;
}

interface FaultRule {
  match: FaultMatch;
  fault: Fault;
  skipped: number;
  applied: number;
}

export class FaultPlan {
  private rules: FaultRule[] = [];

  /** Adds a rule; earlier rules win. Returns a function that removes it. */
  add(match: FaultMatch, fault: Fault): () => void {
    const rule: FaultRule = { match, fault, skipped: 0, applied: 0 };
    this.rules.push(rule);
    return () => {
      this.rules = this.rules.filter((r) => r !== rule);
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault to apply to this request, if any (and counts it). */
  take(service: string, action: string): Fault | undefined {
    for (const rule of this.rules) {
      const { match } = rule;
      if (match.service !== undefined && match.service !== service) continue;
      if (match.action !== undefined && match.action !== action) continue;
      if (match.times !== undefined && rule.applied >= match.times) continue;
      if (rule.skipped < (match.after ?? 0)) {
        rule.skipped += 1;
        continue;
      }
      rule.applied += 1;
      return rule.fault;
    }
    return undefined;
  }
}
