/**
 * CEL tokenizer (cel-spec "Lexical structure"): identifiers, reserved words, int / uint / double
 * literals (decimal and hex), string and bytes literals with every quoting form (', ", ''', """,
 * raw and bytes prefixes) and escape, comments and whitespace.
 */

export type Token =
  | { readonly t: "ident"; readonly v: string; readonly start: number; readonly end: number }
  | { readonly t: "quoted"; readonly v: string; readonly start: number; readonly end: number }
  | { readonly t: "int"; readonly v: bigint; readonly start: number; readonly end: number }
  | { readonly t: "uint"; readonly v: bigint; readonly start: number; readonly end: number }
  | { readonly t: "double"; readonly v: number; readonly start: number; readonly end: number }
  | { readonly t: "string"; readonly v: string; readonly start: number; readonly end: number }
  | { readonly t: "bytes"; readonly v: Uint8Array; readonly start: number; readonly end: number }
  | { readonly t: "op"; readonly v: string; readonly start: number; readonly end: number }
  | { readonly t: "eof"; readonly start: number; readonly end: number };

/** A syntax error at a 0-based source offset. */
export class CelSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** Words that cannot be identifiers (cel-spec); they may still be field / function names after a dot. */
export const reservedWords: ReadonlySet<string> = new Set([
  "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop",
  "package", "namespace", "return", "var", "void", "while",
]);

const twoCharOps = new Set(["<=", ">=", "==", "!=", "&&", "||"]);
const oneCharOps = new Set(["(", ")", "[", "]", "{", "}", ".", ",", ":", "?", "!", "-", "+", "*", "/", "%", "<", ">"]);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = src.length;
  while (true) {
    // whitespace and comments
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) i++;
      else if (c === 47 && src.charCodeAt(i + 1) === 47) {
        while (i < n && src.charCodeAt(i) !== 10) i++;
      } else break;
    }
    if (i >= n) {
      tokens.push({ t: "eof", start: n, end: n });
      return tokens;
    }
    const start = i;
    const c = src.charCodeAt(i);
    if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) {
      const tok = lexNumber(src, i);
      tokens.push(tok);
      i = tok.end;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(src.charCodeAt(j))) j++;
      const word = src.slice(i, j);
      const q = src.charCodeAt(j);
      if ((q === 34 || q === 39) && /^(r|R|b|B|rb|rB|Rb|RB|br|bR|Br|BR)$/.test(word)) {
        const lower = word.toLowerCase();
        const tok = lexString(src, j, start, lower.includes("r"), lower.includes("b"));
        tokens.push(tok);
        i = tok.end;
        continue;
      }
      tokens.push({ t: "ident", v: word, start, end: j });
      i = j;
      continue;
    }
    if (c === 34 || c === 39) {
      const tok = lexString(src, i, start, false, false);
      tokens.push(tok);
      i = tok.end;
      continue;
    }
    if (c === 96) {
      const close = src.indexOf("`", i + 1);
      if (close < 0) throw new CelSyntaxError("unterminated quoted identifier (missing closing backquote)", i);
      const name = src.slice(i + 1, close);
      if (!/^[a-zA-Z0-9_.\-/ ]+$/.test(name)) throw new CelSyntaxError(`invalid quoted identifier \`${name}\``, i);
      tokens.push({ t: "quoted", v: name, start, end: close + 1 });
      i = close + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (twoCharOps.has(two)) {
      tokens.push({ t: "op", v: two, start, end: i + 2 });
      i += 2;
      continue;
    }
    const one = src[i] as string;
    if (oneCharOps.has(one)) {
      tokens.push({ t: "op", v: one, start, end: i + 1 });
      i++;
      continue;
    }
    if (one === "=" || one === "&" || one === "|") {
      throw new CelSyntaxError(`unexpected '${one}' (did you mean '${one}${one}'?)`, i);
    }
    throw new CelSyntaxError(`unexpected character '${String.fromCodePoint(src.codePointAt(i) ?? 0)}'`, i);
  }
}

