// The reference client of POST /v1/chat: a fetch-based SSE reader, progressive markdown, Stop, retry, auto-scroll.
'use strict';

const KEY_STORAGE = 'claude-stream-proxy.key';
// Session storage, like the key: this tab keeps its conversation across a reload, and closing the tab forgets it.
const CONVERSATION_STORAGE = 'claude-stream-proxy.conversation';
const $ = (id) => document.getElementById(id);

const state = {
  key: sessionStorage.getItem(KEY_STORAGE),
  user: null,         // whose conversation is shown, from the proxy's answer at sign-in
  history: [],        // {role, content} turns sent with the next request
  turns: [],          // what the log shows, as data, so that a reload can draw it again
  controller: null,   // AbortController of the answer in flight
  streamId: null,     // the proxy's id of the answer in flight (x-stream-id), which Stop ends
  answer: null,       // the answer in flight: what a reconnect or a reload needs to pick it up again
  leaving: false,     // the page is being unloaded (a reload): the answer is left for the next page to pick up
  lastRequest: null,  // what Retry sends again
  totals: { input: 0, output: 0 },
  stick: true,        // follow the stream while the reader is at the bottom
};

class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

function authHeaders() {
  return { authorization: 'Bearer ' + state.key };
}

// ---- SSE over fetch ---------------------------------------------------------------------------------------------

/** Splits one SSE event block into its fields; comments (": ping") give null. */
function parseEvent(block) {
  let event = 'message';
  let id = null;
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return data.length ? { event, id, data: data.join('\n') } : null;
}

/** The proxy's error answer as an ApiError. */
async function apiError(response) {
  const error = await response.json().catch(() => null);
  return new ApiError(response.status, error?.error?.type ?? 'api_error',
    error?.error?.message ?? `the proxy answered ${response.status}`);
}

/** POSTs a turn to /v1/chat; the answer's events are read with readEvents. */
async function postChat(body, signal) {
  const response = await fetch('v1/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders() },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await apiError(response);
  return response;
}

/**
 * Reads an SSE answer, calling onEvent for each complete event. Network chunks are buffered and split on the blank
 * line that ends an event, so an event cut across chunks (or a character cut across bytes) arrives whole. Gives 'end'
 * once onEvent said the answer ended, or 'dropped' when the connection broke or closed before that; an abort (Stop)
 * and whatever onEvent throws (an error event) are thrown.
 */
async function readEvents(response, signal, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  let closed = false;
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (signal.aborted) throw error;
        closed = true;
        break;
      }
      if (chunk.done) {
        closed = true;
        break;
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      buffer = buffer.replace(/\r\n/g, '\n');
      let boundary;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const event = parseEvent(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        if (event && onEvent(event) === 'end') ended = true;
      }
    }
  } finally {
    if (!closed) reader.cancel().catch(() => {});
  }
  return ended ? 'end' : 'dropped';
}

/** How the page picks a dropped answer up again (GET v1/streams/{id}); tests may shorten these. */
const RECONNECT = { firstDelayMs: 500, maxDelayMs: 8000, giveUpMs: 60000 };

/** Waits ms, or less when the browser comes back online; an abort (Stop) ends the wait with its error. */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const end = (settle) => {
      clearTimeout(timer);
      window.removeEventListener('online', wake);
      signal.removeEventListener('abort', aborted);
      settle();
    };
    const wake = () => end(resolve);
    const aborted = () => end(() => reject(signal.reason ?? new DOMException('Aborted', 'AbortError')));
    const timer = setTimeout(wake, ms);
    window.addEventListener('online', wake);
    signal.addEventListener('abort', aborted);
    if (signal.aborted) aborted();
  });
}

/**
 * Follows the answer's stream again from after the last event this page has (Last-Event-ID), until it ends: after a
 * dropped connection, backing off from RECONNECT.firstDelayMs doubling to maxDelayMs and giving up after giveUpMs
 * without a connection; after a reload, at once. The proxy keeps a detached answer going for its grace time.
 */
