/**
 * Loopback guard for tests, demos and benchmarks: the project's rule is that none of them
 * sends a byte anywhere but 127.0.0.0/8 or ::1 (never 169.254.169.254, never an AWS endpoint a
 * credential provider or a mistyped test would reach). Loaded with `--require` (plain
 * CommonJS, so any Node can load it without a TypeScript loader), it:
 *
 * - refuses every TCP connect (net, so also tls, http, https, http2, grpc-js and fetch) whose
 *   target is not a loopback address, a unix socket or "localhost", before any packet or DNS
 *   query leaves: the socket fails with code ELOOPBACKGUARD;
 * - refuses UDP sends and dns.lookup of names other than localhost the same way;
 * - turns off the AWS SDK's instance-metadata credential provider (AWS_EC2_METADATA_DISABLED)
 *   and points its shared config/credentials files at nothing, so a developer's ~/.aws never
 *   shapes a test;
 * - puts itself into NODE_OPTIONS, so every Node child a test, demo or benchmark spawns (the
 *   bundle under a go-plugin host, the demo's plugins, benchmark scenarios) is guarded too.
 *
 * Every refusal is also appended as a JSON line to the file named by LOOPBACK_GUARD_LOG, when
 * set: test/global-setup.ts fails the run if any line is there at the end, so a refused connect
 * that a test swallowed (a retry loop, an expected error) is still seen.
 */
"use strict";

const net = require("node:net");
const dgram = require("node:dgram");
const dns = require("node:dns");
const fs = require("node:fs");

const INSTALLED = Symbol.for("spire-aws-iid.loopback-guard");

function isLoopbackAddress(address) {
  const a = String(address).replace(/^\[|\]$/g, "");
  if (net.isIPv4(a)) return a.startsWith("127.");
  if (net.isIPv6(a)) {
    const lower = a.toLowerCase();
    if (lower === "::1" || lower === "0:0:0:0:0:0:0:1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped?.[1].startsWith("127.") === true;
  }
  return false;
}

function isLoopbackHost(host) {
  if (host === undefined || host === null || host === "") return true; // Node's default: localhost
  const h = String(host).toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  return isLoopbackAddress(h);
}

function refusal(what) {
  const line = JSON.stringify({ refused: what, pid: process.pid, argv: process.argv.slice(1, 3) });
  const log = process.env.LOOPBACK_GUARD_LOG;
  if (log) {
    try {
      fs.appendFileSync(log, `${line}\n`);
    } catch {
      // The log is a second channel; the refused connect below is the first.
    }
  }
  const err = new Error(
    `loopback guard: refused ${what}; tests, demos and benchmarks may only reach 127.0.0.0/8 and ::1 (test/loopback-guard.cjs)`,
  );
  err.code = "ELOOPBACKGUARD";
  return err;
}

/** Where Socket#connect's arguments point: a unix path, or host and port. */
function connectTarget(args) {
  const a = Array.isArray(args[0]) ? args[0] : args;
  const first = a[0];
  if (first !== null && typeof first === "object") {
    if (first.path !== undefined) return { path: first.path };
    return { host: first.host, port: first.port };
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) return { path: first };
  return { host: typeof a[1] === "string" ? a[1] : undefined, port: first };
}

function install() {
  if (globalThis[INSTALLED]) return;
  globalThis[INSTALLED] = true;

  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    const target = connectTarget(args);
    if (target.path === undefined && !isLoopbackHost(target.host)) {
      const err = refusal(`a TCP connection to ${target.host}:${target.port}`);
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return connect.apply(this, args);
  };

  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function guardedSend(...args) {
    // send(msg, [offset, length,] port, address, callback): the address is the first string
    // after the message; a connected socket was checked at connect.
    const address = args.slice(1).find((v) => typeof v === "string");
    if (address !== undefined && !isLoopbackHost(address)) throw refusal(`a UDP datagram to ${address}`);
    return send.apply(this, args);
  };
  const udpConnect = dgram.Socket.prototype.connect;
  dgram.Socket.prototype.connect = function guardedUdpConnect(port, address, ...rest) {
    if (!isLoopbackHost(typeof address === "string" ? address : undefined)) {
      throw refusal(`a UDP connection to ${address}:${port}`);
    }
    return udpConnect.call(this, port, address, ...rest);
  };

  const lookup = dns.lookup;
  dns.lookup = function guardedLookup(hostname, ...rest) {
    if (!isLoopbackHost(hostname)) {
      const cb = rest[rest.length - 1];
      const err = refusal(`a DNS lookup of ${hostname}`);
      if (typeof cb === "function") {
        process.nextTick(() => cb(err));
        return {};
      }
      throw err;
    }
    return lookup.call(this, hostname, ...rest);
  };
  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = function guardedPromisesLookup(hostname, ...rest) {
    if (!isLoopbackHost(hostname)) return Promise.reject(refusal(`a DNS lookup of ${hostname}`));
    return promisesLookup.call(this, hostname, ...rest);
  };

  // ESM importers of node:dns (and node:dns/promises) see the guarded functions too.
  require("node:module").syncBuiltinESMExports();

  const options = process.env.NODE_OPTIONS ?? "";
  if (options.includes(__filename)) {
    // A child armed through NODE_OPTIONS: its environment is what its parent chose (a test
    // that runs an agent against a fake IMDS unsets AWS_EC2_METADATA_DISABLED on purpose).
    return;
  }
  const self = `--require=${JSON.stringify(__filename)}`;
  process.env.NODE_OPTIONS = options === "" ? self : `${options} ${self}`;
  // The AWS SDK's default credential chain ends at instance metadata (169.254.169.254): switch
  // that provider off, and keep a developer's ~/.aws profiles out of what tests see. Only the
  // first guarded process sets these; its children inherit them unless a test says otherwise.
  process.env.AWS_EC2_METADATA_DISABLED ??= "true";
  process.env.AWS_CONFIG_FILE ??= "/nonexistent/loopback-guard/aws-config";
  process.env.AWS_SHARED_CREDENTIALS_FILE ??= "/nonexistent/loopback-guard/aws-credentials";
}

install();

module.exports = { isLoopbackAddress, isLoopbackHost, GUARD_PATH: __filename };
