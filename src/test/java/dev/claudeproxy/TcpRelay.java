package dev.claudeproxy;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A TCP relay on a loopback port in front of another: the network between a browser and the proxy, which a test can
 * cut (every open connection closed, new ones refused) and restore. It notes the request line of each HTTP request
 * that passes through it ({@code "GET /v1/streams/…"}).
 */
final class TcpRelay implements AutoCloseable {
  private static final Pattern REQUEST_LINE =
      Pattern.compile("(GET|POST|DELETE|PUT|PATCH|HEAD|OPTIONS) (\\S+) HTTP/1\\.[01]$");
  private final NetServer server;
  private final NetClient client;
  private final Set<NetSocket> open = ConcurrentHashMap.newKeySet();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private volatile boolean cut;

  private TcpRelay(NetServer server, NetClient client) {
    this.server = server;
    this.client = client;
  }

  /** A relay on a free loopback port to {@code 127.0.0.1:targetPort}. */
  static TcpRelay start(Vertx vertx, int targetPort) {
    NetClient client = vertx.createNetClient();
    TcpRelay[] relay = new TcpRelay[1];
    NetServer server = vertx.createNetServer().connectHandler(in -> relay[0].accept(in, targetPort));
    relay[0] = new TcpRelay(server, client);
    TestStack.await(server.listen(0, "127.0.0.1"));
    return relay[0];
  }

  private void accept(NetSocket in, int targetPort) {
    if (cut) {
      in.close();
      return;
    }
    in.pause();
    open.add(in);
    client.connect(targetPort, "127.0.0.1").onComplete(ar -> {
      if (ar.failed() || cut) {
        if (ar.succeeded()) {
          ar.result().close();
        }
        open.remove(in);
        in.close();
        return;
      }
      NetSocket out = ar.result();
      open.add(out);
      StringBuilder line = new StringBuilder();
      in.handler(bytes -> {
        note(line, bytes);
        out.write(bytes);
      });
      out.handler(in::write);
      in.closeHandler(v -> {
        open.remove(in);
        out.close();
      });
      out.closeHandler(v -> {
        open.remove(out);
        in.close();
      });
      in.resume();
    });
  }

  /** Collects the request lines of what the client sends, across the buffers they may be split over. */
  private void note(StringBuilder line, Buffer bytes) {
    line.append(bytes.toString(java.nio.charset.StandardCharsets.ISO_8859_1));
    int end;
    while ((end = line.indexOf("\r\n")) >= 0) {
      Matcher m = REQUEST_LINE.matcher(line.subSequence(0, end));
      if (m.find()) {
        requests.add(m.group(1) + " " + m.group(2));
      }
      line.delete(0, end + 2);
    }
  }

  int port() {
    return server.actualPort();
  }

  String url() {
    return "http://127.0.0.1:" + port();
  }

  /** Closes every open connection and refuses new ones until {@link #restore()}. */
  void cut() {
    cut = true;
    for (NetSocket socket : open) {
      socket.close();
    }
  }

  void restore() {
    cut = false;
  }

  /** The requests that passed, as "METHOD path", in order. */
  List<String> requests() {
    return List.copyOf(requests);
  }

  /** How many requests passed whose "METHOD path" starts with {@code prefix}. */
  long count(String prefix) {
    return requests.stream().filter(r -> r.startsWith(prefix)).count();
  }

  @Override
  public void close() {
    cut();
    TestStack.await(server.close());
    TestStack.await(client.close());
  }
}
