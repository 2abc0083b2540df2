/**
 * Extension libraries on real-world-looking expressions (the shapes Kubernetes
 * ValidatingAdmissionPolicy / Kyverno ValidatingPolicy authors write), with hand-derived results.
 */
import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "./environment.js";

const env = createCelEnvironment();

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "shop", labels: { app: "web", "app.kubernetes.io/version": "v1.4" } },
  spec: {
    replicas: 3,
    template: {
      spec: {
        containers: [
          { name: "app", image: "registry.example.com/shop/web:1.4.2", resources: { limits: { memory: "512Mi", cpu: "500m" }, requests: { memory: "256Mi", cpu: "0.25" } }, ports: [{ containerPort: 8080 }] },
          { name: "sidecar", image: "docker.io/envoyproxy/envoy:v1.29.1", resources: { limits: { memory: "1Gi", cpu: "1" } }, ports: [{ containerPort: 9901 }] },
        ],
      },
    },
  },
};
const service = { spec: { clusterIP: "10.96.12.34", clusterIPs: ["10.96.12.34", "fd00:10:96::1234"], externalIPs: ["203.0.113.10"] } };
const webhook = { spec: { url: "https://hooks.example.com:8443/v1/admit?team=shop&team=ops&dry=true" } };

function value(expr: string, activation: Record<string, unknown> = {}): unknown {
  const outcome = env.compile(expr).evaluate(activation);
  if (!outcome.ok) throw new Error(`${expr}: ${outcome.error.kind}: ${outcome.error.message}`);
  return outcome.value;
}

function errorKind(expr: string, activation: Record<string, unknown> = {}): string {
  const outcome = env.compile(expr).evaluate(activation);
  if (outcome.ok) throw new Error(`${expr}: expected an error, got ${JSON.stringify(outcome.value)}`);
  return outcome.error.kind;
}

const obj = { object: deployment };

describe("standard macros and fields on a Deployment", () => {
  it("evaluates typical admission rules", () => {
    expect(value("object.spec.replicas <= 5", obj)).toBe(true);
    expect(value("object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example.com/'))", obj)).toBe(false);
    expect(value("object.spec.template.spec.containers.exists_one(c, c.name == 'app')", obj)).toBe(true);
    expect(value("has(object.metadata.labels) && 'app' in object.metadata.labels", obj)).toBe(true);
    expect(value("object.spec.template.spec.containers.map(c, c.name)", obj)).toEqual(["app", "sidecar"]);
    expect(value("object.spec.template.spec.containers.filter(c, !has(c.resources.requests)).map(c, c.name)", obj)).toEqual(["sidecar"]);
    expect(value("object.metadata.labels['app.kubernetes.io/version']", obj)).toBe("v1.4");
  });

  it("reads optional fields with ?. / [?] and orValue", () => {
    expect(value("object.metadata.?annotations[?'owner'].orValue('nobody')", obj)).toBe("nobody");
    expect(value("object.metadata.?labels[?'app'].orValue('none')", obj)).toBe("web");
    expect(value("object.spec.?strategy.?type.hasValue()", obj)).toBe(false);
    expect(value("optional.ofNonZeroValue(object.metadata.name).optMap(n, n + '-svc').value()", obj)).toBe("web-svc");
    expect(value("[?object.metadata.?annotations.?owner, ?optional.of('x')]", obj)).toEqual(["x"]);
    expect(value("{?'team': object.metadata.?labels.?team, 'app': 'web'}", obj)).toEqual({ app: "web" });
  });
});

describe("backquoted field names", () => {
  it("select a key holding dots and slashes (a Kubernetes label), also through has(), .? and the index", () => {
    const pod = { object: { metadata: { labels: { "app.kubernetes.io/name": "web", "team": "shop" } } } };
    expect(value("object.metadata.labels.`app.kubernetes.io/name`", pod)).toBe("web");
    expect(value("object.metadata.labels.`app.kubernetes.io/name` == 'web' && has(object.metadata.labels.`app.kubernetes.io/name`)", pod)).toBe(true);
    expect(value("object.metadata.labels.?`app.kubernetes.io/version`.orValue('none')", pod)).toBe("none");
    expect(value("a.`b.c`.d", { a: { "b.c": { d: 1 } }, "a.b": { c: { d: 2 } } })).toBe(1);
    expect(env.compile("object.metadata.labels.`app.kubernetes.io/name` == 'web' && object.metadata.labels.team == 'shop'").requiredValues)
      .toEqual([{ path: "object.metadata.labels.team", values: ["shop"] }]);
  });
});

