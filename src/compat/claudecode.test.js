// Claude Code (`claude -p`, its default model, stream-json output) through the proxy: text, thinking (on by default),
// a tool round trip, a mid-stream error that ends as an error result, and a killed run whose stream the simulator
// sees cancelled. It runs in a scratch HOME and working directory with its non-essential traffic, telemetry and
// updater off; .ci/run also puts the whole stage in a network namespace with only loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { startProxy, SLOW, MIDSTREAM_ERROR } from './proxy.js';

const require = createRequire(import.meta.url);
// The npm package ships the program as a native binary in a package per platform; run that binary directly, so the
// suite does not depend on the wrapper's postinstall having linked it.
const CLAUDE = join(dirname(require.resolve(`@anthropic-ai/claude-code-${process.platform}-${process.arch}/package.json`)),
  'claude');
let proxy;
let scratch;

before(async () => {
  proxy = await startProxy();
  scratch = mkdtempSync(join(tmpdir(), 'csp-claude-code-'));
});
after(async () => {
  await proxy?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * Runs `claude -p prompt` with stream-json output; resolves with its exit and its output lines, parsed. `onLine` sees
 * each line as it arrives (and may kill the run through the child it is given).
 */
function claude(prompt, { tools = '', headers = {}, env = {}, onLine, timeoutMs = 90_000 } = {}) {
  const home = mkdtempSync(join(scratch, 'run-'));
  const custom = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n');
  const child = spawn(CLAUDE, ['-p', prompt, '--output-format', 'stream-json', '--verbose',
    '--include-partial-messages', '--tools', tools, '--no-session-persistence'], {
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: home,
      ANTHROPIC_BASE_URL: proxy.url,
      ANTHROPIC_API_KEY: proxy.key,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      ...(custom ? { ANTHROPIC_CUSTOM_HEADERS: custom } : {}),
      ...env,
    },
  });
  const lines = [];
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return;
    const event = JSON.parse(line);
    lines.push(event);
    onLine?.(event, child);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`claude did not finish in ${timeoutMs} ms; last lines: ${JSON.stringify(lines.slice(-3))}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines, stderr, result: lines.find((l) => l.type === 'result') });
    });
  });
}

/** The content blocks of the assistant lines, in order. */
function blocks(lines) {
  return lines.filter((l) => l.type === 'assistant').flatMap((l) => l.message.content);
}

/** The text of the streamed deltas (--include-partial-messages) of one kind, e.g. text_delta. */
function streamed(lines, kind, field) {
  return lines.filter((l) => l.type === 'stream_event' && l.event.type === 'content_block_delta'
    && l.event.delta.type === kind).map((l) => l.event.delta[field]).join('');
}

function describe(run) {
  return `exit ${run.code}, result ${JSON.stringify(run.result)}, stderr ${run.stderr.slice(0, 500)}`;
}

test('text: a default-model answer streams and ends in a success result', async () => {
  const before = await proxy.stats();
  const run = await claude('Say hello from Claude Code');
  assert.equal(run.code, 0, describe(run));
  assert.equal(run.result.is_error, false, describe(run));
  const text = blocks(run.lines).filter((b) => b.type === 'text').map((b) => b.text).join('');
  assert.ok(text.length > 20, describe(run));
  assert.equal(run.result.result, text);
  assert.equal(streamed(run.lines, 'text_delta', 'text'), text);
  // Its own default model went upstream (the init line names it, with a context-window suffix such as [1m]).
  const init = run.lines.find((l) => l.type === 'system' && l.subtype === 'init');
  const answered = run.lines.find((l) => l.type === 'assistant').message.model;
  assert.equal(answered, init.model.replace(/\[\w+\]$/, ''));
  // One simulator delta is one output token: Claude Code's count must be the simulator's.
  const after = await proxy.stats();
  assert.equal(after.streamsCompleted - before.streamsCompleted, 1);
  assert.equal(run.result.usage.output_tokens, after.deltas - before.deltas);
});

test('thinking: on by default, streamed and signed', async () => {
  const run = await claude('Think about it, then answer');
  assert.equal(run.code, 0, describe(run));
  const thinking = blocks(run.lines).filter((b) => b.type === 'thinking');
  assert.equal(thinking.length, 1, describe(run));
  assert.ok(thinking[0].thinking.length > 0);
  assert.ok(thinking[0].signature.length > 0);
  assert.equal(streamed(run.lines, 'thinking_delta', 'thinking'), thinking[0].thinking);
});

// Claude Code's tools stay off in the other checks (the simulator answers every tool list with a tool call). Here it
// gets one read-only tool, Glob, in its empty scratch directory: the simulator calls it, Claude Code runs it and
// sends the result back, and the second answer is text.
test('tools: a tool call, its result sent back, then the answer', async () => {
  const run = await claude('List the files here', { tools: 'Glob' });
  assert.equal(run.code, 0, describe(run));
  const calls = blocks(run.lines).filter((b) => b.type === 'tool_use');
  assert.equal(calls.length, 1, describe(run));
  assert.equal(calls[0].name, 'Glob');
  assert.equal(typeof calls[0].input.pattern, 'string');
  const results = run.lines.filter((l) => l.type === 'user').flatMap((l) => l.message.content)
    .filter((b) => b.type === 'tool_result');
  assert.equal(results.length, 1);
  assert.equal(results[0].tool_use_id, calls[0].id);
  assert.equal(run.result.num_turns, 2);
  assert.equal(run.result.is_error, false);
  assert.ok(run.result.result.length > 0);
});

test('a mid-stream error ends the run as an error', async () => {
  // Claude Code retries an overloaded stream up to ten times with backoff; without retries the error is its result.
  const run = await claude('Fail midway', {
    headers: MIDSTREAM_ERROR,
    env: { CLAUDE_CODE_MAX_RETRIES: '0', CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK: '1' },
  });
  assert.notEqual(run.code, 0, describe(run));
  assert.equal(run.result.is_error, true, describe(run));
  assert.match(run.result.result, /overloaded/i);
  assert.ok(streamed(run.lines, 'text_delta', 'text').length + streamed(run.lines, 'thinking_delta', 'thinking').length > 0,
    'some of the stream arrived before the error');
});

test('a killed run cancels its stream at the simulator', async () => {
  const before = (await proxy.stats()).streamsCancelled;
  let deltas = 0;
  const run = await claude('Stream slowly', {
    headers: SLOW,
    onLine: (event, child) => {
      if (event.type === 'stream_event' && event.event.type === 'content_block_delta' && ++deltas === 1) {
        child.kill('SIGINT');
      }
    },
  });
  assert.ok(deltas >= 1, describe(run));
  assert.notEqual(run.result?.is_error, false, 'a killed run is no success: ' + describe(run));
  await proxy.cancelledAfter(before);
  assert.equal((await proxy.stats()).streamsOpen, 0);
});
