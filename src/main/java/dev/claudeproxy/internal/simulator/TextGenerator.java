package dev.claudeproxy.internal.simulator;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A seeded stream of word tokens that reads like prose: sentences, commas, the odd paragraph break, bullet or
 * bold word. Each token is one delta on the wire and counts as one output token.
 *
 * <p>Tokens are ids into a fixed table whose JSON-escaped UTF-8 bytes are computed once, so writing a text delta
 * copies bytes and never runs a JSON encoder. The state is two longs and a few ints, which keeps a stream's
 * footprint small when tens of thousands are open. The sequence depends only on the seed, so any prefix of a reply
 * is the reply with a smaller budget.
 */
final class TextGenerator {

  private static final String[] WORDS = {
      "the", "system", "request", "stream", "token", "model", "answer", "question", "value", "data", "network",
      "latency", "server", "client", "message", "event", "buffer", "signal", "result", "context", "window", "proxy",
      "upstream", "retry", "budget", "limit", "queue", "thread", "loop", "handler", "future", "promise", "channel",
      "socket", "packet", "header", "payload", "schema", "field", "record", "index", "cache", "memory", "storage",
      "disk", "file", "path", "route", "service", "cluster", "node", "replica", "leader", "follower", "election",
      "consensus", "log", "metric", "trace", "span", "error", "fault", "timeout", "deadline", "backoff", "jitter",
      "rate", "throughput", "capacity", "load", "balance", "shard", "partition", "key", "hash", "map", "set", "list",
      "tree", "graph", "edge", "vertex", "path", "cost", "weight", "score", "rank", "order", "sort", "merge", "split",
      "join", "filter", "reduce", "fold", "scan", "search", "match", "pattern", "rule", "policy", "plan", "step",
      "phase", "stage", "pipeline", "batch", "chunk", "frame", "line", "word", "text", "note", "idea", "reason",
      "because", "therefore", "however", "while", "when", "where", "which", "that", "this", "these", "those", "each",
      "every", "some", "many", "few", "most", "more", "less", "often", "rarely", "usually", "quickly", "slowly",
      "carefully", "simply", "clearly", "really", "also", "then", "now", "later", "early", "first", "second", "next",
      "last", "final", "small", "large", "simple", "complex", "stable", "steady", "careful", "useful", "robust",
      "fast", "slow", "new", "old", "good", "better", "best", "clean", "clear", "exact", "correct", "valid", "safe",
      "is", "are", "was", "were", "has", "have", "can", "could", "should", "would", "will", "may", "might", "must",
      "keeps", "makes", "takes", "gives", "sends", "reads", "writes", "opens", "closes", "starts", "stops", "waits",
      "runs", "holds", "moves", "grows", "drops", "checks", "tests", "builds", "measures", "counts", "returns",
      "with", "without", "from", "into", "onto", "over", "under", "between", "across", "through", "after", "before",
      "and", "or", "but", "so", "yet", "of", "to", "in", "on", "at", "by", "for", "as", "it", "we", "you", "they",
      "a", "an", "its", "our", "their", "not", "only", "just", "even", "still", "again", "once", "twice", "here"
  };

  static final int WORD_COUNT = WORDS.length;
  private static final int VARIANTS = 4;
  // Variant layout per word: 0 "Word" (start of text or paragraph), 1 " word", 2 " Word", 3 " **word**".
  static final int COMMA = WORD_COUNT * VARIANTS;
  static final int PERIOD = COMMA + 1;
  static final int PARAGRAPH = COMMA + 2;
  static final int BULLET = COMMA + 3;
  static final int COLON = COMMA + 4;
  private static final int TOKEN_COUNT = COMMA + 5;

  private static final String[] TOKENS = new String[TOKEN_COUNT];
  private static final byte[][] ESCAPED = new byte[TOKEN_COUNT][];

  static {
    for (int w = 0; w < WORD_COUNT; w++) {
      String word = WORDS[w];
      String cap = word.substring(0, 1).toUpperCase(Locale.ROOT) + word.substring(1);
      TOKENS[w * VARIANTS] = cap;
      TOKENS[w * VARIANTS + 1] = " " + word;
      TOKENS[w * VARIANTS + 2] = " " + cap;
      TOKENS[w * VARIANTS + 3] = " **" + word + "**";
    }
    TOKENS[COMMA] = ",";
    TOKENS[PERIOD] = ".";
    TOKENS[PARAGRAPH] = "\n\n";
    TOKENS[BULLET] = "\n- ";
    TOKENS[COLON] = ":";
    for (int i = 0; i < TOKEN_COUNT; i++) {
      ESCAPED[i] = Sse.escape(TOKENS[i]);
    }
  }

  private static final int START = 0;
  private static final int MID = 1;
  private static final int AFTER_PERIOD = 2;

  private long state;
  private int mode = START;
  private int sentenceWords;
  private boolean lastWasPunct;
  private int listItems;
  private boolean listOpen;

  TextGenerator(long seed) {
    this.state = seed;
  }

  static String token(int id) {
    return TOKENS[id];
  }

  /** The token's text as JSON string content (escaped, UTF-8, no quotes). */
  static byte[] escaped(int id) {
    return ESCAPED[id];
  }

  /** The id of the next token. */
  int next() {
    if (mode == START) {
      mode = MID;
      sentenceWords = 1;
      lastWasPunct = false;
      return word() * VARIANTS;
    }
    if (mode == AFTER_PERIOD) {
      if (listItems > 0) {
        listItems--;
        mode = START;
        return BULLET;
      }
      if (listOpen) {
        listOpen = false;
        mode = START;
        return PARAGRAPH;
      }
      if (below(100) < 12) {
        mode = START;
        return PARAGRAPH;
      }
      mode = MID;
      sentenceWords = 1;
      lastWasPunct = false;
      return word() * VARIANTS + 2;
    }
    int r = below(100);
    if (sentenceWords >= 4 && !lastWasPunct && r < 10 + 4 * (sentenceWords - 4)) {
      mode = AFTER_PERIOD;
      if (!listOpen && below(100) < 4) {
        // Ends the sentence with a colon and opens a short bullet list.
        listOpen = true;
        listItems = 2 + below(3);
        return COLON;
      }
      return PERIOD;
    }
    if (sentenceWords >= 2 && !lastWasPunct && r >= 92) {
      lastWasPunct = true;
      return COMMA;
    }
    sentenceWords++;
    lastWasPunct = false;
    return word() * VARIANTS + (below(50) == 0 ? 3 : 1);
  }

  private int word() {
    return below(WORD_COUNT);
  }

  /** Uniform in [0, n) from SplitMix64; stable across JDKs, unlike the platform generators' contracts. */
  private int below(int n) {
    return (int) Long.remainderUnsigned(nextLong(), n);
  }

  private long nextLong() {
    long z = (state += 0x9E3779B97F4A7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Mixes a value into a seed, for deriving independent streams (thinking, tool input, ids) from one seed. */
  static long mix(long seed, long salt) {
    long z = seed + 0x9E3779B97F4A7C15L * (salt + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