describe("strings", () => {
  it("charAt, indexOf, lastIndexOf, substring count code points", () => {
    expect(value("'registry.example.com/shop/web:1.4.2'.indexOf(':')")).toBe(29);
    expect(value("'registry.example.com/shop/web:1.4.2'.lastIndexOf('/')")).toBe(25);
    expect(value("'registry.example.com/shop/web:1.4.2'.substring(0, 20)")).toBe("registry.example.com");
    expect(value("'héllo🐱x'.charAt(5)")).toBe("🐱");
    expect(value("'héllo🐱x'.indexOf('x')")).toBe(6);
    expect(errorKind("'abc'.substring(2, 1)")).toBe("invalid_argument");
  });

  it("case, replace, split, trim, join, reverse, quote", () => {
    expect(value("'Web-Frontend'.lowerAscii()")).toBe("web-frontend");
    expect(value("'web'.upperAscii()")).toBe("WEB");
    expect(value("'a.b.c'.replace('.', '/')")).toBe("a/b/c");
    expect(value("'a.b.c'.replace('.', '/', 1)")).toBe("a/b.c");
    expect(value("'k1=v1,k2=v2'.split(',')")).toEqual(["k1=v1", "k2=v2"]);
    expect(value("'k1=v1,k2=v2,k3=v3'.split(',', 2)")).toEqual(["k1=v1", "k2=v2,k3=v3"]);
    expect(value("'  padded \\n'.trim()")).toBe("padded");
    expect(value("['shop', 'web'].join('/')")).toBe("shop/web");
    expect(value("'stressed'.reverse()")).toBe("desserts");
    expect(value("strings.quote('say \"hi\"\\n')")).toBe('"say \\"hi\\"\\n"');
  });

  it("indexOf / lastIndexOf search natively and count code points: a long near-miss needle took quadratic time", () => {
    // Quadratic, this is ~10^11 character compares (minutes, past the test's timeout); natively, milliseconds.
    const text = `${"a".repeat(1_000_000)}😀`;
    const needle = `${"a".repeat(100_000)}b`;
    expect(value("s.indexOf(t)", { s: text, t: needle })).toBe(-1);
    // V8's own lastIndexOf is quadratic on this (8.6 s at a tenth of the size).
    expect(value("s.lastIndexOf(t)", { s: text, t: needle })).toBe(-1);
    expect(value("s.lastIndexOf(t)", { s: `${needle}${text}`, t: needle })).toBe(0);
    expect(value("(s + t).lastIndexOf(t, 5)", { s: text, t: needle })).toBe(-1);
    // The reversed search gives what the native one does, at every start, on and off long needles.
    const long = "ab".repeat(40);
    const hay = `x${long}y${long}${long}z${long.slice(1)}`;
    for (const sub of [long, `${long}y`, long.slice(1), "b".repeat(70)]) {
      for (const from of [0, 1, 80, 81, 160, 161, 200, 240, 400]) {
        expect(value("s.lastIndexOf(t, n)", { s: hay, t: sub, n: BigInt(Math.min(from, hay.length)) }), `${sub.length} from ${from}`).toBe(hay.lastIndexOf(sub, from));
      }
    }
    // A match never starts or ends inside a surrogate pair (a lone surrogate matches only itself).
    const pair = { s: "a😀b😀", hi: "\ud83d", lo: "\ude00" };
    expect(value("s.indexOf(hi)", pair)).toBe(-1);
    expect(value("s.indexOf(lo)", pair)).toBe(-1);
    expect(value("s.lastIndexOf(lo)", pair)).toBe(-1);
    expect(value("(s + lo).lastIndexOf(lo)", pair)).toBe(4);
    expect(value("s.indexOf('😀', 2)", pair)).toBe(3);
    expect(value("s.lastIndexOf('😀', 2)", pair)).toBe(1);
    expect(value("s.lastIndexOf('b😀')", pair)).toBe(2);
    expect(value("s.lastIndexOf('', 2)", pair)).toBe(2);
    expect(value("s.indexOf('', 4)", pair)).toBe(4);
    expect(value("'aaa'.lastIndexOf('aa')")).toBe(1);
    expect(value("'aaa'.lastIndexOf('aa', 0)")).toBe(0);
  });

  it("trim is linear in the string: a long run of inner blanks took quadratic time (160,000: 70 s)", () => {
    // Quadratic, 200,000 inner blanks take minutes (past the test's timeout).
    const padded = `\u00a0 x${" ".repeat(200_000)}\ty \u3000\n`;
    expect(value("s.trim()", { s: padded })).toBe(padded.slice(2, -3));
    expect(value("s.trim()", { s: " \t\n\v\f\r\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000" })).toBe("");
    // Not Unicode White_Space (Go's unicode.IsSpace): zero-width space, BOM.
    expect(value("s.trim()", { s: "\u200bx\ufeff" })).toBe("\u200bx\ufeff");
  });

  it("format", () => {
    expect(value("'%s/%s has %d replicas'.format([object.metadata.namespace, object.metadata.name, object.spec.replicas])", obj)).toBe("shop/web has 3 replicas");
    expect(value("'%.2f%%'.format([12.345])")).toBe("12.35%");
    expect(value("'%x %o %b'.format([255, 8, 5])")).toBe("ff 10 101");
    expect(value("'%s'.format([[1, 'a', true]])")).toBe("[1, a, true]");
  });

  it("format %f and %e print the exact binary value rounded half to even, at any size and precision (Go's fmt)", () => {
    // Go: fmt.Sprintf("%.2f", 1e100), "%f" of 1e21 / 2^70: every integer digit, no exponent.
    expect(value("'%.2f'.format([1e100])")).toBe("10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.00");
    expect(value("'%f'.format([1e21])")).toBe("1000000000000000000000.000000");
    expect(value("'%.0f'.format([x])", { x: 2 ** 70 })).toBe("1180591620717411303424");
    expect(value("'%f'.format([-0.0])")).toBe("-0.000000");
    // Exact ties round to the even digit: 1.125 -> 1.12, 2.5 -> 2, 3.5 -> 4; 9.95 is below 9.95 in binary.
    expect(value("'%.2e'.format([1.125])")).toBe("1.12e+00");
    expect(value("'%.0e %.0e %.1e'.format([2.5, 3.5, 9.95])")).toBe("2e+00 4e+00 9.9e+00");
    expect(value("'%.3e'.format([-0.0])")).toBe("-0.000e+00");
    expect(value("'%.1e'.format([9.96])")).toBe("1.0e+01");
    // Precision beyond 100 digits is no error.
    expect(value("'%.101f'.format([1.0])")).toBe(`1.${"0".repeat(101)}`);
    expect(value("'%.101e'.format([1.0])")).toBe(`1.${"0".repeat(101)}e+00`);
    expect(errorKind("'%.100000000f'.format([1.0])")).toBe("cost_exceeded");
  });

  it("format %f and %e beyond a double's exact digits pad zeros (5e-324 has 1074 fraction digits, 1.5 two significant ones)", () => {
    const tiny = value("'%.1100f'.format([5e-324])") as string;
    expect(tiny.length).toBe(1102);
    expect(tiny.slice(0, 328)).toBe(`0.${"0".repeat(323)}494`);
    expect(tiny.slice(1075)).toBe(`5${"0".repeat(26)}`);
    expect(value("'%.3000e'.format([-1.5])")).toBe(`-1.5${"0".repeat(2999)}e+00`);
    expect(value("'%.1000000f'.format([0.25])")).toBe(`0.25${"0".repeat(999998)}`);
  });
});

