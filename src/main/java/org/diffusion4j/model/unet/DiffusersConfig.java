package org.diffusion4j.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Reads a diffusers {@code UNet2DModel} config.json. Missing keys take diffusers' defaults; a key we do not know, or a
 * value this implementation does not support, is an error naming the key, never silently ignored.
 */
public final class DiffusersConfig {
    private DiffusersConfig() {}

    /** Keys whose values we accept only when equal to what the architecture here implements. */
    private static final Map<String, Predicate<JsonNode>> FIXED = Map.ofEntries(
            Map.entry("center_input_sample", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("time_embedding_type", v -> v.isTextual() && v.textValue().equals("positional")),
            Map.entry("time_embedding_dim", JsonNode::isNull),
            Map.entry("mid_block_scale_factor", v -> v.isNumber() && v.doubleValue() == 1),
            Map.entry("downsample_type", v -> v.isTextual() && v.textValue().equals("conv")),
            Map.entry("upsample_type", v -> v.isTextual() && v.textValue().equals("conv")),
            Map.entry("act_fn", v -> v.isTextual() && v.textValue().equals("silu")),
            Map.entry("attn_norm_num_groups", JsonNode::isNull),
            Map.entry("resnet_time_scale_shift", v -> v.isTextual() && v.textValue().equals("default")),
            Map.entry("add_attention", v -> v.isBoolean() && v.booleanValue()),
            Map.entry("class_embed_type", JsonNode::isNull));

    /** Keys that carry no architecture (provenance, or training-only settings irrelevant to these layers). */
    private static final List<String> IGNORED = List.of("_class_name", "_diffusers_version", "_name_or_path",
            "num_train_timesteps", "dropout");

    private static final List<String> READ = List.of("sample_size", "in_channels", "out_channels",
            "block_out_channels", "layers_per_block", "down_block_types", "up_block_types", "norm_num_groups",
            "attention_head_dim", "flip_sin_to_cos", "freq_shift", "num_class_embeds", "norm_eps", "downsample_padding");

    /**
     * @param source names the file in errors
     */
    public static UNetConfig read(JsonNode json, String source) {
        requireKnown(json, source, "UNet2DModel", FIXED, IGNORED, READ);
        try {
            return new UNetConfig(intOr(json, "sample_size", -1), intOr(json, "in_channels", 3),
                    intOr(json, "out_channels", 3),
                    ints(json, "block_out_channels", List.of(224, 448, 672, 896)), intOr(json, "layers_per_block", 2),
                    strings(json, "down_block_types",
                            List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D")),
                    strings(json, "up_block_types",
                            List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D")),
                    intOr(json, "norm_num_groups", 32),
                    json.has("attention_head_dim") ? nullableInt(json, "attention_head_dim") : Integer.valueOf(8),
                    !json.has("flip_sin_to_cos") || json.get("flip_sin_to_cos").asBoolean(),
                    intOr(json, "freq_shift", 0), nullableInt(json, "num_class_embeds"),
                    json.has("norm_eps") ? json.get("norm_eps").asDouble() : 1e-5,
                    intOr(json, "downsample_padding", 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks a diffusers config object before it is read: its {@code _class_name} (when present) is {@code cls};
     * every key is read, ignored, or fixed to a value this implementation covers. Errors name {@code source} and the
     * key.
     */
    public static void requireKnown(JsonNode json, String source, String cls, Map<String, Predicate<JsonNode>> fixed,
                             List<String> ignored, List<String> read) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException(source + ": a diffusers config must be a JSON object");
        }
        JsonNode name = json.get("_class_name");
        if (name != null && !Objects.equals(name.asText(), cls)) {
            throw new IllegalArgumentException(source + ": _class_name is '" + name.asText() + "'; expected " + cls);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            if (fixed.containsKey(k)) {
                if (!fixed.get(k).test(e.getValue())) {
                    throw new IllegalArgumentException(source + ": " + k + " = " + e.getValue() + " is not supported");
                }
            } else if (!ignored.contains(k) && !read.contains(k)) {
                throw new IllegalArgumentException(source + ": unknown " + cls + " config key '" + k + "'");
            }
        }
    }

    /** An integer field; {@code fallback} when absent (a negative fallback makes it required). */
    public static int intOr(JsonNode json, String key, int fallback) {
        JsonNode v = json.get(key);
        if (v == null) {
            if (fallback < 0) {
                throw new IllegalArgumentException("missing " + key);
            }
            return fallback;
        }
        if (!v.isIntegralNumber()) {
            throw new IllegalArgumentException(key + " must be an integer, got " + v);
        }
        return v.intValue();
    }

    /** An integer field that may be absent or null. */
    public static Integer nullableInt(JsonNode json, String key) {
        JsonNode v = json.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber()) {
            throw new IllegalArgumentException(key + " must be an integer or null, got " + v);
        }
        return v.intValue();
    }

    /** A list of integers; {@code fallback} when absent. */
    public static List<Integer> ints(JsonNode json, String key, List<Integer> fallback) {
        JsonNode v = json.get(key);
        if (v == null) {
            return fallback;
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isIntegralNumber()) {
                throw new IllegalArgumentException(key + " must be a list of integers, got " + v);
            }
            out.add(e.intValue());
        }
        return out;
    }

    /** A list of strings; {@code fallback} when absent. */
    public static List<String> strings(JsonNode json, String key, List<String> fallback) {
        JsonNode v = json.get(key);
        if (v == null) {
            return fallback;
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            out.add(e.asText());
        }
        return out;
    }
}
