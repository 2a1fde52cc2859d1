package org.diffusion4j.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.distributed.DataParallel;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.train.LearningRateDecay;
import org.diffusion4j.train.TrainConfig;
import org.diffusion4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingRunTest {
    @TempDir
    Path dir;

    static RunSpec small(long steps) {
        return new RunSpec(new MlpConfig(2, 32, 1, 16), ScheduleConfig.ddpmDefault(),
                new TrainConfig(steps, 64, 1e-3, 0, 0.9, 0.999, 1e-8, 5, 1, 0.9, 0, Parameterization.V, 11, false), "two-moons");
    }

    @Test
    void checkpointHoldsWeightsEmaAndOptimizerAndLoadsForSampling() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Trainer t = TrainingRun.run(small(30), null, f, s -> { });
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.Loaded ck = Checkpoint.load(f);
            assertThat(ck.sidecar().step()).isEqualTo(30);
            assertThat(ck.sidecar().optimizerSteps()).isEqualTo(30);
            assertThat(ck.sidecar().emaUpdates()).isEqualTo(30);
            assertThat(ck.sidecar().data()).isEqualTo("two-moons");
            Map<String, Tensor> params = Parameters.named(t.network().module());
            assertThat(ck.tensors()).hasSize(4 * params.size());
            String first = params.keySet().iterator().next();
            assertThat(Tensors.toFloats(ck.tensors().get(TrainingRun.EXP_AVG_SQ + first)))
                    .containsExactly(Tensors.toFloats(t.optimizer().expAvgSq().get(0)));

            LoadedModel ema = LoadedModel.load(f, true);
            LoadedModel raw = LoadedModel.load(f, false);
            assertThat(ema.usedEma()).isTrue();
            assertThat(raw.usedEma()).isFalse();
            assertThat(ema.train()).isEqualTo(small(30).train());
            assertThat(ema.denoiser().parameterization()).isEqualTo(Parameterization.V);
            assertThat(Tensors.toFloats(Parameters.named(ema.network().module()).get(first)))
                    .containsExactly(Tensors.toFloats(t.ema().shadow().get(0)));
            assertThat(Tensors.toFloats(Parameters.named(raw.network().module()).get(first)))
                    .containsExactly(Tensors.toFloats(params.get(first)));
        }
    }

    @Test
    void digestCoversWeightsEmaAndMomentsAndDependsOnlyOnThem() throws IOException {
        Trainer a = TrainingRun.trainer(small(3), null);
        Trainer b = TrainingRun.trainer(small(3), null);
        assertThat(TrainingRun.digest(a)).hasSize(64).isEqualTo(TrainingRun.digest(b));
        String before = TrainingRun.digest(a);
        a.trainUntil(1, s -> { });
        assertThat(TrainingRun.digest(a)).isNotEqualTo(before);
        // A change in a moment alone shows too: ranks must agree on optimizer state, not just weights.
        b.trainUntil(1, s -> { });
        assertThat(TrainingRun.digest(b)).isEqualTo(TrainingRun.digest(a));
        b.optimizer().expAvgSq().get(0).mul_(Tensors.scalar(2));
        assertThat(TrainingRun.digest(b)).isNotEqualTo(TrainingRun.digest(a));
    }

    private static Map<String, float[]> state(Trainer t) {
        Map<String, float[]> out = new LinkedHashMap<>();
        Parameters.named(t.network().module()).forEach((k, v) -> out.put("model." + k, Tensors.toFloats(v)));
        for (int i = 0; i < t.optimizer().expAvg().size(); i++) {
            out.put("m" + i, Tensors.toFloats(t.optimizer().expAvg().get(i)));
            out.put("v" + i, Tensors.toFloats(t.optimizer().expAvgSq().get(i)));
            out.put("ema" + i, Tensors.toFloats(t.ema().shadow().get(i)));
        }
        return out;
    }

    private static void assertSameState(Trainer a, Trainer b) {
        Map<String, float[]> sa = state(a);
        Map<String, float[]> sb = state(b);
        assertThat(sb.keySet()).isEqualTo(sa.keySet());
        for (String k : sa.keySet()) {
            assertThat(sb.get(k)).as(k).containsExactly(sa.get(k));
        }
        assertThat(b.optimizer().stepCount()).isEqualTo(a.optimizer().stepCount());
        assertThat(b.ema().updates()).isEqualTo(a.ema().updates());
    }

    @Test
    void resumeEqualsAnUninterruptedRunBitForBit() throws IOException {
        List<Double> straightLosses = new ArrayList<>();
        Trainer straight = TrainingRun.run(small(40), null, dir.resolve("straight.safetensors"),
                s -> straightLosses.add(s.loss()));
        // Interrupted: periodic checkpoints every 15 steps of a 40-step run; resume from the one at step 30.
        List<Double> losses = new ArrayList<>();
        Path out = dir.resolve("run.safetensors");
        TrainingRun.run(small(40), null, out, new TrainingRun.CheckpointPolicy(15, 5), null, s -> { }, step -> null);
        Path at30 = TrainingRun.periodicName(out, 30);
        assertThat(Checkpoint.readSidecar(at30).step()).isEqualTo(30);
        Trainer resumed = TrainingRun.run(small(40), null, dir.resolve("resumed.safetensors"),
                TrainingRun.CheckpointPolicy.atEnd(), at30, s -> losses.add(s.loss()), step -> null);
        assertThat(losses).containsExactlyElementsOf(straightLosses.subList(30, 40));
        assertSameState(straight, resumed);
    }

    @Test
    void keepLastDeletesOlderPeriodicCheckpointsOnly() throws IOException {
        Path out = dir.resolve("k.safetensors");
        List<Long> saves = new ArrayList<>();
        TrainingRun.run(small(50), null, out, new TrainingRun.CheckpointPolicy(10, 2), null, s -> { },
                k -> {
                    saves.add(k);
                    return ("rows before " + k).getBytes(StandardCharsets.UTF_8);
                });
        assertThat(saves).containsExactly(10L, 20L, 30L, 40L, 50L);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted()).containsExactly("k-step000000030.json",
                    "k-step000000030.loss.csv", "k-step000000030.safetensors", "k-step000000040.json",
                    "k-step000000040.loss.csv", "k-step000000040.safetensors", "k.json", "k.loss.csv",
                    "k.safetensors");
        }
        // Each checkpoint has the log of its own steps, verified against its sidecar.
        assertThat(new String(Checkpoint.readLossLog(dir.resolve("k-step000000030.safetensors")),
                StandardCharsets.UTF_8)).isEqualTo("rows before 30");
    }

    @Test
    void resumeRefusesMismatchedCheckpointsNamingTheDifference() throws IOException {
        Path out = dir.resolve("a.safetensors");
        TrainingRun.run(small(5), null, out, s -> { });
        RunSpec other = new RunSpec(small(5).model(), small(5).schedule(), small(5).train().withSeed(99), "two-moons");
        assertThatThrownBy(() -> TrainingRun.run(other, null, dir.resolve("b.safetensors"),
                TrainingRun.CheckpointPolicy.atEnd(), out, s -> { }, step -> null))
                .hasMessageContaining(out.toString()).hasMessageContaining("train config (other than steps) differs")
                .hasMessageContaining("seed=99");
        RunSpec moons = new RunSpec(small(5).model(), small(5).schedule(), small(5).train(), "swiss-roll");
        assertThatThrownBy(() -> TrainingRun.run(moons, null, dir.resolve("c.safetensors"),
                TrainingRun.CheckpointPolicy.atEnd(), out, s -> { }, step -> null)).hasMessageContaining("data differs");
        // Longer runs may continue from it.
        Trainer longer = TrainingRun.run(small(8), null, dir.resolve("d.safetensors"), TrainingRun.CheckpointPolicy.atEnd(),
                out, s -> { }, step -> null);
        assertThat(longer.step()).isEqualTo(8);
        assertThatThrownBy(() -> new TrainingRun.CheckpointPolicy(5, 0)).hasMessageContaining("keep-last");
    }

    /**
     * Fine-tuning starts from the file's weights and EMA with its own config, data, step count and a fresh optimizer;
     * a checkpoint of another architecture is refused by name before anything trains.
     */
    @Test
    void initStartsANewRunFromACheckpointsWeightsAndEma() throws IOException {
        Path base = dir.resolve("base.safetensors");
        Trainer trained = TrainingRun.run(small(20), null, base, s -> { });
        TrainConfig other = new TrainConfig(6, 32, 2e-4, 0, 0.9, 0.999, 1e-8, 0, 1, 0.9, 0, Parameterization.V, 5,
                false, null, 0, 0.1, LearningRateDecay.COSINE);
        RunSpec tune = new RunSpec(small(20).model(), small(20).schedule(), other, "swiss-roll");
        Trainer fresh = TrainingRun.trainer(tune, null);
        TrainingRun.initialize(fresh, tune, base);
        assertThat(fresh.step()).isZero();
        assertThat(fresh.optimizer().stepCount()).isZero();
        Map<String, Tensor> want = Parameters.named(trained.network().module());
        Map<String, Tensor> got = Parameters.named(fresh.network().module());
        for (String k : want.keySet()) {
            assertThat(Tensors.toFloats(got.get(k))).as(k).containsExactly(Tensors.toFloats(want.get(k)));
        }
        for (int i = 0; i < trained.ema().shadow().size(); i++) {
            assertThat(Tensors.toFloats(fresh.ema().shadow().get(i))).containsExactly(
                    Tensors.toFloats(trained.ema().shadow().get(i)));
        }
        assertThat(fresh.ema().updates()).isEqualTo(20);

        Path tuned = dir.resolve("tuned.safetensors");
        Trainer run = TrainingRun.run(tune, null, tuned, TrainingRun.CheckpointPolicy.atEnd(),
                TrainingRun.Start.init(base), s -> { }, step -> null, DataParallel.single(), DeviceSpec.CPU);
        assertThat(run.step()).isEqualTo(6);
        assertThat(Checkpoint.readSidecar(tuned).step()).isEqualTo(6);
        assertThat(Checkpoint.readSidecar(tuned).data()).isEqualTo("swiss-roll");

        RunSpec wider = new RunSpec(new MlpConfig(2, 48, 1, 16), tune.schedule(), other, "swiss-roll");
        assertThatThrownBy(() -> TrainingRun.run(wider, null, dir.resolve("w.safetensors"),
                TrainingRun.CheckpointPolicy.atEnd(), TrainingRun.Start.init(base), s -> { }, step -> null,
                DataParallel.single(), DeviceSpec.CPU))
                .hasMessageContaining(base.toString()).hasMessageContaining("cannot start from it: model config differs");
        assertThatThrownBy(() -> new TrainingRun.Start(base, base)).hasMessageContaining("exclude each other");
    }

    /** A decaying learning rate is laid out over the run's length, so a resume may not change that length. */
    @Test
    void resumeOfADecayingRunRefusesAnotherLength() throws IOException {
        TrainConfig decaying = new TrainConfig(5, 64, 1e-3, 0, 0.9, 0.999, 1e-8, 0, 1, 0.9, 0, Parameterization.V, 11,
                false, null, 0, 0.1, LearningRateDecay.LINEAR);
        Path out = dir.resolve("lin.safetensors");
        TrainingRun.run(new RunSpec(small(5).model(), small(5).schedule(), decaying, "two-moons"), null, out, s -> { });
        RunSpec longer = new RunSpec(small(5).model(), small(5).schedule(), decaying.withSteps(9), "two-moons");
        assertThatThrownBy(() -> TrainingRun.run(longer, null, dir.resolve("lin2.safetensors"),
                TrainingRun.CheckpointPolicy.atEnd(), out, s -> { }, step -> null))
                .hasMessageContaining(out.toString()).hasMessageContaining("the learning rate decays (linear)");
    }

    @Test
    void runSpecChecksDataAgainstTheModel() {
        RunSpec ok = small(1);
        assertThatThrownBy(() -> new RunSpec(new MlpConfig(3, 8, 1, 8), ok.schedule(), ok.train(), "two-moons"))
                .hasMessageContaining("samples of shape [2] but the mlp model takes [3]");
        assertThatThrownBy(() -> new RunSpec(ok.model(), ok.schedule(), ok.train(), "cifar"))
                .hasMessageContaining("unknown dataset 'cifar'");
    }

    @Test
    void refusesNonSafetensorsOutputs() {
        assertThatThrownBy(() -> TrainingRun.run(small(1), null, dir.resolve("m.pt"), s -> { })).hasMessageContaining("pickle");
    }
}