describe("lists and sets", () => {
  it("Kubernetes list functions", () => {
    expect(value("object.spec.template.spec.containers.map(c, c.name).isSorted()", obj)).toBe(true);
    expect(value("[3, 1, 2].isSorted()")).toBe(false);
    expect(value("object.spec.template.spec.containers.map(c, c.ports[0].containerPort).sum()", obj)).toBe(17981);
    expect(value("[5, 2, 9].min()")).toBe(2);
    expect(value("['b', 'c', 'a'].max()")).toBe("c");
    expect(value("['a', 'b', 'a'].indexOf('a')")).toBe(0);
    expect(value("['a', 'b', 'a'].lastIndexOf('a')")).toBe(2);
    expect(value("[1.5, 2.5].sum()")).toBe(4);
    expect(errorKind("[].min()")).toBe("invalid_argument");
  });

  it("cel-go list extensions", () => {
    expect(value("lists.range(4)")).toEqual([0, 1, 2, 3]);
    expect(value("[1, 2, 3, 4].slice(1, 3)")).toEqual([2, 3]);
    expect(value("[[1, 2], [3, [4]]].flatten()")).toEqual([1, 2, 3, [4]]);
    expect(value("[[1, 2], [3, [4]]].flatten(2)")).toEqual([1, 2, 3, 4]);
    expect(value("[1, 2, 1, 3, 2].distinct()")).toEqual([1, 2, 3]);
    expect(value("[3, 1, 2].sort()")).toEqual([1, 2, 3]);
    expect(value("object.spec.template.spec.containers.sortBy(c, c.name).map(c, c.name)", obj)).toEqual(["app", "sidecar"]);
    expect(value("[1, 2, 3].reverse()")).toEqual([3, 2, 1]);
    expect(value("[7, 8].first().value() + [7, 8].last().value()")).toBe(15);
    expect(value("[].first().hasValue()")).toBe(false);
  });

  it("sort and sortBy need keys of one comparable type, as cel-go's sortByAssociatedKeys", () => {
    // cel-go: "list elements must have the same type" (int, uint and double are three types) and
    // "list elements must be comparable" (a list or map key, even alone).
    for (const expr of ["[1, 2.5, 0].sort()", "[2u, 1].sort()", "['b', 1].sort()", "[1, 2].sortBy(x, x == 1 ? 1 : 1.5)", "[{'a': 1}].sort()", "[[1]].sort()", "['a'].sortBy(x, {'k': x})", "[null, null].sort()"]) {
      expect({ expr, kind: errorKind(expr) }).toEqual({ expr, kind: "invalid_argument" });
    }
    expect(value("[2.5, 1.0].sort()")).toEqual([1, 2.5]);
    expect(value("[true, false].sort()")).toEqual([false, true]);
    expect(value("[duration('2s'), duration('1s')].sort()")).toEqual(["1s", "2s"]);
    expect(value("['b', 'a'].sortBy(x, x)")).toEqual(["a", "b"]);
    expect(value("[].sort()")).toEqual([]);
  });

  it("sets", () => {
    expect(value("sets.contains(['get', 'list', 'watch'], ['list', 'get'])")).toBe(true);
    expect(value("sets.contains(['get'], ['delete'])")).toBe(false);
    expect(value("sets.equivalent([1, 2, 2], [2, 1])")).toBe(true);
    expect(value("sets.intersects(['create', 'delete'], ['delete', 'patch'])")).toBe(true);
  });
});

