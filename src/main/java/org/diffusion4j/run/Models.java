package org.diffusion4j.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.model.dit.DiTConfig;
import org.diffusion4j.model.dit.DiTTransformer2DModel;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.model.unet.UNet2DModel;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.tensor.Memory;
import org.diffusion4j.tensor.Rng;

/** Maps the model type recorded in a checkpoint to its config class, and networks back to their configs. */
public final class Models {
    private static final Map<String, Class<? extends NetworkConfig>> TYPES = Map.of("mlp", MlpConfig.class,
            "unet", UNetConfig.class, "text-unet", TextUNetConfig.class, "dit", DiTConfig.class);

    private Models() {}

    /**
     * Reads a recorded config.
     *
     * @param source names the config's origin in errors
     */
    public static NetworkConfig config(String type, JsonNode config, String source) {
        Class<? extends NetworkConfig> cls = TYPES.get(type);
        if (cls == null) {
            throw new IllegalArgumentException(source + ": unknown model type '" + type + "' (known: "
                    + new TreeSet<>(TYPES.keySet()) + ")");
        }
        return Json.fromTree(migrate(type, config), cls, source + ": model_config");
    }

    /** Fills keys added after format_version 1 was first written with the value older files implied. */
    private static JsonNode migrate(String type, JsonNode config) {
        if (type.equals("unet") && config != null && config.isObject() && !config.has("downsample_padding")) {
            return ((ObjectNode) config.deepCopy()).put("downsample_padding", 1);
        }
        if (type.equals("mlp") && config != null && config.isObject() && !config.has("num_class_embeds")) {
            return ((ObjectNode) config.deepCopy()).putNull("num_class_embeds");
        }
        return config;
    }

    /** A checkpoint's tensor groups: the weights, their average, and AdamW's two moments. */
    private static final List<String> GROUPS = List.of(TrainingRun.MODEL, TrainingRun.EMA, TrainingRun.EXP_AVG,
            TrainingRun.EXP_AVG_SQ);

    /**
     * Checks a checkpoint's tensors, as its header declares them, against the parameters its config builds, and that
     * reading them and building the network fits in memory: before either is allocated, so that a config or header
     * asking for too much is refused instead of exhausting memory. Every group present must hold exactly the
     * network's parameters; tensors outside the groups are refused.
     *
     * @param required the groups that must be present ({@code model.} always; the moments to resume)
     * @throws IllegalArgumentException naming the file and the first tensor that does not fit
     */
    public static void requireTensors(ParameterShapes shapes, Safetensors.Header header, Path file,
                                      Set<String> required) {
        Map<String, long[]> declared = header.shapes(n -> n);
        for (String name : declared.keySet()) {
            if (GROUPS.stream().noneMatch(name::startsWith)) {
                throw new IllegalArgumentException(file + ": unexpected tensor '" + name + "' (checkpoint tensors are "
                        + "named " + String.join("*, ", GROUPS) + "*)");
            }
        }
        for (String group : GROUPS) {
            if (required.contains(group) || declared.keySet().stream().anyMatch(n -> n.startsWith(group))) {
                shapes.requireMatch(declared, group, file.toString());
            }
        }
        shapes.requireLoadable(header.dataBytes(), file.toString());
    }

    /**
     * Refuses a batch that cannot fit, from a lower bound of what it needs: per sample, the input, the noise and the
     * output plus {@link NetworkConfig#activationBytesPerSample} (twice in training, where the backward pass holds
     * gradients of them); in training also the parameters with their gradients, AdamW's two moments and the EMA. A
     * lower bound: what passes may still run out, but what is refused could never have run.
     *
     * @param training whether the network is still to be built for training (else it is loaded and sampling)
     * @param lower    what to change to need less, for the message
     */
    public static void requireFits(NetworkConfig config, long batch, boolean training, boolean ema, String what,
                                   String lower) {
        long perSample = ParameterShapes.saturatingAdd(3L * Float.BYTES * ParameterShapes.numel(config.sampleShape()),
                (training ? 2 : 1) * config.activationBytesPerSample());
        long need = batch > 0 && perSample > Long.MAX_VALUE / batch ? Long.MAX_VALUE : batch * perSample;
        if (training) {
            long params = config.parameterShapes().bytes();
            int copies = ema ? 5 : 4;
            need = ParameterShapes.saturatingAdd(need,
                    params > Long.MAX_VALUE / copies ? Long.MAX_VALUE : params * copies);
        }
        Memory.require(need, what, lower);
    }

    /** Builds an initialised network from a recorded type and config. */
    public static Network build(String type, JsonNode config, Rng init, String source) {
        return config(type, config, source).build(init);
    }

    /** The config of a network built here. */
    public static NetworkConfig configOf(Network network) {
        if (network instanceof MlpNet mlp) {
            return mlp.config();
        }
        if (network instanceof UNet2DModel unet) {
            return unet.config();
        }
        if (network instanceof DiTTransformer2DModel dit) {
            return dit.config();
        }
        if (network instanceof TextUNet text) {
            return text.config();
        }
        throw new IllegalArgumentException("no model config for " + network.getClass().getName());
    }
}
