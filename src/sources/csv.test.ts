import { describe, expect, it } from "vitest";
import { CsvParser, parseCsv, parseCsvStream } from "./csv.js";

const values = (text: string): string[][] => parseCsv(text).map((r) => r.fields.map((f) => f.value));

describe("CSV parser", () => {
  it("reads plain, quoted, escaped and empty fields", () => {
    expect(values('a,b,c\n1,"two, too","say ""hi"""\n,,\n')).toEqual([
      ["a", "b", "c"],
      ["1", "two, too", 'say "hi"'],
      ["", "", ""],
    ]);
  });

  it("keeps line breaks inside quotes and numbers records by their first line", () => {
    const records = parseCsv('h1,h2\r\n"multi\r\nline",x\r\nnext,y\r\n');
    expect(records.map((r) => [r.line, r.fields.map((f) => f.value)])).toEqual([
      [1, ["h1", "h2"]],
      [2, ["multi\r\nline", "x"]],
      [4, ["next", "y"]],
    ]);
  });

  it("tells quoted from unquoted values (NULL vs \"NULL\")", () => {
    const [record] = parseCsv('NULL,"NULL",""');
    expect(record?.fields).toEqual([
      { value: "NULL", quoted: false },
      { value: "NULL", quoted: true },
      { value: "", quoted: true },
    ]);
  });

  it("accepts CR-only line ends, skips blank lines, drops a BOM, reads a last line without newline", () => {
    expect(values("\uFEFFa,b\r\r\n\n1,2\r3,4")).toEqual([["a", "b"], ["1", "2"], ["3", "4"]]);
  });

  it("gives the same records for every way of cutting the text into two chunks", () => {
    const text = 'id,note\r\n1,"a ""q"", b\r\nc"\r\n2,plain\r\n3,"end"';
    const whole = parseCsv(text);
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new CsvParser();
      const records = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut)), ...parser.end()];
      expect(records).toEqual(whole);
    }
  });

  it("reports text after a closing quote and an unclosed quote, and keeps reading", () => {
    const records = parseCsv('a,b\n"x"y,1\nok,2\n"open,3\n');
    expect(records.map((r) => [r.line, r.error === undefined])).toEqual([[1, true], [2, false], [3, true], [4, false]]);
    expect(records[1]?.error).toContain("after a closing quote");
    expect(records[3]?.error).toContain("never closed");
  });

  it("streams bytes, including multi-byte characters cut between chunks", async () => {
    const bytes = Buffer.from('name,city\n"Zoë","São Paulo"\n');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 3) yield bytes.subarray(i, i + 3);
    }
    const records = [];
    for await (const record of parseCsvStream(chunks())) records.push(record.fields.map((f) => f.value));
    expect(records).toEqual([["name", "city"], ["Zoë", "São Paulo"]]);
  });
});