describe("regex", () => {
  it("matches, find, findAll", () => {
    expect(value("object.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')", obj)).toBe(true);
    expect(value("'registry.example.com/shop/web:1.4.2'.find('[0-9]+\\\\.[0-9]+\\\\.[0-9]+')")).toBe("1.4.2");
    expect(value("'10.0.0.1, 10.0.0.22 and 192.168.1.5'.findAll('[0-9]+\\\\.[0-9]+\\\\.[0-9]+\\\\.[0-9]+')")).toEqual(["10.0.0.1", "10.0.0.22", "192.168.1.5"]);
    expect(value("'a1b2c3'.findAll('[0-9]', 2)")).toEqual(["1", "2"]);
    expect(value("'abc'.find('x')")).toBe("");
  });

  it("Perl classes and word boundaries are ASCII, as in RE2, not JavaScript's Unicode-aware ones", () => {
    // \s is [\t\n\f\r ]: a no-break space is \S, in a class too; \d and \w are ASCII; \b and \B
    // look at ASCII word characters even under (?i), where \w itself folds in the long s U+017F.
    expect(value("t.matches('^\\\\s$')", { t: "\u00a0" })).toBe(false);
    expect(value("t.matches('^[\\\\S]$')", { t: "\u00a0" })).toBe(true);
    expect(value("t.matches('^\\\\S$')", { t: "\u2028" })).toBe(true);
    expect(value("t.matches('\\\\d')", { t: "\u0663" })).toBe(false);
    expect(value("t.findAll('\\\\b\\\\w+\\\\b')", { t: "caf\u00e9 x" })).toEqual(["caf", "x"]);
    expect(value("t.matches('(?i)^\\\\w$')", { t: "\u017f" })).toBe(true);
    expect(value("t.find('(?i)a\\\\b')", { t: "a\u017f" })).toBe("a");
    expect(value("t.find('(?i)\\\\B.')", { t: "\u017fa" })).toBe("\u017f");
    expect(value("t.find('(?i:[\\\\W])')", { t: "x\u212a" })).toBe("");
  });

  it("find / findAll take positions from RE2 itself: linear time on a pattern JavaScript backtracks on exponentially", () => {
    // Backtracking, these never finish (2^40 paths): the test's timeout is the check.
    const text = `${"a".repeat(40)}c`;
    expect(value("t.find('(a+)+b|c')", { t: text })).toBe("c");
    expect(value("t.findAll('(a+)+b|c')", { t: text })).toEqual(["c"]);
    expect(value("t.find('(a|aa)+$')", { t: `${"a".repeat(40)}!a` })).toBe("a");
  });

  it("find / findAll follow Go's regexp: leftmost-first, empty matches next to a match dropped, all RE2 syntax", () => {
    expect(value("'ab'.find('(a|ab)')")).toBe("a");
    expect(value("'ab'.find('a|ab')")).toBe("a");
    expect(value("'aab'.find('a+?')")).toBe("a");
    expect(value("'aab'.find('a*?b')")).toBe("aab");
    // Go: FindAllString("aaa", -1) of a* = ["aaa"]; of "baaab" = ["", "aaa", ""].
    expect(value("'aaa'.findAll('a*')")).toEqual(["aaa"]);
    expect(value("'baaab'.findAll('a*')")).toEqual(["", "aaa", ""]);
    expect(value("'😀a😀'.findAll('')")).toEqual(["", "", "", ""]);
    expect(value("'😀a😀'.findAll('.')")).toEqual(["😀", "a", "😀"]);
    expect(value("'aB'.find('(?i:b)')")).toBe("B");
    expect(value("'aaa'.find('(?U)a+')")).toBe("a");
    expect(value("'a1 b'.findAll('[[:^alpha:]]')")).toEqual(["1", " "]);
    expect(value("'x\\ny'.find('^y')")).toBe("");
    expect(value("'x\\ny'.find('(?m)^y$')")).toBe("y");
    expect(value("'one two'.findAll('\\\\b\\\\w')")).toEqual(["o", "t"]);
    expect(value("'AbC'.findAll('(?i)[a-c]', 2)")).toEqual(["A", "b"]);
    expect(value("'abc'.find('\\\\Ac')")).toBe("");
    expect(value("'abc'.find('c\\\\z')")).toBe("c");
  });

  it("rejects an invalid literal pattern at compile time and a dynamic one at evaluation", () => {
    expect(() => env.compile("'a'.matches('(')")).toThrow(/invalid regular expression/);
    expect(errorKind("'a'.matches(p)", { p: "(" })).toBe("invalid_argument");
  });
});

