package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.model.unet.Layers;
import org.diffusion4j.model.unet.UNet2DModel;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimeSampling;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Bars;
import org.diffusion4j.testing.Rss;
import org.junit.jupiter.api.Test;

class TrainerTest {
    private static final MlpConfig SMALL = new MlpConfig(2, 64, 2, 32);

    private static TrainConfig config(long steps, long seed, double minSnr, Parameterization p) {
        return new TrainConfig(steps, 128, 2e-3, 0.01, 0.9, 0.999, 1e-8, 20, 1.0, 0.99, minSnr, p, seed, false);
    }

    private static Trainer trainer(TrainConfig c, DataSource data) {
        return new Trainer(new MlpNet(SMALL, Rng.of(c.seed())), NoiseSchedule.of(ScheduleConfig.ddpmDefault()), data, c);
    }

    private static List<Double> run(Trainer t) {
        List<Double> losses = new ArrayList<>();
        t.train(s -> losses.add(s.loss()));
        return losses;
    }

    @Test
    void sameSeedGivesIdenticalWeightsAndLosses() {
        Trainer a = trainer(config(25, 3, 0, Parameterization.EPS), ToyDataset.TWO_MOONS);
        Trainer b = trainer(config(25, 3, 0, Parameterization.EPS), ToyDataset.TWO_MOONS);
        Trainer c = trainer(config(25, 4, 0, Parameterization.EPS), ToyDataset.TWO_MOONS);
        List<Double> la = run(a);
        assertThat(la).containsExactlyElementsOf(run(b));
        assertThat(la).isNotEqualTo(run(c));
        Map<String, Tensor> pa = Parameters.named(a.network().module());
        Map<String, Tensor> pb = Parameters.named(b.network().module());
        for (String name : pa.keySet()) {
            assertThat(Tensors.toFloats(pa.get(name))).as(name).containsExactly(Tensors.toFloats(pb.get(name)));
        }
        assertThat(Tensors.toFloats(a.ema().shadow().get(0))).containsExactly(Tensors.toFloats(b.ema().shadow().get(0)));
    }

    @Test
    void lossFallsForEveryPredictionType() {
        for (Parameterization p : new Parameterization[] {Parameterization.EPS, Parameterization.X0, Parameterization.V}) {
            List<Double> losses = run(trainer(config(300, 1, p == Parameterization.X0 ? 5 : 0, p), ToyDataset.SWISS_ROLL));
            double first = losses.subList(0, 30).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = losses.subList(270, 300).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            // v's loss is dominated by its irreducible part at high noise (v ~ -x0 there), so it falls far less.
            double factor = p == Parameterization.V ? 0.98 : 0.7;
            assertThat(last).as("%s: mean loss of the last 30 steps vs the first 30", p).isLessThan(factor * first);
        }
    }

    /**
     * Flow matching regresses the velocity eps - x0 on the straight path: after training, one Euler step from pure
     * noise per half of the path lands closer to the data than the untrained network does, and t is drawn from (0, 1).
     */
    @Test
    void flowMatchingLearnsTheVelocity() {
        for (TimeSampling ts : TimeSampling.values()) {
            TrainConfig c = new TrainConfig(400, 128, 2e-3, 0.01, 0.9, 0.999, 1e-8, 20, 1.0, 0.99, 0,
                    Parameterization.FLOW, 1, false, ts);
            List<Double> losses = run(trainer(c, ToyDataset.SWISS_ROLL));
            double first = losses.subList(0, 30).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = losses.subList(370, 400).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            assertThat(last).as(ts + ": loss of the last 30 steps vs the first 30").isLessThan(0.8 * first);
        }
        // Different objective, different losses from the same seed and data.
        List<Double> flow = run(trainer(new TrainConfig(5, 128, 2e-3, 0.01, 0.9, 0.999, 1e-8, 20, 1.0, 0.99, 0,
                Parameterization.FLOW, 1, false), ToyDataset.SWISS_ROLL));
        List<Double> eps = run(trainer(config(5, 1, 0, Parameterization.EPS), ToyDataset.SWISS_ROLL));
        assertThat(flow).isNotEqualTo(eps);
    }