function lexNumber(src: string, i: number): Token {
  const start = i;
  const n = src.length;
  if (src[i] === "0" && (src[i + 1] === "x" || src[i + 1] === "X")) {
    let j = i + 2;
    while (j < n && isHex(src.charCodeAt(j))) j++;
    if (j === i + 2) throw new CelSyntaxError("invalid hex literal", start);
    const value = BigInt(`0x${src.slice(i + 2, j)}`);
    if (src[j] === "u" || src[j] === "U") return { t: "uint", v: value, start, end: j + 1 };
    return { t: "int", v: value, start, end: j };
  }
  let j = i;
  while (j < n && isDigit(src.charCodeAt(j))) j++;
  let isFloat = false;
  if (src[j] === "." && isDigit(src.charCodeAt(j + 1))) {
    isFloat = true;
    j++;
    while (j < n && isDigit(src.charCodeAt(j))) j++;
  }
  if (src[j] === "e" || src[j] === "E") {
    let k = j + 1;
    if (src[k] === "+" || src[k] === "-") k++;
    if (isDigit(src.charCodeAt(k))) {
      isFloat = true;
      while (k < n && isDigit(src.charCodeAt(k))) k++;
      j = k;
    } else {
      throw new CelSyntaxError("invalid exponent in number literal", j);
    }
  }
  const text = src.slice(i, j);
  if (isFloat) {
    const v = Number(text);
    // As cel-go (strconv.ParseFloat's ErrRange): a literal beyond the double range is an error, not infinity.
    if (!Number.isFinite(v)) throw new CelSyntaxError("double literal out of the double range (magnitude above 1.7976931348623157e308)", start);
    return { t: "double", v, start, end: j };
  }
  if (src[j] === "u" || src[j] === "U") return { t: "uint", v: BigInt(text), start, end: j + 1 };
  return { t: "int", v: BigInt(text), start, end: j };
}

const simpleEscapes: Record<string, number> = {
  a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, "'": 39, '"': 34, "`": 96, "?": 63,
};

function lexString(src: string, q: number, start: number, raw: boolean, bytes: boolean): Token {
  const quote = src[q] as string;
  const triple = src.startsWith(quote.repeat(3), q);
  const delim = triple ? quote.repeat(3) : quote;
  let i = q + delim.length;
  const n = src.length;
  // Collected as code points (strings) or byte values (bytes).
  const out: number[] = [];
  const pushChar = (cp: number): void => {
    if (!bytes) {
      out.push(cp);
      return;
    }
    for (const b of new TextEncoder().encode(String.fromCodePoint(cp))) out.push(b);
  };
  while (true) {
    if (i >= n) throw new CelSyntaxError("unterminated string literal", start);
    if (src.startsWith(delim, i)) {
      i += delim.length;
      break;
    }
    const c = src.charCodeAt(i);
    if (!triple && (c === 10 || c === 13)) throw new CelSyntaxError("newline in string literal (use ''' or \"\"\" for multi-line strings)", i);
    if (c === 92 && !raw) {
      const e = src[i + 1];
      if (e === undefined) throw new CelSyntaxError("unterminated string literal", start);
      const simple = simpleEscapes[e];
      if (simple !== undefined) {
        out.push(simple);
        i += 2;
        continue;
      }
      if (e === "x" || e === "X" || e === "u" || e === "U") {
        const len = e === "x" || e === "X" ? 2 : e === "u" ? 4 : 8;
        const hex = src.slice(i + 2, i + 2 + len);
        if (hex.length !== len || ![...hex].every((h) => isHex(h.charCodeAt(0)))) {
          throw new CelSyntaxError(`invalid escape sequence \\${e}${hex}`, i);
        }
        const cp = Number.parseInt(hex, 16);
        if (len === 2) {
          if (bytes) out.push(cp);
          else out.push(cp);
        } else {
          if (bytes) throw new CelSyntaxError(`\\${e} escape is not allowed in bytes literals`, i);
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new CelSyntaxError(`invalid unicode code point \\${e}${hex}`, i);
          out.push(cp);
        }
        i += 2 + len;
        continue;
      }
      if (e >= "0" && e <= "3") {
        const oct = src.slice(i + 1, i + 4);
        if (!/^[0-3][0-7][0-7]$/.test(oct)) throw new CelSyntaxError(`invalid octal escape \\${oct}`, i);
        out.push(Number.parseInt(oct, 8));
        i += 4;
        continue;
      }
      throw new CelSyntaxError(`invalid escape sequence \\${e}`, i);
    }
    const cp = src.codePointAt(i) as number;
    pushChar(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  if (bytes) return { t: "bytes", v: Uint8Array.from(out), start, end: i };
  let s = "";
  for (let k = 0; k < out.length; k += 4096) s += String.fromCodePoint(...out.slice(k, k + 4096));
  return { t: "string", v: s, start, end: i };
}