describe("ip and cidr", () => {
  const svc = { object: service };
  it("parses and classifies addresses", () => {
    expect(value("isIP(object.spec.clusterIP) && ip(object.spec.clusterIP).family() == 4", svc)).toBe(true);
    expect(value("ip(object.spec.clusterIPs[1]).family()", svc)).toBe(6);
    expect(value("ip('127.0.0.1').isLoopback() && ip('::1').isLoopback()")).toBe(true);
    expect(value("ip('169.254.169.254').isLinkLocalUnicast()")).toBe(true);
    expect(value("ip('224.0.0.1').isLinkLocalMulticast() && !ip('224.0.1.1').isLinkLocalMulticast()")).toBe(true);
    expect(value("ip('ff02::1').isLinkLocalMulticast()")).toBe(true);
    expect(value("ip('0.0.0.0').isUnspecified() && ip('::').isUnspecified()")).toBe(true);
    expect(value("ip('192.168.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()")).toBe(true);
    expect(value("isIP('127.0.0.256') || isIP('01.2.3.4') || isIP('::ffff:1.2.3.4') || isIP('fe80::1%eth0')")).toBe(false);
    expect(value("ip.isCanonical('2001:db8::abcd') && !ip.isCanonical('2001:DB8::ABCD') && !ip.isCanonical('2001:db8::0:0:0:abcd')")).toBe(true);
    expect(value("string(ip('2001:0db8:0000:0000:0000:0000:0000:0001'))")).toBe("2001:db8::1");
    expect(value("ip('10.0.0.1') == ip('10.0.0.1')")).toBe(true);
  });

  it("checks CIDR membership", () => {
    expect(value("cidr('10.96.0.0/12').containsIP(object.spec.clusterIP)", svc)).toBe(true);
    expect(value("object.spec.externalIPs.all(i, !cidr('10.0.0.0/8').containsIP(i))", svc)).toBe(true);
    expect(value("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')")).toBe(true);
    expect(value("cidr('192.168.1.5/24').masked() == cidr('192.168.1.0/24')")).toBe(true);
    expect(value("string(cidr('192.168.1.5/24').ip())")).toBe("192.168.1.5");
    expect(value("cidr('fd00::/8').prefixLength()")).toBe(8);
    expect(value("cidr('10.0.0.0/8').containsIP('fd00::1')")).toBe(false);
    expect(value("isCIDR('10.0.0.0/33')")).toBe(false);
    expect(errorKind("cidr('nope')")).toBe("invalid_argument");
  });
});

