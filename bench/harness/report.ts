/** Human-readable output of benchmark results: one side-by-side table per benchmark. */
import type { BenchmarkResult, Measurement } from "./types.js";

/** 1234567 → "1,234,567"; small values keep 3 significant digits. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toPrecision(3);
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return "-";
  return ratio >= 10 ? `${Math.round(ratio).toLocaleString("en-US")}x` : `${ratio.toFixed(2)}x`;
}

function pad(text: string, width: number, right: boolean): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function table(header: string[], rows: string[][], rightAligned: (column: number) => boolean): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, c) => pad(cell, widths[c] ?? 0, rightAligned(c))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** The side-by-side table: one row per group, per subject ops/s, p50, p99, then the ratios. */
export function formatResult(result: BenchmarkResult): string {
  const lines: string[] = [`== ${result.name} ${result.ok ? "" : "(FAILED)"}`.trimEnd()];
  if (result.output) lines.push(result.output.trimEnd());
  if (result.measurements.length > 0) {
    const groups = [...new Set(result.measurements.map((m) => m.group))];
    const subjects = [...new Set(result.measurements.map((m) => m.subject))];
    const unit = result.measurements[0]?.unit ?? "ops";
    const pairs = [...new Map(result.comparisons.map((c) => [`${c.subject}/${c.peer}`, c])).keys()];
    const cpu = result.measurements.some((m) => m.opsPerCpuSecond !== undefined);
    const header = ["", ...subjects.flatMap((s) => [`${s} ${unit}/s`, ...(cpu ? ["/CPU-s"] : []), "p50 µs", "p99 µs"]), ...pairs.map((p) => `ratio ${p}`)];
    const rows = groups.map((group) => {
      const bySubject = new Map<string, Measurement>(result.measurements.filter((m) => m.group === group).map((m) => [m.subject, m]));
      return [
        group,
        ...subjects.flatMap((s) => {
          const m = bySubject.get(s);
          return [formatNumber(m?.opsPerSecond), ...(cpu ? [formatNumber(m?.opsPerCpuSecond)] : []), formatNumber(m?.p50Micros), formatNumber(m?.p99Micros)];
        }),
        ...pairs.map((p) => {
          const c = result.comparisons.find((x) => x.group === group && `${x.subject}/${x.peer}` === p);
          return c ? formatRatio(c.ratio) : "-";
        }),
      ];
    });
    lines.push(...table(header, rows, (c) => c > 0));
  }
  for (const target of result.targets) {
    lines.push(`${target.met ? "[met]    " : "[NOT MET]"} ${target.description}: target ${target.target}, measured ${target.actual}`);
  }
  for (const note of result.notes) lines.push(`  - ${note}`);
  if (result.failure) lines.push(`FAILURE: ${result.failure}`);
  return lines.join("\n");
}
