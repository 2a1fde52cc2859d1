package org.diffusion4j.guidance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class InpaintingTest {
    /** [1, 1, 2, 2]: paint the left column, keep the right one. */
    private static Tensor leftColumn() {
        return Tensors.fromFloats(new float[] {1, 0, 1, 0}, 1, 1, 2, 2);
    }

    @Test
    void theModelSeesTheKnownRegionNoisedToEachLevelAndItsOwnStateElsewhere() {
        try (PointerScope scope = new PointerScope()) {
            List<Tensor> seen = new ArrayList<>();
            Denoiser inner = (x, level) -> {
                seen.add(Scopes.detach(x.clone()));
                return new Prediction(x, x);
            };
            Tensor known = Tensors.fromFloats(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2);
            Tensor noise = Tensors.fromFloats(new float[] {10, 20, 30, 40, 50, 60, 70, 80}, 1, 2, 2, 2);
            Inpainting p = new Inpainting(inner, known, leftColumn(), noise);
            Tensor x = torch.full(new long[] {1, 2, 2, 2}, Tensors.scalar(-1));
            p.predict(x, new NoiseLevel(500, 0.6, 0.8));
            // Kept (odd positions): 0.6 known + 0.8 noise; painted (even positions): x itself.
            assertThat(Tensors.toFloats(seen.get(0))).containsExactly(new float[] {-1, 0.6f * 2 + 0.8f * 20, -1,
                    0.6f * 4 + 0.8f * 40, -1, 0.6f * 6 + 0.8f * 60, -1, 0.6f * 8 + 0.8f * 80},
                    org.assertj.core.data.Offset.offset(1e-5f));
            // The result gets the known data back exactly where it is kept.
            Tensor done = p.finish(torch.zeros(1, 2, 2, 2));
            assertThat(Tensors.toFloats(done)).containsExactly(0, 2, 0, 4, 0, 6, 0, 8);
        }
    }

    @Test
    void masksThatDoNotFitTheDataAreRefused() {
        try (PointerScope scope = new PointerScope()) {
            Denoiser inner = (x, level) -> new Prediction(x, x);
            Tensor known = Rng.of(0).randn(2, 3, 4, 4);
            assertThatThrownBy(() -> new Inpainting(inner, known, torch.ones(2, 1, 4, 5), known))
                    .hasMessageContaining("mask [2, 1, 4, 5] does not fit the known data [2, 3, 4, 4]");
            assertThatThrownBy(() -> new Inpainting(inner, known, torch.ones(2, 2, 4, 4), known))
                    .hasMessageContaining("expected [B, 1, ...]");
            assertThatThrownBy(() -> new Inpainting(inner, known, torch.ones(2, 1, 4, 4), torch.zeros(2, 3, 4)))
                    .hasMessageContaining("inpainting noise");
        }
    }
}
