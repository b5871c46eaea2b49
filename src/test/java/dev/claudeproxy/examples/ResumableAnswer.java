package dev.claudeproxy.examples;

import dev.claudeproxy.ClaudeStream;
import dev.claudeproxy.StreamClient;
import dev.claudeproxy.StreamClientOptions;
import dev.claudeproxy.StreamRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * A host that keeps an answer going while its reader is away (a socket dropped, a phone asleep) and picks it up where
 * the reader left it, on this node or another, with {@link StreamClient}. The README shows the tagged part, so it is
 * compiled and run ({@code ReadmeSnippetsTest}, {@code ResumableAnswerTest}).
 */
final class ResumableAnswer {
  private ResumableAnswer() {}

  // tag::stream-client-resume[]
  /** Where a reader left an answer: enough to pick it up again. */
  record Bookmark(String streamId, long position) {}

  /** A client that starts, follows and stops alice's streams (and only hers). */
  static StreamClient clientFor(Vertx vertx) {
    return StreamClient.create(vertx, new StreamClientOptions().setUser("alice"));
  }

  /** Starts an answer that outlives its reader. */
  static Future<ClaudeStream> ask(StreamClient client, JsonObject body) {
    return client.messages(StreamRequest.of(body).setResumable(true));
  }

  /** The reader went away: the answer goes on without it, for PROXY_RESUME_GRACE_MS, kept for a reader to come. */
  static Bookmark leave(ClaudeStream stream) {
    stream.detach(); // not cancel(), which stops the upstream call at once
    return new Bookmark(stream.id(), stream.position());
  }

  /** The reader is back: the events after its bookmark, then the live ones (404 expired, 410 no longer kept). */
  static Future<ClaudeStream> comeBack(StreamClient client, Bookmark bookmark) {
    return client.follow(bookmark.streamId(), bookmark.position());
  }
  // end::stream-client-resume[]
}
