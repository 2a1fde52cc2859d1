package org.diffusion4j.model.dit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiTTransformer2DModelTest {
    @TempDir
    Path dir;

    private static Tensor recorded(JsonNode t) {
        double[] d = new double[t.get("data").size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.get("data").get(i).asDouble();
        }
        long[] shape = new long[t.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.get("shape").get(i).asLong();
        }
        Tensor v = Tensors.fromDoubles(d, shape);
        return t.get("dtype").asText().equals("int64") ? v.to(torch.ScalarType.Long) : v.to(torch.ScalarType.Float);
    }

    private static double maxAbs(Tensor a, Tensor b) {
        return a.sub(b).abs().max().item_double();
    }

    @Test
    void matchesDiffusersOutputsForLearnedSigmaAndEpsilonModels() throws IOException {
        for (String name : new String[] {"dit_a_learned_sigma", "dit_b_eps"}) {
            JsonNode c = Json.readFile(Shared.dit().resolve(name + ".json"));
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                DiTTransformer2DModel net = DiTTransformer2DModel.load(Shared.dit().resolve(name));
                assertThat(Parameters.count(net)).isEqualTo(c.get("num_parameters").asLong());
                Tensor out = net.forward(recorded(c.get("sample")), recorded(c.get("timesteps")),
                        recorded(c.get("class_labels")));
                assertThat(maxAbs(out, recorded(c.get("output_float32")))).as(name).isLessThan(1e-5);
            }
        }
    }

    @Test
    void positionsAreDiffusersSinCosTableAndScaleWithTheGrid() throws IOException {
        JsonNode c = Json.readFile(Shared.dit().resolve("dit_b_eps.json"));
        try (PointerScope scope = new PointerScope()) {
            Tensor ours = DiTTransformer2DModel.positions(16, 4, 4, 4);
            assertThat(maxAbs(ours, recorded(c.get("intermediates").get("pos_embed_buffer")))).isEqualTo(0.0);
            // A grid twice as fine over the same base: token (0, 1) sits at column 0.5, so its first entry is sin(0.5).
            float[] fine = Tensors.toFloats(DiTTransformer2DModel.positions(16, 8, 8, 4));
            assertThat(fine[16]).isEqualTo((float) Math.sin(0.5));
            assertThat(fine[16 + 4]).isEqualTo((float) Math.cos(0.5));
            assertThat(fine[16 + 8]).isEqualTo(0f);
            assertThat(fine[16 + 12]).isEqualTo(1f);
        }
    }

    @Test
    void adaLnZeroStartsAtAZeroOutputWithGradientsReachingTheOutputLayer() {
        DiTConfig c = DiTConfig.of(new long[] {1, 8, 8}, 2, 2, 16, 2, 3);
        try (PointerScope scope = new PointerScope()) {
            DiTTransformer2DModel net = (DiTTransformer2DModel) c.build(Rng.of(0));
            Tensor x = Rng.of(1).randn(2, 1, 8, 8);
            Tensor t = Tensors.fromDoubles(new double[] {10, 900}, 2).to(torch.ScalarType.Float);
            Tensor out = net.forward(x, t, Tensors.fromLongs(new long[] {0, 3}, 2));
            assertThat(out.abs().max().item_double()).isEqualTo(0.0);
            out.sub(x).square().mean().backward();
            Tensor grad = Parameters.named(net).get("proj_out_2.weight").grad();
            assertThat(grad.abs().max().item_double()).isGreaterThan(0.0);
            // Same seed, same weights.
            DiTTransformer2DModel again = (DiTTransformer2DModel) c.build(Rng.of(0));
            assertThat(maxAbs(Parameters.named(again).get("transformer_blocks.1.attn1.to_q.weight"),
                    Parameters.named(net).get("transformer_blocks.1.attn1.to_q.weight"))).isEqualTo(0.0);
        }
    }

    @Test
    void noLabelsMeansTheNoClassRow() throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            DiTTransformer2DModel net = DiTTransformer2DModel.load(Shared.dit().resolve("dit_b_eps"));
            Tensor x = Rng.of(2).randn(2, 4, 8, 8);
            Tensor t = Tensors.fromDoubles(new double[] {300, 300}, 2);
            Tensor none = net.forward(x, t, null);
            Tensor nullRow = net.forward(x, t, Tensors.fromLongs(new long[] {10, 10}, 2));
            Tensor seven = net.forward(x, t, Tensors.fromLongs(new long[] {7, 7}, 2));
            assertThat(maxAbs(none, nullRow)).isEqualTo(0.0);
            assertThat(maxAbs(none, seven)).isGreaterThan(1e-4);
        }
    }

    @Test
    void bf16AutocastStaysCloseToFloat32() throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            DiTTransformer2DModel net = DiTTransformer2DModel.load(Shared.dit().resolve("dit_b_eps"));
            Tensor x = Rng.of(3).randn(2, 4, 8, 8);
            Tensor t = Tensors.fromDoubles(new double[] {100, 700}, 2);
            Tensor labels = Tensors.fromLongs(new long[] {1, 2}, 2);
            Tensor full = net.forward(x, t, labels);
            Tensor half;
            try (Autocast cast = Autocast.bf16(true)) {
                half = net.forward(x, t, labels).to(torch.ScalarType.Float);
            }
            double scale = full.abs().max().item_double();
            assertThat(maxAbs(full, half)).isGreaterThan(0.0).isLessThan(0.05 * scale);
        }
    }

    @Test
    void refusesInputsItCannotPatchAndBrokenFolders() throws IOException {
        DiTConfig c = DiTConfig.of(new long[] {1, 8, 8}, 2, 1, 16, 2, 3);
        try (PointerScope scope = new PointerScope()) {
            DiTTransformer2DModel net = (DiTTransformer2DModel) c.build(Rng.of(0));
            Tensor t = Tensors.fromDoubles(new double[] {1}, 1);
            assertThatThrownBy(() -> net.forward(Rng.of(1).randn(1, 2, 8, 8), t, null)).hasMessageContaining("x");
            assertThatThrownBy(() -> net.forward(Rng.of(1).randn(1, 1, 7, 8), t, null))
                    .hasMessageContaining("multiples of the patch size 2");
        }
        Path folder = dir.resolve("transformer");
        Files.createDirectories(folder);
        Files.copy(Shared.dit().resolve("dit_b_eps/config.json"), folder.resolve("config.json"));
        assertThatThrownBy(() -> DiTTransformer2DModel.load(folder)).hasMessageContaining(folder.toString());
        Files.copy(Shared.dit().resolve("dit_a_learned_sigma/diffusion_pytorch_model.safetensors"),
                folder.resolve("diffusion_pytorch_model.safetensors"));
        // Learned-sigma weights under an epsilon config: the output layer's shape differs.
        assertThatThrownBy(() -> DiTTransformer2DModel.load(folder)).hasMessageContaining("proj_out_2.weight");
    }
}
