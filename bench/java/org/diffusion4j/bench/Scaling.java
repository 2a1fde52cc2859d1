package org.diffusion4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Data-parallel scaling: the same training run (small U-Net on MNIST, same global batch and steps) as 1 process with
 * 1 thread, 2 ranks with 1 thread each (through {@code launch}, all-reducing over loopback Gloo), and 1 process with
 * 2 threads; the 2 ranks run twice, with c10d's reducer overlapping the all-reduce with backward (the default) and
 * with the all-reduce after backward. On a 2-core machine the 2 ranks compete for the cores the single process would use, so this measures
 * the cost of data parallelism, not a speed-up. Usage: Scaling WORKDIR STEPS BATCH. Prints one JSON line.
 */
public final class Scaling {
    private Scaling() {}

    private static final Pattern SECONDS = Pattern.compile("steps(?: on \\d+ ranks)? in ([0-9.]+) s");

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int steps = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        Files.createDirectories(dir);
        List<String> train = List.of("train", "--data", "mnist", "--channels", "16,32,32", "--batch-size",
                String.valueOf(batch), "--steps", String.valueOf(steps), "--overwrite");
        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        out.put("mode", "scaling").put("steps", steps).put("batch", batch)
                .put("cores", Runtime.getRuntime().availableProcessors());
        out.put("one_rank_1_thread_s", run(dir, "one1", 1, train, false, null));
        out.put("two_ranks_1_thread_s", run(dir, "two", 1, train, true, null));
        // The same 2 ranks averaging after backward instead of overlapping with it: what the overlap is worth.
        out.put("two_ranks_1_thread_after_backward_s", run(dir, "two-buckets", 1, train, true,
                "-Ddiffusion4j.gradientSync=buckets"));
        out.put("one_rank_2_threads_s", run(dir, "one2", 2, train, false, null));
        System.out.println(json.writeValueAsString(out));
    }

    /** Training seconds as the CLI reports them (the loop only: no JVM start or data loading). */
    private static double run(Path dir, String name, int threads, List<String> train, boolean launch, String property)
            throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-Dorg.bytedeco.javacpp.maxPhysicalBytes=0");
        if (property != null) {
            cmd.add(property);
        }
        cmd.add("-Ddiffusion4j.threads=" + threads);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("org.diffusion4j.cli.Main");
        if (launch) {
            cmd.addAll(List.of("launch", "--nproc", "2", "--threads-per-rank", String.valueOf(threads), "--"));
        }
        cmd.addAll(train);
        cmd.addAll(List.of("--out", dir.resolve(name + ".safetensors").toString()));
        Path log = dir.resolve(name + ".out");
        Process p = new ProcessBuilder(cmd).redirectOutput(log.toFile())
                .redirectError(dir.resolve(name + ".err").toFile()).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(name + " failed: " + Files.readString(dir.resolve(name + ".err")));
        }
        Matcher m = SECONDS.matcher(Files.readString(log));
        if (!m.find()) {
            throw new IllegalStateException(name + ": no timing in " + log);
        }
        return Double.parseDouble(m.group(1));
    }
}
