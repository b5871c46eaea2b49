package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * JWT keys from a JWKS URL ({@code JWT_JWKS_URL}): an identity provider of the test's own on loopback serves the
 * key set, which the test changes as a provider rotates keys, and counts the fetches. Tokens are signed here with key
 * pairs made here, and go through the proxy to the simulator.
 */
class JwksTest {
  private static final String BODY = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":8,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"keys please\"}]}";
  private static final Vertx VERTX = Vertx.vertx();
  private static final WebClient WEB = WebClient.create(VERTX);
  private static KeyPair rsa1;
  private static KeyPair rsa2;
  private static KeyPair ec3;
  /** A provider whose key set the proxy may fetch again at once (JWT_JWKS_MIN_REFRESH_MS 0). */
  private static Provider provider;
  private static TestStack stack;
  /** A provider whose key set the proxy may fetch at most once a minute. */
  private static Provider limitedProvider;
  private static TestStack limited;

  @BeforeAll
  static void start() throws Exception {
    KeyPairGenerator rsaGen = KeyPairGenerator.getInstance("RSA");
    rsaGen.initialize(2048);
    rsa1 = rsaGen.generateKeyPair();
    rsa2 = rsaGen.generateKeyPair();
    KeyPairGenerator ecGen = KeyPairGenerator.getInstance("EC");
    ecGen.initialize(new ECGenParameterSpec("secp256r1"));
    ec3 = ecGen.generateKeyPair();
    provider = Provider.start(jwks(rsaJwk("k1", rsa1)));
    stack = TestStack.start(Map.of("JWT_JWKS_URL", provider.url(), "JWT_JWKS_MIN_REFRESH_MS", 0));
    limitedProvider = Provider.start(jwks(rsaJwk("k1", rsa1)));
    limited = TestStack.start(Map.of("JWT_JWKS_URL", limitedProvider.url(), "JWT_JWKS_MIN_REFRESH_MS", 60_000));
  }

  @AfterAll
  static void stop() {
    stack.close();
    limited.close();
    TestStack.await(VERTX.close());
  }

