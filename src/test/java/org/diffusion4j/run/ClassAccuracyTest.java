package org.diffusion4j.run;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.schedule.TimeSampling;
import org.diffusion4j.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClassAccuracyTest {
    @TempDir
    Path dir;

    @Test
    void countsPerClassAgainstTheClassifier() throws IOException {
        Path ck = dir.resolve("g8.safetensors");
        TrainConfig train = new TrainConfig(20, 64, 1e-3, 0, 0.9, 0.999, 1e-8, 0, 1, 0.9, 0, Parameterization.EPS, 0,
                false, TimeSampling.UNIFORM, 8, 0.1);
        TrainingRun.run(new RunSpec(new MlpConfig(2, 32, 1, 16, 9), ScheduleConfig.ddpmDefault(), train, "8gaussians"),
                null, ck, s -> { });
        LoadedModel model = LoadedModel.load(ck, true);
        SamplerSpec spec = new SamplerSpec(SamplerSpec.Kind.DDIM, 5, 0, TimestepSpacing.TRAILING,
                DdpmSampler.Variance.FIXED_SMALL, false);
        // A classifier that always answers 3 is right exactly for class 3.
        ClassAccuracy.Result r = ClassAccuracy.measure(model, spec, 2.0, 5, 0, samples -> {
            long[] out = new long[Math.toIntExact(samples.size(0))];
            Arrays.fill(out, 3);
            return out;
        });
        assertThat(r.samples()).isEqualTo(40);
        assertThat(r.accuracy()).isEqualTo(1.0 / 8);
        assertThat(r.perClass()).containsExactly(0, 0, 0, 1, 0, 0, 0, 0);
        assertThatThrownBy(() -> ClassAccuracy.measure(model, spec, 2.0, 0, 0, s -> new long[0]))
                .hasMessageContaining("--per-class must be >= 1");
    }
}
