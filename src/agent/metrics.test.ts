import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.js";

describe("metrics", () => {
  it("counts decisions by verdict and tier, with cumulative latency buckets, counters and gauges", () => {
    const metrics = createMetrics();
    metrics.observeDecision("deny", "block", 0.0003);
    metrics.observeDecision("deny", "block", 0.02);
    metrics.observeDecision("allow", "observe", 2);
    metrics.inc("vigil_admission_reviews_total", { allowed: "true" });
    let queued = 3;
    metrics.gauge("vigil_ingest_queue_events", "queued", () => queued);
    queued = 5;
    const text = metrics.render();
    expect(text).toContain('vigil_decisions_total{verdict="deny",tier="block"} 2');
    expect(text).toContain('vigil_decisions_total{verdict="allow",tier="observe"} 1');
    expect(text).toContain('vigil_evaluation_seconds_bucket{le="0.00025"} 0');
    expect(text).toContain('vigil_evaluation_seconds_bucket{le="0.0005"} 1');
    expect(text).toContain('vigil_evaluation_seconds_bucket{le="0.025"} 2');
    expect(text).toContain('vigil_evaluation_seconds_bucket{le="1"} 2');
    expect(text).toContain('vigil_evaluation_seconds_bucket{le="+Inf"} 3');
    expect(text).toContain('vigil_admission_reviews_total{allowed="true"} 1');
    expect(text).toContain("vigil_ingest_queue_events 5");
  });

  it("escapes a gauge's HELP text: a backslash or a newline cannot break the exposition", () => {
    const metrics = createMetrics();
    metrics.gauge("vigil_paths", "files under C:\\data\nsecond line", () => 1);
    expect(metrics.render()).toContain("# HELP vigil_paths files under C:\\\\data\\nsecond line\n# TYPE vigil_paths gauge\nvigil_paths 1\n");
  });
});
