package org.diffusion4j.run;

import java.io.IOException;
import java.nio.file.Path;
import org.assertj.core.api.Assertions;
import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.data.PairedData;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReflowTest {
    @TempDir
    Path dir;

    private Path model(Parameterization p) throws IOException {
        Path ck = dir.resolve(p.id() + ".safetensors");
        TrainConfig train = new TrainConfig(30, 64, 1e-3, 0, 0.9, 0.999, 1e-8, 0, 1, 0.9, 0, p, 0, false);
        TrainingRun.run(new RunSpec(new MlpConfig(2, 32, 1, 16), ScheduleConfig.ddpmDefault(), train, "two-moons"),
                null, ck, s -> { });
        return ck;
    }

    private static final SamplerSpec EULER_10 = new SamplerSpec(SamplerSpec.Kind.EULER, 10, 0, TimestepSpacing.TRAILING,
            DdpmSampler.Variance.FIXED_SMALL, false);

    @Test
    void pairsAreTheOdeImagesOfTheirNoiseAndIndependentOfTheBatchSize() throws IOException {
        LoadedModel flow = LoadedModel.load(model(Parameterization.FLOW), true);
        try (PointerScope scope = new PointerScope()) {
            PairedData a = Reflow.pairs(flow, EULER_10, 7, 3, 7, () -> { });
            PairedData b = Reflow.pairs(flow, EULER_10, 7, 3, 3, () -> { });
            assertThat(Tensors.toFloats(a.noise())).containsExactly(Tensors.toFloats(b.noise()));
            // Equal up to float rounding: BLAS may block a matmul differently for another batch size.
            assertThat(Tensors.toFloats(a.samples())).containsExactly(Tensors.toFloats(b.samples()),
                    Assertions.within(1e-5f));
            // The noise is the per-sample stream of (seed, i), and the sample is the sampler's image of it.
            assertThat(Tensors.toFloats(a.noise())).containsExactly(Tensors.toFloats(
                    NoiseSource.perSample(3, 0, 7).next(7, 2)));
            assertThat(Tensors.toFloats(a.samples())).containsExactly(Tensors.toFloats(EULER_10.run(flow.denoiser(),
                    flow.process(), a.noise(), NoiseSource.perSample(3, 0, 7), (i, n, x, x0) -> { })));
        }
        assertThatThrownBy(() -> Reflow.pairs(flow, new SamplerSpec(SamplerSpec.Kind.EULER_ANCESTRAL, 10, 0,
                TimestepSpacing.TRAILING, DdpmSampler.Variance.FIXED_SMALL, false), 4, 0, 4, () -> { }))
                .hasMessageContaining("deterministic ODE sampler");
        LoadedModel eps = LoadedModel.load(model(Parameterization.EPS), true);
        assertThatThrownBy(() -> Reflow.pairs(eps, EULER_10, 4, 0, 4, () -> { }))
                .hasMessageContaining("needs a flow-matching model");
    }
}
