// The Vercel AI SDK (ai + @ai-sdk/anthropic) through the proxy: streamText with its defaults, a tool call with a zod
// schema, reasoning, a mid-stream error and an abort that reaches the simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { streamText, tool } from 'ai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { z } from 'zod';
import { startProxy, reference, recordingFetch, SLOW, MIDSTREAM_ERROR } from './proxy.js';

const MODEL = 'claude-sonnet-4-6';
let proxy;

before(async () => { proxy = await startProxy(); });
after(async () => proxy?.stop());

function provider(headers) {
  const fetch = recordingFetch();
  return { fetch, anthropic: createAnthropic({ baseURL: proxy.url + '/v1', apiKey: proxy.key, headers, fetch }) };
}

/** Reads the whole fullStream. */
async function drain(result) {
  const parts = [];
  for await (const part of result.fullStream) parts.push(part);
  return parts;
}

/** The messages of the error parts, short enough to read in a failed assertion. */
function errorsOf(parts) {
  return parts.filter((p) => p.type === 'error').map((p) => String(p.error?.message ?? p.error));
}

// The tests after the first set a budget of their own, so that only the first depends on the default max_tokens.
const BUDGET = 4096;

// The AI SDK's default max_tokens for claude-sonnet-4-6 is the model's limit, 128000.
test('streamText with defaults adds up to the simulator reply', async () => {
  const { fetch, anthropic } = provider();
  const result = streamText({ model: anthropic(MODEL), prompt: 'Say hello from the AI SDK', maxRetries: 0 });
  const parts = await drain(result);
  assert.deepEqual(errorsOf(parts), []);
  const text = parts.filter((p) => p.type === 'text-delta').map((p) => p.text).join('');
  const expected = await reference(proxy, fetch.bodies[0]);
  assert.ok(expected.text.length > 0);
  assert.equal(text, expected.text);
  assert.equal(await result.text, expected.text);
  assert.equal(await result.finishReason, 'stop');
  assert.equal((await result.usage).outputTokens, expected.message.usage.output_tokens);
});

test('a tool call validates against its zod schema', async () => {
  const { fetch, anthropic } = provider();
  const result = streamText({
    model: anthropic(MODEL), maxRetries: 0, maxOutputTokens: BUDGET, prompt: 'Weather in Paris?',
    tools: {
      getWeather: tool({
        description: 'Current weather of a city',
        inputSchema: z.object({ city: z.string(), days: z.number().int().optional() }),
      }),
    },
  });
  const parts = await drain(result);
  assert.deepEqual(errorsOf(parts), []);
  const calls = parts.filter((p) => p.type === 'tool-call');
  assert.equal(calls.length, 1, JSON.stringify(parts.map((p) => p.type)));
  assert.equal(calls[0].toolName, 'getWeather');
  assert.ok(!calls[0].invalid, 'the input failed the zod schema: ' + JSON.stringify(calls[0]));
  assert.equal(typeof calls[0].input.city, 'string');
  const expected = await reference(proxy, fetch.bodies[0]);
  assert.deepEqual(calls[0].input, expected.toolUse.input);
  assert.equal(await result.finishReason, 'tool-calls');
});

test('reasoning streams as reasoning parts', async () => {
  const { fetch, anthropic } = provider();
  const result = streamText({
    model: anthropic(MODEL), maxRetries: 0, maxOutputTokens: BUDGET, prompt: 'Think, then answer',
    providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 2048 } } },
  });
  const parts = await drain(result);
  assert.deepEqual(errorsOf(parts), []);
  const reasoning = parts.filter((p) => p.type === 'reasoning-delta').map((p) => p.text).join('');
  const text = parts.filter((p) => p.type === 'text-delta').map((p) => p.text).join('');
  const expected = await reference(proxy, fetch.bodies[0]);
  assert.ok(expected.thinking.length > 0);
  assert.equal(reasoning, expected.thinking);
  assert.equal(text, expected.text);
  assert.equal(await result.reasoningText, expected.thinking);
});

test('a mid-stream error becomes an error part and onError', async () => {
  const { anthropic } = provider(MIDSTREAM_ERROR);
  const seen = [];
  const result = streamText({
    model: anthropic(MODEL), maxRetries: 0, maxOutputTokens: BUDGET, prompt: 'Fail midway',
    onError: ({ error }) => seen.push(error),
  });
  const parts = await drain(result);
  const errors = errorsOf(parts);
  assert.equal(errors.length, 1, JSON.stringify(parts.map((p) => p.type)));
  assert.match(errors[0], /overloaded/i);
  assert.equal(seen.length, 1);
  assert.ok(parts.some((p) => p.type === 'text-delta'), 'some text arrived before the error');
  assert.ok(!parts.some((p) => p.type === 'finish' && p.finishReason === 'stop'), 'no clean end');
});

test('abort cancels the stream at the simulator', async () => {
  const { anthropic } = provider(SLOW);
  const before = (await proxy.stats()).streamsCancelled;
  const controller = new AbortController();
  const result = streamText({
    model: anthropic(MODEL), maxRetries: 0, maxOutputTokens: BUDGET, prompt: 'Stream slowly', abortSignal: controller.signal,
  });
  let deltas = 0;
  let aborted = false;
  try {
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta' && ++deltas === 1) controller.abort();
      if (part.type === 'abort') aborted = true;
    }
  } catch (e) {
    aborted = e.name === 'AbortError' || aborted;
  }
  assert.ok(aborted, 'the stream ended as aborted');
  assert.ok(deltas >= 1 && deltas < 200);
  await proxy.cancelledAfter(before);
  assert.equal((await proxy.stats()).streamsOpen, 0);
});
