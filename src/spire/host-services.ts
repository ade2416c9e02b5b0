/**
 * Clients for SPIRE's host services, reached over go-plugin broker id 1: SPIRE serves them
 * all on one plaintext gRPC server on a unix socket it announces on the broker stream during
 * dispense. The announcement can be processed after Init has begun (separate HTTP/2 streams),
 * so the first use waits briefly for it.
 */
import * as grpc from "@grpc/grpc-js";
import { Code, PluginError } from "../common/errors";
import type { Logger } from "../common/logger";
import type { MetricLabel, Metrics } from "../common/metrics";
import { noopMetrics } from "../common/metrics";
import { throwIfAborted } from "../common/signals";
import { MetricsClient } from "../gen/spire/hostservice/common/metrics/v1/metrics";
import {
  AgentStoreClient,
  AgentStoreService,
} from "../gen/spire/hostservice/server/agentstore/v1/agentstore";
import type { Broker, BrokerConnInfo } from "../goplugin/broker";
import type { AgentStore, HostServices } from "./contracts";
import { grpcCodeOf, grpcDetailsOf } from "./grpc-status";
import { AGENT_STORE_HOST_SERVICE, HOST_SERVICE_BROKER_ID, METRICS_HOST_SERVICE } from "./service-names";

/** How long to wait for SPIRE's ConnInfo before calling the host service unavailable. */
export const CONN_INFO_WAIT_MS = 5000;
const AGENT_STORE_DEADLINE_MS = 10_000;
const METRICS_DEADLINE_MS = 2000;
/** Metrics are best effort: beyond this many calls in flight new ones are dropped. */
const MAX_METRICS_IN_FLIGHT = 256;

function target(info: BrokerConnInfo): string {
  return info.network === "unix" ? `unix://${info.address}` : info.address;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // SPIRE's host-service server accepts plain HTTP/2; no retries on our side (callers bound
  // their own work and SPIRE's AgentStore answers fast).
  "grpc.enable_retries": 0,
};

