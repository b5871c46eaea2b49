// The official TypeScript SDK (@anthropic-ai/sdk) through the proxy: messages.stream with text, tools, thinking,
// a mid-stream error and an abort that reaches the simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startProxy, reference, SLOW, MIDSTREAM_ERROR } from './proxy.js';

const MODEL = 'claude-sonnet-4-6';
const WEATHER = {
  name: 'get_weather',
  description: 'Current weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
let proxy;
let client;

before(async () => {
  proxy = await startProxy();
  client = new Anthropic({ baseURL: proxy.url, apiKey: proxy.key, maxRetries: 0 });
});
after(async () => proxy?.stop());

test('text streams and adds up to the simulator reply', async () => {
  const body = { model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello from the TS SDK' }] };
  const stream = client.messages.stream(body);
  let deltas = '';
  stream.on('text', (t) => { deltas += t; });
  const message = await stream.finalMessage();
  const expected = await reference(proxy, body);
  assert.ok(expected.text.length > 0);
  assert.equal(deltas, expected.text);
  assert.equal(message.content[0].text, expected.text);
  assert.equal(message.stop_reason, 'end_turn');
  assert.ok(message.usage.output_tokens > 0);
});

test('a tool call arrives with input that parses', async () => {
  const body = {
    model: MODEL, max_tokens: 1024, tools: [WEATHER],
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  };
  const message = await client.messages.stream(body).finalMessage();
  const expected = await reference(proxy, body);
  const call = message.content.find((b) => b.type === 'tool_use');
  assert.ok(call, JSON.stringify(message.content));
  assert.equal(message.stop_reason, 'tool_use');
  assert.equal(call.name, 'get_weather');
  assert.equal(typeof call.input.city, 'string');
  assert.deepEqual(call.input, expected.toolUse.input);
  assert.equal(call.id, expected.toolUse.id);
});

test('thinking streams before the text, with its signature', async () => {
  const body = {
    model: MODEL, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [{ role: 'user', content: 'Think, then answer' }],
  };
  const stream = client.messages.stream(body);
  let thinking = '';
  stream.on('thinking', (t) => { thinking += t; });
  const message = await stream.finalMessage();
  const expected = await reference(proxy, body);
  assert.ok(expected.thinking.length > 0);
  assert.equal(thinking, expected.thinking);
  assert.equal(message.content[0].type, 'thinking');
  assert.ok(message.content[0].signature.length > 0);
  assert.equal(message.content[1].text, expected.text);
});

test('a mid-stream error is raised as an error, not a clean end', async () => {
  const stream = client.messages.stream(
    { model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Fail midway' }] },
    { headers: MIDSTREAM_ERROR });
  let text = '';
  stream.on('text', (t) => { text += t; });
  await assert.rejects(stream.finalMessage(), (e) => {
    assert.match(String(e.message ?? e), /overloaded/i);
    return true;
  });
  assert.ok(text.length > 0, 'some text arrived before the error');
});

test('abort cancels the stream at the simulator', async () => {
  const before = (await proxy.stats()).streamsCancelled;
  const stream = client.messages.stream(
    { model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Stream slowly' }] },
    { headers: SLOW });
  let deltas = 0;
  const firstText = new Promise((r) => stream.on('text', () => { deltas += 1; r(); }));
  await firstText;
  stream.abort();
  await assert.rejects(stream.finalMessage());
  await proxy.cancelledAfter(before);
  const s = await proxy.stats();
  assert.equal(s.streamsOpen, 0);
  assert.ok(deltas < 200);
});
