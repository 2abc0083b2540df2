/**
 * Prometheus text exposition (format 0.0.4) for the few series Vigil exports; no dependency.
 */
const latencyBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface Metrics {
  /** Counts one decision and observes its evaluation latency in seconds. */
  observeDecision(verdict: string, tier: string, seconds: number): void;
  inc(name: string, labels?: Readonly<Record<string, string>>, by?: number): void;
  /** A gauge read when the metrics are rendered (queue depth...). */
  gauge(name: string, help: string, read: () => number): void;
  render(): string;
}

const needsEscape = /[\\"\n]/;

function labelValue(v: string): string {
  return needsEscape.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

/** `{k="v",...}` (escaped), "" without labels. Hot path (`inc` per admission review): no arrays or closures. */
function labelText(labels: Readonly<Record<string, string>>): string {
  let text = "";
  for (const k in labels) {
    if (!Object.prototype.hasOwnProperty.call(labels, k)) continue;
    text += `${text === "" ? "{" : ","}${k}="${labelValue(labels[k] as string)}"`;
  }
  return text === "" ? "" : `${text}}`;
}

export function createMetrics(): Metrics {
  const decisions = new Map<string, number>();
  const decisionKeys = new Map<string, Map<string, string>>();
  const counters = new Map<string, Map<string, number>>();
  const bucketCounts = new Array<number>(latencyBuckets.length).fill(0);
  let latencySum = 0;
  let latencyCount = 0;
  const gauges = new Map<string, { help: string; read: () => number }>();
  return {
    gauge(name, help, read) {
      gauges.set(name, { help, read });
    },
    observeDecision(verdict, tier, seconds) {
      // Hot path (one call per decision): the label text is built once per (verdict, tier).
      let key = decisionKeys.get(verdict)?.get(tier);
      if (key === undefined) {
        key = labelText({ verdict, tier });
        let byTier = decisionKeys.get(verdict);
        if (!byTier) decisionKeys.set(verdict, (byTier = new Map()));
        byTier.set(tier, key);
      }
      decisions.set(key, (decisions.get(key) ?? 0) + 1);
      latencySum += seconds;
      latencyCount++;
      for (let i = latencyBuckets.length - 1; i >= 0 && seconds <= (latencyBuckets[i] as number); i--) bucketCounts[i] = (bucketCounts[i] as number) + 1;
    },
    inc(name, labels = {}, by = 1) {
      let series = counters.get(name);
      if (!series) counters.set(name, (series = new Map()));
      const key = labelText(labels);
      series.set(key, (series.get(key) ?? 0) + by);
    },
    render() {
      const lines = ["# HELP vigil_decisions_total Decisions made, by verdict and tier.", "# TYPE vigil_decisions_total counter"];
      for (const [labels, value] of decisions) lines.push(`vigil_decisions_total${labels} ${value}`);
      lines.push("# HELP vigil_evaluation_seconds Time to evaluate policies and decide, per decision.", "# TYPE vigil_evaluation_seconds histogram");
      latencyBuckets.forEach((le, i) => lines.push(`vigil_evaluation_seconds_bucket{le="${le}"} ${bucketCounts[i]}`));
      lines.push(`vigil_evaluation_seconds_bucket{le="+Inf"} ${latencyCount}`, `vigil_evaluation_seconds_sum ${latencySum}`, `vigil_evaluation_seconds_count ${latencyCount}`);
      for (const [name, series] of counters) {
        lines.push(`# TYPE ${name} counter`);
        for (const [labels, value] of series) lines.push(`${name}${labels} ${value}`);
      }
      // HELP text escapes backslash and newline (Prometheus text format 0.0.4).
      for (const [name, gauge] of gauges) lines.push(`# HELP ${name} ${gauge.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} gauge`, `${name} ${gauge.read()}`);
      return lines.join("\n") + "\n";
    },
  };
}
