package dev.claudeproxy.internal.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** Lines written by the writer's thread: every one, in order, UTF-8, one a line, flushed when asked to wait. */
class LineWriterTest {
  @Test
  void writesEveryLineInOrderAsUtf8() {
    ByteArrayOutputStream target = new ByteArrayOutputStream();
    List<String> lines = new ArrayList<>();
    try (LineWriter writer = new LineWriter("test-lines", target, 0, 1, null, e -> { })) {
      for (int i = 0; i < 5000; i++) {
        String line = "{\"n\":" + i + ",\"text\":\"zoë 日本 😀 " + i + "\"}";
        lines.add(line);
        assertTrue(writer.offer(line));
      }
      assertTrue(writer.awaitWritten(10_000));
      assertEquals(String.join("\n", lines) + "\n", target.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  void aBoundedWriterCountsWhatItDropsInItsNextLine() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    OutputStream slow = new OutputStream() {
      @Override
      public void write(int b) {
        bytes.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        bytes.write(b, off, len);
      }

      @Override
      public void flush() {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    try (LineWriter writer = new LineWriter("test-bounded", slow, 2, 0, lost -> "dropped " + lost, e -> { })) {
      assertTrue(writer.offer("first"));
      // The writer takes "first" and blocks in its flush; two more lines fill the queue and the rest are dropped.
      Thread.sleep(200);
      int accepted = 0;
      for (int i = 0; i < 10; i++) {
        accepted += writer.offer("line " + i) ? 1 : 0;
      }
      assertEquals(2, accepted);
      release.countDown();
      assertTrue(writer.awaitWritten(10_000));
    }
    assertEquals("first\ndropped 8\nline 0\nline 1\n", bytes.toString(StandardCharsets.UTF_8));
  }
}
