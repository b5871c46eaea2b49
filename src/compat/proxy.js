// Starts the proxy from the server jar that `mvn -B verify` built (target/claude-stream-proxy-server.jar), on a free
// loopback port, answering from its built-in simulator, and reads what it prints: the proxy's address, the
// simulator's (for /sim/stats) and the key of the run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
export const JAR = process.env.CSP_JAR || resolve(here, '../../target/claude-stream-proxy-server.jar');

/**
 * Starts a proxy and resolves once it has printed its development key.
 * Streams are quick by default (a reply takes a fraction of a second); tests slow one down with x-sim-* headers.
 */
export async function startProxy() {
  if (!existsSync(JAR)) {
    throw new Error(`${JAR} is missing: build it first (mvn -B verify or scripts/ensure-built)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'csp-compat-'));
  const env = { ...process.env };
  // Without an upstream key the proxy answers from its built-in simulator: no traffic leaves the machine.
  delete env.ANTHROPIC_API_KEY;
  delete env.ANTHROPIC_BASE_URL;
  Object.assign(env, {
    PROXY_HOST: '127.0.0.1',
    PROXY_PORT: '0',
    PROXY_USERS: join(dir, 'no-users.json'),
    PROXY_USAGE_FILE: join(dir, 'usage.jsonl'),
    SIM_TTFT_MS: '50',
    SIM_TOKENS_PER_SECOND: '400',
    SIM_JITTER: '0',
  });
  const child = spawn('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', JAR, 'serve'],
    { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stderr.on('data', (d) => output.push(String(d)));
  const found = {};
  const ready = new Promise((resolveReady, rejectReady) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      // The access log is JSON on the same stream; only the banner is read.
      if (!line.startsWith('{')) output.push(line + '\n');
      let m;
      if ((m = /; open (http:\/\/[^\s/]+)/.exec(line))) found.url = m[1];
      if ((m = /built-in Claude simulator at (http:\/\/[^\s,]+)/.exec(line))) found.simUrl = m[1];
      if ((m = /^Development API key: (\S+)/.exec(line))) {
        found.key = m[1];
        resolveReady();
      }
    });
    child.on('exit', (code) => rejectReady(new Error(`proxy exited with ${code} before it was ready:\n${output.join('')}`)));
  });
  const timeout = new Promise((_, rejectTimeout) => {
    const t = setTimeout(() => rejectTimeout(new Error(`proxy not ready in 60 s:\n${output.join('')}`)), 60_000);
    t.unref();
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  if (!found.url || !found.simUrl) {
    child.kill('SIGKILL');
    throw new Error(`banner not understood:\n${output.join('')}`);
  }
  return {
    url: found.url,
    key: found.key,
    simUrl: found.simUrl,
    dir,
    /** The simulator's counters (requests, streamsStarted, streamsCancelled, ...). */
    async stats() {
      const res = await fetch(found.simUrl + '/sim/stats');
      if (!res.ok) throw new Error(`/sim/stats answered ${res.status}`);
      return res.json();
    },
    /** Waits until the simulator has counted a client-cancelled stream beyond `before`; returns the count. */
    async cancelledAfter(before, ms = 10_000) {
      const end = Date.now() + ms;
      for (;;) {
        const s = await this.stats();
        if (s.streamsCancelled > before) return s.streamsCancelled;
        if (Date.now() > end) {
          throw new Error(`the simulator saw no cancelled stream (still ${s.streamsCancelled}): ${JSON.stringify(s)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headers that make the simulator stream slowly, so that a client can cancel in the middle. */
export const SLOW = { 'x-sim-tokens-per-second': '5', 'x-sim-output-tokens': '200', 'x-sim-ttft-ms': '50' };
/** Headers that make the simulator end the stream with an error event after some deltas. */
export const MIDSTREAM_ERROR = { 'x-sim-scenario': 'midstream_error' };

/**
 * The reply the simulator gives to `body`, asked for directly (not streamed) through the proxy: replies are seeded
 * from model, system and messages only, so this is what a client's stream of the same conversation must add up to.
 */
export async function reference(proxy, body) {
  const res = await fetch(proxy.url + '/v1/messages', {
    method: 'POST',
    headers: { 'x-api-key': proxy.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: false }),
  });
  if (!res.ok) throw new Error(`reference request answered ${res.status}: ${await res.text()}`);
  const message = await res.json();
  const of = (type) => message.content.filter((b) => b.type === type);
  return {
    message,
    text: of('text').map((b) => b.text).join(''),
    thinking: of('thinking').map((b) => b.thinking).join(''),
    toolUse: of('tool_use')[0],
  };
}

/** A fetch that keeps the JSON body of each request it sends, so a test can ask for the reference reply of it. */
export function recordingFetch() {
  const bodies = [];
  const f = async (input, init) => {
    if (init?.body && typeof init.body === 'string') bodies.push(JSON.parse(init.body));
    return fetch(input, init);
  };
  f.bodies = bodies;
  return f;
}
