package dev.claudeproxy.internal.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PassBatchTest {
  private static Vertx vertx;

  @BeforeAll
  static void up() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void down() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** What each pass delivered: its bytes as text (null when none) and its event count. */
  private record Pass(String text, int events, Buffer bytes) {}

  private static List<Pass> run(List<List<Buffer>> passes, List<List<Integer>> events) throws Exception {
    Context context = vertx.getOrCreateContext();
    List<Pass> seen = new ArrayList<>();
    CompletableFuture<List<Pass>> done = new CompletableFuture<>();
    PassBatch[] batch = new PassBatch[1];
    context.runOnContext(v -> {
      batch[0] = new PassBatch(context, () -> {
        int n = batch[0].events();
        Buffer bytes = batch[0].take();
        seen.add(new Pass(bytes == null ? null : bytes.toString(), n, bytes));
        if (seen.size() == passes.size()) {
          done.complete(seen);
        }
      });
      addPass(context, batch[0], passes, events, 0);
    });
    return done.get(10, TimeUnit.SECONDS);
  }

  /** Adds pass {@code i}'s pieces in one go, then the next pass's once this one has ended. */
  private static void addPass(Context context, PassBatch batch, List<List<Buffer>> passes, List<List<Integer>> events,
      int i) {
    if (i == passes.size()) {
      return;
    }
    if (passes.get(i).isEmpty()) {
      batch.schedule();
    }
    for (int p = 0; p < passes.get(i).size(); p++) {
      batch.add(passes.get(i).get(p), events.get(i).get(p));
    }
    context.runOnContext(v -> context.runOnContext(w -> addPass(context, batch, passes, events, i + 1)));
  }

  @Test
  void onePieceIsHandedOnAsItIs() throws Exception {
    Buffer piece = Buffer.buffer("data: one\n\n");
    List<Pass> passes = run(List.of(List.of(piece)), List.of(List.of(1)));
    assertSame(piece, passes.get(0).bytes());
    assertEquals(1, passes.get(0).events());
  }

  @Test
  void piecesOfAPassLeaveTogetherInOrderAndAreNotChanged() throws Exception {
    Buffer a = Buffer.buffer("event: a\n\n");
    Buffer b = Buffer.buffer("0123456789abcdef").slice(4, 10);
    Buffer c = Buffer.buffer("event: c\n\n");
    List<Pass> passes = run(List.of(List.of(a, b, c), List.of(), List.of(Buffer.buffer("x"))),
        List.of(List.of(1, 0, 2), List.of(), List.of(5)));
    assertEquals("event: a\n\n456789event: c\n\n", passes.get(0).text());
    assertEquals(3, passes.get(0).events());
    assertEquals(passes.get(0).text().length(), passes.get(0).bytes().length());
    // The batch is empty after a pass: a pass with nothing added still ends, with nothing.
    assertNull(passes.get(1).text());
    assertEquals(0, passes.get(1).events());
    assertEquals("x", passes.get(2).text());
    assertEquals(5, passes.get(2).events());
    assertEquals("event: a\n\n", a.toString());
    assertEquals("456789", b.toString());
    assertEquals("event: c\n\n", c.toString());
  }

  @Test
  void manyPiecesStillGatherInOrder() throws Exception {
    List<Buffer> pieces = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 3000; i++) {
      pieces.add(Buffer.buffer("data: " + i + "\n\n"));
      counts.add(1);
      expected.append("data: ").append(i).append("\n\n");
    }
    List<Pass> passes = run(List.of(pieces), List.of(counts));
    assertEquals(expected.toString(), passes.get(0).text());
    assertEquals(3000, passes.get(0).events());
  }

  @Test
  void batchesOfOneContextEndTogetherInOrderAndOneFailingDoesNotStopTheOthers() throws Exception {
    Context context = vertx.getOrCreateContext();
    List<String> ended = new ArrayList<>();
    CompletableFuture<List<String>> done = new CompletableFuture<>();
    List<Throwable> reported = new ArrayList<>();
    context.exceptionHandler(reported::add);
    context.runOnContext(v -> {
      PassBatch[] b = new PassBatch[4];
      // c becomes due while the first pass ends (as when one batch's bus message reaches another on this context):
      // it ends in the next pass, after the task queued behind the first pass's end.
      b[2] = new PassBatch(context, () -> {
        ended.add("c");
        done.complete(ended);
      });
      b[0] = new PassBatch(context, () -> {
        ended.add("a");
        b[2].schedule();
      });
      b[1] = new PassBatch(context, () -> {
        ended.add("b");
        throw new IllegalStateException("b failed");
      });
      b[3] = new PassBatch(context, () -> ended.add("d"));
      b[0].add(Buffer.buffer("x"), 1);
      b[1].schedule();
      b[3].add(Buffer.buffer("y"), 1);
      b[0].add(Buffer.buffer("z"), 1);
      context.runOnContext(w -> ended.add("queued behind"));
    });
    assertEquals(List.of("a", "b", "d", "queued behind", "c"), done.get(10, TimeUnit.SECONDS));
    assertEquals(1, reported.size());
    assertEquals("b failed", reported.get(0).getMessage());
  }
}
