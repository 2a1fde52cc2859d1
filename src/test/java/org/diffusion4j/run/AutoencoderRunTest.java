package org.diffusion4j.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.data.ImageFolder;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Bars;
import org.diffusion4j.train.AutoencoderTrainConfig;
import org.diffusion4j.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class AutoencoderRunTest {
    static final AutoencoderConfig SMALL = AutoencoderConfig.of(8, 1, List.of(8, 16), 2);

    /** A bars image folder and its dataset id. */
    static String barsFolder(Path dir) throws IOException {
        return Datasets.folderId(Bars.writePngs(Bars.images(128, 1), dir.resolve("bars")), 8, ImageFolder.Color.GREY);
    }

    /** Trains a small autoencoder on bars (steps as given) and saves it to dir/NAME. */
    public static Path trainBars(Path dir, String name, long steps, long seed) throws IOException {
        AutoencoderRun.Spec spec = new AutoencoderRun.Spec(SMALL, new AutoencoderTrainConfig(steps, 32, 3e-3, 10, 1, 1e-6,
                seed), barsFolder(dir));
        Path out = dir.resolve(name);
        AutoencoderRun.run(spec, null, out, s -> { });
        return out;
    }

    @Test
    void savedAutoencodersLoadWithTheSameWeightsAndRecordTheirRun(@TempDir Path dir) throws IOException {
        Path file = trainBars(dir, "ae.safetensors", 5, 0);
        AutoencoderRun.Loaded a = AutoencoderRun.load(file);
        AutoencoderRun.Loaded b = AutoencoderRun.load(file);
        assertThat(a.sidecar().modelType()).isEqualTo(AutoencoderConfig.TYPE);
        assertThat(a.sidecar().schedule()).isNull();
        assertThat(a.sidecar().step()).isEqualTo(5);
        assertThat(a.data()).startsWith("folder:8:grey:");
        assertThat(a.model().config()).isEqualTo(SMALL);
        assertThat(a.sha256()).isEqualTo(Checkpoint.sha256(file));
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor x = Bars.images(4, 9).slice(0, 4);
            assertThat(Tensors.toFloats(a.model().decode(a.model().encode(x).mean()))).containsExactly(
                    Tensors.toFloats(b.model().decode(b.model().encode(x).mean())));
        }
    }

    @Test
    void refusesDiffusionCheckpointsAndDiffusionLoadingRefusesAutoencoders(@TempDir Path dir) throws IOException {
        Path ae = trainBars(dir, "ae.safetensors", 1, 0);
        assertThatThrownBy(() -> LoadedModel.load(ae, true)).hasMessageContaining(ae.toString())
                .hasMessageContaining("not a diffusion model");
        Path diffusion = dir.resolve("toy.safetensors");
        TrainingRun.run(new RunSpec(MlpConfig.toy2d(),
                ScheduleConfig.ddpmDefault(),
                TrainConfig.toyDefaults().withSteps(1), "swiss-roll"), null, diffusion, s -> { });
        assertThatThrownBy(() -> AutoencoderRun.load(diffusion)).hasMessageContaining(diffusion.toString())
                .hasMessageContaining("a mlp checkpoint, not an autoencoder");
    }

    @Test
    void specsNeedImageDataOfTheAutoencodersShape(@TempDir Path dir) throws IOException {
        String bars = barsFolder(dir);
        AutoencoderTrainConfig t = new AutoencoderTrainConfig(1, 1, 1e-3, 0, 1, 0, 0);
        assertThatThrownBy(() -> new AutoencoderRun.Spec(SMALL, t, "swiss-roll")).hasMessageContaining("for images");
        assertThatThrownBy(() -> new AutoencoderRun.Spec(AutoencoderConfig.of(28, 1, List.of(8, 16), 2), t, bars))
                .hasMessageContaining("[1, 8, 8]").hasMessageContaining("[1, 28, 28]");
        assertThat(new AutoencoderRun.Spec(SMALL, t, bars).data()).isEqualTo(bars);
    }
}
