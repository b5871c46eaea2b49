package dev.claudeproxy.internal.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The limit windows, driven by a clock the test moves. */
class LimiterTest {
  private final AtomicLong now = new AtomicLong(1_700_000_000_000L);
  private final AtomicLong usedToday = new AtomicLong();
  /** The sweep of idle users runs in place, at the admission that starts it, so its effect can be checked at once. */
  private final Limiter limiter = new Limiter(now::get, user -> usedToday.get(), Runnable::run);

  private static Caller caller(Limits limits) {
    return new Caller("alice", "team", false, limits, "api_key");
  }

  @Test
  void requestsPerMinuteRollOverAfterAMinute() {
    Caller alice = caller(new Limits(null, null, 2, null, null, null, null));
    assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
    now.addAndGet(10_000);
    assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
    Limiter.Refusal refusal = assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice));
    assertEquals("requests_per_minute", refusal.limit());
    assertEquals(429, refusal.error().status());
    assertEquals(50, refusal.retryAfterSeconds(), "the first request leaves the window 50 s from now");
    now.addAndGet(50_000);
    assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
  }

  @Test
  void concurrentStreamsAreGivenBackWhenTheyEnd() {
    Caller alice = caller(new Limits(null, null, null, null, 1, null, null));
    Limiter.Admission first = assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
    assertEquals("concurrent_streams", assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice)).limit());
    first.close();
    first.close(); // twice is harmless
    Limiter.Admission second = assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
    assertEquals("concurrent_streams", assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice)).limit());
    second.close();
  }

  @Test
  void tokensPerMinuteCountFinishedCalls() {
    Caller alice = caller(new Limits(null, null, null, 1000L, null, null, null));
    assertInstanceOf(Limiter.Admission.class, limiter.admit(alice)).close();
    limiter.recordTokens("alice", 600);
    now.addAndGet(20_000);
    limiter.recordTokens("alice", 500);
    Limiter.Refusal refusal = assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice));
    assertEquals("tokens_per_minute", refusal.limit());
    assertEquals(40, refusal.retryAfterSeconds(), "below the limit once the 600 leave the window");
    now.addAndGet(40_000);
    assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
  }

  @Test
  void noWindowIsKeptForALimitTheUserDoesNotHave() {
    Caller unlimited = caller(new Limits(null, null, null, null, null, null, null));
    for (int i = 0; i < 100; i++) {
      assertInstanceOf(Limiter.Admission.class, limiter.admit(unlimited)).close();
      limiter.recordTokens("alice", 1000);
    }
    // Had the windows been kept (a minute of every request and count: heap for nothing), these limits would refuse.
    Caller limited = caller(new Limits(null, null, 2, 1000L, null, null, null));
    assertInstanceOf(Limiter.Admission.class, limiter.admit(limited)).close();
    limiter.recordTokens("alice", 1000);
    assertEquals("tokens_per_minute", assertInstanceOf(Limiter.Refusal.class, limiter.admit(limited)).limit());
  }

  @Test
  void aUserIdleForAMinuteIsForgottenAndStillLimited() {
    Limits unlimited = new Limits(null, null, null, null, null, null, null);
    for (int i = 0; i < 1000; i++) {
      assertInstanceOf(Limiter.Admission.class, limiter.admit(new Caller("user-" + i, "team", false, unlimited,
          "jwt"))).close();
    }
    Caller alice = caller(new Limits(null, null, 1, 1000L, 1, null, null));
    Limiter.Admission open = assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
    assertEquals(1001, limiter.usersKept());
    now.addAndGet(61_000);
    // The first admission a minute on sweeps: the thousand idle users go; alice, whose stream is open, stays.
    assertInstanceOf(Limiter.Admission.class, limiter.admit(new Caller("bob", "team", false, unlimited, "jwt")))
        .close();
    assertEquals(2, limiter.usersKept(), "alice (a stream in flight) and bob (just now)");
    assertEquals("concurrent_streams", assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice)).limit());
    now.addAndGet(50_000);
    open.close();
    limiter.recordTokens("alice", 1000);
    now.addAndGet(11_000);
    // A sweep: bob, idle for a minute, goes; alice's tokens are still in her window, so she stays, and they count.
    assertInstanceOf(Limiter.Admission.class, limiter.admit(new Caller("dave", "team", false, unlimited, "jwt")))
        .close();
    assertEquals(2, limiter.usersKept(), "alice (tokens in her window) and dave (just now)");
    assertEquals("tokens_per_minute", assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice)).limit(),
        "11 s after her tokens were counted, they still count");
    now.addAndGet(61_000);
    assertInstanceOf(Limiter.Admission.class, limiter.admit(new Caller("erin", "team", false, unlimited, "jwt")))
        .close();
    assertEquals(1, limiter.usersKept(), "only erin, just admitted, is left");
    assertInstanceOf(Limiter.Admission.class, limiter.admit(alice)).close();
  }

  @Test
  void theSweepRunsOffTheAdmittingThreadAndAdmissionsGoOnMeanwhile() {
    List<Runnable> sweeps = new java.util.ArrayList<>();
    Limiter limiter = new Limiter(now::get, user -> usedToday.get(), sweeps::add);
    Limits unlimited = new Limits(null, null, null, null, null, null, null);
    for (int i = 0; i < 100; i++) {
      assertInstanceOf(Limiter.Admission.class, limiter.admit(new Caller("user-" + i, "team", false, unlimited,
          "jwt"))).close();
    }
    now.addAndGet(61_000);
    Caller alice = caller(new Limits(null, null, null, null, 1, null, null));
    Limiter.Admission open = assertInstanceOf(Limiter.Admission.class, limiter.admit(alice));
    assertEquals(1, sweeps.size(), "a minute on, the admission hands a sweep over");
    assertEquals(101, limiter.usersKept(), "and does not wait for it");
    // A user admitted again before the sweep runs is not idle, so it stays; the others go.
    assertInstanceOf(Limiter.Admission.class, limiter.admit(new Caller("user-7", "team", false, unlimited, "jwt")))
        .close();
    sweeps.get(0).run();
    assertEquals(2, limiter.usersKept(), "alice (a stream in flight) and user-7 (just now)");
    assertEquals("concurrent_streams", assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice)).limit());
    open.close();
    assertEquals(1, sweeps.size(), "at most one sweep a minute");
  }

  @Test
  void theDailyBudgetRenewsAtMidnightUtc() {
    now.set(java.time.Instant.parse("2026-11-21T23:59:00Z").toEpochMilli());
    Caller alice = caller(new Limits(null, null, null, null, null, 5000L, null));
    usedToday.set(5000);
    Limiter.Refusal refusal = assertInstanceOf(Limiter.Refusal.class, limiter.admit(alice));
    assertEquals("daily_tokens", refusal.limit());
    assertEquals(60, refusal.retryAfterSeconds());
  }

  @Test
  void usersDoNotShareLimits() {
    Limits one = new Limits(null, null, null, null, 1, null, null);
    assertInstanceOf(Limiter.Admission.class, limiter.admit(caller(one)));
    assertInstanceOf(Limiter.Admission.class, limiter.admit(new Caller("bob", null, false, one, "jwt")));
  }

  @Test
  void userOverridesReplaceOnlyWhatTheySet() {
    Limits tier = new Limits(List.of("claude-sonnet-4-6"), 4096, 60, 200_000L, 4, 5_000_000L, "Be Acme.");
    Limits merged = tier.overriddenBy(new Limits(null, null, null, null, 50, null, null));
    assertEquals(50, merged.concurrentStreams());
    assertEquals(4096, merged.maxTokens());
    assertEquals("Be Acme.", merged.system());
    assertEquals(List.of("claude-sonnet-4-6"), merged.models());
  }
}