    /** Conditional training passes each batch's labels, about labelDropout of them replaced by "no class". */
    @Test
    void conditionalTrainingDropsLabelsAtTheConfiguredRate() {
        try (PointerScope scope = new PointerScope()) {
            MlpNet inner = new MlpNet(new MlpConfig(2, 32, 1, 16, 9), Rng.of(0));
            long[] counts = new long[10];
            Network spy = new Network() {
                @Override
                public Tensor forward(Tensor x, Tensor t) {
                    throw new AssertionError("conditional training must pass labels");
                }

                @Override
                public Tensor forward(Tensor x, Tensor t, Tensor labels) {
                    long[] l = new long[Math.toIntExact(labels.numel())];
                    labels.contiguous().data_ptr_long().get(l);
                    for (long v : l) {
                        counts[(int) v]++;
                    }
                    return inner.forward(x, t, labels);
                }

                @Override
                public org.bytedeco.pytorch.Module module() {
                    return inner;
                }
            };
            TrainConfig c = new TrainConfig(40, 256, 1e-3, 0, 0.9, 0.999, 1e-8, 0, 1.0, 0, 0, Parameterization.EPS, 2,
                    false, TimeSampling.UNIFORM, 8, 0.25);
            new Trainer(spy, NoiseSchedule.of(ScheduleConfig.ddpmDefault()), ToyDataset.EIGHT_GAUSSIANS, c).train(s -> { });
            long total = Arrays.stream(counts).sum();
            assertThat(total).isEqualTo(40 * 256);
            assertThat((double) counts[8] / total).as("no-class fraction").isBetween(0.23, 0.27);
            assertThat(counts[9]).isZero();
            TrainConfig swiss = new TrainConfig(2, 8, 1e-3, 0, 0.9, 0.999, 1e-8, 0, 1.0, 0, 0, Parameterization.EPS, 2,
                    false, TimeSampling.UNIFORM, 8, 0.1);
            assertThatThrownBy(() -> new Trainer(spy, NoiseSchedule.of(ScheduleConfig.ddpmDefault()),
                    ToyDataset.SWISS_ROLL, swiss).train(s -> { })).hasMessageContaining("swiss-roll has no class labels");
        }
    }

    @Test
    void bf16AutocastTrainsWithFloat32WeightsAndDiffersFromFp32() {
        TrainConfig fp32 = config(150, 1, 0, Parameterization.EPS);
        TrainConfig bf16 = new TrainConfig(150, 128, 2e-3, 0.01, 0.9, 0.999, 1e-8, 20, 1.0, 0.99, 0,
                Parameterization.EPS, 1, true);
        Trainer a = trainer(fp32, ToyDataset.SWISS_ROLL);
        Trainer b = trainer(bf16, ToyDataset.SWISS_ROLL);
        List<Double> la = run(a);
        List<Double> lb = run(b);
        // Same data and noise: bf16 rounding changes the numbers a little, not the outcome.
        assertThat(lb).isNotEqualTo(la);
        double meanA = la.subList(120, 150).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double meanB = lb.subList(120, 150).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertThat(meanB).isCloseTo(meanA, within(0.1 * meanA));
        for (Tensor p : Parameters.named(b.network().module()).values()) {
            assertThat(p.scalar_type().value).isEqualTo(torch.ScalarType.Float.value);
        }
        assertThat(torch.is_autocast_enabled(torch.DeviceType.CPU)).as("autocast restored after the step").isFalse();
    }

    @Test
    void trainUntilStopsAndResumesTheStepCounter() {
        Trainer t = trainer(config(10, 1, 0, Parameterization.EPS), ToyDataset.CHECKERBOARD);
        List<Long> steps = new ArrayList<>();
        t.trainUntil(4, s -> steps.add(s.step()));
        t.trainUntil(10, s -> steps.add(s.step()));
        assertThat(steps).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
        assertThat(t.step()).isEqualTo(10);
        assertThat(t.optimizer().stepCount()).isEqualTo(10);
        assertThatThrownBy(() -> t.trainUntil(11, s -> { })).hasMessageContaining("past the configured 10");
    }