async function pickUp(answer, view, signal, onEvent, atOnce) {
  let since = Date.now();
  let delay = RECONNECT.firstDelayMs;
  let wait = atOnce ? 0 : delay;
  for (;;) {
    if (wait > 0) {
      view.reconnecting('Connection lost — reconnecting…');
      await pause(wait, signal);
    }
    if (state.leaving) throw new ApiError(0, null, 'The page is closing.');
    let response = null;
    try {
      response = await fetch(`v1/streams/${encodeURIComponent(answer.streamId)}`, {
        headers: { ...authHeaders(), 'last-event-id': String(answer.lastEventId) },
        cache: 'no-store',
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
    }
    if (response?.ok) {
      view.reconnecting(null);
      const had = answer.lastEventId;
      const opened = Date.now();
      if (await readEvents(response, signal, onEvent) === 'end') return;
      if (answer.lastEventId > had || Date.now() - opened >= 5000) {
        // Dropped again after more of the answer came (or a while of quiet): a new spell of reconnecting.
        since = Date.now();
        delay = RECONNECT.firstDelayMs;
        wait = delay;
        continue;
      }
      // Dropped again at once with nothing new: counts as a failed attempt.
    } else if (response) {
      if (response.status === 404 || response.status === 410) {
        throw new ApiError(response.status, null,
          'The answer is no longer available: the proxy no longer has it.');
      }
      // A refused key, or a position the proxy does not know: trying again would not help. 429 and 5xx would.
      if (response.status < 500 && response.status !== 429) throw await apiError(response);
    }
    const elapsed = Date.now() - since;
    if (elapsed >= RECONNECT.giveUpMs) {
      throw new ApiError(0, null, 'The connection was lost and could not be restored.');
    }
    delay = wait === 0 ? delay : Math.min(delay * 2, RECONNECT.maxDelayMs);
    wait = Math.min(delay, RECONNECT.giveUpMs - elapsed);
  }
}

// ---- Rendering --------------------------------------------------------------------------------------------------

function renderMarkdown(text) {
  // The whole accumulated text each time (never fragments), so half-written syntax settles as it completes.
  return DOMPurify.sanitize(marked.parse(text, { gfm: true, breaks: false }));
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function addUserTurn(text) {
  $('empty')?.remove();
  const turn = el('div', 'turn user');
  turn.append(el('div', 'bubble', text));
  $('log').append(turn);
  follow();
}

/**
 * Stores the conversation for a reload of this tab, with the answer in flight if there is one: its stream's id, the
 * last event this page has, the request and the answer so far, consistent with the totals stored beside them.
 */
function saveConversation() {
  const answer = state.answer;
  const pending = answer && {
    streamId: answer.streamId, lastEventId: answer.lastEventId, messages: answer.messages,
    userText: answer.userText, model: answer.model, request: answer.request, counted: answer.counted,
    partial: answer.view.record(),
  };
  sessionStorage.setItem(CONVERSATION_STORAGE, JSON.stringify({
    user: state.user, history: state.history, turns: state.turns, totals: state.totals, pending,
  }));
}

let saveTimer = null;

/** While an answer streams, the stored copy follows it a few times a second (and at once when the page goes). */
function saveSoon() {
  if (saveTimer) return;
  saveTimer = setTimeout(() => {
    saveTimer = null;
    if (state.answer && state.user && !state.leaving) saveConversation();
  }, 250);
}

/**
 * Draws the conversation this tab had before a reload, finished turns as they ended; gives the answer that was in
 * flight, if any, for resumePending.
 */
function restoreConversation() {
  let saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(CONVERSATION_STORAGE));
  } catch {
    saved = null;
  }
  // Only the same user's: another key signed in on this tab does not see it.
  if (!saved || saved.user !== state.user || !Array.isArray(saved.turns) || state.turns.length) return null;
  state.history = saved.history ?? [];
  state.turns = saved.turns;
  state.totals = saved.totals ?? { input: 0, output: 0 };
  for (const turn of state.turns) {
    if (turn.role === 'user') {
      addUserTurn(turn.text);
    } else {
      const view = addAnswer(turn.model);
      view.redraw(turn);
    }
  }
  showTotals();
  return saved.pending ?? null;
}

function clearConversation() {
  sessionStorage.removeItem(CONVERSATION_STORAGE);
  state.answer = null;
  state.history = [];
  state.turns = [];
  state.totals = { input: 0, output: 0 };
  $('log').querySelectorAll('.turn').forEach((turn) => turn.remove());
  showTotals();
}

/** An assistant answer on screen: thinking, tool calls, text, and its meta line. */
function addAnswer(model) {
  const turn = el('div', 'turn assistant');
  const bubble = el('div', 'bubble');
  const typing = el('div', 'typing');
  typing.setAttribute('aria-label', 'Claude is writing');
  typing.append(el('span'), el('span'), el('span'));
  const answer = el('div', 'answer');
  bubble.append(typing, answer);
  const meta = el('div', 'meta');
  const modelLabel = el('span', null, model);
  const ttft = el('span', 'ttft');
  const tokens = el('span', 'tokens');
  const badge = el('span', 'badge');
  badge.hidden = true;
  meta.append(modelLabel, ttft, tokens, badge);
  turn.append(bubble, meta);
  $('log').append(turn);
  follow();

  const view = {
    turn, model, text: '', thinking: '', usage: {}, started: performance.now(), firstToken: null, pending: false,
    thinkingBox: null, thinkingStarted: null, thinkingMs: null, tools: [], deltas: 0, final: false, status: null,
    label: null,
    firstTokenArrived() {
      if (this.firstToken == null) {
        this.firstToken = performance.now() - this.started;
        typing.remove();
        ttft.textContent = `first token in ${Math.round(this.firstToken)} ms`;
      }
    },
    addText(piece) {
      this.firstTokenArrived();
      this.thinkingDone();
      this.deltas++;
      this.text += piece;
      this.showTokens();
      this.scheduleRender();
    },
    addThinking(piece) {
      this.firstTokenArrived();
      this.deltas++;
      this.showTokens();
      if (!this.thinkingBox) {
        const box = el('details', 'thinking');
        // Says that it is thinking, animated, for as long as thinking streams; the text itself stays folded.
        const summary = el('summary', 'live', 'Thinking');
        summary.append(el('span', 'dots', '…'));
        box.append(summary, el('div', 'thought'));
        bubble.insertBefore(box, answer);
        this.thinkingBox = box;
        this.thinkingStarted = performance.now();
      }
      this.thinking += piece;
      this.thinkingBox.querySelector('.thought').textContent = this.thinking;
    },
    /** Thinking is over once anything else arrives or the answer ends. */
    thinkingDone() {
      const summary = this.thinkingBox?.querySelector('summary');
      if (!summary?.classList.contains('live')) return;
      this.thinkingMs ??= performance.now() - this.thinkingStarted;
      summary.classList.remove('live');
      summary.textContent = `Thought for ${(this.thinkingMs / 1000).toFixed(1)} s`;
    },
    addTool(call) {
      this.firstTokenArrived();
      this.thinkingDone();
      this.tools.push({ name: call.name, input: call.input });
      const box = el('details', 'tool');
      box.open = true;
      box.append(el('summary', null, `Tool call: ${call.name}`),
        el('pre', null, JSON.stringify(call.input, null, 2)));
      bubble.insertBefore(box, answer);
      follow();
    },
    setUsage(usage, final) {
      this.usage = usage;
      this.final = Boolean(final);
      this.showTokens();
    },
    /** Output tokens so far: exact once the stream said so at its end, else estimated from the deltas seen. */
    outputSoFar() {
      return this.final ? (this.usage.output_tokens ?? 0) : Math.max(this.usage.output_tokens ?? 0, this.deltas);
    },
    showTokens() {
      tokens.textContent = `${this.usage.input_tokens ?? 0} in · ${this.final ? '' : '≈'}${this.outputSoFar()} out`;
    },
    scheduleRender() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        answer.innerHTML = renderMarkdown(this.text);
        follow();
      });
    },
    finish(status, label) {
      typing.remove();
      this.thinkingDone();
      this.status = status;
      this.label = label ?? null;
      answer.innerHTML = renderMarkdown(this.text);
      turn.dataset.status = status;
      if (label) {
        badge.textContent = label;
        badge.className = `badge ${status}`;
        badge.hidden = false;
      }
      follow();
    },
    /** Nothing arrived: no empty bubble is left behind. */
    discard() {
      turn.remove();
    },
    /** The answer as data, for the stored conversation. */
    record() {
      return {
        role: 'assistant', model, text: this.text, thinking: this.thinking, thinkingMs: this.thinkingMs,
        tools: this.tools, usage: this.usage, final: this.final, status: this.status, label: this.label,
        firstToken: this.firstToken, deltas: this.deltas,
        // How long it has been thinking, while it still is: a reload goes on counting from there.
        thinkingFor: this.thinkingMs == null && this.thinkingStarted != null
          ? performance.now() - this.thinkingStarted : null,
      };
    },
    /** Draws a stored answer as far as it had come, to go on from there (a reload during an answer). */
    carryOn(saved) {
      if (saved.firstToken != null) {
        this.firstToken = saved.firstToken;
        typing.remove();
        ttft.textContent = `first token in ${Math.round(saved.firstToken)} ms`;
      }
      if (saved.thinking) {
        this.addThinking(saved.thinking);
        if (saved.thinkingMs != null) {
          this.thinkingMs = saved.thinkingMs;
          this.thinkingDone();
        } else if (saved.thinkingFor != null) {
          this.thinkingStarted = performance.now() - saved.thinkingFor;
        }
      }
      for (const call of saved.tools ?? []) this.addTool(call);
      this.text = saved.text ?? '';
      this.deltas = saved.deltas ?? 0;
      this.setUsage(saved.usage ?? {}, false);
      answer.innerHTML = renderMarkdown(this.text);
      follow();
    },
    /** Draws a stored answer as it ended. */
    redraw(saved) {
      this.carryOn({ ...saved, thinkingMs: saved.thinking ? saved.thinkingMs ?? 0 : null });
      this.setUsage(saved.usage ?? {}, saved.final);
      this.finish(saved.status ?? 'done', saved.label);
    },
    /** A line under the answer while its connection is being restored; null takes it away. */
    reconnecting(message) {
      let line = turn.querySelector('.reconnecting');
      if (message == null) {
        line?.remove();
        return;
      }
      if (!line) {
        line = el('div', 'reconnecting');
        line.id = 'reconnecting';
        line.setAttribute('role', 'status');
        turn.insertBefore(line, meta);
        follow();
      }
      line.textContent = message;
    },
  };
  return view;
}

