/**
 * Telemetry the domain code emits. In the plugin this is forwarded to SPIRE's Metrics host
 * service (spire.hostservice.common.metrics.v1) over broker id 1; when SPIRE does not offer
 * it, or in tests, the no-op sink is used. Calls never throw and never block attestation.
 */
export interface MetricLabel {
  name: string;
  value: string;
}

export interface Metrics {
  incrCounter(key: readonly string[], value?: number, labels?: readonly MetricLabel[]): void;
  setGauge(key: readonly string[], value: number, labels?: readonly MetricLabel[]): void;
  addSample(key: readonly string[], value: number, labels?: readonly MetricLabel[]): void;
  /** Records the time elapsed since `startMs` (Date.now() milliseconds). */
  measureSince(key: readonly string[], startMs: number, labels?: readonly MetricLabel[]): void;
}

export const noopMetrics: Metrics = {
  incrCounter() {},
  setGauge() {},
  addSample() {},
  measureSince() {},
};
