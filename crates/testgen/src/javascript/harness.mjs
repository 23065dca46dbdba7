// qa-agent's JavaScript harness: imports one module, makes the planned calls and writes
// what each did (value, exception, arguments changed in place, the lines and skipped blocks
// it ran, from V8's block coverage) as JSON lines. It only observes; the test writer and the
// validation live in Rust. Usage: node harness.mjs plan.json result.jsonl
import fs from "node:fs";
import inspector from "node:inspector";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

const [planPath, outPath] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planPath, "utf8"));
const out = fs.openSync(outPath, "w");
const emit = (obj) => fs.writeSync(out, JSON.stringify(obj) + "\n");

const session = new inspector.Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
  );

const moduleUrl = pathToFileURL(plan.module).href;
// TypeScript: the package's esbuild strips the types when Node loads a .ts file (ts-hooks.mjs),
// and the same transform here gives the text V8's coverage offsets refer to.
let source = fs.readFileSync(plan.module, "utf8");
if (plan.esbuild) {
  const esbuild = createRequire(import.meta.url)(plan.esbuild);
  source = esbuild.transformSync(source, tsOptions(plan.module)).code;
  register(pathToFileURL(plan.hooks).href, import.meta.url, { data: { esbuild: plan.esbuild } });
  emit({ transformed: source });
}
function tsOptions(file) {
  return { loader: file.endsWith("x") ? "tsx" : "ts", format: "esm", target: "node20", sourcefile: file };
}
const lineStarts = [0];
for (let i = 0; i < source.length; i++) if (source[i] === "\n") lineStarts.push(i + 1);
const lineOf = (offset) => {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
};

// Lines whose first code character ran, and blocks that did not run inside functions that
// did, since the last call (taking precise coverage resets the counters).
async function takeCoverage() {
  const { result } = await post("Profiler.takePreciseCoverage");
  const script = result.find((s) => s.url === moduleUrl);
  const lines = new Set();
  const skips = [];
  if (!script) return { lines: [], skips };
  const counts = new Int32Array(source.length);
  for (const fn of script.functions) {
    const top = fn.ranges[0];
    for (const r of fn.ranges) {
      counts.fill(r.count, r.startOffset, Math.min(r.endOffset, source.length));
      if (r.count === 0 && top.count > 0 && r !== top) skips.push(`${r.startOffset}-${r.endOffset}`);
    }
  }
  for (let l = 0; l < lineStarts.length; l++) {
    let i = lineStarts[l];
    while (i < source.length && (source[i] === " " || source[i] === "\t")) i++;
    if (i < source.length && source[i] !== "\n" && counts[i] > 0) lines.add(l + 1);
  }
  return { lines: [...lines], skips };
}

// Values crossing to Rust: JSON with tags for what JSON cannot say. `$x` marks a value a
// test cannot assert exactly (functions, symbols, dates, anything too big or cyclic).
function enc(v, depth = 0, seen = new Set()) {
  if (v === null) return null;
  switch (typeof v) {
    case "undefined":
      return { $u: 1 };
    case "boolean":
      return v;
    case "number":
      if (Number.isNaN(v)) return { $num: "NaN" };
      if (v === Infinity) return { $num: "Infinity" };
      if (v === -Infinity) return { $num: "-Infinity" };
      if (Object.is(v, -0)) return { $num: "-0" };
      return v;
    case "bigint":
      return { $big: v.toString() };
    case "string":
      return v.length > 2000 ? { $x: "long string" } : v;
    case "symbol":
      return { $x: "symbol" };
    case "function":
      return { $x: "function" };
  }
  if (depth > 4 || seen.has(v)) return { $x: "deep or cyclic" };
  seen.add(v);
  try {
    if (Array.isArray(v)) {
      if (v.length > 50) return { $x: "long array" };
      return v.map((x) => enc(x, depth + 1, seen));
    }
    if (v instanceof Error) return { $err: v.name, msg: String(v.message) };
    if (v instanceof RegExp) return { $re: v.source, flags: v.flags };
    if (v instanceof Map) {
      if (v.size > 50) return { $x: "big map" };
      return { $map: [...v].map(([k, x]) => [enc(k, depth + 1, seen), enc(x, depth + 1, seen)]) };
    }
    if (v instanceof Set) {
      if (v.size > 50) return { $x: "big set" };
      return { $set: [...v].map((x) => enc(x, depth + 1, seen)) };
    }
    if (v instanceof Date || ArrayBuffer.isView(v) || v instanceof Promise || v instanceof WeakMap)
      return { $x: v.constructor.name };
    const keys = Object.keys(v);
    if (keys.length > 50) return { $x: "big object" };
    const fields = {};
    for (const k of keys) fields[k] = enc(v[k], depth + 1, seen);
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return { $obj: fields };
    return { $inst: (proto.constructor && proto.constructor.name) || "Object", fields };
  } finally {
    seen.delete(v);
  }
}