describe("quantity", () => {
  it("compares container resources", () => {
    expect(value("object.spec.template.spec.containers.all(c, quantity(c.resources.limits.memory).isLessThan(quantity('2Gi')))", obj)).toBe(true);
    expect(value("quantity(object.spec.template.spec.containers[0].resources.limits.cpu).compareTo(quantity('0.5'))", obj)).toBe(0);
    expect(value("quantity('200M').compareTo(quantity('0.2G'))")).toBe(0);
    expect(value("quantity('50M').compareTo(quantity('50Mi'))")).toBe(-1);
    expect(value("quantity('150Mi').isGreaterThan(quantity('100Mi'))")).toBe(true);
    expect(value("quantity('1Gi') == quantity('1024Mi')")).toBe(true);
  });

  it("converts and computes", () => {
    expect(value("quantity('50k').asInteger()")).toBe(50000);
    expect(value("quantity('1.5Gi').asInteger()")).toBe(1610612736);
    expect(value("quantity('500m').isInteger()")).toBe(false);
    expect(value("quantity('500m').asApproximateFloat()")).toBe(0.5);
    expect(value("quantity('50k').add(quantity('20k')) == quantity('70k')")).toBe(true);
    expect(value("quantity('50k').sub(20000) == quantity('30k')")).toBe(true);
    expect(value("quantity('50k').add(20).sub(quantity('100k')).sub(-50000) == quantity('20')")).toBe(true);
    expect(value("quantity('-1').sign() == -1 && quantity('0').sign() == 0")).toBe(true);
    expect(value("isQuantity('1.3G') && isQuantity('10000k') && !isQuantity('200K') && !isQuantity('Mi') && !isQuantity('1,3G')")).toBe(true);
    expect(errorKind("quantity('9999999999999999999999999999999999999G').asInteger()")).toBe("invalid_argument");
  });
});

describe("semver", () => {
  it("parses, normalizes and compares", () => {
    expect(value("semver('1.2.3').major() == 1 && semver('1.2.3').minor() == 2 && semver('1.2.3').patch() == 3")).toBe(true);
    expect(value("semver('1.4.2').isGreaterThan(semver('1.4.2-rc.1'))")).toBe(true);
    expect(value("semver('1.0.0-alpha.1').compareTo(semver('1.0.0-alpha.beta'))")).toBe(-1);
    expect(value("semver('1.0.0+build.1') == semver('1.0.0+build.2')")).toBe(true);
    expect(value("isSemver('v1.0') || isSemver('1.0') || isSemver('01.1.1')")).toBe(false);
    expect(value("isSemver('v1.0', true) && semver('01.01.01', true) == semver('1.1.1')")).toBe(true);
    expect(value("semver(object.metadata.labels['app.kubernetes.io/version'], true).isLessThan(semver('2.0.0'))", obj)).toBe(true);
    expect(errorKind("semver('1.2')")).toBe("invalid_argument");
  });

  it("version numbers and numeric prerelease identifiers are uint64, as blang/semver parses them", () => {
    expect(value("isSemver('18446744073709551615.0.0') && isSemver('1.0.0-18446744073709551615')")).toBe(true);
    expect(value("isSemver('18446744073709551616.0.0') || isSemver('0.18446744073709551616.0') || isSemver('1.0.0-rc.18446744073709551616')")).toBe(false);
    expect(value("isSemver('v0.0.18446744073709551616', true)")).toBe(false);
    expect(errorKind("semver('99999999999999999999.0.0')")).toBe("invalid_argument");
  });
});

