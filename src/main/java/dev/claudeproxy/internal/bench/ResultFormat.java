package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Iterator;
import java.util.Map;

/**
 * Numbers and JSON written as the Python bench wrote them, so that bench/results.md keeps its look: {@code f"{x:.2f}"}
 * (rounding the double's exact value half to even, "nan" for NaN), {@code str(x)} of a JSON number, and
 * {@code json.dumps(x)} on one line.
 */
final class ResultFormat {
  private ResultFormat() {}

  /** {@code f"{x:.<digits>f}"}. */
  static String fixed(double x, int digits) {
    if (Double.isNaN(x)) {
      return "nan";
    }
    if (Double.isInfinite(x)) {
      return x > 0 ? "inf" : "-inf";
    }
    String s = new BigDecimal(x).setScale(digits, RoundingMode.HALF_EVEN).toPlainString();
    // Python keeps the sign of a negative number rounded to zero ("-0.00").
    if ((x < 0 || (x == 0 && 1 / x < 0)) && !s.startsWith("-")) {
      s = "-" + s;
    }
    return s;
  }

  static String f2(double x) {
    return fixed(x, 2);
  }

  /** {@code f"{x:+.2f}"}. */
  static String signed2(double x) {
    String s = fixed(x, 2);
    return s.startsWith("-") || Double.isNaN(x) ? (Double.isNaN(x) ? "+nan" : s) : "+" + s;
  }

  /** {@code str(x)} of a number as Python's json module read it: an int as an int, a float with Python's repr. */
  static String str(JsonNode x) {
    if (x == null || x.isMissingNode() || x.isNull()) {
      return "–";
    }
    if (x.isIntegralNumber()) {
      return x.asText();
    }
    if (x.isNumber()) {
      return repr(x.doubleValue());
    }
    return x.asText();
  }

  /** Python's {@code repr(float)} for the numbers a bench sees. */
  static String repr(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == Math.rint(d) && Math.abs(d) < 1e16) {
      return BigDecimal.valueOf(d).setScale(1, RoundingMode.UNNECESSARY).toPlainString();
    }
    double abs = Math.abs(d);
    if (abs >= 1e-4 && abs < 1e16) {
      // The shortest decimal that reads back as d, in plain notation.
      return new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
    }
    String s = Double.toString(d).replace("E", "e");
    int e = s.indexOf('e');
    String mantissa = s.substring(0, e);
    if (mantissa.endsWith(".0")) {
      mantissa = mantissa.substring(0, mantissa.length() - 2);
    }
    int exponent = Integer.parseInt(s.substring(e + 1));
    return mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
  }

  /** {@code json.dumps(x)}: one line, {@code ", "} and {@code ": "} between items. */
  static String dumps(JsonNode x) {
    StringBuilder out = new StringBuilder();
    dump(x, out);
    return out.toString();
  }

  private static void dump(JsonNode x, StringBuilder out) {
    if (x == null || x.isNull() || x.isMissingNode()) {
      out.append("null");
    } else if (x.isObject()) {
      out.append('{');
      boolean first = true;
      for (Iterator<Map.Entry<String, JsonNode>> it = x.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        out.append(first ? "" : ", ");
        first = false;
        string(e.getKey(), out);
        out.append(": ");
        dump(e.getValue(), out);
      }
      out.append('}');
    } else if (x.isArray()) {
      out.append('[');
      for (int i = 0; i < x.size(); i++) {
        out.append(i == 0 ? "" : ", ");
        dump(x.get(i), out);
      }
      out.append(']');
    } else if (x.isTextual()) {
      string(x.asText(), out);
    } else if (x.isBoolean()) {
      out.append(x.asBoolean() ? "true" : "false");
    } else if (x.isIntegralNumber()) {
      out.append(x.asText());
    } else {
      double d = x.doubleValue();
      out.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : repr(d));
    }
  }

  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || c > 0x7e) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
