/**
 * npm run build: dist/spire-aws-iid, one executable CommonJS file for plugin_cmd, plus
 * dist/spire-aws-iid.sha256 (sha256sum format) for plugin_checksum. go-plugin hashes exactly
 * the plugin_cmd file, so a single file is what makes the checksum cover our code.
 *
 * Start-up (issue 9: SPIRE waits for the handshake line): V8 pre-parses every function of a
 * script before running any of it, so code that is only imported after the handshake (the
 * attestors, the AWS SDK, pkijs, the operator commands, the demo's testkit) still cost ~100 ms
 * and ~50 MB at every start while it sat in the one bundle. The file is therefore built in
 * two parts:
 *
 *   - the main part: everything src/main.ts imports statically (go-plugin, gRPC, the SPIRE
 *     services). Each dynamic `import()` in it is replaced by a stub that asks the runtime
 *     below for that module;
 *   - the lazy part: every dynamically imported module, split by esbuild at each dynamic
 *     import into chunks (the agent's 50 KB do not wait for the server's AWS SDK clients, and
 *     the server compiles the 1 MB EC2 client on its first use). Each chunk is embedded as a
 *     brotli-compressed base64 string literal: V8 scans a string without escapes far faster
 *     than it pre-parses code, and compressed strings also save RSS and 2 MB of file. On the
 *     first require of a chunk (serve() preloads the attestor right after the handshake) it is
 *     decompressed and compiled once with vm.compileFunction, under the file name
 *     `<bundle>#lazy/<chunk>.js` so stack frames say where they come from.
 *
 * A module both parts use (src/common/errors, @grpc/grpc-js, the generated protobuf types, …)
 * exists once: the lazy part requires it from the main part instead of carrying a copy, so
 * `instanceof` and module state stay the same on both sides of the seam.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { brotliCompressSync, constants as zlibConstants } from "node:zlib";
import { type BuildOptions, build, type Metafile, type Plugin, transform } from "esbuild";
import { type BundledPackage, bundledPackages, LICENSES_FILE_NAME, thirdPartyLicensesText } from "./licenses";

const root = resolve(__dirname, "..");
export const BUNDLE_PATH = join(root, "dist", "spire-aws-iid");

/** How the lazy part names a module it takes from the main part: `require(HOST_PREFIX + key)`. */
const HOST_PREFIX = "spire-aws-iid:main/";
const STUB_NAMESPACE = "lazy-stub";
const RUNTIME_NAMESPACE = "lazy-runtime";
const RUNTIME_PATH = "lazy-runtime";

const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  engines: { node: string };
};

/**
 * The oldest Node the code must run on, from package.json's engines (">=22.12"), as an esbuild
 * target ("node22.12"): syntax that Node understands is left as written.
 */
export const NODE_TARGET = nodeTarget(packageJson.engines.node);

function nodeTarget(engines: string): string {
  const minimum = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(engines)?.[1];
  if (minimum === undefined) throw new Error(`package.json engines.node should be ">=X.Y", not ${engines}`);
  return `node${minimum}`;
}

/**
 * What the bundle says it is (src/common/build-info.ts): package.json's version and the git
 * commit of the checkout, "-dirty" when tracked files differ from it. Nothing else (no time,
 * no path, no host) goes in, so two builds of one commit are the same bytes.
 */
export function buildIdentity(): { version: string; commit: string } {
  return { version: packageJson.version, commit: gitCommit() };
}

function gitCommit(): string {
  const git = (...args: string[]): string =>
    execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const head = git("rev-parse", "HEAD");
    return git("status", "--porcelain", "--untracked-files=no") === "" ? head : `${head}-dirty`;
  } catch {
    // Not a git checkout (e.g. an unpacked source archive).
    return "unknown";
  }
}

const COMMON: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: NODE_TARGET,
  minify: true,
  // grpc-js requires proto-loader only lazily (channelz, ORCA); bundling it would pull in
  // protobufjs for nothing.
  external: ["@grpc/proto-loader"],
  // The ES module builds where packages have them ("module"), so esbuild can drop what the code
  // does not import: the AWS SDK clients are imported through src/aws/sdk-clients/, one command
  // or two each, and their CommonJS builds are one file that must be taken whole.
  mainFields: ["module", "main"],
  // License notices marked for keeping (/*! or @license: pkijs, asn1js, bowser) stay in the
  // file, at its end (the lazy part's are added there too), so the one file copied to a SPIRE
  // host still carries them; the full texts are in THIRD_PARTY_LICENSES.txt (scripts/licenses.ts).
  legalComments: "eof",
  logLevel: "warning",
};

