package dev.claudeproxy.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.TestStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The start banner says where the proxy really listens, and the README shows it as printed. */
class BannerTest {
  @Test
  void namesTheAddressAsBoundAndTheUrlToOpen() {
    assertEquals("Claude Stream Proxy listening on 0.0.0.0:8080 (all interfaces); open http://127.0.0.1:8080/",
        ServeCommand.listening("0.0.0.0", 8080));
    assertEquals("Claude Stream Proxy listening on 127.0.0.1:8080 (this machine only); open http://127.0.0.1:8080/",
        ServeCommand.listening("127.0.0.1", 8080));
    assertEquals("Claude Stream Proxy listening on [::]:9000 (all interfaces); open http://127.0.0.1:9000/",
        ServeCommand.listening("::", 9000));
    assertEquals("Claude Stream Proxy listening on 10.1.2.3:8080; open http://10.1.2.3:8080/",
        ServeCommand.listening("10.1.2.3", 8080));
  }

  @Test
  void saysWhereMetricsAndHealthAreServed() {
    try (TestStack apart = TestStack.start(Map.of("PROXY_MANAGEMENT_PORT", 0))) {
      List<String> lines = ServeCommand.banner(apart.proxy);
      assertEquals(ServeCommand.listening("127.0.0.1", apart.proxy.port()), lines.get(0));
      assertEquals("Metrics and health on 127.0.0.1:" + apart.proxy.managementPort()
          + " only: /metrics, /health/live, /health/ready", lines.get(1));
    }
  }

  @Test
  void theReadmeShowsTheBannerOfTheDefaultSettings() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    assertTrue(readme.contains(ServeCommand.listening("0.0.0.0", 8080) + "\n" + ServeCommand.management("127.0.0.1",
        -1) + "\n"), "README's example banner is what scripts/run prints");
  }
}