function showTotals(pendingOutput = 0) {
  $('totals').textContent = `${state.totals.input} in · ${state.totals.output + pendingOutput} out`;
}

/** A message above the conversation; with canRetry, its Retry button sends the failed turn again. */
function showBanner(message, canRetry = false) {
  $('banner-text').textContent = message;
  $('retry').hidden = !canRetry;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

// ---- Auto-scroll: follow the stream unless the reader scrolled up -------------------------------------------------

function atBottom() {
  const log = $('log');
  return log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
}

function follow() {
  if (state.stick) {
    $('log').scrollTop = $('log').scrollHeight;
  }
  $('jump').hidden = state.stick;
}

// ---- Conversation ------------------------------------------------------------------------------------------------

function setBusy(busy) {
  $('send').disabled = busy || !state.key;
  $('stop').disabled = !busy;
  $('message').disabled = !state.key;
}

async function ask(messages, userText) {
  hideBanner();
  const model = $('model').value;
  const request = { model, messages };
  if ($('think').checked) {
    // Thinking needs room beyond its budget.
    request.thinking = { type: 'enabled', budget_tokens: 1024 };
    request.max_tokens = 4096;
  }
  const answer = {
    streamId: null, lastEventId: 0, messages, userText, model, request,
    counted: { input_tokens: 0, output_tokens: 0 }, view: addAnswer(model),
  };
  await converse(answer, false);
}

/**
 * Carries an answer to its end: POSTs its request (or, picked up after a reload, follows its stream at once), and
 * whenever the connection drops before the end, follows the stream again from after the last event it has.
 */
async function converse(answer, pickedUp) {
  const { view, messages } = answer;
  const turns = state.turns; // replaced when the user signs out, which ends this answer's part in the conversation
  const controller = new AbortController();
  state.controller = controller;
  state.answer = answer;
  state.streamId = answer.streamId;
  state.lastRequest = { messages, userText: answer.userText };
  setBusy(true);
  // Totals add what each answer reported; while one streams, its estimate is shown on top.
  const count = (usage) => {
    state.totals.input += (usage.input_tokens ?? 0) - (answer.counted.input_tokens ?? 0);
    state.totals.output += (usage.output_tokens ?? 0) - (answer.counted.output_tokens ?? 0);
    answer.counted = usage;
    showTotals();
  };
  const pending = () => Math.max(0, view.outputSoFar() - (answer.counted.output_tokens ?? 0));
  const handle = (event) => {
    const data = JSON.parse(event.data);
    switch (event.event) {
      case 'text': view.addText(data.text); showTotals(pending()); break;
      case 'thinking': view.addThinking(data.text); showTotals(pending()); break;
      case 'tool_use': view.addTool(data); break;
      case 'usage': view.setUsage(data); count(data); break;
      case 'done':
        view.setUsage(data.usage, true);
        count(data.usage);
        view.finish('done', data.stop_reason === 'max_tokens' ? 'max tokens' : null);
        return 'end';
      case 'error':
        throw new ApiError(200, data.error?.type, data.error?.message ?? 'The stream failed.');
      default: break;
    }
    return null;
  };
  // Each event counts once: one this page already has (its id at or below the last one seen) is passed over.
  const onEvent = (event) => {
    const id = /^\d+$/.test(event.id ?? '') ? Number(event.id) : null;
    if (id != null) {
      if (id <= answer.lastEventId) return null;
      answer.lastEventId = id;
    }
    const result = handle(event);
    saveSoon();
    return result;
  };
  if (pickedUp) showTotals(pending());
  try {
    let outcome = 'dropped';
    if (!pickedUp) {
      const response = await postChat(answer.request, controller.signal);
      answer.streamId = response.headers.get('x-stream-id');
      state.streamId = answer.streamId;
      saveConversation(); // from here a reload can pick the answer up
      outcome = await readEvents(response, controller.signal, onEvent);
    }
    if (outcome !== 'end') {
      if (!answer.streamId) {
        throw new ApiError(0, 'api_error', 'The connection ended before the answer was complete.');
      }
      await pickUp(answer, view, controller.signal, onEvent, pickedUp);
    }
    state.answer = null;
    state.history = [...messages, { role: 'assistant', content: view.text || '(no text)' }];
    turns.push(view.record());
  } catch (error) {
    if (turns !== state.turns || state.leaving) return;
    state.answer = null;
    // A cut-short answer was billed for what it produced: keep the estimate in the totals.
    state.totals.output += pending();
    showTotals();
    if (controller.signal.aborted) {
      view.finish('stopped', 'stopped');
      keepPartial(messages, view.text);
      turns.push(view.record());
    } else if (!view.text && !view.thinking && !view.tools.length) {
      // Failed before it said anything (an overloaded or failing upstream): the banner says why, and Retry asks again.
      view.discard();
      keepPartial(messages, view.text);
      showBanner(`No answer: ${describe(error)}`, true);
    } else {
      view.finish('error', 'error');
      keepPartial(messages, view.text);
      turns.push(view.record());
      showBanner(describe(error), true);
    }
  } finally {
    view.reconnecting(null);
    if (state.answer === answer) state.answer = null;
    if (turns === state.turns && !state.leaving) saveConversation();
    if (state.controller === controller) {
      state.controller = null;
      state.streamId = null;
      setBusy(false);
      $('message').focus();
    }
  }
}

/**
 * After a reload during an answer: draws it as far as it had come and follows its stream from there. One whose
 * stream id never arrived cannot be followed; the banner offers to ask again.
 */
function resumePending(saved) {
  if (!saved || !Array.isArray(saved.messages) || !saved.messages.length) return;
  state.stick = true;
  if (!saved.streamId) {
    keepPartial(saved.messages, '');
    state.lastRequest = { messages: saved.messages, userText: saved.userText };
    saveConversation();
    showBanner('No answer: the page was reloaded before the answer began.', true);
    return;
  }
  const view = addAnswer(saved.model);
  view.carryOn(saved.partial ?? {});
  converse({
    streamId: saved.streamId, lastEventId: Number(saved.lastEventId) || 0, messages: saved.messages,
    userText: saved.userText, model: saved.model, request: saved.request,
    counted: saved.counted ?? { input_tokens: 0, output_tokens: 0 }, view,
  }, true);
}

/** A cut-short answer stays on screen and in the history, so the turns keep alternating. */
function keepPartial(messages, text) {
  state.history = text
    ? [...messages, { role: 'assistant', content: text }]
    : messages.slice(0, -1);
}

function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'Your key was not accepted. Sign in again.';
    if (error.status === 429) return `Slow down: ${error.message}`;
    return `${error.message}${error.type ? ` (${error.type})` : ''}`;
  }
  return `Network error: ${error.message}`;
}

