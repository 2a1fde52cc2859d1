package org.diffusion4j.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class TextUNetTest {
    @Test
    void thePromptChangesTheOutputAndNoPromptIsTheEmptyOne() {
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = TextUNetConfigTest.small().build(Rng.of(0));
            net.eval();
            Rng rng = Rng.of(1);
            Tensor x = rng.randn(2, 2, 4, 4);
            Tensor t = torch.tensor(new float[] {10, 500});
            Tensor flat = net.forward(x, t, net.ids(List.of("a horizontal bar", "a horizontal bar")));
            Tensor upright = net.forward(x, t, net.ids(List.of("a vertical bar", "a vertical bar")));
            Tensor none = net.forward(x, t, null);
            Tensor empty = net.forward(x, t, net.ids(List.of("", "")));
            assertThat(flat.sizes().vec().get()).containsExactly(2, 2, 4, 4);
            assertThat(flat.sub(upright).abs().max().item_double()).isGreaterThan(1e-4);
            assertThat(none.sub(empty).abs().max().item_double()).isZero();
        }
    }

    @Test
    void gradientsReachTheTextEncoderSoBothPartsTrainTogether() {
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = TextUNetConfigTest.small().build(Rng.of(0));
            Tensor out = net.forward(Rng.of(1).randn(2, 2, 4, 4), torch.tensor(new float[] {10, 500}),
                    net.ids(List.of("a vertical bar", "a flat bar")));
            out.square().mean().backward();
            Tensor g = Parameters.named(net).get("text_encoder.text_model.embeddings.token_embedding.weight").grad();
            assertThat(g.defined()).isTrue();
            assertThat(g.abs().sum().item_double()).isGreaterThan(0);
        }
    }

    @Test
    void idsAreThePaddedPromptsAndBadTokensAreRefused() {
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = TextUNetConfigTest.small().build(Rng.of(0));
            Tensor ids = net.ids(List.of("a vertical bar"));
            assertThat(ids.sizes().vec().get()).containsExactly(1, 77);
            long[] row = new long[77];
            ids.contiguous().data_ptr_long().get(row);
            assertThat(row[0]).isEqualTo(net.tokenizer().startId());
            assertThat(row[4]).isEqualTo(net.tokenizer().endId());
            Tensor x = Rng.of(1).randn(1, 2, 4, 4);
            Tensor t = torch.tensor(new float[] {10});
            assertThatThrownBy(() -> net.forward(x, t, ids.to(torch.ScalarType.Float)))
                    .hasMessageContaining("int64");
            assertThatThrownBy(() -> net.forward(x, t, ids.narrow(1, 0, 10))).hasMessageContaining("token ids");
            assertThat(Tensors.toFloats(net.forward(x, t, ids))).doesNotContain(Float.NaN);
        }
    }
}
