package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import org.assertj.core.api.Assertions;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class TimestepEmbeddingTest {
    /** diffusers' UNet2DModel records its time_proj output for both flip/shift settings. */
    @Test
    void matchesDiffusersTimeProjection() {
        for (String name : new String[] {"unet_a_uncond.json", "unet_b_class.json"}) {
            JsonNode c = Shared.read(Shared.diffusers().resolve(name));
            JsonNode cfg = c.get("config");
            boolean flip = cfg.path("flip_sin_to_cos").asBoolean(true);
            double shift = cfg.path("freq_shift").asDouble(0);
            JsonNode expected = c.get("intermediates").get("time_proj");
            int dim = expected.get("shape").get(1).asInt();
            try (PointerScope scope = new PointerScope()) {
                double[] t = Shared.doubles(c.get("timesteps"));
                Tensor emb = TimestepEmbedding.sinusoidal(Tensors.fromDoubles(t, t.length), dim, flip, shift);
                double err = Shared.maxRelError(Tensors.toDoubles(emb), Shared.doubles(expected.get("data")));
                assertThat(err).as(name).isLessThan(1e-6);
            }
        }
    }

    @Test
    void followsTheFormula() {
        try (PointerScope scope = new PointerScope()) {
            Tensor emb = TimestepEmbedding.sinusoidal(Tensors.fromFloats(new float[] {3}, 1), 5, false, 1);
            float[] v = Tensors.toFloats(emb);
            // half = 2, freqs exp(-ln(1e4) k / (2 - 1)) = {1, 1e-4}; odd width pads a zero.
            assertThat(v).containsExactly(new float[] {(float) Math.sin(3), (float) Math.sin(3e-4), (float) Math.cos(3),
                    (float) Math.cos(3e-4), 0f}, Assertions.within(1e-6f));
        }
    }

    @Test
    void rejectsBadShapes() {
        try (PointerScope scope = new PointerScope()) {
            Tensor t2 = Tensors.fromFloats(new float[] {1, 2}, 1, 2);
            assertThatThrownBy(() -> TimestepEmbedding.sinusoidal(t2, 8, true, 0)).hasMessageContaining("[B]");
            Tensor t1 = Tensors.fromFloats(new float[] {1}, 1);
            assertThatThrownBy(() -> TimestepEmbedding.sinusoidal(t1, 2, true, 1)).hasMessageContaining("divides by zero");
        }
    }

    /** Meta tensors fail on any op mixing in a CPU tensor: the embedding is built where t lives. */
    @Test
    void isBuiltOnTheDeviceOfTheTimesteps() {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = torch.zeros(new long[] {5}, new TensorOptions(ScalarType.Float)
                    .device(new DeviceOptional(new Device("meta"))));
            Tensor emb = TimestepEmbedding.sinusoidal(t, 7, true, 1);
            assertThat(emb.is_meta()).isTrue();
            assertThat(emb.sizes().vec().get()).containsExactly(5, 7);
        }
    }
}
