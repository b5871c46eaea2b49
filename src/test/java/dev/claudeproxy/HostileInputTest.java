package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Ten thousand generated hostile requests: malformed, oversized, truncated, never-finished and slow. Each must get a
 * 4xx or a closed connection, never a 5xx or silence, and the proxy must stream correctly afterwards.
 */
class HostileInputTest {
  private static final String VALID = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, proxy\"}],\"system\":\"Be kind.\"}";
  private static final int TOTAL = 10_000;
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("PROXY_REQUEST_TIMEOUT_MS", 300, "PROXY_MAX_BODY_BYTES", 65536,
        "PROXY_IDLE_TIMEOUT_MS", 1000));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  /** One hostile request: the raw bytes to send, and how to send them. */
  record Attack(String kind, byte[] head, byte[] body, Delivery delivery) {}

  enum Delivery { WHOLE, HALF_THEN_CLOSE, NEVER_FINISH, TRICKLE }

  @Test
  void everyHostileRequestGetsA4xxOrAClosedConnection() throws Exception {
    Random random = new Random(20261121);
    List<Attack> attacks = new ArrayList<>();
    for (int i = 0; i < TOTAL; i++) {
      attacks.add(attack(random, i));
    }
    Map<String, Map<String, AtomicInteger>> outcomes = new ConcurrentHashMap<>();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (Attack attack : attacks) {
        done.add(pool.submit(() -> {
          String outcome = send(attack);
          outcomes.computeIfAbsent(attack.kind, k -> new ConcurrentHashMap<>())
              .computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
          // Vert.x answers an HTTP version it does not know (HTTP/9.9) with 501 before any handler of ours runs; the
          // protocol's own answer to a version it does not speak, and the one exception allowed here.
          boolean fine = outcome.equals("closed") || outcome.startsWith("4")
              || attack.kind.equals("unknown HTTP version") && outcome.equals("501");
          if (!fine && failures.size() < 20) {
            failures.add(attack.kind + " -> " + outcome + ": "
                + new String(attack.head, StandardCharsets.ISO_8859_1).lines().findFirst().orElse("")
                + " " + new String(attack.body, 0, Math.min(200, attack.body.length), StandardCharsets.ISO_8859_1));
          }
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    System.out.println("hostile requests by kind and outcome: " + new TreeMap<>(outcomes));
    assertEquals(List.of(), failures);
    assertEquals(TOTAL, outcomes.values().stream().flatMap(m -> m.values().stream())
        .mapToInt(AtomicInteger::get).sum());

    // And the proxy still streams.
    HttpResponse<String> r = stack.post("/v1/messages", VALID, stack.jsonHeaders(Map.of()));
    assertEquals(200, r.statusCode());
    assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
  }

  private static Attack attack(Random r, int i) {
    int pick = i % 20;
    return switch (pick) {
      case 0, 1, 2, 3 -> json("truncated JSON", truncate(r, VALID));
      case 4, 5 -> json("invalid UTF-8", invalidUtf8(r));
      case 6, 7, 8, 9 -> json("wrong types", wrongTypes(r));
      case 10, 11 -> json("unknown fields", VALID.replace("{\"model\"", "{\"" + word(r) + "\":" + r.nextInt()
          + ",\"model\""));
      case 12 -> json("deep nesting", deep(r));
      case 13 -> json("garbage body", garbage(r));
      case 14 -> r.nextBoolean()
          ? json("oversized body", VALID.replace("Hello there", "x".repeat(65536 + r.nextInt(100_000))))
          : new Attack("huge header", head("x-big: " + "y".repeat(9_000 + r.nextInt(60_000)) + "\r\n",
              VALID.length(), true), VALID.getBytes(StandardCharsets.UTF_8), Delivery.WHOLE);
      case 15 -> i % 200 == 15
          ? new Attack("unknown HTTP version", "POST /v1/messages HTTP/9.9\r\nhost: x\r\n\r\n"
              .getBytes(StandardCharsets.ISO_8859_1), new byte[0], Delivery.WHOLE)
          : new Attack("malformed HTTP", garbageHttp(r), new byte[0], Delivery.WHOLE);
      case 16 -> new Attack("wrong content type", head("", VALID.length(), false)
          .length > 0 ? headWithType(r.nextBoolean() ? "text/plain" : "application/x-www-form-urlencoded",
          VALID.length()) : null, VALID.getBytes(StandardCharsets.UTF_8), Delivery.WHOLE);
      case 17 -> new Attack("bad or missing key", headWithKey(r.nextBoolean() ? "" : "x-api-key: sk-csp-" + word(r)
          + "\r\n", VALID.length()), VALID.getBytes(StandardCharsets.UTF_8), Delivery.WHOLE);
      case 18 -> new Attack("truncated body", head("", VALID.length(), true), VALID.getBytes(StandardCharsets.UTF_8),
          Delivery.HALF_THEN_CLOSE);
      default -> i % 200 == 19
          ? new Attack("never-finished body", head("", VALID.length(), true),
              VALID.getBytes(StandardCharsets.UTF_8), Delivery.NEVER_FINISH)
          : i % 200 == 39
              ? new Attack("slow body", head("", VALID.length(), true), VALID.getBytes(StandardCharsets.UTF_8),
                  Delivery.TRICKLE)
              : json("wrong types", wrongTypes(r));
    };
  }

  private static Attack json(String kind, String body) {
    return json(kind, body.getBytes(StandardCharsets.UTF_8));
  }

  private static Attack json(String kind, byte[] body) {
    return new Attack(kind, head("", body.length, true), body, Delivery.WHOLE);
  }

  private static byte[] head(String extra, int length, boolean json) {
    return ("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
        + (json ? "content-type: application/json\r\n" : "") + "x-api-key: " + stack.callerKey + "\r\n"
        + "anthropic-version: 2023-06-01\r\n" + extra + "content-length: " + length + "\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[] headWithType(String type, int length) {
    return head("content-type: " + type + "\r\n", length, false);
  }

  private static byte[] headWithKey(String keyLine, int length) {
    return ("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
        + "content-type: application/json\r\n" + keyLine + "content-length: " + length + "\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String truncate(Random r, String s) {
    return s.substring(0, r.nextInt(s.length() - 1));
  }

  private static byte[] invalidUtf8(Random r) {
    byte[] valid = VALID.getBytes(StandardCharsets.UTF_8);
    int at = VALID.indexOf("Hello") + r.nextInt(10);
    byte[][] bad = {{(byte) 0xff}, {(byte) 0xc3, 0x28}, {(byte) 0xe2, (byte) 0x82}, {(byte) 0xf0, 0x28, (byte) 0x8c},
        {(byte) 0xed, (byte) 0xa0, (byte) 0x80}};
    byte[] insert = bad[r.nextInt(bad.length)];
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(valid, 0, at);
    out.writeBytes(insert);
    out.write(valid, at, valid.length - at);
    return out.toByteArray();
  }

  private static String wrongTypes(Random r) {
    String[][] swaps = {
        {"\"claude-sonnet-4-6\"", "42"}, {"\"claude-sonnet-4-6\"", "null"}, {"\"claude-sonnet-4-6\"", "[\"m\"]"},
        {"\"claude-sonnet-4-6\"", "\"\""}, {"\"max_tokens\":64", "\"max_tokens\":\"64\""},
        {"\"max_tokens\":64", "\"max_tokens\":-5"}, {"\"max_tokens\":64", "\"max_tokens\":6.5"},
        {"\"max_tokens\":64", "\"max_tokens\":{}"}, {"\"max_tokens\":64,", ""}, {"\"stream\":true", "\"stream\":\"yes\""},
        {"[{\"role\":\"user\",\"content\":\"Hello there, proxy\"}]", "\"hi\""},
        {"[{\"role\":\"user\",\"content\":\"Hello there, proxy\"}]", "[]"},
        {"[{\"role\":\"user\",\"content\":\"Hello there, proxy\"}]", "[1,2]"},
        {"\"role\":\"user\"", "\"role\":\"robot\""}, {"\"role\":\"user\"", "\"role\":7"},
        {"\"content\":\"Hello there, proxy\"", "\"content\":12"}, {"\"content\":\"Hello there, proxy\"", "\"content\":[]"},
        {"\"content\":\"Hello there, proxy\"", "\"content\":[{\"type\":\"image\"}]"},
        {"\"system\":\"Be kind.\"", "\"system\":5"}, {"\"system\":\"Be kind.\"", "\"tools\":{}"},
        {"\"system\":\"Be kind.\"", "\"stop_sequences\":[1]"}, {"\"system\":\"Be kind.\"", "\"temperature\":\"hot\""},
        {"\"system\":\"Be kind.\"", "\"thinking\":[]"}, {"\"system\":\"Be kind.\"", "\"tool_choice\":\"auto\""},
        {"\"system\":\"Be kind.\"", "\"metadata\":\"me\""}, {"\"system\":\"Be kind.\"", "\"top_k\":1.5"},
        {"\"max_tokens\":64", "\"max_tokens\":99999999999999999999"},
        {"\"system\":\"Be kind.\"", "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":10}"}};
    String[] swap = swaps[r.nextInt(swaps.length)];
    return VALID.replace(swap[0], swap[1]);
  }

  private static String deep(Random r) {
    int depth = 1_001 + r.nextInt(20_000);
    boolean arrays = r.nextBoolean();
    String open = arrays ? "[" : "{\"a\":";
    String close = arrays ? "]" : "}";
    return VALID.replace("\"system\":\"Be kind.\"", "\"metadata\":" + open.repeat(depth) + "1" + close.repeat(depth));
  }

  private static byte[] garbage(Random r) {
    byte[] b = new byte[1 + r.nextInt(2_000)];
    r.nextBytes(b);
    if (b[0] == '{') {
      b[0] = '#';
    }
    return b;
  }

  private static byte[] garbageHttp(Random r) {
    String[] lines = {
        "GARBAGE\r\n\r\n", "POST\r\n\r\n", "POST /v1/messages HTTP/1.1 extra\r\n\r\n",
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: -4\r\n\r\n",
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello",
        "POST /%zz%00 HTTP/1.1\r\nhost: x\r\n\r\n", "\u0000\u0001\u0002\r\n\r\n",
        "POST /v1/messages HTTP/1.1\r\nno-colon-header\r\n\r\n",
        "POST /v1/" + "a".repeat(10_000 + r.nextInt(10_000)) + " HTTP/1.1\r\nhost: x\r\n\r\n"};
    return lines[r.nextInt(lines.length)].getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String word(Random r) {
    StringBuilder w = new StringBuilder("f");
    for (int i = 0; i < 6; i++) {
      w.append((char) ('a' + r.nextInt(26)));
    }
    return w.toString();
  }

  /** Sends one attack; returns the status code, or "closed" when the proxy closed without one. */
  private static String send(Attack attack) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", stack.proxy.port()), 5_000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      try {
        out.write(attack.head);
        switch (attack.delivery) {
          case WHOLE -> out.write(attack.body);
          case HALF_THEN_CLOSE -> {
            out.write(attack.body, 0, attack.body.length / 2);
            out.flush();
            socket.shutdownOutput();
          }
          case NEVER_FINISH -> out.write(attack.body, 0, attack.body.length / 2);
          case TRICKLE -> {
            for (byte b : attack.body) {
              out.write(b);
              out.flush();
              Thread.sleep(10);
            }
          }
          default -> throw new IllegalStateException();
        }
        out.flush();
      } catch (IOException e) {
        // The proxy may answer and close before it has read everything (413, 431): read what it said.
      }
      return statusOf(socket.getInputStream());
    } catch (SocketTimeoutException e) {
      return "no answer in 10 s";
    } catch (IOException e) {
      return "closed";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private static String statusOf(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b; (b = in.read()) != -1 && b != '\n'; ) {
      line.write(b);
    }
    String status = line.toString(StandardCharsets.ISO_8859_1);
    if (status.isEmpty()) {
      return "closed";
    }
    String[] parts = status.split(" ");
    return parts.length > 1 ? parts[1] : "malformed status line: " + status;
  }
}
