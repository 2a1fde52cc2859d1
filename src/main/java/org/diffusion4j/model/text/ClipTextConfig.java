package org.diffusion4j.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.diffusion4j.checkpoint.Json;

/**
 * transformers' {@code CLIPTextConfig}, the fields a {@code CLIPTextModel} forward pass uses.
 *
 * @param hiddenAct  "quick_gelu" (x sigmoid(1.702 x), SD 1.x) or "gelu" (erf, SD 2.x)
 * @param eosTokenId the end token; 2 (the legacy value in SD 1.x/2.x configs) pools at the largest id instead
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, String hiddenAct, double layerNormEps,
                             int eosTokenId) {
    private static final List<String> ACTIVATIONS = List.of("quick_gelu", "gelu");

    public ClipTextConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " does not split into "
                    + numAttentionHeads + " attention heads");
        }
        if (!ACTIVATIONS.contains(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act '" + hiddenAct + "' is not supported; expected one of "
                    + ACTIVATIONS);
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("layer_norm_eps must be > 0, got " + layerNormEps);
        }
    }

    private static void positive(String name, int v) {
        if (v < 1 || v > (1 << 24)) {
            throw new IllegalArgumentException(name + " must be in [1, 2^24], got " + v);
        }
    }

    /** Reads a transformers {@code config.json} (other fields, such as dropout or projection_dim, are ignored). */
    public static ClipTextConfig read(Path file) throws IOException {
        JsonNode c = Json.readFile(file);
        String type = c.path("model_type").asText("clip_text_model");
        if (!type.equals("clip_text_model")) {
            throw new IOException(file + ": model_type '" + type + "' is not a CLIP text model");
        }
        try {
            return new ClipTextConfig(integer(c, "vocab_size", 49408), integer(c, "hidden_size", 512),
                    integer(c, "intermediate_size", 2048), integer(c, "num_hidden_layers", 12),
                    integer(c, "num_attention_heads", 8), integer(c, "max_position_embeddings", 77),
                    c.path("hidden_act").asText("quick_gelu"), c.path("layer_norm_eps").asDouble(1e-5),
                    integer(c, "eos_token_id", 49407));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static int integer(JsonNode c, String key, int dflt) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.canConvertToInt()) {
            throw new IllegalArgumentException(key + " must be an integer, got " + v);
        }
        return v.asInt();
    }

    /** Parameters per head. */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }
}
