package org.diffusion4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.ParameterShapes;

/**
 * Runs Jazzer's coverage-guided fuzzer on a target class ({@code public static void fuzzerTestOneInput(byte[])}) in a
 * child JVM for a bounded time. Any exception escaping the target is a finding and fails the calling test, which
 * then prints the input and the stack trace. Seeds are written to a fresh corpus folder first.
 */
public final class Fuzzing {
    /** Seconds per fuzz target in the suite: long enough for tens of thousands of inputs, short enough for CI. */
    public static final int SECONDS = 25;

    private Fuzzing() {}

    /** Fuzzes {@code target} from {@code seeds}; fails with the fuzzer's report on any finding. */
    public static void run(Class<?> target, Path work, Map<String, byte[]> seeds) throws Exception {
        Path corpus = Files.createDirectories(work.resolve("corpus"));
        for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
            Files.write(corpus.resolve(e.getKey()), e.getValue());
        }
        Path findings = Files.createDirectories(work.resolve("findings"));
        List<String> cmd = ChildJvm.command("com.code_intelligence.jazzer.Jazzer",
                "--target_class=" + target.getName(), "--reproducer_path=" + findings,
                "-max_total_time=" + SECONDS, "-seed=1", "-timeout=60", "-rss_limit_mb=0",
                "-artifact_prefix=" + findings + "/", corpus.toString());
        Process p = ChildJvm.start(cmd, work, "jazzer", Map.of(INPUT_ENV, work.resolve("input").toString()));
        int code = ChildJvm.await(p, SECONDS + 120);
        String log = Files.readString(work.resolve("jazzer.err"));
        assertThat(code).as("Jazzer found an input that escapes the format errors:%n%s",
                log.substring(Math.max(0, log.length() - 4000))).isZero();
        // The fuzzer really ran: libFuzzer reports its executions when it stops.
        assertThat(log).contains("Done ");
        System.out.println(target.getSimpleName() + ": " + log.lines().filter(l -> l.startsWith("Done ")).findFirst()
                .orElse(""));
    }

    /** The environment variable naming the file a file-based target writes each input to. */
    public static final String INPUT_ENV = "D4J_FUZZ_INPUT";

    /** For a file-based reader: writes {@code data} to the fuzz process's input file and returns its path. */
    public static Path asFile(byte[] data, String extension) {
        Path file = Path.of(System.getenv(INPUT_ENV) + extension);
        try {
            Files.write(file, data);
            return file;
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the fuzz input file " + file, e);
        }
    }

    /**
     * For a config reader: {@code data} as a config.json, read by {@code read} into a config whose parameter list is
     * returned; a refusal must name the file, and the list must stay small. Anything else is a finding.
     */
    public static void readsConfig(byte[] data, BiFunction<JsonNode, String, ParameterShapes> read) {
        Path f = asFile(data, "-config.json");
        try {
            ParameterShapes shapes = read.apply(Json.readFile(f), f.toString());
            if (shapes.asMap().size() > 1_000_000) {
                throw new AssertionError("a config listing " + shapes.asMap().size() + " parameters");
            }
        } catch (IOException e) {
            requireNamesFile(e, f);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() == null || !e.getMessage().contains(f.toString())) {
                throw new AssertionError("error does not name the file " + f + ": " + e, e);
            }
        }
    }

    /** A reader's error must name the file it was reading; anything else is a finding. */
    public static void requireNamesFile(IOException e, Path file) {
        if (e.getMessage() == null || !e.getMessage().contains(file.toString())) {
            throw new AssertionError("error does not name the file " + file + ": " + e, e);
        }
    }
}
