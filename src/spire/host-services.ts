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
import { raceSignal, throwIfAborted } from "../common/signals";
import { MetricsClient } from "../gen/spire/hostservice/common/metrics/v1/metrics";
import {
  AgentStoreClient,
  type GetAgentInfoResponse,
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
const MAX_METRICS_IN_FLIGHT = 64;

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

  close(): void {
    this.agentStore?.close();
    this.metrics?.close();
    this.agentStore = undefined;
    this.metrics = undefined;
  }
}

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
    let call: grpc.ClientUnaryCall | undefined;
    const answer = new Promise<boolean>((resolve, reject) => {
      call = client.getAgentInfo(
        { agentId },
        new grpc.Metadata(),
        { deadline: Date.now() + AGENT_STORE_DEADLINE_MS },
        (err: grpc.ServiceError | null, _res?: GetAgentInfoResponse) => {
          if (err === null) return resolve(true);
          const code = grpcCodeOf(err);
          if (code === Code.NotFound) return resolve(false);
          // FailedPrecondition ("host service has not been initialized") until SPIRE has loaded
          // every plugin; callers see SPIRE's own code.
          reject(new PluginError(code, `agentstore: ${grpcDetailsOf(err)}`, { cause: err }));
        },
      );
    });
    try {
      return await raceSignal(answer, signal);
    } finally {
      // The caller gave up first: free the stream instead of waiting for SPIRE's answer.
      if (signal?.aborted === true) call?.cancel();
    }
  }
}

/** Forwards to SPIRE's Metrics host service; never throws, never blocks the caller. */
export class MetricsHostClient implements Metrics {
  private inFlight = 0;
  private warned = false;

  constructor(
    private readonly conn: HostServiceConnection,
    private readonly logger: Logger,
  ) {}

  private send(
    method: (
      client: InstanceType<typeof MetricsClient>,
      deadline: Date,
      done: (err: grpc.ServiceError | null) => void,
    ) => void,
  ): void {
    if (this.inFlight >= MAX_METRICS_IN_FLIGHT) return;
    this.inFlight++;
    const done = (err: grpc.ServiceError | null): void => {
      this.inFlight--;
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
        if (client === undefined) {
          this.inFlight--;
          return;
        }
        method(client, new Date(Date.now() + METRICS_DEADLINE_MS), done);
      })
      .catch(() => {
        this.inFlight--;
      });
  }

  incrCounter(key: readonly string[], value = 1, labels: readonly MetricLabel[] = []): void {
    this.send((c, deadline, done) =>
      c.incrCounter(
        { key: [...key], val: value, labels: [...labels] },
        new grpc.Metadata(),
        { deadline },
        (e) => done(e),
      ),
    );
  }
  setGauge(key: readonly string[], value: number, labels: readonly MetricLabel[] = []): void {
    this.send((c, deadline, done) =>
      c.setGauge({ key: [...key], val: value, labels: [...labels] }, new grpc.Metadata(), { deadline }, (e) =>
        done(e),
      ),
    );
  }
  addSample(key: readonly string[], value: number, labels: readonly MetricLabel[] = []): void {
    this.send((c, deadline, done) =>
      c.addSample(
        { key: [...key], val: value, labels: [...labels] },
        new grpc.Metadata(),
        { deadline },
        (e) => done(e),
      ),
    );
  }
  measureSince(key: readonly string[], startMs: number, labels: readonly MetricLabel[] = []): void {
    // SPIRE's MeasureSinceRequest.time is Unix nanoseconds.
    const time = BigInt(Math.trunc(startMs)) * 1_000_000n;
    this.send((c, deadline, done) =>
      c.measureSince({ key: [...key], time, labels: [...labels] }, new grpc.Metadata(), { deadline }, (e) =>
        done(e),
      ),
    );
  }
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
