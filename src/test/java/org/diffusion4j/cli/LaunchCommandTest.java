package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.data.Offset;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.testing.ChildJvm;
import org.diffusion4j.testing.Ports;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training in real processes on loopback: {@code launch} against one process, ranks against each other,
 * and what happens when a rank dies.
 */
class LaunchCommandTest {
    private static final String MAIN = Main.class.getName();
    private static final Pattern DIGEST = Pattern.compile("weights digest ([0-9a-f]{64})");

    @TempDir
    Path dir;

    @BeforeAll
    static void init() {
        Torch.init();
    }

    private static List<String> cmd(String... args) {
        List<String> c = new ArrayList<>(ChildJvm.command(MAIN, args));
        // One intra-op thread per process, as launch gives each of 2 ranks on 2 cores.
        c.add(1, "-Ddiffusion4j.threads=1");
        return c;
    }

    private int runToEnd(Path logs, String name, List<String> command) throws Exception {
        Process p = ChildJvm.start(command, logs, name);
        return ChildJvm.await(p, 300);
    }

    private static String read(Path logs, String file) throws IOException {
        return Files.readString(logs.resolve(file));
    }

    private static List<String> digests(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = DIGEST.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** Every tensor of the two checkpoints (weights, EMA, Adam moments) agrees to float tolerance. */
    private static void assertSameTensors(Path a, Path b, double tolerance) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> ta = Checkpoint.load(a).tensors();
            Map<String, Tensor> tb = Checkpoint.load(b).tensors();
            assertThat(ta.keySet()).isEqualTo(tb.keySet());
            double worst = 0;
            for (String k : ta.keySet()) {
                float[] x = Tensors.toFloats(ta.get(k));
                float[] y = Tensors.toFloats(tb.get(k));
                assertThat(x).hasSameSizeAs(y);
                for (int i = 0; i < x.length; i++) {
                    worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1e-3 + Math.abs(y[i])));
                }
            }
            assertThat(worst).as("largest relative difference over all tensors").isLessThan(tolerance);
            // Not trivially equal: the run moved the weights away from their initial values.
            assertThat(Checkpoint.readSidecar(a).step()).isPositive();
        }
    }

    /**
     * Both checkpoints' networks (raw and EMA) give the same eps on the same input. For networks with normalisation:
     * a bias just before a GroupNorm has a gradient that is float noise (1e-10), which Adam scales up to lr-sized
     * steps of random sign, so such weights differ between any two summation orders while the function does not.
     */
    private static void assertSameFunction(Path a, Path b) throws IOException {
        for (boolean ema : new boolean[] {false, true}) {
            try (PointerScope scope = new PointerScope()) {
                LoadedModel ma = LoadedModel.load(a, ema);
                LoadedModel mb = LoadedModel.load(b, ema);
                long[] shape = ma.sampleShape();
                long[] batch = new long[shape.length + 1];
                batch[0] = 4;
                System.arraycopy(shape, 0, batch, 1, shape.length);
                Tensor x = Rng.of(7).randn(batch);
                NoiseLevel level = NoiseLevel.vp(300,
                        ma.schedule().alphaBar(300));
                float[] ea = Tensors.toFloats(ma.denoiser().predict(x, level).eps());
                float[] eb = Tensors.toFloats(mb.denoiser().predict(x, level).eps());
                double diff = 0;
                double norm = 0;
                for (int i = 0; i < ea.length; i++) {
                    diff += (ea[i] - eb[i]) * (double) (ea[i] - eb[i]);
                    norm += eb[i] * (double) eb[i];
                }
                assertThat(Math.sqrt(diff / norm)).as("relative L2 difference of eps, ema " + ema).isLessThan(1e-4);
            }
        }
    }

    private void twoRanksMatchOneProcess(String name, boolean sameTensors, String... train) throws Exception {
        Path logs = dir.resolve("logs");
        List<String> launch = cmd("launch", "--nproc", "2", "--threads-per-rank", "1", "--");
        launch.addAll(List.of(train));
        launch.addAll(List.of("--out", dir.resolve(name + "-2.safetensors").toString()));
        assertThat(runToEnd(logs, name + "-launch", launch)).as(read(logs, name + "-launch.err")).isZero();
        List<String> one = cmd(train);
        one.addAll(List.of("--out", dir.resolve(name + "-1.safetensors").toString()));
        assertThat(runToEnd(logs, name + "-one", one)).as(read(logs, name + "-one.err")).isZero();

        String out = read(logs, name + "-launch.out");
        assertThat(out).contains("on 2 ranks", "[rank 1] rank 1 of 2: trained");
        List<String> d = digests(out);
        assertThat(d).as("rank 0's and rank 1's digests").hasSize(2);
        assertThat(d.get(0)).isEqualTo(d.get(1));
        if (sameTensors) {
            assertSameTensors(dir.resolve(name + "-2.safetensors"), dir.resolve(name + "-1.safetensors"), 1e-4);
        } else {
            assertSameFunction(dir.resolve(name + "-2.safetensors"), dir.resolve(name + "-1.safetensors"));
        }
        // The loss logs agree step by step too (ranks average their shares' losses).
        List<String> l2 = Files.readAllLines(dir.resolve(name + "-2.loss.csv"));
        List<String> l1 = Files.readAllLines(dir.resolve(name + "-1.loss.csv"));
        assertThat(l2).hasSameSizeAs(l1);
        for (int i = 1; i < l1.size(); i++) {
            double a = Double.parseDouble(l2.get(i).split(",")[1]);
            double b = Double.parseDouble(l1.get(i).split(",")[1]);
            assertThat(a).as("loss at row " + i).isCloseTo(b, Offset.offset(1e-5 * (1 + b)));
        }
    }

    @Test
    void twoRanksTrainAClassConditionalMlpAsOneProcessWithTheGlobalBatch() throws Exception {
        twoRanksMatchOneProcess("moons", true, "train", "--data", "two-moons", "--classes", "2", "--steps", "25",
                "--batch-size", "64", "--warmup", "5");
    }

    @Test
    void twoRanksTrainAUNetOnMnistAsOneProcess() throws Exception {
        Path mnist = Shared.mnist();
        twoRanksMatchOneProcess("unet", false, "train", "--data", "mnist", "--data-dir", mnist.toString(), "--channels",
                "8,16", "--batch-size", "8", "--steps", "6", "--warmup", "2");
    }

    @Test
    void twoRanksResumeExactlyAndAnotherWorldSizeResumesTheirCheckpoint() throws Exception {
        Path logs = dir.resolve("resume");
        String[] train = {"train", "--data", "two-moons", "--steps", "12", "--batch-size", "32", "--warmup", "2"};
        List<String> straight = cmd("launch", "--nproc", "2", "--threads-per-rank", "1", "--");
        straight.addAll(List.of(train));
        straight.addAll(List.of("--checkpoint-every", "6", "--out", dir.resolve("a.safetensors").toString()));
        assertThat(runToEnd(logs, "straight", straight)).as(read(logs, "straight.err")).isZero();

        // Two ranks resume from the step-6 checkpoint: bit-identical to the uninterrupted run.
        List<String> resumed = cmd("launch", "--nproc", "2", "--threads-per-rank", "1", "--");
        resumed.addAll(List.of(train));
        resumed.addAll(List.of("--resume", dir.resolve("a-step000000006.safetensors").toString(), "--out",
                dir.resolve("b.safetensors").toString()));
        assertThat(runToEnd(logs, "resumed", resumed)).as(read(logs, "resumed.err")).isZero();
        assertThat(read(logs, "resumed.out")).contains("resumed from a-step000000006.safetensors");
        assertSameTensors(dir.resolve("b.safetensors"), dir.resolve("a.safetensors"), 1e-12);

        // One process resumes the same checkpoint: the same run up to float summation order.
        List<String> alone = cmd(train);
        alone.addAll(List.of("--resume", dir.resolve("a-step000000006.safetensors").toString(), "--out",
                dir.resolve("c.safetensors").toString()));
        assertThat(runToEnd(logs, "alone", alone)).as(read(logs, "alone.err")).isZero();
        assertSameTensors(dir.resolve("c.safetensors"), dir.resolve("a.safetensors"), 1e-4);
    }

    @Test
    void twoLaunchersActAsTwoHostsOfOneJob() throws Exception {
        // Two "hosts" on loopback: each launcher starts its one local rank, numbered by --node-rank.
        Path logs = dir.resolve("hosts");
        String master = "127.0.0.1:" + Ports.free();
        Process[] hosts = new Process[2];
        for (int node = 0; node < 2; node++) {
            hosts[node] = ChildJvm.start(cmd("launch", "--nnodes", "2", "--node-rank", String.valueOf(node), "--nproc",
                    "1", "--master", master, "--", "train", "--data", "two-moons", "--steps", "8", "--batch-size", "32",
                    "--out", dir.resolve("hosts/m.safetensors").toString()), logs, "host" + node);
        }
        for (int node = 0; node < 2; node++) {
            assertThat(ChildJvm.await(hosts[node], 300)).as(read(logs, "host" + node + ".err")).isZero();
        }
        assertThat(read(logs, "host0.out")).contains("8 steps on 2 ranks");
        assertThat(read(logs, "host1.out")).contains("[rank 1] rank 1 of 2: trained 8 steps");
        assertThat(read(logs, "host1.err")).contains("launch: 1 rank(s) on this host of 2, master " + master);
        assertThat(digests(read(logs, "host0.out"))).isEqualTo(digests(read(logs, "host1.out")));
        assertThat(dir.resolve("hosts/m.safetensors")).isNotEmptyFile();
    }

    /** Starts rank 0 and rank 1 of a long run directly, waits until both train, then kills {@code victim}. */
    private void killedRankStopsTheOther(int victim) throws Exception {
        Path logs = dir.resolve("kill" + victim);
        int port = Ports.free();
        Path out = dir.resolve("k" + victim + "/m.safetensors");
        Process[] ranks = new Process[2];
        for (int r = 0; r < 2; r++) {
            ranks[r] = ChildJvm.start(cmd("train", "--data", "two-moons", "--steps", "1000000", "--batch-size", "64",
                    "--checkpoint-every", "20", "--world-size", "2", "--rank", String.valueOf(r), "--master",
                    "127.0.0.1:" + port, "--dist-timeout", "20", "--out", out.toString()), logs, "rank" + r);
        }
        Path periodic = out.resolveSibling("m-step000000020.safetensors");
        ChildJvm.awaitWhileAlive(ranks[0], () -> Files.exists(periodic), 120, logs, "rank0");
        int survivor = 1 - victim;
        assertThat(ranks[survivor].isAlive()).isTrue();
        ChildJvm.kill9(ranks[victim]);
        long killed = System.nanoTime();
        int code = ChildJvm.await(ranks[survivor], 60);
        double seconds = (System.nanoTime() - killed) / 1e9;
        assertThat(code).isEqualTo(1);
        assertThat(seconds).as("time to notice the dead rank").isLessThan(40);
        String err = read(logs, "rank" + survivor + ".err");
        assertThat(err).contains("error: rank " + survivor + " of 2: ", "failed (a peer exited, or did not answer "
                + "within 20 s)").doesNotContain("Exception raised from");
    }

    @Test
    void whenRankOneDiesRankZeroExitsWithAnError() throws Exception {
        killedRankStopsTheOther(1);
    }

    @Test
    void whenRankZeroDiesRankOneExitsWithAnError() throws Exception {
        killedRankStopsTheOther(0);
    }

    @Test
    void stoppingLaunchStopsItsRanks() throws Exception {
        Path logs = dir.resolve("stop");
        Path out = dir.resolve("stop/m.safetensors");
        List<String> launch = cmd("launch", "--nproc", "2", "--", "train", "--data", "two-moons", "--steps", "1000000",
                "--checkpoint-every", "20", "--out", out.toString());
        Process launcher = ChildJvm.start(launch, logs, "launch");
        ChildJvm.awaitWhileAlive(launcher, () -> Files.exists(out.resolveSibling("m-step000000020.safetensors")), 120,
                logs, "launch");
        List<ProcessHandle> ranks = launcher.descendants().toList();
        assertThat(ranks).as("the two rank JVMs").hasSizeGreaterThanOrEqualTo(2);
        launcher.destroy(); // SIGTERM, as Ctrl-C or a scheduler's stop would send
        ChildJvm.await(launcher, 60);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (ranks.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(ranks).noneMatch(ProcessHandle::isAlive);
    }

    @Test
    void aProblemFoundOnOneRankStopsEveryRankWithItsMessage() throws Exception {
        Path logs = dir.resolve("pre");
        Path out = dir.resolve("exists.safetensors");
        Files.writeString(out, "not mine");
        List<String> launch = cmd("launch", "--nproc", "2", "--", "train", "--data", "two-moons", "--steps", "5",
                "--out", out.toString());
        assertThat(runToEnd(logs, "launch", launch)).isEqualTo(1);
        String err = read(logs, "launch.err");
        // Rank 0 checks the output; rank 1 learns of the problem at the start-up exchange instead of waiting.
        assertThat(err).contains("error: rank 0: --out " + out, "[rank 1] error: rank 0: --out");
        assertThat(Files.readString(out)).isEqualTo("not mine");
    }

    @Test
    void ranksRunningDifferentCommandsAreStopped() throws Exception {
        Path logs = dir.resolve("mismatch");
        int port = Ports.free();
        Process[] ranks = new Process[2];
        for (int r = 0; r < 2; r++) {
            ranks[r] = ChildJvm.start(cmd("train", "--data", "two-moons", "--steps", "5", "--lr", r == 0 ? "1e-3"
                    : "2e-3", "--world-size", "2", "--rank", String.valueOf(r), "--master", "127.0.0.1:" + port,
                    "--out", dir.resolve("mm/m.safetensors").toString()), logs, "rank" + r);
        }
        for (int r = 0; r < 2; r++) {
            assertThat(ChildJvm.await(ranks[r], 120)).isEqualTo(1);
            assertThat(read(logs, "rank" + r + ".err")).contains("run spec of rank(s) [1] differ(s) from rank 0's");
        }
        assertThat(dir.resolve("mm/m.safetensors")).doesNotExist();
    }

    @Test
    void refusesOptionsItSetsItselfAndOtherCommands() {
        MainTest.Run rank = MainTest.run("launch", "--", "train", "--rank", "1");
        assertThat(rank.code()).isEqualTo(1);
        assertThat(rank.err()).contains("launch sets --rank itself");
        MainTest.Run sample = MainTest.run("launch", "--", "sample", "--checkpoint", "x.safetensors");
        assertThat(sample.err()).contains("launch runs 'train' on every rank, got 'sample'");
        MainTest.Run nodes = MainTest.run("launch", "--nnodes", "2", "--node-rank", "1", "--", "train");
        assertThat(nodes.err()).contains("--master HOST:PORT is required with --nnodes > 1");
        MainTest.Run world = MainTest.run("train", "--world-size", "2", "--rank", "2", "--master", "127.0.0.1:1",
                "--out", "x.safetensors");
        assertThat(world.err()).contains("--rank must be in [0, 2)");
        MainTest.Run master = MainTest.run("train", "--world-size", "2", "--out", "x.safetensors");
        assertThat(master.err()).contains("--master is required with --world-size > 1");
        MainTest.Run odd = MainTest.run("train", "--world-size", "3", "--batch-size", "64", "--master",
                "127.0.0.1:1", "--dist-timeout", "1", "--out", "x.safetensors");
        assertThat(odd.code()).isEqualTo(1);
        assertThat(odd.err()).contains("--batch-size 64 must be divisible by --world-size 3");
    }

    @Test
    void aBareCudaDeviceGivesEachLocalRankItsOwnGpu() {
        assertThat(LaunchCommand.withLocalDevice(List.of("train", "--device", "cuda", "--steps", "5"), 1))
                .containsExactly("train", "--device", "cuda:1", "--steps", "5");
        assertThat(LaunchCommand.withLocalDevice(List.of("train", "--device=cuda"), 3))
                .containsExactly("train", "--device=cuda:3");
        assertThat(LaunchCommand.withLocalDevice(List.of("train", "--device", "cuda:0", "--out", "cuda"), 1))
                .containsExactly("train", "--device", "cuda:0", "--out", "cuda");
        assertThat(LaunchCommand.withLocalDevice(List.of("train", "--device", "cpu"), 1))
                .containsExactly("train", "--device", "cpu");
    }
}
