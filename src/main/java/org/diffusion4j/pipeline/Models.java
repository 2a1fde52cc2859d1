package org.diffusion4j.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.model.unet.UNet2DModel;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;

/** Maps the model type recorded in a checkpoint to its config class, and networks back to their configs. */
public final class Models {
    private static final Map<String, Class<? extends NetworkConfig>> TYPES = Map.of("mlp", MlpConfig.class,
            "unet", UNetConfig.class);

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
                    + new java.util.TreeSet<>(TYPES.keySet()) + ")");
        }
        return Json.fromTree(migrate(type, config), cls, source + ": model_config");
    }

    /** Fills keys added after format_version 1 was first written with the value older files implied. */
    private static JsonNode migrate(String type, JsonNode config) {
        if (type.equals("unet") && config != null && config.isObject() && !config.has("downsample_padding")) {
            return ((com.fasterxml.jackson.databind.node.ObjectNode) config.deepCopy()).put("downsample_padding", 1);
        }
        if (type.equals("mlp") && config != null && config.isObject() && !config.has("num_class_embeds")) {
            return ((com.fasterxml.jackson.databind.node.ObjectNode) config.deepCopy()).putNull("num_class_embeds");
        }
        return config;
    }

    /** Builds an initialised network from a recorded type and config. */
    public static Network build(String type, JsonNode config, Rng init, String source) {
        return config(type, config, source).build(init);
    }

    /**
     * Moves the network's parameters to {@code device} in place (as {@code model.to(device)}): handles to them stay
     * valid. A no-op on the CPU.
     *
     * @return network
     */
    public static Network moveTo(Network network, DeviceSpec device) {
        if (!device.isCpu()) {
            network.module().to(device.torch(), false);
        }
        return network;
    }

    /** The config of a network built here. */
    public static NetworkConfig configOf(Network network) {
        if (network instanceof MlpNet mlp) {
            return mlp.config();
        }
        if (network instanceof UNet2DModel unet) {
            return unet.config();
        }
        throw new IllegalArgumentException("no model config for " + network.getClass().getName());
    }
}
