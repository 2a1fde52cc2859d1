package org.diffusion4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.diffusion4j.distributed.DistConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Starts the local ranks of a data-parallel job, as {@code torchrun} does: one JVM per rank with the same class path
 * and JVM options, each given {@code --world-size/--rank/--master}. When a rank fails, the others are stopped.
 */
@Command(name = "launch", mixinStandardHelpOptions = true,
        description = "Run a training command as several local data-parallel processes, e.g. "
                + "'launch --nproc 2 -- train --data mnist --out m.safetensors'. On several hosts, run launch on each "
                + "with --nnodes, --node-rank and the same --master.")
final class LaunchCommand implements Callable<Integer> {
    @Option(names = "--nproc", defaultValue = "2", description = "Processes on this host (default: ${DEFAULT-VALUE}).")
    int nproc;

    @Option(names = "--nnodes", defaultValue = "1", description = "Hosts in the job (default: ${DEFAULT-VALUE}).")
    int nnodes;

    @Option(names = "--node-rank", defaultValue = "0", description = "This host's index in [0, --nnodes); host 0 runs "
            + "rank 0 (default: ${DEFAULT-VALUE}).")
    int nodeRank;

    @Option(names = "--master", description = "HOST:PORT for rank 0's rendezvous (default with one host: a free "
            + "loopback port; required with several).")
    String master;

    @Option(names = "--threads-per-rank", description = "Intra-op threads of each rank (default: this host's cores "
            + "divided by --nproc, at least 1).")
    Integer threads;

    @Option(names = "--grace", defaultValue = "30", description = "Seconds the other ranks get to report their own "
            + "error after one fails, before they are killed (default: ${DEFAULT-VALUE}).")
    int grace;

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The command for every rank (only 'train').")
    List<String> command;

    /**
     * The command for local rank {@code local}: a bare {@code --device cuda} becomes {@code cuda:local}, one GPU per
     * local rank as torchrun's LOCAL_RANK convention has it; an explicit {@code cuda:N} or {@code cpu} is kept.
     */
    static List<String> withLocalDevice(List<String> command, int local) {
        List<String> out = new ArrayList<>(command);
        for (int i = 0; i < out.size(); i++) {
            String a = out.get(i);
            if (a.equals("--device=cuda")) {
                out.set(i, "--device=cuda:" + local);
            } else if (a.equals("--device") && i + 1 < out.size() && out.get(i + 1).equals("cuda")) {
                out.set(i + 1, "cuda:" + local);
            }
        }
        return out;
    }

    @Override
    public Integer call() throws Exception {
        if (nproc < 1) {
            throw new IllegalArgumentException("--nproc must be >= 1, got " + nproc);
        }
        if (nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes) {
            throw new IllegalArgumentException("--node-rank must be in [0, --nnodes " + nnodes + "), got " + nodeRank);
        }
        if (grace < 0) {
            throw new IllegalArgumentException("--grace must be >= 0, got " + grace);
        }
        if (!command.get(0).equals("train")) {
            throw new IllegalArgumentException("launch runs 'train' on every rank, got '" + command.get(0) + "'");
        }
        for (String a : command) {
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (List.of("--world-size", "--rank", "--master").contains(name)) {
                throw new IllegalArgumentException("launch sets " + name + " itself; leave it out of the command");
            }
        }
        int cores = Runtime.getRuntime().availableProcessors();
        int perRank = threads != null ? threads : Math.max(1, cores / nproc);
        if (perRank < 1) {
            throw new IllegalArgumentException("--threads-per-rank must be >= 1, got " + perRank);
        }
        String masterSpec = master;
        if (masterSpec == null) {
            if (nnodes > 1) {
                throw new IllegalArgumentException("--master HOST:PORT is required with --nnodes > 1");
            }
            masterSpec = "127.0.0.1:" + freePort();
        } else {
            DistConfig.parseMaster(masterSpec);
        }
        int world = nproc * nnodes;
        List<Process> ranks = new CopyOnWriteArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        // Ctrl-C or a kill of launch must not leave ranks running on their own.
        Thread stopRanks = new Thread(() -> ranks.forEach(Process::destroy), "launch-stop-ranks");
        Runtime.getRuntime().addShutdownHook(stopRanks);
        List<String> java = javaCommand(perRank);
        try {
            for (int local = 0; local < nproc; local++) {
                int rank = nodeRank * nproc + local;
                List<String> cmd = new ArrayList<>(java);
                cmd.addAll(withLocalDevice(command, local));
                cmd.addAll(List.of("--world-size", String.valueOf(world), "--rank", String.valueOf(rank),
                        "--master", masterSpec));
                ProcessBuilder pb = new ProcessBuilder(cmd);
                if (rank == 0) {
                    // Straight to the terminal, so that its progress bar redraws in place.
                    pb.inheritIO();
                }
                Process p = pb.start();
                ranks.add(p);
                if (rank != 0) {
                    pumps.add(pump(p.getInputStream(), System.out, "[rank " + rank + "] "));
                    pumps.add(pump(p.getErrorStream(), System.err, "[rank " + rank + "] "));
                }
            }
            System.err.printf("launch: %d rank(s) on this host of %d, master %s, %d thread(s) each%n", nproc, world,
                    masterSpec, perRank);
            int code = waitAll(ranks);
            for (Thread t : pumps) {
                t.join(5000);
            }
            return code;
        } finally {
            for (Process p : ranks) {
                p.destroyForcibly();
            }
            Runtime.getRuntime().removeShutdownHook(stopRanks);
        }
    }

    /** Waits for every rank; after the first failure, gives the rest {@code grace} seconds, then kills them. */
    private int waitAll(List<Process> ranks) throws InterruptedException {
        int firstFailure = 0;
        long deadline = Long.MAX_VALUE;
        List<Process> running = new ArrayList<>(ranks);
        while (!running.isEmpty()) {
            for (Process p : List.copyOf(running)) {
                if (!p.isAlive()) {
                    running.remove(p);
                    int code = p.exitValue();
                    if (code != 0 && firstFailure == 0) {
                        firstFailure = code;
                        System.err.printf("launch: rank %d exited with %d; stopping the others within %d s%n",
                                ranks.indexOf(p) + nodeRank * nproc, code, grace);
                        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(grace);
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                for (Process p : running) {
                    p.destroyForcibly();
                }
            }
            if (!running.isEmpty()) {
                running.get(0).waitFor(200, TimeUnit.MILLISECONDS);
            }
        }
        return firstFailure;
    }

    /** This JVM's java binary, options and class path, with the rank's thread count. */
    private static List<String> javaCommand(int threads) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-Ddiffusion4j.threads=") && !a.startsWith("-agentlib:jdwp")) {
                cmd.add(a);
            }
        }
        cmd.add("-Ddiffusion4j.threads=" + threads);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        return cmd;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static Thread pump(InputStream in, PrintStream out, String prefix) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (out) {
                        out.println(prefix + line);
                    }
                }
            } catch (IOException ignored) {
                // The rank's stream closed with it.
            }
        }, "launch-pump");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
