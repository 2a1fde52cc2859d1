package org.diffusion4j.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.StringTensorDict;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.unet.UNet2DConditionConfig;
import org.diffusion4j.tensor.Rng;
import org.junit.jupiter.api.Test;

class TextUNetConfigTest {
    static final List<List<String>> CAPTIONS = List.of(List.of("a horizontal bar", "a flat bar"),
            List.of("a vertical bar"));

    static TextUNetConfig small() {
        return TextUNetConfig.of(new long[] {2, 4, 4}, List.of(16, 32), 32, 1, CAPTIONS);
    }

    @Test
    void theLayoutHasCrossAttentionAboveTheDeepestLevelAndATokenizerLearnedFromTheCaptions() {
        TextUNetConfig c = small();
        assertThat(c.unet().downBlockTypes()).containsExactly("CrossAttnDownBlock2D", "DownBlock2D");
        assertThat(c.unet().upBlockTypes()).containsExactly("UpBlock2D", "CrossAttnUpBlock2D");
        assertThat(c.unet().crossAttnDim()).isEqualTo(32).isEqualTo(c.textEncoder().hiddenSize());
        assertThat(c.sampleShape()).containsExactly(2, 4, 4);
        assertThat(c.tokenizer().tokenize("a vertical bar")).containsExactly("a</w>", "vertical</w>", "bar</w>");
        assertThat(c.textEncoder().vocabSize()).isEqualTo(c.tokens().size());
        assertThat(c.textEncoder().eosTokenId()).isEqualTo(c.tokenizer().endId());
        assertThat(c.modelType()).isEqualTo("text-unet");
        assertThat(c.numClassEmbeds()).isNull();
    }

    @Test
    void roundTripsThroughJsonAsACheckpointRecordsIt() {
        TextUNetConfig c = small();
        JsonNode json = Json.toTree(c);
        assertThat(Json.fromTree(json, TextUNetConfig.class, "x.json")).isEqualTo(c);
        // Stable bytes: the vocabulary is a list by id, not a hashed map.
        assertThat(Json.toTree(small()).toString()).isEqualTo(json.toString());
    }

    @Test
    void parameterShapesAreThoseOfTheBuiltNetwork() {
        TextUNetConfig c = small();
        Map<String, long[]> shapes = c.parameterShapes().asMap();
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = c.build(Rng.of(0));
            StringTensorDict params = net.named_parameters(true);
            assertThat(shapes).hasSize((int) params.size());
            for (long i = 0; i < params.size(); i++) {
                assertThat(shapes.get(params.get(i).key().getString()))
                        .containsExactly(params.get(i).value().sizes().vec().get());
            }
            assertThat(shapes).containsKeys("text_encoder.text_model.embeddings.token_embedding.weight",
                    "unet.conv_in.weight");
        }
    }

    @Test
    void refusesMismatchedPartsAndBadOptions() {
        TextUNetConfig c = small();
        UNet2DConditionConfig u = c.unet();
        UNet2DConditionConfig wide = new UNet2DConditionConfig(u.sampleSize(), u.inChannels(), u.outChannels(),
                u.blockOutChannels(), u.layersPerBlock(), u.downBlockTypes(), u.upBlockTypes(), u.heads(), 64,
                u.linearProj(), u.onlyCross(), u.upcast(), u.normNumGroups(), u.normEps(), u.flipSinToCos(),
                u.freqShift(), u.downsamplePadding());
        assertThatThrownBy(() -> new TextUNetConfig(wide, c.textEncoder(), c.tokens(), c.merges(), c.captions()))
                .hasMessageContaining("cross_attention_dim 64").hasMessageContaining("hidden_size 32");
        assertThatThrownBy(() -> new TextUNetConfig(u, c.textEncoder(), c.tokens().subList(0, 10), c.merges(),
                c.captions())).hasMessageContaining("vocab_size");
        assertThatThrownBy(() -> TextUNetConfig.of(new long[] {2, 4, 4}, List.of(16, 32), 40, 1, CAPTIONS))
                .hasMessageContaining("--text-width");
        assertThatThrownBy(() -> TextUNetConfig.of(new long[] {2, 4, 4}, List.of(16, 32), 32, 0, CAPTIONS))
                .hasMessageContaining("--text-layers");
        assertThatThrownBy(() -> TextUNetConfig.of(new long[] {2}, List.of(16, 32), 32, 1, CAPTIONS))
                .hasMessageContaining("square");
    }
}
