package org.diffusion4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
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
                new TrainConfig(steps, 64, 1e-3, 0, 0.9, 0.999, 1e-8, 5, 1, 0.9, 0, Parameterization.V, 11), "two-moons");
    }

    @Test
    void checkpointHoldsWeightsEmaAndOptimizerAndLoadsForSampling() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Trainer t = TrainingRun.run(small(30), f, s -> { });
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
    void runSpecChecksDataAgainstTheModel() {
        RunSpec ok = small(1);
        assertThatThrownBy(() -> new RunSpec(new MlpConfig(3, 8, 1, 8), ok.schedule(), ok.train(), "two-moons"))
                .hasMessageContaining("data_dim is 3");
        assertThatThrownBy(() -> new RunSpec(ok.model(), ok.schedule(), ok.train(), "cifar"))
                .hasMessageContaining("unknown toy dataset 'cifar'");
    }

    @Test
    void refusesNonSafetensorsOutputs() {
        assertThatThrownBy(() -> TrainingRun.run(small(1), dir.resolve("m.pt"), s -> { })).hasMessageContaining("pickle");
    }
}