  @Test
  void theOfficialSdkStreamsWithATokenSignedByAKeyOfTheSet() {
    provider.serve(jwks(rsaJwk("k1", rsa1)));
    String token = sign("RS256", rsa1, "k1", claims("dana"));
    AnthropicClient client = AnthropicOkHttpClient.builder().baseUrl(stack.proxyUrl()).authToken(token)
        .maxRetries(0).timeout(Duration.ofSeconds(30)).build();
    MessageCreateParams params = MessageCreateParams.builder().model("claude-sonnet-4-6").maxTokens(20)
        .addUserMessage("Hello").build();
    Message message = client.messages().create(params);
    assertFalse(message.content().isEmpty());
    List<String> types = new ArrayList<>();
    try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params)) {
      stream.stream().forEach(event -> types.add(event.isMessageStop() ? "stop" : "other"));
    }
    assertEquals("stop", types.get(types.size() - 1));
  }

  @Test
  void aRotatedKeyIsFetchedWhenATokenNamesIt() {
    provider.serve(jwks(rsaJwk("k1", rsa1)));
    assertEquals(200, post(stack, sign("RS256", rsa1, "k1", claims("erin"))).statusCode());
    // The provider rotates: k1 out, k2 (RSA) and k3 (EC) in. The proxy learns of it from the first token naming one.
    provider.serve(jwks(rsaJwk("k2", rsa2), ecJwk("k3", ec3)));
    int before = provider.fetches.get();
    assertEquals(200, post(stack, sign("RS256", rsa2, "k2", claims("erin"))).statusCode());
    assertEquals(before + 1, provider.fetches.get(), "one fetch for the new key id");
    assertEquals(200, post(stack, sign("ES256", ec3, "k3", claims("erin"))).statusCode());
    assertEquals(before + 1, provider.fetches.get(), "k3 came with that fetch");
    refused(post(stack, sign("RS256", rsa1, "k1", claims("erin"))), "key (kid)");
  }

  @Test
  void tokensNamingANewKeyAtOnceShareOneFetch() {
    provider.serve(jwks(rsaJwk("k1", rsa1)));
    assertEquals(200, post(stack, sign("RS256", rsa1, "k1", claims("fay"))).statusCode());
    String kid = "k2-" + System.nanoTime();
    provider.serve(jwks(rsaJwk("k1", rsa1), rsaJwk(kid, rsa2)));
    provider.delayMs = 500;
    try {
      int before = provider.fetches.get();
      String token = sign("RS256", rsa2, kid, claims("fay"));
      List<Future<HttpResponse<Buffer>>> calls = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        calls.add(send(stack, token));
      }
      TestStack.await(Future.all(calls));
      for (Future<HttpResponse<Buffer>> call : calls) {
        assertEquals(200, call.result().statusCode(), call.result().bodyAsString());
      }
      assertEquals(before + 1, provider.fetches.get(), "twelve tokens naming the new key, one fetch");
    } finally {
      provider.delayMs = 0;
    }
  }

  @Test
  void aFloodOfUnknownKeyIdsFetchesNoMoreThanOncePerMinimumInterval() {
    // The fetch at start began the interval (a minute): tokens naming keys the proxy lacks get 401 and fetch nothing,
    // even once the provider has one of the keys they name.
    assertEquals(200, post(limited, sign("RS256", rsa1, "k1", claims("gil"))).statusCode());
    limitedProvider.serve(jwks(rsaJwk("k1", rsa1), rsaJwk("k2", rsa2)));
    for (int i = 0; i < 20; i++) {
      refused(post(limited, sign("RS256", rsa2, i % 2 == 0 ? "k2" : "unknown-" + i, claims("gil"))), "key (kid)");
    }
    assertEquals(1, limitedProvider.fetches.get(), "fetched at start only");
    assertEquals(200, post(limited, sign("RS256", rsa1, "k1", claims("gil"))).statusCode(), "known keys still work");
  }

  @Test
  void aProviderThatFailsLaterLeavesTheKeysHeld() {
    provider.serve(jwks(rsaJwk("k1", rsa1)));
    assertEquals(200, post(stack, sign("RS256", rsa1, "k1", claims("hal"))).statusCode());
    provider.status = 503;
    try {
      int before = provider.fetches.get();
      refused(post(stack, sign("RS256", rsa2, "k2", claims("hal"))), "key (kid)");
      assertEquals(before + 1, provider.fetches.get());
      assertEquals(200, post(stack, sign("RS256", rsa1, "k1", claims("hal"))).statusCode());
    } finally {
      provider.status = 200;
    }
  }

  @Test
  void theProxyDoesNotStartWithoutItsKeySet() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    String down = "http://127.0.0.1:" + closedPort + "/jwks.json";
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> TestStack.start(Map.of("JWT_JWKS_URL", down)).close());
    assertTrue(e.getMessage().contains("JWT_JWKS_URL " + down + " could not be loaded"), e.getMessage());

    Provider notFound = Provider.start(jwks(rsaJwk("k1", rsa1)));
    notFound.status = 404;
    e = assertThrows(IllegalStateException.class, () -> TestStack.start(Map.of("JWT_JWKS_URL", notFound.url())));
    assertTrue(e.getMessage().contains("answered HTTP 404"), e.getMessage());

    Provider symmetric = Provider.start(jwks(new JsonObject().put("kty", "oct").put("kid", "s1").put("alg", "HS256")
        .put("k", Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[32]))));
    e = assertThrows(IllegalStateException.class, () -> TestStack.start(Map.of("JWT_JWKS_URL", symmetric.url())));
    assertTrue(e.getMessage().contains("no signature keys"), e.getMessage());

    // A key vertx-auth-jwt cannot load (here an encryption key that does not say "use": "enc") is left out; a
    // verifier left with none would take unsigned tokens ("h.p.", as it did with such a JWT_JWKS_FILE before).
    JsonObject unusable = rsaJwk("e1", rsa1).put("alg", "RSA-OAEP");
    unusable.remove("use");
    Provider useless = Provider.start(jwks(unusable));
    e = assertThrows(IllegalStateException.class, () -> TestStack.start(Map.of("JWT_JWKS_URL", useless.url())));
    assertTrue(e.getMessage().contains("no signature keys this proxy can use"), e.getMessage());
    Path file = Files.writeString(Files.createTempFile("csp-jwks", ".json"), jwks(unusable).encode());
    e = assertThrows(IllegalStateException.class, () -> TestStack.start(Map.of("JWT_JWKS_FILE", file.toString())));
    assertTrue(e.getMessage().contains("none of the configured keys can be used"), e.getMessage());
    Files.delete(file);

    e = assertThrows(IllegalStateException.class, () -> TestStack.start(Map.of("JWT_JWKS_URL", "ftp://x/jwks")));
    assertTrue(e.getMessage().contains("JWT_JWKS_URL must be an http or https URL"), e.getMessage());
  }

  @Test
  void unsignedTokensAndTokensWhoseAlgorithmIsNotTheKeysAreRefused() {
    provider.serve(jwks(rsaJwk("k1", rsa1)));
    JsonObject claims = claims("ivy");
    String none = part(new JsonObject().put("alg", "none").put("typ", "JWT").put("kid", "k1")) + "." + part(claims);
    refused(post(stack, none + "."), "not signed");
    refused(post(stack, none + ".c2lnbmF0dXJl"), "not signed");
    String noneUpper = part(new JsonObject().put("alg", "NONE").put("kid", "k1")) + "." + part(claims) + ".";
    refused(post(stack, noneUpper), "not signed");
    // HS256 "signed" with the RSA public key as the secret: the old key-confusion attack.
    String publicPem = pem(rsa1.getPublic().getEncoded());
    JWTAuth confused = JWTAuth.create(VERTX, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions()
        .setAlgorithm("HS256").setBuffer(publicPem).setId("k1")));
    refused(post(stack, confused.generateToken(claims, new JWTOptions().setAlgorithm("HS256"))), "not valid");
    // The right private key, the wrong algorithm: the set says k1 is for RS256.
    refused(post(stack, sign("RS384", rsa1, "k1", claims)), "not valid");
    refused(post(stack, sign("PS256", rsa1, "k1", claims)), "not valid");
  }

  private static void refused(HttpResponse<Buffer> r, String says) {
    assertEquals(401, r.statusCode(), r.bodyAsString());
    JsonObject body = r.bodyAsJsonObject();
    assertEquals("error", body.getString("type"));
    JsonObject error = body.getJsonObject("error");
    assertEquals("authentication_error", error.getString("type"));
    assertTrue(error.getString("message").contains(says), error.getString("message"));
  }

  private static HttpResponse<Buffer> post(TestStack target, String token) {
    return TestStack.await(send(target, token));
  }

  private static Future<HttpResponse<Buffer>> send(TestStack target, String token) {
    return WEB.postAbs(target.proxyUrl() + "/v1/messages")
        .putHeader("content-type", "application/json")
        .putHeader("authorization", "Bearer " + token)
        .putHeader("anthropic-version", "2023-06-01")
        .sendBuffer(Buffer.buffer(BODY));
  }

  private static JsonObject claims(String sub) {
    long now = System.currentTimeMillis() / 1000;
    return new JsonObject().put("sub", sub).put("iat", now).put("exp", now + 600);
  }

  private static String sign(String alg, KeyPair pair, String kid, JsonObject claims) {
    JWTAuth auth = JWTAuth.create(VERTX, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm(alg)
        .setBuffer(pem(pair.getPrivate().getEncoded(), "PRIVATE KEY")).setId(kid)));
    return auth.generateToken(claims.copy(), new JWTOptions().setAlgorithm(alg).setNoTimestamp(true));
  }

  private static JsonObject jwks(JsonObject... keys) {
    return new JsonObject().put("keys", new JsonArray(Arrays.asList((Object[]) keys)));
  }

  private static JsonObject rsaJwk(String kid, KeyPair pair) {
    RSAPublicKey key = (RSAPublicKey) pair.getPublic();
    return new JsonObject().put("kty", "RSA").put("alg", "RS256").put("use", "sig").put("kid", kid)
        .put("n", b64(key.getModulus(), 0)).put("e", b64(key.getPublicExponent(), 0));
  }

  private static JsonObject ecJwk(String kid, KeyPair pair) {
    ECPublicKey key = (ECPublicKey) pair.getPublic();
    return new JsonObject().put("kty", "EC").put("crv", "P-256").put("alg", "ES256").put("kid", kid)
        .put("x", b64(key.getW().getAffineX(), 32)).put("y", b64(key.getW().getAffineY(), 32));
  }

  /** Unsigned big-endian bytes, left-padded to {@code length} when it is not 0, base64url. */
  private static String b64(BigInteger value, int length) {
    byte[] bytes = value.toByteArray();
    int skip = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
    byte[] unsigned = Arrays.copyOfRange(bytes, skip, bytes.length);
    if (length > unsigned.length) {
      byte[] padded = new byte[length];
      System.arraycopy(unsigned, 0, padded, length - unsigned.length, unsigned.length);
      unsigned = padded;
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(unsigned);
  }

  private static String part(JsonObject json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.encode().getBytes(StandardCharsets.UTF_8));
  }

  private static String pem(byte[] der) {
    return pem(der, "PUBLIC KEY");
  }

  private static String pem(byte[] der, String type) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  /** An identity provider's key-set endpoint: serves what it is given, counts the requests, can answer late or fail. */
  private static final class Provider {
    final AtomicInteger fetches = new AtomicInteger();
    volatile JsonObject document;
    volatile int status = 200;
    volatile long delayMs;
    private int port;

    static Provider start(JsonObject document) {
      Provider provider = new Provider();
      provider.document = document;
      HttpServer server = VERTX.createHttpServer().requestHandler(req -> {
        provider.fetches.incrementAndGet();
        JsonObject served = provider.document;
        int status = provider.status;
        Runnable answer = () -> req.response().setStatusCode(status).putHeader("content-type", "application/json")
            .end(status == 200 ? served.encode() : "{\"error\":\"unavailable\"}");
        if (provider.delayMs > 0) {
          VERTX.setTimer(provider.delayMs, id -> answer.run());
        } else {
          answer.run();
        }
      });
      provider.port = TestStack.await(server.listen(0, "127.0.0.1")).actualPort();
      return provider;
    }

    void serve(JsonObject document) {
      this.document = document;
    }

    String url() {
      return "http://127.0.0.1:" + port + "/.well-known/jwks.json";
    }
  }
}
