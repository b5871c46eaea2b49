package dev.claudeproxy.internal.upstream;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.Http1xClientConnection;
import io.vertx.core.http.impl.HttpClientConnectionInternal;

/**
 * One flush for all the upstream requests a worker starts on one HTTP/2 connection in one pass of its event loop.
 *
 * <p>Vert.x flushes an HTTP/2 connection after each request started outside a read of that connection, and a
 * worker starts its requests while the event loop reads the clients' connections: each start cost a system call.
 * Netty's {@link FlushConsolidationHandler}, put next to the socket, turns the flushes asked for outside a read into
 * one flush at the end of the event loop's current pass, and still flushes at once after
 * {@link #EXPLICIT_FLUSH_AFTER} of them. Flushes asked for during a read are merged by Vert.x itself, at the end of
 * the read, as before.
 *
 * <p>Vert.x has no public hook into a client connection's pipeline; this reaches it through
 * {@link HttpClientConnectionInternal}, and leaves a connection of any other kind as it is. HTTP/1.1 connections
 * carry one stream each, so there is nothing to merge on them.
 *
 * <p>The same hook spares a copy of every byte a busy HTTP/2 connection reads. Its frame decoder waits for whole
 * frames, and a read of up to 64 KB nearly always ends inside a frame (DATA frames are up to 16 KB); by default the
 * decoder then copies each following read whole onto the unfinished frame's bytes. Gathered as a composite buffer
 * instead, the reads are not copied: a frame's payload is copied once, by Vert.x, as it is handed to its stream.
 */
final class UpstreamFlushes {
  static final int EXPLICIT_FLUSH_AFTER = 64;
  static final String HANDLER_NAME = "claude-proxy-flush-consolidation";

  private UpstreamFlushes() {
  }

  static void consolidate(HttpConnection connection) {
    if (connection instanceof Http1xClientConnection || !(connection instanceof HttpClientConnectionInternal internal)) {
      return;
    }
    ChannelPipeline pipeline = internal.channelHandlerContext().pipeline();
    if (pipeline.get(HANDLER_NAME) == null) {
      pipeline.addFirst(HANDLER_NAME, new FlushConsolidationHandler(EXPLICIT_FLUSH_AFTER, true));
    }
    for (var entry : pipeline) {
      ChannelHandler handler = entry.getValue();
      if (handler instanceof Http2ConnectionHandler decoder) {
        // Only the frame decoder: TLS (a decoder too) keeps its own way of gathering records.
        decoder.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
      }
    }
  }
}
