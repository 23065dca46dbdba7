// Node module hooks for qa-agent's harness: load TypeScript through the package's esbuild
// (types stripped, nothing type-checked), and resolve `./x` or `./x.js` to `./x.ts`.
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

let esbuild;

export function initialize(data) {
  esbuild = createRequire(import.meta.url)(data.esbuild);
}

const TS = /\.(ts|mts|cts|tsx)$/;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (!specifier.startsWith(".")) throw error;
    const stem = specifier.replace(/\.(js|mjs|cjs)$/, "");
    for (const candidate of [`${stem}.ts`, `${stem}.tsx`, `${stem}/index.ts`]) {
      try {
        return await next(candidate, context);
      } catch {
        // try the next one
      }
    }
    throw error;
  }
}

export async function load(url, context, next) {
  if (!TS.test(url)) return next(url, context);
  const file = fileURLToPath(url);
  const source = fs.readFileSync(file, "utf8");
  const loader = file.endsWith("x") ? "tsx" : "ts";
  const out = esbuild.transformSync(source, { loader, format: "esm", target: "node20", sourcefile: file });
  return { format: "module", source: out.code, shortCircuit: true };
}
