package org.diffusion4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One Java-against-PyTorch comparison measured in alternated rounds: the figures of each side and the ratio taken
 * round by round (Java / the faster of PyTorch's two settings in that round), so that a load that comes and goes
 * weighs on both sides of a ratio alike.
 *
 * @param java   Java's figure per round
 * @param torch  PyTorch's figure per round (its faster setting)
 */
record Rounds(double[] java, double[] torch) {
    /** Spread (max - min) / median above which a side is too noisy to judge a target. */
    static final double UNSTABLE_SPREAD = 0.20;

    /** The numeric fields a round's result is summarised by. */
    private static final List<String> TIMED = List.of("step_ms", "forward_ms", "sample_ms", "peak_rss_mb");

    /**
     * The rounds of {@code cfg}'s {@code mode} ("train", "forward", "sample") read at {@code key}; null when a side
     * has no round. Rounds where either side failed are left out.
     */
    static Rounds of(Map<String, List<JsonNode>> rounds, String cfg, String mode, String key) {
        List<JsonNode> j = rounds.get(cfg + "/java-" + mode + "-fp32");
        List<JsonNode> a = rounds.get(cfg + "/torch-" + mode);
        List<JsonNode> b = rounds.get(cfg + "/torch-" + mode + "-blas1");
        if (j == null || (a == null && b == null)) {
            return null;
        }
        int n = Math.min(j.size(), Math.max(a == null ? 0 : a.size(), b == null ? 0 : b.size()));
        double[] java = new double[n];
        double[] torch = new double[n];
        for (int i = 0; i < n; i++) {
            java[i] = j.get(i).get(key).asDouble();
            double ta = a != null && i < a.size() ? a.get(i).get(key).asDouble() : Double.POSITIVE_INFINITY;
            double tb = b != null && i < b.size() ? b.get(i).get(key).asDouble() : Double.POSITIVE_INFINITY;
            torch[i] = Math.min(ta, tb);
        }
        return n == 0 ? null : new Rounds(java, torch);
    }

    /** Ratio per round. */
    double[] ratios() {
        double[] r = new double[java.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = java[i] / torch[i];
        }
        return r;
    }

    /**
     * PASS when every round's ratio is at most {@code target}, UNSTABLE when either side's spread exceeds 20% (the
     * machine was too noisy to tell), MISS otherwise; INFO without a target (NaN).
     */
    String check(double target, String what) {
        double[] r = ratios();
        double spread = Math.max(spread(java), spread(torch));
        String verdict = Double.isNaN(target) ? "INFO" : spread > UNSTABLE_SPREAD ? "UNSTABLE"
                : max(r) <= target ? "PASS" : "MISS";
        return String.format(Locale.ROOT, "%s %s = %.2f (rounds %.2f-%.2f; Java %s, PyTorch %s; %d rounds, spread "
                + "%.0f%%)%s", verdict, what, median(r), min(r), max(r), summary(java), summary(torch), r.length,
                100 * spread, Double.isNaN(target) ? "" : String.format(Locale.ROOT, " (target <= %.2f in every round)",
                        target));
    }

    /** "median (min-max)". */
    static String summary(double[] v) {
        return String.format(Locale.ROOT, "%.0f (%.0f-%.0f)", median(v), min(v), max(v));
    }

    /** (max - min) / median. */
    static double spread(double[] v) {
        return (max(v) - min(v)) / median(v);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    /** The first round's result with its timed fields replaced by their medians over the rounds. */
    static JsonNode medianNode(List<JsonNode> list) {
        ObjectNode out = list.get(0).deepCopy();
        for (String key : TIMED) {
            if (out.has(key)) {
                out.put(key, median(list.stream().mapToDouble(n -> n.get(key).asDouble()).toArray()));
            }
        }
        return out;
    }
}