function send() {
  const text = $('message').value.trim();
  if (!text || state.controller || !state.key) return;
  $('message').value = '';
  autosize();
  addUserTurn(text);
  state.turns.push({ role: 'user', text });
  saveConversation();
  state.stick = true;
  ask([...state.history, { role: 'user', content: text }], text);
}

/**
 * Chat answers outlive a dropped connection (the proxy keeps them for a reconnect), so Stop says so explicitly:
 * DELETE /v1/streams/{id} cancels the upstream at once, and the abort ends this page's read (and its reconnecting).
 */
function stop() {
  if (state.controller && state.streamId) {
    sendStop(state.streamId, authHeaders(), Date.now());
  }
  state.controller?.abort();
}

/** How long a Stop that cannot reach the proxy (the network is down) is tried again: its grace time, by default. */
const STOP_RETRY_MS = 30000;

/** DELETE /v1/streams/{id}; when the network is down, again once it is back (or every few seconds), for a while. */
function sendStop(streamId, headers, since) {
  fetch(`v1/streams/${encodeURIComponent(streamId)}`, { method: 'DELETE', headers, keepalive: true })
    .catch(() => {
      if (Date.now() - since >= STOP_RETRY_MS) return;
      const again = () => {
        clearTimeout(timer);
        window.removeEventListener('online', again);
        sendStop(streamId, headers, since);
      };
      const timer = setTimeout(again, 2000);
      window.addEventListener('online', again);
    });
}

