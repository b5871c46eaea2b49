package dev.claudeproxy;

import static dev.claudeproxy.ClusterProcesses.post;
import static dev.claudeproxy.ClusterProcesses.streamingBody;
import static dev.claudeproxy.ClusterProcesses.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.users.ApiKeys;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An HTTP node and a worker node whose event bus runs over mutual TLS (a self-signed certificate made here with
 * keytool), with split-brain protection on: streams cross the encrypted bus, the bus port speaks TLS only to a peer
 * with the certificate, and once the worker is gone (the cluster below its minimum size) the limits cannot be
 * checked, so new streams get 503 with retry-after rather than being admitted unchecked.
 */
@Tag("cluster")
class ClusterTlsTest {
  private static final String PASSWORD = "test-only-password";

  @TempDir
  Path dir;

  @Test
  void streamsCrossAMutualTlsBusAndLimitsFailClosedBelowTheMinimumClusterSize() throws Exception {
    Path keyStore = dir.resolve("bus.p12");
    Path trustStore = dir.resolve("trust.p12");
    keytool("-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
        "-ext", "san=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keyStore.toString(),
        "-storepass", PASSWORD, "-keypass", PASSWORD);
    keytool("-exportcert", "-alias", "node", "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-rfc",
        "-file", dir.resolve("node.pem").toString());
    keytool("-importcert", "-noprompt", "-alias", "node", "-file", dir.resolve("node.pem").toString(),
        "-keystore", trustStore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);

    String key = ApiKeys.generate();
    Path users = dir.resolve("users.json");
    Files.writeString(users, new JsonObject().put("users", new JsonArray().add(new JsonObject().put("id", "limited")
        .put("keys", new JsonArray().add(ApiKeys.hash(key)))
        .put("limits", new JsonObject().put("concurrentStreams", 5)))).encode());

    try (ClusterProcesses cluster = new ClusterProcesses(dir)) {
      cluster.startSimulator(Map.of());
      int h = cluster.reserveMember();
      int w = cluster.reserveMember();
      int workerBus = ClusterProcesses.freePort();
      Map<String, String> common = Map.of("PROXY_CLUSTER_MEMBERS", String.join(",", cluster.members),
          "PROXY_USERS", users.toString(), "PROXY_CLUSTER_MIN_MEMBERS", "2",
          "PROXY_BUS_TLS_KEY_STORE", keyStore.toString(), "PROXY_BUS_TLS_KEY_STORE_PASSWORD", PASSWORD,
          "PROXY_BUS_TLS_TRUST_STORE", trustStore.toString());
      ClusterProcesses.Node http = cluster.node("tls-http", "http", h, common).start();
      ClusterProcesses.Node worker = cluster.node("tls-worker", "worker", w,
          with(common, "PROXY_BUS_PORT", Integer.toString(workerBus))).start();
      worker.awaitReady();
      http.awaitReady();

      HttpResponse<String> r = post(http.url(), key, streamingBody("over TLS"), Map.of());
      assertEquals(200, r.statusCode(), r.body() + "\n" + cluster.log("tls-http"));
      assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), r.body());

      // The worker's bus port speaks TLS, and only to a peer that shows the cluster's certificate.
      assertTrue(accepted(workerBus, keyStore, trustStore), "a peer with the certificate is refused");
      assertTrue(!accepted(workerBus, null, trustStore), "a peer without a certificate is accepted");

      worker.kill();
      waitFor(() -> {
        HttpResponse<String> refused = post(http.url(), key, streamingBody("alone"), Map.of());
        return refused.statusCode() == 503 && refused.body().contains("limits")
            && refused.headers().firstValue("retry-after").isPresent();
      }, 30, "new streams to be refused while the limits cannot be checked\n" + cluster.log("tls-http"));
    }
  }

  private static Map<String, String> with(Map<String, String> map, String key, String value) {
    java.util.HashMap<String, String> copy = new java.util.HashMap<>(map);
    copy.put(key, value);
    return copy;
  }

  /** Whether a TLS connection to {@code port}, with the key store's certificate or none, is kept open. */
  private static boolean accepted(int port, Path keyStore, Path trustStore) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    KeyManagerFactory kmf = null;
    if (keyStore != null) {
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(load(keyStore), PASSWORD.toCharArray());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(load(trustStore));
    context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(2_000);
      socket.startHandshake();
      // With TLS 1.3 a refused client certificate shows on the first read, not in the handshake.
      socket.getOutputStream().write(new byte[] {0});
      socket.getOutputStream().flush();
      try {
        return socket.getInputStream().read() != -1;
      } catch (java.net.SocketTimeoutException e) {
        return true; // the peer waits for the rest of an event-bus frame
      }
    } catch (IOException e) {
      return false;
    }
  }

  private static KeyStore load(Path path) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(path.toFile())) {
      ks.load(in, PASSWORD.toCharArray());
    }
    return ks;
  }

  private static void keytool(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "keytool failed: " + out);
  }
}
