package org.diffusion4j.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * diffusers' {@code UNet2DConditionModel} config (Stable Diffusion 1.x/2.x), the part this implementation covers.
 *
 * @param heads         attention heads per level, diffusers' {@code attention_head_dim} (which, despite its name, is
 *                      the number of heads); the mid block uses the last
 * @param crossAttnDim  the text embeddings' width
 * @param linearProj    {@code use_linear_projection} (SD 2.x)
 * @param onlyCross     {@code only_cross_attention}, per level
 * @param upcast        {@code upcast_attention} (SD 2.1); always met, as attention runs in float32
 */
public record UNet2DConditionConfig(int sampleSize, int inChannels, int outChannels, List<Integer> blockOutChannels,
                                    int layersPerBlock, List<String> downBlockTypes, List<String> upBlockTypes,
                                    List<Integer> heads, int crossAttnDim, boolean linearProj,
                                    List<Boolean> onlyCross, boolean upcast, int normNumGroups, double normEps,
                                    boolean flipSinToCos, int freqShift, int downsamplePadding) {
    static final Set<String> DOWN = Set.of("DownBlock2D", "CrossAttnDownBlock2D");
    static final Set<String> UP = Set.of("UpBlock2D", "CrossAttnUpBlock2D");

    public UNet2DConditionConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        heads = List.copyOf(heads);
        onlyCross = List.copyOf(onlyCross);
        int levels = blockOutChannels.size();
        if (levels < 1 || levels > UNetConfig.MAX_LEVELS) {
            throw new IllegalArgumentException("block_out_channels must have 1 to " + UNetConfig.MAX_LEVELS
                    + " levels, got " + levels);
        }
        for (List<?> l : List.of(downBlockTypes, upBlockTypes, heads, onlyCross)) {
            if (l.size() != levels) {
                throw new IllegalArgumentException("down_block_types, up_block_types, attention_head_dim and "
                        + "only_cross_attention need one entry per block_out_channels (" + levels + "), got " + l);
            }
        }
        UNetConfig.requireBlockTypes(downBlockTypes, DOWN, upBlockTypes, UP);
        // Before the divisibility checks below, which divide by it.
        if (normNumGroups < 1) {
            throw new IllegalArgumentException("norm_num_groups must be >= 1, got " + normNumGroups);
        }
        for (int i = 0; i < levels; i++) {
            int c = blockOutChannels.get(i);
            if (c < 1 || c > UNetConfig.MAX_CHANNELS || c % normNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels entry " + c + " must be in [1, "
                        + UNetConfig.MAX_CHANNELS + "] and divisible by norm_num_groups " + normNumGroups);
            }
            if (heads.get(i) < 1 || c % heads.get(i) != 0) {
                throw new IllegalArgumentException(c + " channels do not split into " + heads.get(i) + " heads");
            }
        }
        if (inChannels < 1 || outChannels < 1 || layersPerBlock < 1 || crossAttnDim < 1 || normNumGroups < 1
                || layersPerBlock > UNetConfig.MAX_LAYERS_PER_BLOCK || inChannels > UNetConfig.MAX_CHANNELS
                || outChannels > UNetConfig.MAX_CHANNELS || crossAttnDim > UNetConfig.MAX_CHANNELS) {
            throw new IllegalArgumentException("in_channels, out_channels, layers_per_block, cross_attention_dim and "
                    + "norm_num_groups must be positive and within bounds");
        }
        if (downsamplePadding != 0 && downsamplePadding != 1) {
            throw new IllegalArgumentException("downsample_padding must be 0 or 1, got " + downsamplePadding);
        }
    }

    public int timeEmbedDim() {
        return blockOutChannels.get(0) * 4;
    }

    /** Keys whose values we accept only when equal to what the architecture here implements. */
    private static final Map<String, Predicate<JsonNode>> FIXED = Map.ofEntries(
            Map.entry("center_input_sample", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("mid_block_type", v -> v.isTextual() && v.textValue().equals("UNetMidBlock2DCrossAttn")),
            Map.entry("mid_block_scale_factor", v -> v.isNumber() && v.doubleValue() == 1),
            Map.entry("act_fn", v -> v.isTextual() && v.textValue().equals("silu")),
            Map.entry("transformer_layers_per_block", v -> v.isIntegralNumber() && v.intValue() == 1),
            Map.entry("reverse_transformer_layers_per_block", JsonNode::isNull),
            Map.entry("encoder_hid_dim", JsonNode::isNull),
            Map.entry("encoder_hid_dim_type", JsonNode::isNull),
            Map.entry("num_attention_heads", JsonNode::isNull),
            Map.entry("dual_cross_attention", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("class_embed_type", JsonNode::isNull),
            Map.entry("addition_embed_type", JsonNode::isNull),
            Map.entry("addition_time_embed_dim", JsonNode::isNull),
            Map.entry("num_class_embeds", JsonNode::isNull),
            Map.entry("resnet_time_scale_shift", v -> v.isTextual() && v.textValue().equals("default")),
            Map.entry("resnet_skip_time_act", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("resnet_out_scale_factor", v -> v.isNumber() && v.doubleValue() == 1),
            Map.entry("time_embedding_type", v -> v.isTextual() && v.textValue().equals("positional")),
            Map.entry("time_embedding_dim", JsonNode::isNull),
            Map.entry("time_embedding_act_fn", JsonNode::isNull),
            Map.entry("timestep_post_act", JsonNode::isNull),
            Map.entry("time_cond_proj_dim", JsonNode::isNull),
            Map.entry("conv_in_kernel", v -> v.isIntegralNumber() && v.intValue() == 3),
            Map.entry("conv_out_kernel", v -> v.isIntegralNumber() && v.intValue() == 3),
            Map.entry("projection_class_embeddings_input_dim", JsonNode::isNull),
            Map.entry("attention_type", v -> v.isTextual() && v.textValue().equals("default")),
            Map.entry("class_embeddings_concat", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("mid_block_only_cross_attention", JsonNode::isNull),
            Map.entry("cross_attention_norm", JsonNode::isNull));

    /** Keys that carry no architecture (provenance, or training-only settings). */
    private static final List<String> IGNORED = List.of("_class_name", "_diffusers_version", "_name_or_path",
            "dropout", "addition_embed_type_num_heads", "_use_default_values");

    private static final List<String> READ = List.of("sample_size", "in_channels", "out_channels",
            "block_out_channels", "layers_per_block", "down_block_types", "up_block_types", "attention_head_dim",
            "cross_attention_dim", "use_linear_projection", "only_cross_attention", "upcast_attention",
            "norm_num_groups", "norm_eps", "flip_sin_to_cos", "freq_shift", "downsample_padding");

    /**
     * Reads a diffusers config.json: missing keys take diffusers' defaults; an unknown key, or a value this
     * implementation does not support, is an error naming the key.
     *
     * @param source names the file in errors
     */
    public static UNet2DConditionConfig read(JsonNode json, String source) {
        DiffusersConfig.requireKnown(json, source, "UNet2DConditionModel", FIXED, IGNORED, READ);
        try {
            List<Integer> channels = DiffusersConfig.ints(json, "block_out_channels", List.of(320, 640, 1280, 1280));
            int levels = channels.size();
            return new UNet2DConditionConfig(DiffusersConfig.intOr(json, "sample_size", 64),
                    DiffusersConfig.intOr(json, "in_channels", 4), DiffusersConfig.intOr(json, "out_channels", 4),
                    channels, DiffusersConfig.intOr(json, "layers_per_block", 2),
                    DiffusersConfig.strings(json, "down_block_types", List.of("CrossAttnDownBlock2D",
                            "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D")),
                    DiffusersConfig.strings(json, "up_block_types", List.of("UpBlock2D", "CrossAttnUpBlock2D",
                            "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")),
                    perLevel(json.get("attention_head_dim"), levels, 8, "attention_head_dim"),
                    DiffusersConfig.intOr(json, "cross_attention_dim", 1280),
                    bool(json, "use_linear_projection", false),
                    perLevelBool(json.get("only_cross_attention"), levels),
                    bool(json, "upcast_attention", false), DiffusersConfig.intOr(json, "norm_num_groups", 32),
                    json.has("norm_eps") ? json.get("norm_eps").asDouble() : 1e-5,
                    bool(json, "flip_sin_to_cos", true), DiffusersConfig.intOr(json, "freq_shift", 0),
                    DiffusersConfig.intOr(json, "downsample_padding", 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static List<Integer> perLevel(JsonNode v, int levels, int dflt, String key) {
        List<Integer> out = new ArrayList<>();
        if (v == null || v.isNull() || v.isIntegralNumber()) {
            int each = v == null || v.isNull() ? dflt : v.intValue();
            for (int i = 0; i < levels; i++) {
                out.add(each);
            }
            return out;
        }
        for (JsonNode e : v) {
            if (!e.isIntegralNumber()) {
                throw new IllegalArgumentException(key + " must be an integer or a list of integers, got " + v);
            }
            out.add(e.intValue());
        }
        return out;
    }

    private static List<Boolean> perLevelBool(JsonNode v, int levels) {
        List<Boolean> out = new ArrayList<>();
        if (v == null || v.isNull() || v.isBoolean()) {
            for (int i = 0; i < levels; i++) {
                out.add(v != null && v.asBoolean());
            }
            return out;
        }
        for (JsonNode e : v) {
            if (!e.isBoolean()) {
                throw new IllegalArgumentException("only_cross_attention must be a boolean or a list of them, got "
                        + v);
            }
            out.add(e.booleanValue());
        }
        return out;
    }

    private static boolean bool(JsonNode json, String key, boolean dflt) {
        JsonNode v = json.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException(key + " must be true or false, got " + v);
        }
        return v.booleanValue();
    }
}