/** One lazily dialed channel to the host-service socket, shared by the clients below. */
export class HostServiceConnection {
  private agentStore: InstanceType<typeof AgentStoreClient> | undefined;
  private metrics: InstanceType<typeof MetricsClient> | undefined;
  private address: string | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly waitMs = CONN_INFO_WAIT_MS,
  ) {}

  private async connInfo(signal?: AbortSignal): Promise<BrokerConnInfo | undefined> {
    return this.broker.wait(HOST_SERVICE_BROKER_ID, this.waitMs, signal);
  }

  private refresh(info: BrokerConnInfo): void {
    const addr = target(info);
    if (addr === this.address) return;
    this.agentStore?.close();
    this.metrics?.close();
    this.agentStore = undefined;
    this.metrics = undefined;
    this.address = addr;
  }

  async agentStoreClient(signal?: AbortSignal): Promise<InstanceType<typeof AgentStoreClient> | undefined> {
    const info = await this.connInfo(signal);
    if (info === undefined) return undefined;
    this.refresh(info);
    this.agentStore ??= new AgentStoreClient(
      target(info),
      grpc.credentials.createInsecure(),
      CHANNEL_OPTIONS,
    );
    return this.agentStore;
  }

  async metricsClient(): Promise<InstanceType<typeof MetricsClient> | undefined> {
    const info = await this.connInfo();
    if (info === undefined) return undefined;
    this.refresh(info);
    this.metrics ??= new MetricsClient(target(info), grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    return this.metrics;
  }

  private readonly closeHooks: (() => Promise<void>)[] = [];

  /** Runs `hook` (e.g. a last metrics flush) when the connection is drained. */
  beforeClose(hook: () => Promise<void>): void {
    this.closeHooks.push(hook);
  }

  /**
   * Runs the close hooks and waits for them, at most `waitMs` (the host may be gone already),
   * then closes the channels.
   */
  async drain(waitMs = 500): Promise<void> {
    const hooks = Promise.all(this.closeHooks.splice(0).map((hook) => hook()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => {
      timer = setTimeout(r, waitMs);
    });
    await Promise.race([hooks, bound]);
    clearTimeout(timer);
    this.close();
  }

  close(): void {
    this.agentStore?.close();
    this.metrics?.close();
    this.agentStore = undefined;
    this.metrics = undefined;
  }
}

const GET_AGENT_INFO = AgentStoreService.getAgentInfo;

export class AgentStoreHostClient implements AgentStore {
  constructor(private readonly conn: HostServiceConnection) {}

  async agentExists(agentId: string, signal?: AbortSignal): Promise<boolean> {
    const client = await this.conn.agentStoreClient(signal);
    throwIfAborted(signal);
    if (client === undefined) {
      // SPIRE announces the socket before Init; not having it means a host that does not
      // speak SPIRE's broker protocol. Internal, as SPIRE's built-ins report a missing host
      // service.
      throw new PluginError(
        Code.Internal,
        `agentstore: host service unavailable: no broker ConnInfo for id ${HOST_SERVICE_BROKER_ID} within ${CONN_INFO_WAIT_MS} ms`,
      );
    }
    const status = await unaryStatus(
      client.getChannel(),
      GET_AGENT_INFO.path,
      GET_AGENT_INFO.requestSerialize({ agentId }),
      AGENT_STORE_DEADLINE_MS,
      signal,
    );
    // The caller gave up first (the call was cancelled for it): its reason, as for every wait.
    throwIfAborted(signal);
    if (status.code === grpc.status.OK) return true;
    if (status.code === grpc.status.NOT_FOUND) return false;
    // FailedPrecondition ("host service has not been initialized") until SPIRE has loaded
    // every plugin; callers see SPIRE's own code.
    throw new PluginError(grpcCodeOf(status), `agentstore: ${status.details}`);
  }
}

/**
 * One unary call through the channel's low-level API, settling with the final status. The
 * generated grpc-js client captures a stack trace (new Error) for every call and formats two
 * more for every non-OK status; AgentStore answers NotFound for every first attestation, an
 * expected answer that should cost no stack traces (issue 18). The response body is not
 * needed: OK means the agent exists.
 */
function unaryStatus(
  channel: ReturnType<grpc.Client["getChannel"]>,
  path: string,
  request: Buffer,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<grpc.StatusObject> {
  return new Promise<grpc.StatusObject>((resolve) => {
    const call = channel.createCall(path, Date.now() + timeoutMs, undefined, null, null);
    const onAbort = (): void => call.cancelWithStatus(grpc.status.CANCELLED, "agentstore: request cancelled");
    call.start(new grpc.Metadata(), {
      onReceiveMetadata: () => {},
      onReceiveMessage: () => {},
      onReceiveStatus: (status) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(status);
      },
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    call.sendMessageWithContext({}, request);
    call.halfClose();
    call.startRead();
  });
}

/** How often aggregated metrics go to SPIRE. */
export const METRICS_FLUSH_INTERVAL_MS = 1000;
/** Distinct (kind, key, labels) series kept between flushes; more are dropped until the next. */
const MAX_SERIES = 1024;
/** Samples and timings kept per series between flushes (a uniform random subset beyond). */
const MAX_SAMPLES_PER_SERIES = 32;

type SeriesKind = "counter" | "gauge" | "sample" | "timer";

interface Series {
  kind: SeriesKind;
  key: string[];
  labels: MetricLabel[];
  /** Counter: the sum; gauge: the last value. */
  value: number;
  /** Samples, or durations in ms for timers. */
  values: number[];
  /** How many samples were offered this interval (for the random subset). */
  seen: number;
}

/**
 * Forwards to SPIRE's Metrics host service, aggregated in the process: a gRPC round trip per
 * metric call used to cost more CPU than verifying the attestation (issue 18). Counters are
 * summed and gauges keep their last value per series; SPIRE's API has no batch or histogram
 * call, so samples and timings are sent one by one, at most MAX_SAMPLES_PER_SERIES per series
 * per interval (a uniform random subset beyond: the distribution is kept, the count is not).
 * A timing is sent as MeasureSince with a start time that gives SPIRE the measured duration.
 * Everything is flushed every METRICS_FLUSH_INTERVAL_MS and on close. Never throws, never
 * blocks the caller.
 */
export class MetricsHostClient implements Metrics {
  private inFlight = 0;
  private warned = false;
  private series = new Map<string, Series>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: HostServiceConnection,
    private readonly logger: Logger,
  ) {
    conn.beforeClose(() => this.flush());
  }

  incrCounter(key: readonly string[], value = 1, labels: readonly MetricLabel[] = []): void {
    const s = this.seriesFor("counter", key, labels);
    if (s !== undefined) s.value += value;
  }
  setGauge(key: readonly string[], value: number, labels: readonly MetricLabel[] = []): void {
    const s = this.seriesFor("gauge", key, labels);
    if (s !== undefined) s.value = value;
  }
  addSample(key: readonly string[], value: number, labels: readonly MetricLabel[] = []): void {
    const s = this.seriesFor("sample", key, labels);
    if (s !== undefined) keepSample(s, value);
  }
  measureSince(key: readonly string[], startMs: number, labels: readonly MetricLabel[] = []): void {
    const s = this.seriesFor("timer", key, labels);
    if (s !== undefined) keepSample(s, Date.now() - startMs);
  }

  /** Sends what was aggregated since the last flush; settles when every call has ended. */
  flush(): Promise<void> {
    if (this.series.size === 0) return Promise.resolve();
    const batch = this.series;
    this.series = new Map();
    const sent: Promise<void>[] = [];
    for (const s of batch.values()) {
      const labels = s.labels;
      switch (s.kind) {
        case "counter":
          sent.push(
            this.send((c, deadline, done) =>
              c.incrCounter({ key: s.key, val: s.value, labels }, new grpc.Metadata(), { deadline }, done),
            ),
          );
          break;
        case "gauge":
          sent.push(
            this.send((c, deadline, done) =>
              c.setGauge({ key: s.key, val: s.value, labels }, new grpc.Metadata(), { deadline }, done),
            ),
          );
          break;
        case "sample":
          for (const val of s.values) {
            sent.push(
              this.send((c, deadline, done) =>
                c.addSample({ key: s.key, val, labels }, new grpc.Metadata(), { deadline }, done),
              ),
            );
          }
          break;
        case "timer":
          for (const ms of s.values) {
            // SPIRE's MeasureSinceRequest.time is Unix nanoseconds; SPIRE measures up to now.
            const time = BigInt(Math.trunc(Date.now() - ms)) * 1_000_000n;
            sent.push(
              this.send((c, deadline, done) =>
                c.measureSince({ key: s.key, time, labels }, new grpc.Metadata(), { deadline }, done),
              ),
            );
          }
          break;
      }
    }
    return Promise.all(sent).then(() => undefined);
  }

  private seriesFor(
    kind: SeriesKind,
    key: readonly string[],
    labels: readonly MetricLabel[],
  ): Series | undefined {
    let id = `${kind}\u0000${key.join("\u0000")}`;
    for (const l of labels) id += `\u0001${l.name}\u0000${l.value}`;
    let s = this.series.get(id);
    if (s === undefined) {
      if (this.series.size >= MAX_SERIES) return undefined;
      s = {
        kind,
        key: [...key],
        labels: labels.map((l) => ({ name: l.name, value: l.value })),
        value: 0,
        values: [],
        seen: 0,
      };
      this.series.set(id, s);
      if (this.timer === undefined) {
        this.timer = setInterval(() => void this.flush(), METRICS_FLUSH_INTERVAL_MS);
        this.timer.unref();
      }
    }
    return s;
  }

  /** One Metrics call; settles (never rejects) when it has ended or was dropped. */
  private send(
    method: (
      client: InstanceType<typeof MetricsClient>,
      deadline: Date,
      done: (err: grpc.ServiceError | null) => void,
    ) => void,
  ): Promise<void> {
    if (this.inFlight >= MAX_METRICS_IN_FLIGHT) return Promise.resolve();
    this.inFlight++;
    return new Promise<void>((resolve) => {
      const done = (err: grpc.ServiceError | null): void => {
        this.inFlight--;
        resolve();
        if (err !== null && !this.warned) {
          this.warned = true;
          this.logger.debug("Metrics host service call failed; further failures are not logged", {
            error: grpcDetailsOf(err),
          });
        }
      };
      this.conn
        .metricsClient()
        .then((client) => {
          if (client === undefined) done(null);
          else method(client, new Date(Date.now() + METRICS_DEADLINE_MS), done);
        })
        .catch(() => done(null));
    });
  }
}

/** Reservoir sampling: every value offered this interval is kept with the same probability. */
function keepSample(s: Series, value: number): void {
  s.seen++;
  if (s.values.length < MAX_SAMPLES_PER_SERIES) {
    s.values.push(value);
    return;
  }
  const at = Math.floor(Math.random() * s.seen);
  if (at < MAX_SAMPLES_PER_SERIES) s.values[at] = value;
}

/** The HostServices handed to plugin implementations, per what SPIRE offered in Init. */
export function createHostServices(
  offered: readonly string[],
  conn: HostServiceConnection,
  logger: Logger,
): HostServices {
  return {
    agentStore: offered.includes(AGENT_STORE_HOST_SERVICE) ? new AgentStoreHostClient(conn) : undefined,
    metrics: offered.includes(METRICS_HOST_SERVICE) ? new MetricsHostClient(conn, logger) : noopMetrics,
  };
}
