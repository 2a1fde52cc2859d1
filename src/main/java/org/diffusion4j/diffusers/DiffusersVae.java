package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.ModelFolder;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.model.unet.DiffusersConfig;
import org.diffusion4j.tensor.Rng;

/**
 * A diffusers {@code AutoencoderKL} folder ({@code config.json} + {@code diffusion_pytorch_model.safetensors}), Stable
 * Diffusion's VAE, loaded into the project's own {@link AutoencoderKL}, whose layout and parameter names are
 * diffusers'. Pipelines encode as {@code scalingFactor * sample} and decode {@code latents / scalingFactor}.
 *
 * @param vae           the autoencoder with the folder's weights, in eval mode
 * @param scalingFactor the config's {@code scaling_factor} (0.18215 for SD 1.x/2.x)
 */
public record DiffusersVae(AutoencoderKL vae, double scalingFactor) {
    /** Keys read, with what they must hold when this implementation does not cover other values. */
    private static final Set<String> READ = Set.of("in_channels", "out_channels", "down_block_types",
            "up_block_types", "block_out_channels", "layers_per_block", "act_fn", "latent_channels", "norm_num_groups",
            "sample_size", "scaling_factor", "shift_factor", "latents_mean", "latents_std", "use_quant_conv",
            "use_post_quant_conv", "mid_block_add_attention", "force_upcast");
    private static final Set<String> IGNORED = Set.of("_class_name", "_diffusers_version", "_name_or_path",
            "_use_default_values");

    /** @throws IOException naming the file that is missing, unsupported or inconsistent */
    public static DiffusersVae load(Path folder) throws IOException {
        Path config = folder.resolve("config.json");
        Path weights = folder.resolve("diffusion_pytorch_model.safetensors");
        ModelFolder.require(folder, "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin",
                "a diffusers AutoencoderKL");
        JsonNode c = Json.readFile(config);
        AutoencoderConfig cfg;
        double scaling;
        try {
            cfg = config(c);
            scaling = c.path("scaling_factor").asDouble(0.18215);
            if (!(scaling > 0)) {
                throw new IllegalArgumentException("scaling_factor must be > 0, got " + c.get("scaling_factor"));
            }
        } catch (IllegalArgumentException e) {
            throw new IOException(config + ": " + e.getMessage(), e);
        }
        AutoencoderKL vae = cfg.build(Rng.of(0));
        Parameters.load(vae, DiffusersModel.renameDeprecated(Safetensors.read(weights).tensors()), weights.toString());
        vae.eval();
        return new DiffusersVae(vae, scaling);
    }

    static AutoencoderConfig config(JsonNode c) {
        if (!c.isObject()) {
            throw new IllegalArgumentException("a diffusers config must be a JSON object");
        }
        String cls = c.path("_class_name").asText("AutoencoderKL");
        if (!cls.equals("AutoencoderKL")) {
            throw new IllegalArgumentException("_class_name is '" + cls + "'; expected AutoencoderKL");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
            String k = it.next().getKey();
            if (!READ.contains(k) && !IGNORED.contains(k)) {
                throw new IllegalArgumentException("unknown AutoencoderKL config key '" + k + "'");
            }
        }
        List<Integer> channels = DiffusersConfig.ints(c, "block_out_channels", List.of(64));
        int levels = channels.size();
        for (String key : new String[] {"down_block_types", "up_block_types"}) {
            String want = key.startsWith("down") ? "DownEncoderBlock2D" : "UpDecoderBlock2D";
            for (String t : DiffusersConfig.strings(c, key, List.of(want))) {
                if (!t.equals(want)) {
                    throw new IllegalArgumentException(key + " entry '" + t + "' is not supported; expected " + want);
                }
            }
            if (c.has(key) && c.get(key).size() != levels) {
                throw new IllegalArgumentException(key + " needs one entry per block_out_channels (" + levels + ")");
            }
        }
        requireEqual(c, "act_fn", "silu");
        for (String key : new String[] {"shift_factor", "latents_mean", "latents_std"}) {
            if (c.has(key) && !c.get(key).isNull()) {
                throw new IllegalArgumentException(key + " = " + c.get(key) + " is not supported");
            }
        }
        if (c.has("mid_block_add_attention") && !c.get("mid_block_add_attention").asBoolean()) {
            throw new IllegalArgumentException("mid_block_add_attention = false is not supported");
        }
        boolean quant = !c.has("use_quant_conv") || c.get("use_quant_conv").asBoolean();
        boolean postQuant = !c.has("use_post_quant_conv") || c.get("use_post_quant_conv").asBoolean();
        if (quant != postQuant) {
            throw new IllegalArgumentException("use_quant_conv and use_post_quant_conv must be equal");
        }
        int in = DiffusersConfig.intOr(c, "in_channels", 3);
        if (DiffusersConfig.intOr(c, "out_channels", 3) != in) {
            throw new IllegalArgumentException("out_channels must equal in_channels " + in);
        }
        int size = DiffusersConfig.intOr(c, "sample_size", 32);
        int f = 1 << (levels - 1);
        if (size % f != 0) {
            throw new IllegalArgumentException("sample_size " + size + " is not divisible by the downsampling factor "
                    + f);
        }
        return new AutoencoderConfig(size, in, new ArrayList<>(channels), DiffusersConfig.intOr(c,
                "latent_channels", 4), size / f, DiffusersConfig.intOr(c, "layers_per_block", 1),
                DiffusersConfig.intOr(c, "norm_num_groups", 32), quant);
    }

    private static void requireEqual(JsonNode c, String key, String want) {
        if (c.has(key) && !c.get(key).asText().equals(want)) {
            throw new IllegalArgumentException(key + " = " + c.get(key) + " is not supported; expected \"" + want
                    + "\"");
        }
    }
}