/** A module's key: its path relative to the repository, with forward slashes. */
function keyOf(absPath: string): string {
  return relative(root, absPath).split(sep).join("/");
}

/** The file a key names, as an import specifier esbuild resolves to that same file. */
function specifierOf(key: string): string {
  return `./${key}`;
}

interface RuntimeSource {
  /** The lazy part's chunks (CommonJS code by file name); empty while probing the main part. */
  chunks: ReadonlyMap<string, string>;
  /** Dynamically imported module key -> the chunk that is its entry. */
  entries: ReadonlyMap<string, string>;
  /** Chunks that wrap one CommonJS module as their default export. */
  cjsChunks: readonly string[];
  /** Keys of main-part modules the lazy part requires. */
  shared: readonly string[];
}

/**
 * The main part: dynamic imports become stubs that load the module from the lazy part.
 * `targets` collects the keys of the dynamically imported modules.
 */
function mainPartPlugin(targets: Set<string>, runtime: RuntimeSource): Plugin {
  return {
    name: "lazy-stubs",
    setup(b): void {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== "dynamic-import" || args.pluginData === STUB_NAMESPACE) return undefined;
        const r = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: STUB_NAMESPACE,
        });
        if (r.errors.length > 0) return { errors: r.errors };
        if (r.external || !isAbsolute(r.path)) return undefined;
        const key = keyOf(r.path);
        targets.add(key);
        return { path: key, namespace: STUB_NAMESPACE };
      });
      b.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(RUNTIME_PATH)}).lazyModule(${JSON.stringify(args.path)});`,
        resolveDir: root,
        loader: "js",
      }));
      b.onResolve({ filter: new RegExp(`^${RUNTIME_PATH}$`) }, () => ({
        path: RUNTIME_PATH,
        namespace: RUNTIME_NAMESPACE,
      }));
      b.onLoad({ filter: /.*/, namespace: RUNTIME_NAMESPACE }, () => ({
        contents: runtimeModule(runtime),
        resolveDir: root,
        loader: "js",
      }));
    },
  };
}

/**
 * The code that owns the lazy part inside the main part. `require` of a host key returns the
 * main part's own instance of that module; anything else (node builtins, the external
 * @grpc/proto-loader) goes to the main part's real `require`.
 */
/** Quality 9, not 11: 11 saves another ~10% but takes seconds, paid by every test run's build. */
function compressLazy(source: string): string {
  return brotliCompressSync(Buffer.from(source, "utf8"), {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: 9,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(source),
    },
  }).toString("base64");
}

function runtimeModule({ chunks, entries, cjsChunks, shared }: RuntimeSource): string {
  const host = shared.map(
    (key) => `  ${JSON.stringify(key)}: () => require(${JSON.stringify(specifierOf(key))}),`,
  );
  const payloads = [...chunks].map(
    ([name, code]) => `  ${JSON.stringify(name)}: ${JSON.stringify(compressLazy(code))},`,
  );
  return `"use strict";
