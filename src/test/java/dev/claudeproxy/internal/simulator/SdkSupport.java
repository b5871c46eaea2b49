package dev.claudeproxy.internal.simulator;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.ObjectMappers;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.Tool;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/**
 * Helpers for the SDK tests. Only API present in both SDK lines (2.57 and 3.12) is used here, since the
 * {@code sdk}-tagged tests run against each.
 */
final class SdkSupport {
  static final String KEY = "sk-ant-sim-test";

  private SdkSupport() {
  }

  static AnthropicClient client(Simulator sim, int maxRetries) {
    return AnthropicOkHttpClient.builder().baseUrl(sim.baseUrl()).apiKey(KEY).maxRetries(maxRetries).build();
  }

  /** The request body exactly as the SDK serialises it, which is what the simulator seeds its reply from. */
  static JsonObject body(MessageCreateParams params) {
    try {
      return new JsonObject(ObjectMappers.jsonMapper().writeValueAsString(params._body()));
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }

  static String json(JsonValue value) {
    try {
      return ObjectMappers.jsonMapper().writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }

  /** The SDK form of {@link SseFramingTest#weatherTool()}. */
  static Tool weatherTool() {
    JsonObject schema = SseFramingTest.weatherTool().getJsonObject("input_schema");
    Tool.InputSchema.Properties.Builder props = Tool.InputSchema.Properties.builder();
    for (Map.Entry<String, Object> e : schema.getJsonObject("properties")) {
      // Through Jackson, so nested objects become plain maps the SDK serialises as JSON objects.
      props.putAdditionalProperty(e.getKey(), JsonValue.from(toMap((JsonObject) e.getValue())));
    }
    @SuppressWarnings("unchecked")
    List<String> required = schema.getJsonArray("required").getList();
    return Tool.builder()
        .name("get_weather")
        .description("Weather for a place")
        .inputSchema(Tool.InputSchema.builder().properties(props.build()).required(required).build())
        .build();
  }

  private static Map<?, ?> toMap(JsonObject o) {
    try {
      return ObjectMappers.jsonMapper().readValue(o.encode(), Map.class);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }

  static String sdkLine() {
    return System.getProperty("anthropic.sdk.line", "3");
  }
}
