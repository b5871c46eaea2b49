package dev.claudeproxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.impl.Http1xClientConnection;
import io.vertx.core.http.impl.HttpClientConnectionInternal;
import io.vertx.core.internal.buffer.BufferInternal;
import java.util.List;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The one class of the proxy that uses Vert.x's internal API ({@code io.vertx.core.internal}, {@code ..impl..}) or
 * Netty's; {@code InternalsRuleTest} keeps every other class off them. Each use is here because the public API costs
 * measurably more for it; the reason and the measured gain are written beside it.
 *
 * <p>Vert.x may change its internal API in any release, a patch release included. Whether the internal classes and
 * methods used here are there is checked once, when this class is initialised; if one is missing, every method falls
 * back to the public API, so such a release costs speed, never function. The system property
 * {@value #PUBLIC_ONLY_PROPERTY}{@code =true} takes the public API on purpose: to measure what the internal API is
 * worth (an A/B with the load generator), or to rule it out when something goes wrong.
 */
public final class VertxInternals {
  /** Set to {@code true} to use the public API only. */
  public static final String PUBLIC_ONLY_PROPERTY = "claude-proxy.vertx-public-only";
  /** The name of the flush-consolidation handler in an upstream HTTP/2 connection's pipeline. */
  public static final String FLUSH_HANDLER_NAME = "claude-proxy-flush-consolidation";
  /** How many flushes asked for outside a read the flush-consolidation handler holds back at most. */
  public static final int EXPLICIT_FLUSH_AFTER = 64;

  private static final Logger LOG = Logger.getLogger(VertxInternals.class.getName());
  /** Vert.x's {@code BufferInternal}, with {@code getByteBuf()} and {@code buffer(ByteBuf)}. */
  private static final boolean BUFFERS;
  /** Vert.x's {@code HttpClientConnectionInternal.channelHandlerContext()} and {@code Http1xClientConnection}. */
  private static final boolean CONNECTIONS;

  static {
    boolean publicOnly = Boolean.getBoolean(PUBLIC_ONLY_PROPERTY);
    BUFFERS = !publicOnly && present(() -> {
      BufferInternal.class.getMethod("getByteBuf");
      BufferInternal.class.getMethod("buffer", ByteBuf.class);
    });
    CONNECTIONS = !publicOnly && present(() -> {
      HttpClientConnectionInternal.class.getMethod("channelHandlerContext");
      Http1xClientConnection.class.getName();
    });
    if (!publicOnly && !(BUFFERS && CONNECTIONS)) {
      LOG.warning("this Vert.x lacks internal API the proxy uses for speed (buffers: " + BUFFERS + ", connections: "
          + CONNECTIONS + "); the public API is used instead");
    }
  }

  private interface Check {
    void run() throws ReflectiveOperationException;
  }

  private static boolean present(Check check) {
    try {
      check.run();
      return true;
    } catch (ReflectiveOperationException | LinkageError e) {
      return false;
    }
  }

  private VertxInternals() {
  }

  /** Whether the internal API is in use (false when missing or turned off). */
  public static boolean inUse() {
    return BUFFERS && CONNECTIONS;
  }

  /**
   * The pieces as one buffer of {@code length} bytes. With the internal API, a composite over the pieces, with no
   * copy; with the public one, a copy of every piece into one buffer.
   *
   * <p>Why: one upstream read brings a stream many small pieces, gathered by {@code PassBatch} into one bus message
   * and one client write, on each side of the bus. Copying them into one array was 2.4 % of the event loops' time in
   * a profile of a warm 8,000-stream burst; with the direct copy of {@link #writeDirect}, the composites took a
   * 200-token burst's CPU per delta to 0.961 of the copies', A/B both ways round (bench/analysis.md, item 24).
   */
  public static Buffer join(List<Buffer> pieces, int length) {
    if (BUFFERS) {
      CompositeByteBuf joined = Unpooled.compositeBuffer(pieces.size());
      boolean all = true;
      for (Buffer piece : pieces) {
        if (!(piece instanceof BufferInternal internal)) {
          all = false;
          break;
        }
        joined.addComponent(true, internal.getByteBuf());
      }
      if (all) {
        return BufferInternal.buffer(joined);
      }
      joined.release();
    }
    return copied(pieces, length);
  }

  /** {@link #join} with the public API: every piece copied into one buffer. */
  static Buffer copied(List<Buffer> pieces, int length) {
    Buffer out = Buffer.buffer(length);
    for (Buffer piece : pieces) {
      out.appendBuffer(piece);
    }
    return out;
  }

  /**
   * Writes {@code bytes} with {@code write} (a response's {@code write} or {@code end}) from a pooled direct buffer,
   * which the socket writes as it is, released once the write is over (Vert.x never releases a buffer it did not
   * make). With the public API, {@code bytes} are written as they are.
   *
   * <p>Why: given the heap buffer (or composite of heap buffers, {@link #join}) that came over the bus, the socket
   * copies it into a direct buffer itself, and a composite into a new heap buffer first: two copies of every byte
   * instead of one. Measured together with {@link #join} (bench/analysis.md, item 24: 0.961).
   */
  public static Future<Void> writeDirect(Buffer bytes, Function<Buffer, Future<Void>> write) {
    if (!BUFFERS || !(bytes instanceof BufferInternal internal)) {
      return write.apply(bytes);
    }
    ByteBuf from = internal.getByteBuf();
    int length = from.readableBytes();
    ByteBuf direct = ByteBufAllocator.DEFAULT.directBuffer(length);
    // Copied by the source, piece by piece for a composite, straight into the direct memory.
    from.getBytes(from.readerIndex(), direct, 0, length);
    direct.writerIndex(length);
    Future<Void> written;
    try {
      written = write.apply(BufferInternal.buffer(direct));
    } catch (RuntimeException e) {
      direct.release();
      throw e;
    }
    written.onComplete(v -> direct.release());
    return written;
  }

  /**
   * Sets up an upstream connection just made: on HTTP/2, one flush for all the requests a worker starts in one pass of
   * its event loop, and reads gathered without a copy. Does nothing to other connections, or without the internal
   * API (Vert.x has no public hook into a client connection's pipeline).
   *
   * <p>Vert.x flushes an HTTP/2 connection after each request started outside a read of that connection, and a worker
   * starts its requests while the event loop reads the clients' connections: each start cost a system call. Netty's
   * {@link FlushConsolidationHandler}, put next to the socket, turns the flushes asked for outside a read into one
   * flush at the end of the event loop's current pass, and still flushes at once after {@value #EXPLICIT_FLUSH_AFTER}
   * of them. Measured: write system calls per stream 2.08 → 1.20 at 8,000 streams (bench/analysis.md, item 15).
   *
   * <p>The frame decoder waits for whole frames, and a read of up to 64 KB nearly always ends inside a frame (DATA
   * frames are up to 16 KB); by default it then copies each following read whole onto the unfinished frame's bytes.
   * Gathered as a composite instead, the reads are not copied (2.9 % of the event loops' time in a profile of a warm
   * 8,000-stream burst; bench/analysis.md, item 24). HTTP/1.1 connections carry one stream each: nothing to merge.
   */
  public static void consolidateFlushes(HttpConnection connection) {
    if (!CONNECTIONS || connection instanceof Http1xClientConnection
        || !(connection instanceof HttpClientConnectionInternal internal)) {
      return;
    }
    ChannelPipeline pipeline = internal.channelHandlerContext().pipeline();
    if (pipeline.get(FLUSH_HANDLER_NAME) == null) {
      pipeline.addFirst(FLUSH_HANDLER_NAME, new FlushConsolidationHandler(EXPLICIT_FLUSH_AFTER, true));
    }
    for (var entry : pipeline) {
      ChannelHandler handler = entry.getValue();
      if (handler instanceof Http2ConnectionHandler decoder) {
        // Only the frame decoder: TLS (a decoder too) keeps its own way of gathering records.
        decoder.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
      }
    }
  }

  /** Why HTTP could not read a request, as far as the proxy tells them apart. */
  public enum DecodeFailure {
    /** The request line is longer than the server's limit: 414. */
    LINE_TOO_LONG,
    /** The headers are larger than the server's limit: 431. */
    HEADERS_TOO_LARGE,
    /** Anything else (a bad request line, an unknown version, ...): 400. */
    OTHER
  }

  /**
   * Why HTTP could not read {@code request}. Not internal API: Vert.x hands out Netty's decoder result publicly; it is
   * read here so that no other class depends on Netty's types.
   */
  public static DecodeFailure decodeFailure(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    if (cause instanceof TooLongHttpLineException) {
      return DecodeFailure.LINE_TOO_LONG;
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return DecodeFailure.HEADERS_TOO_LARGE;
    }
    return DecodeFailure.OTHER;
  }
}
