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