const vm = require("node:vm");
const CHUNKS = {
${payloads.join("\n")}
};
const ENTRIES = ${JSON.stringify(Object.fromEntries(entries))};
const CJS_CHUNKS = new Set(${JSON.stringify(cjsChunks)});
const HOST = {
${host.join("\n")}
};
const loaded = new Map();
function lazyRequire(id) {
  if (id.startsWith("./")) {
    const name = id.slice(2);
    const exports = chunk(name);
    if (!CJS_CHUNKS.has(name)) return exports;
    // Like Node's import() of CommonJS: the default export plus its properties by name.
    const cjs = exports.default;
    const ns = { __esModule: true, default: cjs };
    if (cjs !== null && (typeof cjs === "object" || typeof cjs === "function")) {
      for (const key of Object.keys(cjs)) {
        if (key !== "default" && key !== "__esModule") Object.defineProperty(ns, key, { get: () => cjs[key], enumerable: true });
      }
    }
    return ns;
  }
  if (!id.startsWith(${JSON.stringify(HOST_PREFIX)})) return require(id);
  const load = HOST[id.slice(${HOST_PREFIX.length})];
  if (load === undefined) throw new Error("spire-aws-iid: the lazy part asks for an unknown module " + id);
  return load();
}
lazyRequire.main = require.main;
lazyRequire.resolve = require.resolve;
lazyRequire.cache = require.cache;
function chunk(name) {
  const seen = loaded.get(name);
  if (seen !== undefined) {
    if (seen.failure !== undefined) throw seen.failure;
    return seen.module.exports;
  }
  const payload = CHUNKS[name];
  if (payload === undefined) throw new Error("spire-aws-iid: no lazy chunk " + name);
  // Recorded before evaluation: each chunk is evaluated at most once, a second attempt would
  // create a second set of module instances.
  const record = { module: { exports: {} }, failure: undefined };
  loaded.set(name, record);
  try {
    const source = require("node:zlib").brotliDecompressSync(Buffer.from(payload, "base64")).toString("utf8");
    const fn = vm.compileFunction(source, ["exports", "require", "module", "__filename", "__dirname"], {
      filename: __filename + "#lazy/" + name,
    });
    fn.call(record.module.exports, record.module.exports, lazyRequire, record.module, __filename, __dirname);
  } catch (err) {
    record.failure = err;
    throw err;
  }
  return record.module.exports;
}
exports.lazyModule = (key) => {
  const name = ENTRIES[key];
  if (name === undefined) throw new Error("spire-aws-iid: no lazy chunk for " + key);
  return chunk(name);
};
`;
}

/**
 * The lazy part: every module in `targets`, each evaluated on first request. Modules that are
 * in the main part (`mainModules`) are required from it (`shared` collects their keys).
 */
function lazyPartPlugin(mainModules: ReadonlySet<string>, shared: Set<string>): Plugin {
  return {
    name: "lazy-part",
    setup(b): void {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === HOST_PREFIX || args.kind === "entry-point") return undefined;
        const r = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: HOST_PREFIX,
        });
        if (r.errors.length > 0) return { errors: r.errors };
        if (r.external || !isAbsolute(r.path)) return r;
        const key = keyOf(r.path);
        if (!mainModules.has(key)) return r;
        shared.add(key);
        return { path: HOST_PREFIX + key, external: true };
      });
    },
  };
}

/**
 * The AWS SDK clients' schema modules (dist-es/schemas/schemas_0.js in each client) declare every
 * shape of the service as an array, with traits as objects keyed by string constants:
 * `{ [_xN]: _aCc }` where `const _xN = "xmlName"`. esbuild cannot tell that such a computed key
 * has no side effects, so it kept every shape with traits: ~2,200 of EC2's 3,400 whatever the
 * commands imported. Writing each such key as its string literal (the same object) lets esbuild
 * drop the shapes the plugin's commands never reach.
 */
function sdkSchemaKeysPlugin(): Plugin {
  return {
    name: "sdk-schema-keys",
    setup(b): void {
      b.onLoad(
        { filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
        (args) => {
          const source = readFileSync(args.path, "utf8");
          const strings = new Map<string, string>();
          for (const [, name, value] of source.matchAll(/^const (_[A-Za-z0-9_]+) = ("[^"\\\n]*");$/gm)) {
            if (name !== undefined && value !== undefined) strings.set(name, value);
          }
          const contents = source.replace(/\[(_[A-Za-z0-9_]+)\]:/g, (whole, name: string) => {
            const value = strings.get(name);
            return value === undefined ? whole : `${value}:`;
          });
          return { contents, loader: "js" };
        },
      );
    },
  };
}

/** Text as `//` comments: safe whatever it contains (a star-slash would end a block comment). */
function lineComments(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines.length === 1 && lines[0] === "" ? "" : lines.map((l) => `// ${l}`.trimEnd()).join("\n");
}

function inputKeys(metafile: Metafile | undefined): Set<string> {
  if (metafile === undefined) throw new Error("esbuild returned no metafile");
  return new Set(Object.keys(metafile.inputs).filter((k) => !k.includes(":")));
}

export interface BundleOptions {
  /** Default dist/spire-aws-iid. */
  outfile?: string;
  /** Default src/main.ts; test/bundle-layout.spec.ts builds a fixture entry the same way. */
  entry?: string;
}

export interface BundleResult {
  path: string;
  sha256: string;
  bytes: number;
  /** The npm packages inside, as listed in THIRD_PARTY_LICENSES.txt beside the bundle. */
  packages: BundledPackage[];
}

