package dev.claudeproxy.internal.simulator;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The reply the simulator gives to one Messages request, fixed before the first byte is sent.
 *
 * <p>Everything in it follows from the request, so other code (the proxy's tests, the load generator) can compute
 * exactly what the simulator will send: {@code ReplyPlan.of(requestJson, outputTokens).text()}.
 *
 * <ul>
 *   <li>The content is seeded from {@code model}, {@code system} and {@code messages} only. {@code max_tokens},
 *       {@code stop_sequences} and {@code stream} do not change the seed, so a smaller budget or a stop sequence
 *       cuts the same text short.</li>
 *   <li>One token is one delta on the wire. The text block holds {@code outputTokens} tokens ({@code end_turn}),
 *       fewer if {@code max_tokens} runs out first ({@code max_tokens}), cut before the earliest stop sequence
 *       ({@code stop_sequence}).</li>
 *   <li>With {@code thinking} {@code enabled} or {@code adaptive}, a thinking block of
 *       {@code max(1, ceil(outputTokens / 2))} tokens (at most {@code budget_tokens}) comes first; it uses the
 *       budget too.</li>
 *   <li>With custom {@code tools} (tool_choice not {@code none}, and the last user turn not a {@code tool_result}),
 *       the reply calls one tool: the one named by {@code tool_choice: {type: "tool"}}, else one picked from the
 *       seed. Under {@code auto} a one-sentence text block precedes it; under {@code any}/{@code tool} the
 *       tool_use block comes alone, as the real API does. Its input is generated from the tool's
 *       {@code input_schema} and streamed in several {@code input_json_delta} pieces, each one token; if the budget
 *       cannot hold the whole input, the tool_use block is left out and the reply stops with {@code max_tokens}.</li>
 *   <li>{@code max_tokens: 0} gives no content at all and {@code stop_reason: max_tokens}.</li>
 * </ul>
 */
public final class ReplyPlan {

  static final int THINKING = 0;
  static final int TEXT = 1;
  static final int TOOL_USE = 2;

  private static final char[] BASE62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

  /** A content block as a client holds it once the stream is accumulated. */
  public record Block(String type, String text, String signature, String id, String name, String inputJson) {

    /** The tool input, parsed; null for other block types. */
    public JsonObject input() {
      return inputJson == null ? null : new JsonObject(inputJson);
    }

    public JsonObject toJson() {
      return switch (type) {
        case "thinking" -> new JsonObject().put("type", "thinking").put("thinking", text).put("signature", signature);
        case "tool_use" -> new JsonObject().put("type", "tool_use").put("id", id).put("name", name)
            .put("input", input());
        default -> new JsonObject().put("type", "text").put("text", text);
      };
    }
  }

  /**
   * One block as the stream produces it. Generated text is kept as a seed and a token count, not as a string, so
   * a long reply costs a few bytes until it is written.
   */
  static final class Segment {
    final int kind;
    final long genSeed;
    final int genTokens;
    final String[] fixed;
    final String tail;
    final String signature;
    final String toolId;
    final String toolName;
    final String inputJson;
    final String[] pieces;

    private Segment(int kind, long genSeed, int genTokens, String[] fixed, String tail, String signature,
        String toolId, String toolName, String inputJson, String[] pieces) {
      this.kind = kind;
      this.genSeed = genSeed;
      this.genTokens = genTokens;
      this.fixed = fixed;
      this.tail = tail;
      this.signature = signature;
      this.toolId = toolId;
      this.toolName = toolName;
      this.inputJson = inputJson;
      this.pieces = pieces;
    }

    /** How many token deltas this block streams (the signature and the leading empty JSON piece not counted). */
    int deltas() {
      if (kind == TOOL_USE) {
        return pieces.length;
      }
      return (fixed != null ? fixed.length : genTokens) + (tail != null ? 1 : 0);
    }

    String fullText() {
      StringBuilder b = new StringBuilder();
      if (fixed != null) {
        for (String t : fixed) {
          b.append(t);
        }
      } else {
        TextGenerator g = new TextGenerator(genSeed);
        for (int i = 0; i < genTokens; i++) {
          b.append(TextGenerator.token(g.next()));
        }
      }
      if (tail != null) {
        b.append(tail);
      }
      return b.toString();
    }
  }

  private final String model;
  private final long seed;
  private final int inputTokens;
  private final int outputTokens;
  private final String stopReason;
  private final String stopSequence;
  private final List<Segment> segments;

  private ReplyPlan(String model, long seed, int inputTokens, int outputTokens, String stopReason,
      String stopSequence, List<Segment> segments) {
    this.model = model;
    this.seed = seed;
    this.inputTokens = inputTokens;
    this.outputTokens = outputTokens;
    this.stopReason = stopReason;
    this.stopSequence = stopSequence;
    this.segments = segments;
  }

  /** The plan for a request under a configuration (its {@code SIM_OUTPUT_TOKENS}). */
  public static ReplyPlan of(JsonObject request, SimulatorConfig config) {
    return of(request, config.outputTokens());
  }

  /**
   * The plan for a request when the configured reply length is {@code outputTokens} (the simulator's
   * {@code SIM_OUTPUT_TOKENS}, or the request's {@code x-sim-output-tokens}). The request is assumed valid; missing
   * fields fall back to harmless defaults.
   */
  public static ReplyPlan of(JsonObject request, int outputTokens) {
    String model = request.getValue("model") instanceof String s ? s : "";
    long seed = seedOf(request);
    int inputTokens = estimateInputTokens(request);
    int budget = request.getValue("max_tokens") instanceof Number n
        ? (int) Math.max(0, Math.min(Integer.MAX_VALUE, n.longValue())) : Integer.MAX_VALUE;
    int wanted = Math.max(0, outputTokens);
    List<String> stops = stopSequences(request);
    List<Segment> segs = new ArrayList<>();
    if (budget == 0) {
      return new ReplyPlan(model, seed, inputTokens, 0, "max_tokens", null, List.of());
    }
    int used = 0;

    JsonObject thinking = request.getValue("thinking") instanceof JsonObject t ? t : null;
    String thinkingType = thinking != null && thinking.getValue("type") instanceof String s ? s : "disabled";
    if (thinkingType.equals("enabled") || thinkingType.equals("adaptive")) {
      int want = Math.max(1, (wanted + 1) / 2);
      if (thinking.getValue("budget_tokens") instanceof Number b && b.longValue() > 0) {
        want = (int) Math.min(want, b.longValue());
      }
      int n = Math.min(want, budget);
      segs.add(new Segment(THINKING, TextGenerator.mix(seed, 1), n, null, null, signature(seed), null, null, null,
          null));
      used += n;
      if (used >= budget) {
        return new ReplyPlan(model, seed, inputTokens, used, "max_tokens", null, List.copyOf(segs));
      }
    }

    JsonObject tool = chooseTool(request, seed);
    if (tool != null) {
      String name = tool.getString("name");
      boolean auto = !(request.getValue("tool_choice") instanceof JsonObject tc)
          || "auto".equals(tc.getValue("type"));
      if (auto) {
        String[] preamble = {"I'll", " use", " the", " " + name, " tool", " for", " this", "."};
        TextCut cut = cut(List.of(preamble), budget - used, stops);
        segs.add(cut.fixed());
        used += cut.consumed;
        if (cut.stopSequence != null) {
          return new ReplyPlan(model, seed, inputTokens, used, "stop_sequence", cut.stopSequence, List.copyOf(segs));
        }
        if (cut.truncated) {
          return new ReplyPlan(model, seed, inputTokens, used, "max_tokens", null, List.copyOf(segs));
        }
      }
      long toolSeed = TextGenerator.mix(seed, 3 + name.hashCode());
      JsonObject schema = tool.getValue("input_schema") instanceof JsonObject s ? s : new JsonObject();
      String json = new ToolInputGenerator(toolSeed).object(schema).encode();
      String[] pieces = split(json, TextGenerator.mix(seed, 4));
      if (used + pieces.length > budget) {
        return new ReplyPlan(model, seed, inputTokens, budget, "max_tokens", null, List.copyOf(segs));
      }
      segs.add(new Segment(TOOL_USE, 0, 0, null, null, null, toolUseId(seed), name, json, pieces));
      used += pieces.length;
      return new ReplyPlan(model, seed, inputTokens, used, "tool_use", null, List.copyOf(segs));
    }

    int room = budget - used;
    int n = Math.min(wanted, room);
    String reason = wanted > room ? "max_tokens" : "end_turn";
    long textSeed = TextGenerator.mix(seed, 2);
    if (!stops.isEmpty() && n > 0) {
      List<String> tokens = new ArrayList<>(n);
      TextGenerator g = new TextGenerator(textSeed);
      for (int i = 0; i < n; i++) {
        tokens.add(TextGenerator.token(g.next()));
      }
      TextCut cut = cut(tokens, room, stops);
      if (cut.stopSequence != null) {
        segs.add(cut.generated(textSeed));
        used += cut.consumed;
        return new ReplyPlan(model, seed, inputTokens, used, "stop_sequence", cut.stopSequence, List.copyOf(segs));
      }
    }
    segs.add(new Segment(TEXT, textSeed, n, null, null, null, null, null, null, null));
    used += n;
    return new ReplyPlan(model, seed, inputTokens, used, reason, null, List.copyOf(segs));
  }

  /** How a list of tokens ends under a budget and stop sequences. */
  private static final class TextCut {
    final List<String> tokens;
    int whole;
    String tail;
    int consumed;
    boolean truncated;
    String stopSequence;

    TextCut(List<String> tokens) {
      this.tokens = tokens;
    }

    /** The cut as a block of generated text: the first {@code whole} tokens of the seed's stream, then the tail. */
    Segment generated(long genSeed) {
      return new Segment(TEXT, genSeed, whole, null, tail, null, null, null, null, null);
    }

    /** The cut as a block of the given fixed tokens. */
    Segment fixed() {
      return new Segment(TEXT, 0, 0, tokens.subList(0, whole).toArray(new String[0]), tail, null, null, null,
          null, null);
    }
  }

  private static TextCut cut(List<String> tokens, int budget, List<String> stops) {
    TextCut c = new TextCut(tokens);
    int n = Math.min(tokens.size(), budget);
    c.truncated = n < tokens.size();
    StringBuilder text = new StringBuilder();
    int[] ends = new int[n];
    for (int i = 0; i < n; i++) {
      text.append(tokens.get(i));
      ends[i] = text.length();
    }
    int best = -1;
    String bestStop = null;
    for (String s : stops) {
      int p = text.indexOf(s);
      if (p >= 0 && (best < 0 || p < best)) {
        best = p;
        bestStop = s;
      }
    }
    if (best < 0) {
      c.whole = n;
      c.consumed = n;
      return c;
    }
    int whole = 0;
    while (whole < n && ends[whole] <= best) {
      whole++;
    }
    int tokenStart = whole == 0 ? 0 : ends[whole - 1];
    c.whole = whole;
    c.tail = best > tokenStart ? text.substring(tokenStart, best) : null;
    int matchEnd = best + bestStop.length();
    int consumed = whole;
    while (consumed < n && ends[consumed] < matchEnd) {
      consumed++;
    }
    c.consumed = Math.min(n, consumed + 1);
    c.truncated = false;
    c.stopSequence = bestStop;
    return c;
  }

  private static JsonObject chooseTool(JsonObject request, long seed) {
    if (!(request.getValue("tools") instanceof JsonArray tools) || tools.isEmpty()) {
      return null;
    }
    JsonObject choice = request.getValue("tool_choice") instanceof JsonObject c ? c : null;
    String choiceType = choice != null && choice.getValue("type") instanceof String s ? s : "auto";
    if (choiceType.equals("none") || lastUserTurnIsToolResult(request)) {
      return null;
    }
    List<JsonObject> custom = new ArrayList<>();
    for (int i = 0; i < tools.size(); i++) {
      if (tools.getValue(i) instanceof JsonObject t && t.getValue("name") instanceof String
          && t.getValue("input_schema") instanceof JsonObject
          && (t.getValue("type") == null || "custom".equals(t.getValue("type")))) {
        custom.add(t);
      }
    }
    if (choiceType.equals("tool")) {
      for (JsonObject t : custom) {
        if (t.getValue("name").equals(choice.getValue("name"))) {
          return t;
        }
      }
      return null;
    }
    if (custom.isEmpty()) {
      return null;
    }
    return custom.get((int) Long.remainderUnsigned(TextGenerator.mix(seed, 8), custom.size()));
  }

  private static boolean lastUserTurnIsToolResult(JsonObject request) {
    if (!(request.getValue("messages") instanceof JsonArray messages)) {
      return false;
    }
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.getValue(i) instanceof JsonObject m && "user".equals(m.getValue("role"))) {
        if (m.getValue("content") instanceof JsonArray blocks) {
          for (int j = 0; j < blocks.size(); j++) {
            if (blocks.getValue(j) instanceof JsonObject b && "tool_result".equals(b.getValue("type"))) {
              return true;
            }
          }
        }
        return false;
      }
    }
    return false;
  }

  private static List<String> stopSequences(JsonObject request) {
    if (!(request.getValue("stop_sequences") instanceof JsonArray a) || a.isEmpty()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      if (a.getValue(i) instanceof String s && !s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /** Splits tool input JSON into pieces of 3..12 characters, never inside a surrogate pair. */
  private static String[] split(String json, long seed) {
    List<String> out = new ArrayList<>();
    long state = seed;
    int i = 0;
    while (i < json.length()) {
      state = TextGenerator.mix(state, 9);
      int end = Math.min(json.length(), i + 3 + (int) Long.remainderUnsigned(state, 10));
      if (end < json.length() && Character.isHighSurrogate(json.charAt(end - 1))) {
        end++;
      }
      out.add(json.substring(i, end));
      i = end;
    }
    return out.toArray(new String[0]);
  }

  /**
   * The content seed: a 64-bit digest of {@code model}, {@code system} and {@code messages}, walking the JSON
   * values so that it does not depend on how the body was formatted.
   */
  public static long seedOf(JsonObject request) {
    long h = 0xcbf29ce484222325L;
    h = digest(h, request.getValue("model"));
    h = digest(h, request.getValue("system"));
    h = digest(h, request.getValue("messages"));
    return TextGenerator.mix(h, 0);
  }

  private static long digest(long h, Object v) {
    if (v == null) {
      return fnv(h, 0);
    }
    if (v instanceof String s) {
      h = fnv(h, 1);
      for (int i = 0; i < s.length(); i++) {
        h = fnv(h, s.charAt(i));
      }
      return fnv(h, 0xFFFF);
    }
    if (v instanceof JsonObject o) {
      h = fnv(h, 2);
      for (Map.Entry<String, Object> e : o) {
        h = digest(h, e.getKey());
        h = digest(h, e.getValue());
      }
      return fnv(h, 3);
    }
    if (v instanceof JsonArray a) {
      h = fnv(h, 4);
      for (int i = 0; i < a.size(); i++) {
        h = digest(h, a.getValue(i));
      }
      return fnv(h, 5);
    }
    if (v instanceof Number n) {
      long bits = Double.doubleToLongBits(n.doubleValue());
      return fnv(fnv(fnv(h, 6), (int) bits), (int) (bits >>> 32));
    }
    if (v instanceof Boolean b) {
      return fnv(h, b ? 7 : 8);
    }
    return digest(h, String.valueOf(v));
  }

  private static long fnv(long h, int value) {
    return (h ^ value) * 0x100000001b3L;
  }

  /**
   * A plausible input token count: about four characters of text per token over system, messages and tools, plus
   * a few tokens of framing per message; never below 1. The same number answers {@code count_tokens}.
   */
  public static int estimateInputTokens(JsonObject request) {
    long chars = chars(request.getValue("system"), false) + chars(request.getValue("messages"), false)
        + chars(request.getValue("tools"), true);
    int messages = request.getValue("messages") instanceof JsonArray a ? a.size() : 0;
    long tokens = (chars + 3) / 4 + 3L * messages + 1;
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, tokens));
  }

  private static long chars(Object v, boolean keys) {
    if (v instanceof String s) {
      return s.length();
    }
    long n = 0;
    if (v instanceof JsonObject o) {
      for (Map.Entry<String, Object> e : o) {
        if (keys) {
          n += e.getKey().length();
        }
        // Block types and ids are framing, not text the model reads as prose.
        if (!keys && (e.getKey().equals("type") || e.getKey().equals("id") || e.getKey().equals("tool_use_id"))) {
          continue;
        }
        n += chars(e.getValue(), keys);
      }
    } else if (v instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        n += chars(a.getValue(i), keys);
      }
    } else if (v != null) {
      n += String.valueOf(v).length();
    }
    return n;
  }

  private static String toolUseId(long seed) {
    return "toolu_01" + base62(TextGenerator.mix(seed, 5), 22);
  }

  private static String signature(long seed) {
    byte[] bytes = new byte[96];
    long s = TextGenerator.mix(seed, 6);
    for (int i = 0; i < bytes.length; i++) {
      if (i % 8 == 0) {
        s = TextGenerator.mix(s, i);
      }
      bytes[i] = (byte) (s >>> ((i % 8) * 8));
    }
    return Base64.getEncoder().encodeToString(bytes);
  }

  static String base62(long seed, int length) {
    StringBuilder b = new StringBuilder(length);
    long s = seed;
    for (int i = 0; i < length; i++) {
      s = TextGenerator.mix(s, i);
      b.append(BASE62[(int) Long.remainderUnsigned(s, 62)]);
    }
    return b.toString();
  }

  public String model() {
    return model;
  }

  public long seed() {
    return seed;
  }

  public int inputTokens() {
    return inputTokens;
  }

  /** The final {@code usage.output_tokens}. */
  public int outputTokens() {
    return outputTokens;
  }

  public String stopReason() {
    return stopReason;
  }

  /** The matched stop sequence, or null unless {@code stopReason()} is {@code stop_sequence}. */
  public String stopSequence() {
    return stopSequence;
  }

  /** The content blocks as the client will hold them, in order. */
  public List<Block> blocks() {
    List<Block> out = new ArrayList<>(segments.size());
    for (Segment s : segments) {
      out.add(switch (s.kind) {
        case THINKING -> new Block("thinking", s.fullText(), s.signature, null, null, null);
        case TOOL_USE -> new Block("tool_use", null, null, s.toolId, s.toolName, s.inputJson);
        default -> new Block("text", s.fullText(), null, null, null, null);
      });
    }
    return Collections.unmodifiableList(out);
  }

  /** All text-block text, concatenated: what the text deltas of the stream add up to. */
  public String text() {
    StringBuilder b = new StringBuilder();
    for (Segment s : segments) {
      if (s.kind == TEXT) {
        b.append(s.fullText());
      }
    }
    return b.toString();
  }

  /** The thinking text, or "" when the reply does not think. */
  public String thinking() {
    StringBuilder b = new StringBuilder();
    for (Segment s : segments) {
      if (s.kind == THINKING) {
        b.append(s.fullText());
      }
    }
    return b.toString();
  }

  /** The tool_use block, or null. */
  public Block toolUse() {
    for (Block b : blocks()) {
      if (b.type().equals("tool_use")) {
        return b;
      }
    }
    return null;
  }

  /** How many token deltas the whole stream carries; a mid-stream fault counts these. */
  public int deltaCount() {
    int n = 0;
    for (Segment s : segments) {
      n += s.deltas();
    }
    return n;
  }

  List<Segment> segments() {
    return segments;
  }

  /**
   * How many events the stream carries, pings not counted: message_start, each block's start, deltas (a thinking
   * block's signature and a tool's leading empty input piece among them) and stop, message_delta and message_stop. A
   * reader of the proxy's {@code /v1/messages} that has them all is at this position.
   */
  public int eventCount() {
    int n = 3;
    for (Segment s : segments) {
      n += 2 + s.deltas() + (s.kind == THINKING || s.kind == TOOL_USE ? 1 : 0);
    }
    return n;
  }

  /**
   * The bytes the simulator streams for this plan when its message id is {@code messageId}, in the pieces it
   * writes: message_start, then one piece a token (with a block's start and stop, and the ping after the first
   * start), then message_delta and message_stop. Each piece is made when asked for, so comparing a long stream with
   * it never holds the whole stream.
   */
  public Iterator<Buffer> pieces(String messageId) {
    Cursor cursor = cursor();
    return new Iterator<>() {
      private int stage;

      @Override
      public boolean hasNext() {
        return stage < 2;
      }

      @Override
      public Buffer next() {
        Buffer out = Buffer.buffer(256);
        if (stage == 0) {
          appendMessageStart(out, messageId);
          stage = 1;
        } else if (stage == 1 && !cursor.step(out)) {
          appendEnd(out);
          stage = 2;
        } else if (stage == 2) {
          throw new NoSuchElementException();
        }
        return out;
      }
    };
  }

  /** The usage object: input counters, the given output count and the service tier. */
  JsonObject usage(int output) {
    return new JsonObject()
        .put("input_tokens", inputTokens)
        .put("cache_creation_input_tokens", 0)
        .put("cache_read_input_tokens", 0)
        .put("output_tokens", output)
        .put("service_tier", "standard");
  }

  /** The full non-streaming Message. */
  public JsonObject toMessage(String messageId) {
    JsonArray content = new JsonArray();
    for (Block b : blocks()) {
      content.add(b.toJson());
    }
    return new JsonObject()
        .put("id", messageId)
        .put("type", "message")
        .put("role", "assistant")
        .put("model", model)
        .put("content", content)
        .put("stop_reason", stopReason)
        .put("stop_sequence", stopSequence)
        .put("usage", usage(outputTokens));
  }

  /** The message_start event, whose usage reports at most one output token so far. */
  void appendMessageStart(Buffer out, String messageId) {
    JsonObject message = new JsonObject()
        .put("id", messageId)
        .put("type", "message")
        .put("role", "assistant")
        .put("model", model)
        .put("content", new JsonArray())
        .put("stop_reason", null)
        .put("stop_sequence", null)
        .put("usage", usage(Math.min(1, outputTokens)));
    Sse.event(out, "message_start", new JsonObject().put("type", "message_start").put("message", message));
  }

  /** message_delta with the cumulative totals, then message_stop. */
  void appendEnd(Buffer out) {
    JsonObject usage = new JsonObject()
        .put("input_tokens", inputTokens)
        .put("cache_creation_input_tokens", 0)
        .put("cache_read_input_tokens", 0)
        .put("output_tokens", outputTokens);
    JsonObject delta = new JsonObject().put("stop_reason", stopReason).put("stop_sequence", stopSequence);
    Sse.event(out, "message_delta", new JsonObject().put("type", "message_delta").put("delta", delta)
        .put("usage", usage));
    out.appendBytes(Sse.MESSAGE_STOP);
  }

  /** A fresh walk over the stream's content events. */
  Cursor cursor() {
    return new Cursor(this);
  }

  /**
   * Walks the plan one token at a time. Each {@link #step} appends the events of one tick: the block start when a
   * block begins (plus the ping after the very first start, and a tool block's empty first JSON piece), one token
   * delta, and the block stop (with the thinking signature) when the block ends. The state is a handful of fields,
   * so tens of thousands of open streams stay cheap.
   */
  static final class Cursor {
    private final List<Segment> segments;
    private int seg;
    private int pos;
    private boolean started;
    private TextGenerator gen;
    private int deltas;

    Cursor(ReplyPlan plan) {
      this.segments = plan.segments;
    }

    boolean contentDone() {
      return seg >= segments.size();
    }

    /** Token deltas written so far. */
    int deltas() {
      return deltas;
    }

    /** Appends the next tick's events; returns false when the content was already complete. */
    boolean step(Buffer out) {
      while (seg < segments.size()) {
        Segment s = segments.get(seg);
        if (!started) {
          started = true;
          pos = 0;
          switch (s.kind) {
            case THINKING -> Sse.startThinking(out, seg);
            case TOOL_USE -> Sse.startToolUse(out, seg, s.toolId, s.toolName);
            default -> Sse.startText(out, seg);
          }
          if (seg == 0) {
            out.appendBytes(Sse.PING);
          }
          if (s.kind == TOOL_USE) {
            // The real API's first input_json_delta is empty, and the Java SDK needs at least one.
            Sse.inputJsonDelta(out, seg, new byte[0]);
          } else if (s.fixed == null && s.genTokens > 0) {
            gen = new TextGenerator(s.genSeed);
          }
        }
        int total = s.deltas();
        if (pos < total) {
          writeDelta(out, s, pos);
          pos++;
          deltas++;
          if (pos == total) {
            close(out, s);
          }
          return true;
        }
        close(out, s);
      }
      return false;
    }

    private void writeDelta(Buffer out, Segment s, int i) {
      if (s.kind == TOOL_USE) {
        Sse.inputJsonDelta(out, seg, Sse.escape(s.pieces[i]));
        return;
      }
      byte[] text;
      int whole = s.fixed != null ? s.fixed.length : s.genTokens;
      if (i >= whole) {
        text = Sse.escape(s.tail);
      } else if (s.fixed != null) {
        text = Sse.escape(s.fixed[i]);
      } else {
        text = TextGenerator.escaped(gen.next());
      }
      if (s.kind == THINKING) {
        Sse.thinkingDelta(out, seg, text);
      } else {
        Sse.textDelta(out, seg, text);
      }
    }

    private void close(Buffer out, Segment s) {
      if (s.kind == THINKING) {
        Sse.signatureDelta(out, seg, s.signature.getBytes(StandardCharsets.US_ASCII));
      }
      Sse.stop(out, seg);
      seg++;
      started = false;
      gen = null;
    }
  }
}