function retry() {
  if (!state.lastRequest || state.controller) return;
  hideBanner();
  ask(state.lastRequest.messages, state.lastRequest.userText);
}

// ---- Sign in -----------------------------------------------------------------------------------------------------

/** The proxy's own answer for this key: who it is, the default model, the models it may use. No upstream call. */
async function loadConfig() {
  const response = await fetch('v1/chat/config', { headers: authHeaders() });
  if (!response.ok) {
    const error = await response.json().catch(() => null);
    throw new ApiError(response.status, error?.error?.type, error?.error?.message ?? 'cannot sign in');
  }
  return response.json();
}

function showModels(models, selected) {
  const select = $('model');
  const current = select.value || selected;
  select.replaceChildren(...models.map((m) => {
    const option = el('option', null, m.display_name || m.id);
    option.value = m.id;
    return option;
  }));
  select.value = current;
  if (!select.value) select.value = selected;
}

/**
 * A caller free to use any model also gets the upstream's listing, when it has one; until then, or without one, the
 * default model is the choice. Never part of signing in.
 */
async function addListedModels(config) {
  try {
    const response = await fetch('v1/models?limit=100', { headers: authHeaders() });
    if (!response.ok) return;
    const listed = (await response.json()).data ?? [];
    if (!listed.some((m) => m.id === config.model)) listed.unshift({ id: config.model });
    showModels(listed, config.model);
  } catch {
    // An upstream without a listing leaves the default model to choose.
  }
}

