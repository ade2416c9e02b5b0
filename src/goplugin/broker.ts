/**
 * Host side of go-plugin's GRPCBroker as a plugin sees it: the host opens StartStream right
 * after connecting and, during dispense (before Init), announces its host-service socket as
 * ConnInfo{service_id: 1}. The stream and Init are different HTTP/2 streams, so a ConnInfo
 * may be processed after Init has started; users wait briefly for it.
 */
import { unavailable } from "../common/errors";
import { raceSignal, startDeadline } from "../common/signals";
import type { ConnInfo } from "../gen/plugin/grpc_broker";

export interface BrokerConnInfo {
  serviceId: number;
  network: string;
  address: string;
}

export class Broker {
  private readonly known = new Map<number, BrokerConnInfo>();
  private readonly waiters = new Map<number, Set<(info: BrokerConnInfo) => void>>();

  record(info: ConnInfo): void {
    const entry: BrokerConnInfo = { serviceId: info.serviceId, network: info.network, address: info.address };
    // Keep the latest: go-plugin sends a new ConnInfo if a service id is accepted again.
    this.known.set(entry.serviceId, entry);
    const ws = this.waiters.get(entry.serviceId);
    if (ws === undefined) return;
    this.waiters.delete(entry.serviceId);
    for (const w of ws) w(entry);
  }

  get(serviceId: number): BrokerConnInfo | undefined {
    return this.known.get(serviceId);
  }

  /** Resolves with the ConnInfo, or undefined after timeoutMs / when signal aborts. */
  async wait(
    serviceId: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<BrokerConnInfo | undefined> {
    const have = this.known.get(serviceId);
    if (have !== undefined) return have;
    if (signal?.aborted === true) return undefined;
    let set = this.waiters.get(serviceId);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(serviceId, set);
    }
    let waiter: ((info: BrokerConnInfo) => void) | undefined;
    const announced = new Promise<BrokerConnInfo>((resolve) => {
      waiter = resolve;
      set.add(resolve);
    });
    const deadline = startDeadline(timeoutMs, () => unavailable("no ConnInfo in time"), signal);
    try {
      return await raceSignal(announced, deadline.signal);
    } catch {
      // Only the deadline or the caller's signal rejects: the answer is "not announced".
      return undefined;
    } finally {
      deadline.dispose();
      if (waiter !== undefined) set.delete(waiter);
    }
  }
}