export async function bundle(options: BundleOptions = {}): Promise<BundleResult> {
  const outfile = options.outfile ?? BUNDLE_PATH;
  const entry = options.entry ?? join(root, "src", "main.ts");
  mkdirSync(dirname(outfile), { recursive: true });
  const identity = buildIdentity();
  const common: BuildOptions = {
    ...COMMON,
    define: {
      __SPIRE_AWS_IID_VERSION__: JSON.stringify(identity.version),
      __SPIRE_AWS_IID_COMMIT__: JSON.stringify(identity.commit),
    },
  };

  // 1. The main part's module graph and its dynamic imports.
  const targets = new Set<string>();
  const probe = await build({
    ...common,
    entryPoints: [entry],
    write: false,
    metafile: true,
    outfile,
    plugins: [mainPartPlugin(targets, { chunks: new Map(), entries: new Map(), cjsChunks: [], shared: [] })],
  });
  const mainModules = inputKeys(probe.metafile);

  // 2. The lazy part, split at every dynamic import (esbuild splits only ES modules, so the
  //    chunks are then turned into CommonJS): the agent's 50 KB need not wait for the server's
  //    AWS SDK clients to compile, and the server compiles the EC2 client on its first use.
  const shared = new Set<string>();
  const targetList = [...targets].sort();
  const lazy = await build({
    ...common,
    format: "esm",
    splitting: true,
    entryPoints: targetList.map((key, i) => ({ in: specifierOf(key), out: `e${i}` })),
    outdir: join(dirname(outfile), "lazy"),
    chunkNames: "c-[hash]",
    // Collected into one file (below) and appended to the main part as line comments.
    legalComments: "external",
    write: false,
    metafile: true,
    plugins: [lazyPartPlugin(mainModules, shared), sdkSchemaKeysPlugin()],
  });
  const lazyLegal = lazy.outputFiles.filter((f) => f.path.endsWith(".LEGAL.txt"));
  // import() of a CommonJS module (the AWS SDK clients) gives a chunk that only has
  // `export default module.exports`; Node's import() would also offer its named exports, which
  // is what the code destructures. The runtime adds them for these chunks.
  const cjsChunks: string[] = [];
  for (const [path, output] of Object.entries(lazy.metafile?.outputs ?? {})) {
    const input = output.entryPoint === undefined ? undefined : lazy.metafile?.inputs[output.entryPoint];
    if (input?.format === "cjs") cjsChunks.push(basename(path));
  }
  const chunks = new Map<string, string>();
  for (const file of lazy.outputFiles) {
    if (lazyLegal.includes(file)) continue;
    // import/export become require/exports; import() (of chunks and of node builtins, e.g. the
    // AWS SDK's `await import("node:http")` for IMDS credentials) becomes a require too, since
    // vm.compileFunction code has no module loader behind import() unless it is given one.
    const cjs = await transform(file.text, {
      format: "cjs",
      target: NODE_TARGET,
      legalComments: "none",
      minify: true,
      supported: { "dynamic-import": false },
    });
    chunks.set(basename(file.path), cjs.code);
  }
  for (const [name, code] of chunks) {
    for (const [, dep] of code.matchAll(/require\("\.\/([^"]+)"\)/g)) {
      if (dep !== undefined && !chunks.has(dep))
        throw new Error(`lazy chunk ${name} requires a missing chunk ${dep}`);
    }
  }
  const entries = new Map(targetList.map((key, i) => [key, `e${i}.js`]));
  for (const name of entries.values())
    if (!chunks.has(name)) throw new Error(`esbuild wrote no lazy chunk ${name}`);

  // 3. The main part with the lazy part inside.
  await build({
    ...common,
    entryPoints: [entry],
    outfile,
    banner: { js: "#!/usr/bin/env node" },
    footer: { js: lineComments(lazyLegal.map((f) => f.text).join("")) },
    plugins: [mainPartPlugin(new Set(), { chunks, entries, cjsChunks, shared: [...shared].sort() })],
  });
  chmodSync(outfile, 0o755);
  const bytes = readFileSync(outfile);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(`${outfile}.sha256`, `${sha256}  ${basename(outfile)}\n`);

  const packages = bundledPackages([...mainModules, ...inputKeys(lazy.metafile)]);
  writeFileSync(join(dirname(outfile), LICENSES_FILE_NAME), thirdPartyLicensesText(packages));
  return { path: outfile, sha256, bytes: bytes.length, packages };
}

if (require.main === module) {
  bundle({ outfile: process.argv[2] === undefined ? undefined : resolve(process.argv[2]) }).then(
    ({ path, sha256, bytes }) => {
      process.stdout.write(`${path} (${(bytes / 1024).toFixed(0)} KiB)\nsha256 ${sha256}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