async function signIn(key) {
  state.key = key;
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    showBanner(describe(error));
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  state.user = config.user;
  showModels((config.models ?? [config.model]).map((id) => ({ id })), config.model);
  if (!config.models) addListedModels(config);
  const pending = restoreConversation();
  hideBanner();
  $('signin').hidden = true;
  $('account').hidden = false;
  setBusy(false);
  $('message').focus();
  // A reload during an answer: it goes on where it was.
  resumePending(pending);
}

function signOut() {
  stop();
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  state.user = null;
  clearConversation();
  $('account').hidden = true;
  $('signin').hidden = false;
  $('api-key').value = '';
  setBusy(false);
}

function autosize() {
  const box = $('message');
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 192)}px`;
}

// A reload (or leaving the page) during an answer: the stored conversation keeps where the answer had come to, and
// nothing the closing page still does changes it; the next page picks the answer up from there.
window.addEventListener('pagehide', () => {
  if (state.answer && state.user) saveConversation();
  state.leaving = true;
});
window.addEventListener('pageshow', (e) => {
  if (e.persisted) state.leaving = false;
});

document.addEventListener('DOMContentLoaded', () => {
  $('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('api-key').value.trim();
    if (key) signIn(key);
  });
  $('signout').addEventListener('click', signOut);
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  $('stop').addEventListener('click', stop);
  $('retry').addEventListener('click', retry);
  $('dismiss').addEventListener('click', hideBanner);
  $('jump').addEventListener('click', () => {
    state.stick = true;
    follow();
  });
  $('log').addEventListener('scroll', () => {
    state.stick = atBottom();
    $('jump').hidden = state.stick;
  });
  $('message').addEventListener('input', autosize);
  $('message').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.controller) {
      e.preventDefault();
      stop();
    }
  });
  if (state.key) {
    signIn(state.key);
  } else {
    setBusy(false);
    $('api-key').focus();
  }
});
