package org.diffusion4j.model.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Recorded;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UNet2DConditionModelTest {
    @TempDir
    Path dir;

    /** SD 1.x style (conv projections), SD 2.x style (linear projections, upcast), and only cross-attention. */
    @Test
    void everyRecordedCaseMatchesDiffusersWithinTheTolerance() throws Exception {
        Recorded.requireSdCasesPass("unetc_.*\\.json", 2, 1e-5);
    }

    @Test
    void refusesInputsOfTheWrongShapeAndMissingFiles() throws Exception {
        Path unet = Shared.sd().resolve("sdpipe_a").resolve("unet");
        try (PointerScope scope = new PointerScope()) {
            UNet2DConditionModel net = UNet2DConditionModel.load(unet);
            assertThatThrownBy(() -> net.forward(torch.zeros(1, 3, 8, 8), torch.zeros(1), torch.zeros(1, 77, 32)))
                    .hasMessageContaining("x: expected shape");
            assertThatThrownBy(() -> net.forward(torch.zeros(1, 4, 8, 8), torch.zeros(1), torch.zeros(1, 77, 16)))
                    .hasMessageContaining("text embeddings");
            assertThatThrownBy(() -> net.forward(torch.zeros(1, 4, 7, 7), torch.zeros(1), torch.zeros(1, 77, 32)))
                    .hasMessageContaining("divisible by 2");
            // One timestep for the whole batch, as a 0-dim tensor.
            assertThat(net.forward(torch.zeros(2, 4, 8, 8), torch.scalar_tensor(
                    Tensors.scalar(500)), torch.zeros(2, 77, 32)).size(0)).isEqualTo(2);
        }
        assertThatThrownBy(() -> UNet2DConditionModel.load(dir)).hasMessageContaining("config.json")
                .hasMessageContaining("missing");
        Files.copy(unet.resolve("config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("diffusion_pytorch_model.bin"), "x");
        assertThatThrownBy(() -> UNet2DConditionModel.load(dir)).hasMessageContaining("pickle");
    }
}
