package org.diffusion4j.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Starts a main class in a separate JVM with this test run's classpath, so that a test can kill it with SIGKILL
 * (crash tests) or run it under another mount namespace. Output goes to files in the given folder.
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** The command line: this JVM's java binary and classpath, the project's native-memory setting, then args. */
    public static List<String> command(String mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-Xmx1g");
        cmd.add("-Dorg.bytedeco.javacpp.maxPhysicalBytes=0");
        // The test JVM's data sources, so a child finds (or fetches into) the same places.
        for (String key : new String[] {"diffusion4j.data", "diffusion4j.cache"}) {
            String value = System.getProperty(key);
            if (value != null) {
                cmd.add("-D" + key + "=" + value);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Starts {@code cmd} with stdout and stderr going to {@code logs}/NAME.out and NAME.err. */
    public static Process start(List<String> cmd, Path logs, String name) throws IOException {
        return start(cmd, logs, name, Map.of());
    }

    /** As above, with extra environment variables. */
    public static Process start(List<String> cmd, Path logs, String name, Map<String, String> env)
            throws IOException {
        Files.createDirectories(logs);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(logs.resolve(name + ".out").toFile())
                .redirectError(logs.resolve(name + ".err").toFile());
        // The launcher's native settings (see the diffusion4j script).
        pb.environment().putIfAbsent("GOMP_SPINCOUNT", "10000");
        pb.environment().putIfAbsent("MALLOC_TRIM_THRESHOLD_", "1073741824");
        pb.environment().putIfAbsent("MALLOC_MMAP_THRESHOLD_", "33554432");
        pb.environment().putIfAbsent("MALLOC_ARENA_MAX", "1");
        pb.environment().putIfAbsent("MALLOC_TOP_PAD_", "536870912");
        pb.environment().putAll(env);
        return pb.start();
    }

    /** Polls {@code condition} every 5 ms until it holds; fails if the process ends first or after the timeout. */
    public static void awaitWhileAlive(Process p, BooleanSupplier condition, long timeoutSeconds, Path logs, String name)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!condition.getAsBoolean()) {
            if (!p.isAlive()) {
                throw new AssertionError(name + " exited with " + p.exitValue() + " before the awaited state: "
                        + Files.readString(logs.resolve(name + ".err")));
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new AssertionError(name + " did not reach the awaited state in " + timeoutSeconds + " s");
            }
            Thread.sleep(5);
        }
    }

    /** SIGKILL (on Linux, {@link Process#destroyForcibly} is kill -9) and wait for the process to be gone. */
    public static void kill9(Process p) throws InterruptedException {
        p.destroyForcibly();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("process " + p.pid() + " survived SIGKILL");
        }
    }

    /** Waits for a normal exit and returns its code; fails after the timeout. */
    public static int await(Process p, long timeoutSeconds) throws InterruptedException {
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("process " + p.pid() + " still running after " + timeoutSeconds + " s");
        }
        return p.exitValue();
    }
}
