// LangChain JS (@langchain/anthropic ChatAnthropic) through the proxy: .stream with text, bound tools, thinking, a
// mid-stream error and an abort by signal that reaches the simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChatAnthropic } from '@langchain/anthropic';
import { z } from 'zod';
import { startProxy, reference, recordingFetch, SLOW, MIDSTREAM_ERROR } from './proxy.js';

const MODEL = 'claude-sonnet-4-6';
let proxy;

before(async () => { proxy = await startProxy(); });
after(async () => proxy?.stop());

function chat(options = {}, headers = {}) {
  const fetch = recordingFetch();
  const model = new ChatAnthropic({
    model: MODEL, apiKey: proxy.key, anthropicApiUrl: proxy.url, maxRetries: 0,
    clientOptions: { defaultHeaders: headers, fetch }, ...options,
  });
  return { fetch, model };
}

/** Streams `input` and returns the chunks and their concatenation. */
async function collect(stream) {
  const chunks = [];
  let whole;
  for await (const chunk of await stream) {
    chunks.push(chunk);
    whole = whole === undefined ? chunk : whole.concat(chunk);
  }
  return { chunks, whole };
}

/** The text of a chunk, whether its content is a string or a list of blocks. */
function textOf(chunk) {
  if (typeof chunk.content === 'string') return chunk.content;
  return chunk.content.filter((b) => b.type === 'text' || b.type === 'text_delta').map((b) => b.text).join('');
}

test('.stream adds up to the simulator reply', async () => {
  const { fetch, model } = chat();
  const { chunks, whole } = await collect(model.stream('Say hello from LangChain'));
  const expected = await reference(proxy, fetch.bodies[0]);
  assert.ok(expected.text.length > 0);
  assert.ok(chunks.length > 3, 'the reply came in pieces');
  assert.equal(chunks.map(textOf).join(''), expected.text);
  // LangChain adds up the chunks' usage, message_start's output_tokens (1, as the real API sends) included, so the
  // count to compare is the last chunk's, taken from message_delta's cumulative total.
  const usages = chunks.filter((c) => c.usage_metadata?.output_tokens > 0);
  assert.equal(usages.at(-1).usage_metadata.output_tokens, expected.message.usage.output_tokens);
  assert.equal(whole.usage_metadata.input_tokens, expected.message.usage.input_tokens);
});

test('bound tools come back as a tool call with parsed arguments', async () => {
  const { fetch, model } = chat();
  const withTools = model.bindTools([{
    name: 'get_weather', description: 'Current weather of a city',
    schema: z.object({ city: z.string() }),
  }]);
  const { whole } = await collect(withTools.stream('Weather in Paris?'));
  const expected = await reference(proxy, fetch.bodies[0]);
  assert.equal(whole.tool_calls.length, 1, JSON.stringify(whole.tool_calls));
  assert.equal(whole.tool_calls[0].name, 'get_weather');
  assert.equal(whole.tool_calls[0].id, expected.toolUse.id);
  assert.deepEqual(whole.tool_calls[0].args, expected.toolUse.input);
  assert.equal(typeof whole.tool_calls[0].args.city, 'string');
});

test('thinking streams as thinking blocks', async () => {
  const { fetch, model } = chat({ maxTokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } });
  const { chunks } = await collect(model.stream('Think, then answer'));
  const expected = await reference(proxy, fetch.bodies[0]);
  const blocks = chunks.flatMap((c) => (Array.isArray(c.content) ? c.content : []));
  const thinking = blocks.filter((b) => b.type === 'thinking').map((b) => b.thinking ?? '').join('');
  assert.ok(expected.thinking.length > 0);
  assert.equal(thinking, expected.thinking);
  assert.ok(blocks.some((b) => b.type === 'thinking' && b.signature), 'the signature arrived');
  assert.equal(chunks.map(textOf).join(''), expected.text);
});

test('a mid-stream error is thrown from the stream', async () => {
  const { model } = chat({}, MIDSTREAM_ERROR);
  let text = '';
  await assert.rejects(async () => {
    for await (const chunk of await model.stream('Fail midway')) text += textOf(chunk);
  }, /overloaded/i);
  assert.ok(text.length > 0, 'some text arrived before the error');
});

test('abort by signal cancels the stream at the simulator', async () => {
  const { model } = chat({}, SLOW);
  const before = (await proxy.stats()).streamsCancelled;
  const controller = new AbortController();
  let pieces = 0;
  await assert.rejects(async () => {
    for await (const chunk of await model.stream('Stream slowly', { signal: controller.signal })) {
      if (textOf(chunk).length > 0 && ++pieces === 1) controller.abort();
    }
  }, (e) => /abort/i.test(`${e.name} ${e.message}`));
  assert.ok(pieces >= 1 && pieces < 200);
  await proxy.cancelledAfter(before);
  assert.equal((await proxy.stats()).streamsOpen, 0);
});