// Values from Rust: the same tags, plus `$new` (a class instance from the module).
function dec(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(dec);
  if ("$u" in v) return undefined;
  if ("$num" in v) return Number(v.$num);
  if ("$big" in v) return BigInt(v.$big);
  if ("$obj" in v) return Object.fromEntries(Object.entries(v.$obj).map(([k, x]) => [k, dec(x)]));
  if ("$re" in v) return new RegExp(v.$re, v.flags);
  if ("$map" in v) return new Map(v.$map.map(([k, x]) => [dec(k), dec(x)]));
  if ("$set" in v) return new Set(v.$set.map(dec));
  if ("$new" in v) return new (resolve(v.$new))(...v.args.map(dec));
  throw new Error("unknown value tag " + JSON.stringify(v));
}

let ns;
function resolve(path) {
  let v = ns;
  for (const k of path) v = v[k];
  return v;
}

const isClass = (f) => /^class[\s{]/.test(Function.prototype.toString.call(f));
function params(f) {
  const text = Function.prototype.toString.call(f);
  // function f(a, b) / (a, b) => / a => / method shorthand m(a, b)
  const m =
    /^(?:async\s*)?(?:function\b[^(]*|[\w$]+\s*)?\(([^)]*)\)/.exec(text) ||
    /^(?:async\s*)?([\w$]+)\s*=>/.exec(text);
  if (isClass(f)) {
    const c = /constructor\s*\(([^)]*)\)/.exec(text);
    return c ? split(c[1]) : [];
  }
  return m ? split(m[1]) : [];
}
function split(list) {
  return list
    .split(",")
    .map((p) => p.trim().replace(/=.*$/, "").trim())
    .filter((p) => p.length > 0);
}

// What the module exports that can be called: functions, classes (with their methods),
// and functions hanging off an exported object (CommonJS `module.exports = {...}`).
function discover() {
  const found = [];
  const seen = new Set();
  const add = (path, f) => {
    if (typeof f !== "function" || seen.has(f)) return;
    seen.add(f);
    const entry = { path, params: params(f), async: f.constructor.name === "AsyncFunction" };
    if (isClass(f)) {
      entry.class = true;
      entry.methods = Object.getOwnPropertyNames(f.prototype)
        .filter((m) => m !== "constructor" && !m.startsWith("_") && !m.startsWith("#"))
        .filter((m) => {
          const d = Object.getOwnPropertyDescriptor(f.prototype, m);
          return d && typeof d.value === "function";
        })
        .map((m) => ({ name: m, params: params(f.prototype[m]) }));
    }
    found.push(entry);
  };
  for (const key of Object.keys(ns)) {
    const v = ns[key];
    if (key === "default" && v && typeof v === "object") {
      for (const k of Object.keys(v)) add(["default", k], v[k]);
    } else add([key], v);
  }
  return found;
}

async function settle(value) {
  if (value && typeof value.then === "function") {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject({ $timeout: true }), plan.timeout_ms);
    });
    try {
      return { value: await Promise.race([value, timeout]), awaited: true };
    } finally {
      clearTimeout(timer);
    }
  }
  return { value, awaited: false };
}

const exception = (e) =>
  e instanceof Error
    ? { type: e.constructor.name || e.name, msg: String(e.message) }
    : { type: "$value", msg: JSON.stringify(enc(e)) };

async function call(spec) {
  const record = { id: spec.id };
  let receiver = null;
  let args;
  try {
    args = spec.args.map(dec);
    if (spec.ctor) {
      const Cls = resolve(spec.path);
      receiver = new Cls(...spec.ctor.map(dec));
      for (const step of spec.setup || []) receiver[step.method](...step.args.map(dec));
    }
  } catch (e) {
    record.setup_error = exception(e);
    return record;
  }
  const before = args.map((a) => JSON.stringify(enc(a)));
  const target = receiver ? receiver[spec.method].bind(receiver) : resolve(spec.path);
  globalThis.__qaCall = () => target(...args);
  await takeCoverage();
  try {
    const result = vm.runInThisContext("__qaCall()", { timeout: plan.timeout_ms });
    // A promise is awaited; a rejection is then an error of the awaited call.
    if (result && typeof result.then === "function") record.awaited = true;
    const settled = await settle(result);
    record.value = enc(settled.value);
    record.awaited = settled.awaited;
  } catch (e) {
    if (e && e.$timeout) record.timeout = true;
    else if (e && e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") record.timeout = true;
    else record.exc = exception(e);
  }
  const cov = await takeCoverage();
  record.lines = cov.lines;
  record.skips = cov.skips;
  const changed = {};
  args.forEach((a, i) => {
    if (a !== null && typeof a === "object") {
      const now = JSON.stringify(enc(a));
      if (now !== before[i]) changed[i] = enc(a);
    }
  });
  if (Object.keys(changed).length) record.args_after = changed;
  if (receiver) record.state = enc(receiver).fields || null;
  return record;
}

await post("Profiler.enable");
await post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
try {
  ns = await import(moduleUrl);
} catch (e) {
  emit({ import_error: exception(e) });
  process.exit(0);
}
const imported = await takeCoverage();
emit({ imported: true, lines: imported.lines });
if (plan.discover) emit({ exports: discover() });
for (const spec of plan.calls || []) emit({ call: await call(spec) });
fs.closeSync(out);
// Timers or sockets the module left open must not keep the process alive.
process.exit(0);
