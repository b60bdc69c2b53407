/** A small Prometheus registry: counters, gauges and histograms with labels, rendered as text format 0.0.4. */

type Labels = Readonly<Record<string, string>>;

/** Label sets repeat (operation × result); their rendered keys are memoised per object identity and per content. */
const keyCache = new Map<string, string>();

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  let raw = '';
  for (const k of keys) raw += `${k}\u0000${labels[k]}\u0001`;
  let key = keyCache.get(raw);
  if (key === undefined) {
    key = renderLabels(labels);
    if (keyCache.size < 10_000) keyCache.set(raw, key);
  }
  return key;
}

function renderLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
    return lines.join('\n');
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: () => number,
  ) {}
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    if (this.collect) this.values.set('', this.collect());
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
    return lines.join('\n');
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string, collect?: () => number): Gauge {
    return this.add(new Gauge(name, help, collect));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  private add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return `${this.metrics.map((m) => m.render()).join('\n')}\n`;
  }
}

/** The metrics the server exports. */
export function serverMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    operations: registry.counter('kmip_operations_total', 'KMIP batch items served, by operation and result'),
    operationSeconds: registry.histogram('kmip_operation_duration_seconds', 'Time to serve one batch item', [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]),
    openConnections: registry.gauge('kmip_open_connections', 'Client connections currently open'),
    connections: registry.counter('kmip_connections_total', 'Client connections accepted'),
    tlsErrors: registry.counter('kmip_tls_handshake_errors_total', 'TLS handshakes that failed, by error code'),
    storeSeconds: registry.histogram('kmip_store_commit_duration_seconds', 'Time for a durable store commit', [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    ]),
    rootKeyCalls: registry.counter('kmip_root_key_calls_total', 'Calls to the root-key provider (Key Protect), by action and HTTP status'),
    rootKeySeconds: registry.histogram('kmip_root_key_call_duration_seconds', 'Time of one root-key provider call', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    rewrapsPersisted: registry.counter('kmip_root_key_rewraps_persisted_total', 'Objects moved to a newer root-key version after a rotation'),
    residentMemory: registry.gauge('process_resident_memory_bytes', 'Resident memory of the server process', () => process.memoryUsage.rss()),
    heapUsed: registry.gauge('nodejs_heap_used_bytes', 'JavaScript heap in use (live objects and garbage not yet collected)', () => process.memoryUsage().heapUsed),
    heapTotal: registry.gauge('nodejs_heap_total_bytes', 'JavaScript heap reserved by V8', () => process.memoryUsage().heapTotal),
  };
}

export type ServerMetrics = ReturnType<typeof serverMetrics>;
