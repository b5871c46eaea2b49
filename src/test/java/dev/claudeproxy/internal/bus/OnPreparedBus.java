package dev.claudeproxy.internal.bus;

import dev.claudeproxy.TestStack;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** Tests of what travels on the bus: one Vert.x per test class, its bus prepared as the proxy prepares it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OnPreparedBus {
  protected Vertx vertx;

  @BeforeAll
  void prepareBus() {
    vertx = Vertx.vertx();
    LocalBus.prepare(vertx);
  }

  @AfterAll
  void closeBus() {
    TestStack.await(vertx.close());
  }
}
