/**
 * Host side of go-plugin's GRPCBroker as a plugin sees it: the host opens StartStream right
 * after connecting and, during dispense (before Init), announces its host-service socket as
 * ConnInfo{service_id: 1}. The stream and Init are different HTTP/2 streams, so a ConnInfo
 * may be processed after Init has started; users wait briefly for it.
 */
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
  wait(serviceId: number, timeoutMs: number, signal?: AbortSignal): Promise<BrokerConnInfo | undefined> {
    const have = this.known.get(serviceId);
    if (have !== undefined) return Promise.resolve(have);
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let set = this.waiters.get(serviceId);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(serviceId, set);
      }
      const done = (info: BrokerConnInfo | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        set.delete(waiter);
        resolve(info);
      };
      const waiter = (info: BrokerConnInfo): void => done(info);
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      timer.unref();
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(waiter);
    });
  }
}