    @Test
    void minSnrWeightsFollowHangEtAl() {
        try (PointerScope scope = new PointerScope()) {
            // SNR = alpha^2 / sigma^2 = {9, 1/9}; gamma = 5.
            Tensor alpha = Tensors.fromDoubles(new double[] {0.9486832980505138, 0.31622776601683794}, 2);
            Tensor sigma = Tensors.fromDoubles(new double[] {0.31622776601683794, 0.9486832980505138}, 2);
            assertThat(Tensors.toDoubles(Trainer.minSnrWeight(alpha, sigma, 5, Parameterization.EPS)))
                    .containsExactly(new double[] {5 / 9.0, 1}, within(1e-12));
            assertThat(Tensors.toDoubles(Trainer.minSnrWeight(alpha, sigma, 5, Parameterization.X0)))
                    .containsExactly(new double[] {5, 1 / 9.0}, within(1e-12));
            assertThat(Tensors.toDoubles(Trainer.minSnrWeight(alpha, sigma, 5, Parameterization.V)))
                    .containsExactly(new double[] {0.5, 0.1}, within(1e-12));
        }
    }

    /** Two moons, except at the steps {@code bad} accepts, where the batch is NaN. */
    private static DataSource nanAt(LongPredicate bad) {
        return new DataSource() {
            @Override
            public Tensor batch(long step, int batchSize, Rng rng) {
                return bad.test(step) ? torch.full(new long[] {batchSize, 2}, Tensors.scalar(Double.NaN))
                        : ToyDataset.TWO_MOONS.batch(step, batchSize, rng);
            }

            @Override
            public long[] sampleShape() {
                return new long[] {2};
            }

            @Override
            public String id() {
                return "two-moons-with-nan";
            }
        };
    }