describe("url", () => {
  const wh = { object: webhook };
  it("splits a webhook URL", () => {
    expect(value("isURL(object.spec.url) && url(object.spec.url).getScheme() == 'https'", wh)).toBe(true);
    expect(value("url(object.spec.url).getHost()", wh)).toBe("hooks.example.com:8443");
    expect(value("url(object.spec.url).getHostname()", wh)).toBe("hooks.example.com");
    expect(value("url(object.spec.url).getPort()", wh)).toBe("8443");
    expect(value("url(object.spec.url).getEscapedPath()", wh)).toBe("/v1/admit");
    expect(value("url(object.spec.url).getQuery()", wh)).toEqual({ team: ["shop", "ops"], dry: ["true"] });
    expect(value("url('https://[::1]:80/').getHostname()")).toBe("::1");
    expect(value("url('/absolute/path').getHost()")).toBe("");
    expect(value("isURL('relative/path') || isURL('')")).toBe(false);
  });

  it("rejects malformed percent-escapes in the path, host and userinfo, as Go's url.ParseRequestURI does", () => {
    // Go: parse "https://a.b/%zz": invalid URL escape "%zz"; in a host only non-ASCII bytes (and %25) may be escaped.
    for (const bad of ["https://a.b/%zz", "https://a.b/p%2", "/x%", "https://a%2Eb/", "https://a%zzb/", "https://u%zz@a.b/", "https://u ser@a.b/"]) {
      expect({ bad, isURL: value("isURL(u)", { u: bad }) }).toEqual({ bad, isURL: false });
      expect(errorKind("url(u)", { u: bad })).toBe("invalid_argument");
    }
    for (const good of ["https://a.b/p%20q", "https://a.b/%E2%9C%93", "https://%C3%A9.example/", "https://u%40x:p%3A@a.b/", "https://a.b/?q=%zz"]) {
      expect({ good, isURL: value("isURL(u)", { u: good }) }).toEqual({ good, isURL: true });
    }
    expect(value("url('https://a.b/p%20q').getEscapedPath()")).toBe("/p%20q");
  });
});

describe("math, base64, time", () => {
  it("math", () => {
    expect(value("math.greatest(object.spec.replicas, 5)", obj)).toBe(5);
    expect(value("math.least([3, 1.5, 2u])")).toBe(1.5);
    expect(value("math.ceil(1.2) == 2.0 && math.floor(-1.2) == -2.0 && math.round(2.5) == 3.0")).toBe(true);
    expect(value("math.abs(-5) + math.sign(-3)")).toBe(4);
    expect(value("math.bitOr(1, 4) == 5 && math.bitShiftLeft(1, 10) == 1024")).toBe(true);
    expect(value("math.isNaN(0.0 / 0.0) && math.isInf(1.0 / 0.0)")).toBe(true);
  });

  it("base64", () => {
    expect(value("base64.encode(b'hello')")).toBe("aGVsbG8=");
    expect(value("string(base64.decode('aGVsbG8'))")).toBe("hello");
    // As cel-go (Go's StdEncoding, then RawStdEncoding): line breaks ignored, padding exact or absent.
    expect(value("string(base64.decode('aGVs\\r\\nbG8='))")).toBe("hello");
    expect(value("string(base64.decode('aGk'))")).toBe("hi");
    expect(errorKind("base64.decode('aGk==')")).toBe("invalid_argument");
    expect(errorKind("base64.decode('aG==k')")).toBe("invalid_argument");
    expect(errorKind("base64.decode('aGk=aGk=')")).toBe("invalid_argument");
  });

  it("timestamps and durations", () => {
    const req = { request: { time: "2024-03-10T23:30:00Z" } };
    expect(value("timestamp(request.time).getHours()", req)).toBe(23);
    expect(value("timestamp(request.time).getHours('Europe/Paris')", req)).toBe(0);
    expect(value("timestamp(request.time).getDayOfWeek()", req)).toBe(0);
    expect(value("timestamp(request.time) + duration('1h') > timestamp('2024-03-11T00:00:00Z')", req)).toBe(true);
    expect(value("duration('1h30m').getMinutes()")).toBe(90);
    expect(value("timestamp(request.time) - timestamp('2024-03-10T00:00:00Z') == duration('23h30m')", req)).toBe(true);
    expect(value("ts.getFullYear()", { ts: new Date("2021-06-01T00:00:00Z") })).toBe(2021);
  });
});
