package dev.claudeproxy.internal.upstream;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An estimate of the output tokens a stream's content deltas carried, for a stream that ends without the upstream's
 * own count (cancelled, cut, failed, timed out): the text of each {@code text_delta}, {@code thinking_delta} and
 * {@code input_json_delta}, read from the event's bytes with no JSON tree, and counted by the rule of
 * {@link #tokens}.
 *
 * <p>It also notes whether any content delta came at all.
 */
final class OutputEstimate {
  private static final byte[] TEXT = "text".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] THINKING = "thinking".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PARTIAL_JSON = "partial_json".getBytes(StandardCharsets.US_ASCII);
  /** Keys as they stand before their value, for events whose fields are not in the API's usual order. */
  private static final byte[][] KEYED = {"\"text\":\"".getBytes(StandardCharsets.US_ASCII),
      "\"thinking\":\"".getBytes(StandardCharsets.US_ASCII), "\"partial_json\":\"".getBytes(StandardCharsets.US_ASCII)};

  private long tokens;
  private long deltas;

  /** Output tokens estimated so far. */
  long tokens() {
    return tokens;
  }

  /** Content deltas seen so far. */
  long deltas() {
    return deltas;
  }

  /** Takes one {@code content_block_delta} event, its bytes at {@code b[start, end)}. */
  void delta(byte[] b, int start, int end) {
    deltas++;
    // The API writes the delta's value last: ..."text":"<value>"}}, then the blank line. Found from the end, the
    // value costs only its own bytes; an event in another order is searched from the start.
    int close = lastQuote(b, start, end);
    int open = close < 0 ? -1 : openingQuote(b, start, close);
    if (open >= 0 && open - start >= 3 && b[open - 1] == ':' && b[open - 2] == '"') {
      int keyEnd = open - 2;
      int keyStart = keyEnd - 1;
      while (keyStart > start && b[keyStart] != '"') {
        keyStart--;
      }
      keyStart++;
      if (is(b, keyStart, keyEnd, TEXT) || is(b, keyStart, keyEnd, THINKING) || is(b, keyStart, keyEnd, PARTIAL_JSON)) {
        tokens += tokens(b, open + 1, close);
      }
      // Another key last (a signature, a citation): no output text.
      return;
    }
    for (byte[] key : KEYED) {
      int at = indexOf(b, start, end, key);
      if (at >= 0) {
        int from = at + key.length;
        int to = from;
        while (to < end && b[to] != '"') {
          to += b[to] == '\\' ? 2 : 1;
        }
        tokens += tokens(b, from, Math.min(to, end));
        return;
      }
    }
  }

  /** The last {@code "} before the closing braces of the data line, or -1 if the event does not end that way. */
  private static int lastQuote(byte[] b, int start, int end) {
    int i = end - 1;
    int braces = 0;
    while (i >= start) {
      byte c = b[i];
      if (c == '}') {
        braces++;
      } else if (c == '"') {
        return braces == 2 ? i : -1;
      } else if (c != '\n' && c != '\r' && c != ' ') {
        return -1;
      }
      i--;
    }
    return -1;
  }

  /** The {@code "} that opens the string value closed at {@code close}: one not escaped by a backslash. */
  private static int openingQuote(byte[] b, int start, int close) {
    for (int i = close - 1; i >= start; i--) {
      if (b[i] == '"') {
        int slashes = 0;
        for (int j = i - 1; j >= start && b[j] == '\\'; j--) {
          slashes++;
        }
        if ((slashes & 1) == 0) {
          return i;
        }
      }
    }
    return -1;
  }

  private static boolean is(byte[] b, int start, int end, byte[] word) {
    return end - start == word.length && Arrays.equals(b, start, end, word, 0, word.length);
  }

  private static int indexOf(byte[] b, int start, int end, byte[] word) {
    outer:
    for (int i = start; i + word.length <= end; i++) {
      for (int j = 0; j < word.length; j++) {
        if (b[i + j] != word[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static final int OTHER = 0;
  private static final int LETTERS = 1;
  private static final int DIGITS = 2;
  private static final int SPACE = 3;
  private static final int PUNCT = 4;

  /**
   * The tokens in a JSON string's content (UTF-8, still escaped) {@code b[from, to)}, by the shape of the text as
   * byte-pair tokenizers such as Claude's cut English and code: a run of letters is one token per 10 letters begun
   * (common words are one token, long ones split); a run of digits one per 3; a run of punctuation one per 4 (so
   * {@code **}, {@code ...}, {@code ":"} are one); each character beyond ASCII one; a run of whitespace one, except a
   * single space, which goes with the word after it. Escapes count as the character they stand for. Prose comes out
   * near the API's count (about one token per word and punctuation mark); a delta holds at least what it shows.
   */
  static int tokens(byte[] b, int from, int to) {
    int tokens = 0;
    int kind = OTHER;
    int run = 0;
    boolean newline = false;
    int i = from;
    while (i < to) {
      int c = b[i] & 0xFF;
      int k;
      boolean isNewline = false;
      int width = 1;
      if (c == '\\' && i + 1 < to) {
        byte e = b[i + 1];
        width = 2;
        if (e == 'n' || e == 'r' || e == 't') {
          k = SPACE;
          isNewline = e != 't';
        } else if (e == 'u') {
          // A character JSON had to escape (a control character, or anything the writer chose): one token.
          width = Math.min(6, to - i);
          k = OTHER;
        } else {
          k = PUNCT;
        }
      } else if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
        k = LETTERS;
      } else if (c >= '0' && c <= '9') {
        k = DIGITS;
      } else if (c == ' ') {
        k = SPACE;
      } else if (c >= 0x80) {
        // One token for each character: its lead byte counts, the continuation bytes (10xxxxxx) do not.
        k = OTHER;
        if ((c & 0xC0) == 0x80) {
          i++;
          continue;
        }
      } else {
        k = PUNCT;
      }
      if (k == kind && k != OTHER) {
        run++;
        newline |= isNewline;
      } else {
        tokens += cost(kind, run, newline);
        kind = k;
        run = 1;
        newline = isNewline;
      }
      i += width;
    }
    return tokens + cost(kind, run, newline);
  }

  private static int cost(int kind, int run, boolean newline) {
    return switch (kind) {
      case LETTERS -> (run + 9) / 10;
      case DIGITS -> (run + 2) / 3;
      case PUNCT -> (run + 3) / 4;
      case SPACE -> run > 1 || newline ? 1 : 0;
      default -> run;
    };
  }
}