    /** Weights, EMA and both Adam moments, copied to the heap. */
    private static List<float[]> state(Trainer t) {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : Parameters.named(t.network().module()).values()) {
            out.add(Tensors.toFloats(p));
        }
        for (List<Tensor> ts : List.of(t.ema().shadow(), t.optimizer().expAvg(), t.optimizer().expAvgSq())) {
            for (Tensor p : ts) {
                out.add(Tensors.toFloats(p));
            }
        }
        return out;
    }

    @Test
    void aNonFiniteStepIsSkippedAndChangesNothing() {
        Trainer t = trainer(config(12, 1, 0, Parameterization.EPS), nanAt(k -> k == 4 || k == 8));
        Map<Long, List<float[]>> after = new HashMap<>();
        List<Boolean> skipped = new ArrayList<>();
        t.train(s -> {
            after.put(s.step(), state(t));
            skipped.add(s.skipped());
        });
        assertThat(skipped).containsExactly(false, false, false, false, true, false, false, false, true, false, false,
                false);
        for (long k : new long[] {4, 8}) {
            List<float[]> before = after.get(k - 1);
            List<float[]> now = after.get(k);
            for (int i = 0; i < before.size(); i++) {
                assertThat(now.get(i)).as("tensor %d at skipped step %d", i, k).containsExactly(before.get(i));
            }
        }
        assertThat(t.optimizer().stepCount()).as("optimizer steps of 12 with 2 skipped").isEqualTo(10);
        // The steps around them did train.
        assertThat(after.get(5L).get(0)).isNotEqualTo(after.get(4L).get(0));
        for (float[] values : state(t)) {
            for (float v : values) {
                assertThat(Float.isFinite(v)).isTrue();
            }
        }
    }

    @Test
    void tooManyNonFiniteStepsInARowStopTheRunWithTheLastGoodWeights() {
        Trainer t = new Trainer(new MlpNet(SMALL, Rng.of(1)), NoiseSchedule.of(ScheduleConfig.ddpmDefault()),
                nanAt(k -> k >= 6), config(50, 1, 0, Parameterization.EPS), 3);
        List<List<float[]>> states = new ArrayList<>();
        assertThatThrownBy(() -> t.train(s -> states.add(state(t))))
                .isInstanceOf(Trainer.DivergedException.class)
                .hasMessageContaining("not finite at 3 steps in a row (steps 6 to 8")
                .hasMessageContaining("Lower the learning rate");
        assertThat(states).hasSize(8);
        List<float[]> lastGood = states.get(5);
        List<float[]> end = state(t);
        for (int i = 0; i < end.size(); i++) {
            assertThat(end.get(i)).as("tensor %d", i).containsExactly(lastGood.get(i));
        }
        assertThatThrownBy(() -> new Trainer(new MlpNet(SMALL, Rng.of(1)),
                NoiseSchedule.of(ScheduleConfig.ddpmDefault()), ToyDataset.TWO_MOONS,
                config(5, 1, 0, Parameterization.EPS), 0)).hasMessageContaining("max skipped steps must be >= 1");
    }

    @Test
    void nativeMemoryStaysFlatOverHundredsOfSteps() {
        Trainer t = trainer(config(700, 2, 0, Parameterization.EPS), ToyDataset.SWISS_ROLL);
        t.trainUntil(100, s -> { });
        System.gc();
        long before = Rss.bytes();
        t.trainUntil(700, s -> { });
        long grown = Rss.bytes() - before;
        System.out.printf("RSS growth over 600 training steps: %.1f MB%n", grown / 1e6);
        // Leaking each step's graph and batch would add tens of MB per hundred steps.
        assertThat(grown).isLessThan(48L << 20);
    }
    @Test
    void clipScalesTheFlatGradientLikeTorchAndReturnsTheNormBefore() {
        try (PointerScope scope = new PointerScope()) {
            Tensor g = Tensors.fromDoubles(new double[] {3, 4}, 2);
            assertThat(Trainer.clip(g, 10)).isCloseTo(5, within(1e-6));
            assertThat(Tensors.toDoubles(g)).containsExactly(new double[] {3, 4}, within(1e-6));
            assertThat(Trainer.clip(g, 0)).as("0: measure only").isCloseTo(5, within(1e-6));
            assertThat(Tensors.toDoubles(g)).containsExactly(new double[] {3, 4}, within(1e-6));
            assertThat(Trainer.clip(g, 1)).isCloseTo(5, within(1e-6));
            // max / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_.
            assertThat(Tensors.toDoubles(g)).containsExactly(new double[] {0.6, 0.8}, within(1e-6));
        }
    }

    /** An MLP plus a parameter the forward pass never uses. */
    private static final class WithUnused extends org.bytedeco.pytorch.Module
            implements Network {
        private final MlpNet inner;
        final Tensor unused;

        WithUnused(Rng rng) {
            inner = register_module("inner", new MlpNet(SMALL, rng));
            unused = Scopes.detach(new Tensor(register_parameter("unused", torch.ones(3))));
        }

        @Override
        public Tensor forward(Tensor x, Tensor t, Tensor labels) {
            return inner.forward(x, t, labels);
        }

        @Override
        public org.bytedeco.pytorch.Module module() {
            return this;
        }
    }

    @Test
    void aParameterWithoutGradientIsSkippedWhileTheRestTrains() {
        WithUnused net = new WithUnused(Rng.of(7));
        float[] firstBefore = Tensors.toFloats(Parameters.named(net.inner).values().iterator().next());
        Trainer t = new Trainer(net, NoiseSchedule.of(ScheduleConfig.ddpmDefault()), ToyDataset.TWO_MOONS,
                config(6, 7, 0, Parameterization.EPS));
        List<Double> losses = run(t);
        assertThat(losses).hasSize(6).allMatch(Double::isFinite);
        assertThat(t.optimizer().stepCount()).isEqualTo(6);
        // Weight decay (0.01 here) would have shrunk it had the optimizer touched it.
        assertThat(Tensors.toFloats(net.unused)).containsExactly(1, 1, 1);
        assertThat(Tensors.toFloats(Parameters.named(net.inner).values().iterator().next())).isNotEqualTo(firstBefore);
    }

    /** Repetitions of each same-seed run: a few in the suite; -Ddiffusion4j.determinismRuns=50 for a long check. */
    static final int DETERMINISM_RUNS = Integer.getInteger("diffusion4j.determinismRuns", 3);

    /** What a run leaves: every step's loss and gradient norm, and a digest of the weights and the EMA. */
    record Outcome(List<Double> losses, List<Double> gradNorms, String weights) {}

    static Outcome outcome(Trainer t) {
        List<Double> losses = new ArrayList<>();
        List<Double> norms = new ArrayList<>();
        t.train(s -> {
            assertThat(s.skipped()).as("step %d skipped (loss %s, gradient norm %s)", s.step(), s.loss(), s.gradNorm())
                    .isFalse();
            losses.add(s.loss());
            norms.add(s.gradNorm());
        });
        List<Tensor> all = new ArrayList<>(Parameters.named(t.network().module()).values());
        if (t.ema() != null) {
            all.addAll(t.ema().shadow());
        }
        return new Outcome(losses, norms, digest(all));
    }

    /** SHA-256 of the tensors' float32 bit patterns, in order: equal exactly when every value is bit-identical. */
    static String digest(Collection<Tensor> tensors) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (Tensor p : tensors) {
            for (float v : Tensors.toFloats(p)) {
                int bits = Float.floatToRawIntBits(v);
                digest.update(new byte[] {(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Bars images, optionally handed to the trainer with channels-last strides (as a caller's tensors may come). */
    private static DataSource bars(boolean channelsLast) {
        DataSource plain = Bars.images(64, 5).source(0, false);
        if (!channelsLast) {
            return plain;
        }
        return new DataSource() {
            @Override
            public Tensor batch(long step, int batchSize, Rng rng) {
                return Layers.channelsLast(plain.batch(step, batchSize, rng));
            }

            @Override
            public long[] sampleShape() {
                return plain.sampleShape();
            }

            @Override
            public String id() {
                return plain.id() + "-channels-last";
            }
        };
    }

    private static Outcome unetRun(boolean bf16, boolean channelsLast) {
        try (PointerScope scope = new PointerScope()) {
            TrainConfig c = new TrainConfig(4, 16, 2e-3, 0.01, 0.9, 0.999, 1e-8, 2, 1.0, 0.99, 0, Parameterization.EPS,
                    7, bf16);
            var net = new UNet2DModel(
                    UNetConfig.attentionBelowTop(8, 1, List.of(16, 32), null), Rng.of(7));
            return outcome(new Trainer(net, NoiseSchedule.of(ScheduleConfig.ddpmDefault()), bars(channelsLast), c));
        }
    }

    /**
     * The same seed gives bit-identical losses, gradient norms, weights and EMA, run after run in one JVM, and every
     * step is finite. On the Zen 5 machines libtorch's oneDNN convolutions read unwritten memory (NaN or different
     * gradients from one run to the next) until Layers.Conv2d kept them to padded channels-last shapes; this caught it.
     */
    @Test
    void repeatedSameSeedRunsAreBitIdenticalForTheMlpAndTheUNetInBothPrecisionsAndLayouts() {
        Map<String, Supplier<Outcome>> kinds = new LinkedHashMap<>();
        kinds.put("mlp", () -> {
            try (PointerScope scope = new PointerScope()) {
                return outcome(trainer(config(6, 3, 0, Parameterization.EPS), ToyDataset.TWO_MOONS));
            }
        });
        kinds.put("unet fp32", () -> unetRun(false, false));
        kinds.put("unet bf16", () -> unetRun(true, false));
        kinds.put("unet fp32 channels-last input", () -> unetRun(false, true));
        kinds.put("unet bf16 channels-last input", () -> unetRun(true, true));
        Map<String, Outcome> first = new LinkedHashMap<>();
        for (int run = 0; run < DETERMINISM_RUNS; run++) {
            for (var kind : kinds.entrySet()) {
                Outcome o = kind.getValue().get();
                assertThat(o.losses()).as(kind.getKey()).allMatch(Double::isFinite);
                assertThat(o.gradNorms()).as(kind.getKey()).allMatch(Double::isFinite);
                Outcome want = first.putIfAbsent(kind.getKey(), o);
                if (want != null) {
                    assertThat(o).as("%s, run %d against run 0", kind.getKey(), run).isEqualTo(want);
                }
            }
        }
        // The layout a caller hands in changes nothing: the convolutions compute channels-last either way.
        assertThat(first.get("unet fp32 channels-last input")).isEqualTo(first.get("unet fp32"));
        assertThat(first.get("unet bf16 channels-last input")).isEqualTo(first.get("unet bf16"));
        assertThat(first.get("unet bf16")).isNotEqualTo(first.get("unet fp32"));
    }
}
