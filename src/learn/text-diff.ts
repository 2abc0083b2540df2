/**
 * A unified diff of two texts (line based, longest common subsequence), in the format `git apply`
 * and `patch -p1` read. Meant for policy files (hundreds of lines): O(n·m) time and memory.
 */

type Op = { readonly kind: " " | "-" | "+"; readonly line: string };

function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? (lcs[(i + 1) * (m + 1) + j + 1] as number) + 1 : Math.max(lcs[(i + 1) * (m + 1) + j] as number, lcs[i * (m + 1) + j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { ops.push({ kind: " ", line: a[i] as string }); i++; j++; }
    else if ((lcs[(i + 1) * (m + 1) + j] as number) >= (lcs[i * (m + 1) + j + 1] as number)) { ops.push({ kind: "-", line: a[i] as string }); i++; }
    else { ops.push({ kind: "+", line: b[j] as string }); j++; }
  }
  while (i < n) ops.push({ kind: "-", line: a[i++] as string });
  while (j < m) ops.push({ kind: "+", line: b[j++] as string });
  return ops;
}

/**
 * Marks a last line without its newline: it differs from the same text with one (git sees a
 * change there) and is written with git's "\ No newline at end of file" line after it.
 */
const NO_EOL = "\u0000no-eol";

function split(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  else lines[lines.length - 1] += NO_EOL;
  return lines;
}

/** `--- a/<path>` / `+++ b/<path>` and hunks with `context` lines around each change; "" when equal. */
export function unifiedDiff(before: string, after: string, path: string, context = 3): string {
  const ops = diffLines(split(before), split(after));
  if (!ops.some((op) => op.kind !== " ")) return "";
  const out = [`--- a/${path}`, `+++ b/${path}`];
  let index = 0;
  // Old and new line numbers (1-based) at ops[index].
  const positions: { old: number; new: number }[] = [];
  let oldLine = 1, newLine = 1;
  for (const op of ops) {
    positions.push({ old: oldLine, new: newLine });
    if (op.kind !== "+") oldLine++;
    if (op.kind !== "-") newLine++;
  }
  while (index < ops.length) {
    while (index < ops.length && ops[index]?.kind === " ") index++;
    if (index >= ops.length) break;
    const start = Math.max(0, index - context);
    let end = index;
    // Extend the hunk while changes are closer than 2 × context lines apart.
    for (;;) {
      while (end < ops.length && ops[end]?.kind !== " ") end++;
      let next = end;
      while (next < ops.length && ops[next]?.kind === " ") next++;
      if (next < ops.length && next - end <= 2 * context) { end = next; continue; }
      end = Math.min(ops.length, end + context);
      break;
    }
    const hunk = ops.slice(start, end);
    const first = positions[start] as { old: number; new: number };
    const oldCount = hunk.filter((op) => op.kind !== "+").length;
    const newCount = hunk.filter((op) => op.kind !== "-").length;
    out.push(`@@ -${oldCount === 0 ? first.old - 1 : first.old},${oldCount} +${newCount === 0 ? first.new - 1 : first.new},${newCount} @@`);
    for (const op of hunk) {
      if (!op.line.endsWith(NO_EOL)) { out.push(`${op.kind}${op.line}`); continue; }
      out.push(`${op.kind}${op.line.slice(0, -NO_EOL.length)}`, "\\ No newline at end of file");
    }
    index = end;
  }
  return out.join("\n") + "\n";
}
