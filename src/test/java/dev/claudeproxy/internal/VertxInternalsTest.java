package dev.claudeproxy.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the internal API does here gives the same bytes as the public API it stands in for. */
class VertxInternalsTest {
  private static final List<Buffer> PIECES = List.of(Buffer.buffer("event: a\ndata: {}\n\n"), Buffer.buffer(""),
      Buffer.buffer("event: b\ndata: {\"é\":1}\n\n").slice(0, 12), Buffer.buffer(new byte[] {0, 1, 2, (byte) 0xff}));

  @Test
  void theInternalApiOfThisVertxIsThere() {
    // Against the Vert.x the project builds with, the fast paths are taken; a release without them would fail here
    // (and still work, slower).
    assertTrue(VertxInternals.inUse() || Boolean.getBoolean(VertxInternals.PUBLIC_ONLY_PROPERTY));
  }

  @Test
  void aJoinHoldsWhatACopyHolds() {
    int length = PIECES.stream().mapToInt(Buffer::length).sum();
    Buffer joined = VertxInternals.join(PIECES, length);
    Buffer copied = VertxInternals.copied(PIECES, length);
    assertEquals(length, joined.length());
    assertArrayEquals(copied.getBytes(), joined.getBytes());
    assertEquals(copied, joined);
  }

  @Test
  void aDirectWriteWritesTheSameBytes() {
    int length = PIECES.stream().mapToInt(Buffer::length).sum();
    Buffer joined = VertxInternals.join(PIECES, length);
    Buffer[] written = {null};
    Future<Void> done = VertxInternals.writeDirect(joined, b -> {
      written[0] = b.copy();
      return Future.succeededFuture();
    });
    assertTrue(done.succeeded());
    assertArrayEquals(VertxInternals.copied(PIECES, length).getBytes(), written[0].getBytes());
  }
}
