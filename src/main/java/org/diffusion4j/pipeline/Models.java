package org.diffusion4j.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.model.mlp.MlpNet;
import org.diffusion4j.tensor.Rng;

/** Maps the model type recorded in a checkpoint to the network class that reads its config. */
public final class Models {
    public static final String MLP = "mlp";

    private Models() {}

    /**
     * Builds an initialised network.
     *
     * @param source names the config's origin in errors
     */
    public static Network build(String type, JsonNode config, Rng init, String source) {
        return switch (type) {
            case MLP -> new MlpNet(Json.fromTree(config, MlpConfig.class, source + ": model_config"), init);
            default -> throw new IllegalArgumentException(source + ": unknown model type '" + type + "' (known: mlp)");
        };
    }

    /** The type name of a network built here. */
    public static String typeOf(Network network) {
        if (network instanceof MlpNet) {
            return MLP;
        }
        throw new IllegalArgumentException("no model type for " + network.getClass().getName());
    }

    /** The config record of a network built here, as JSON. */
    public static JsonNode configOf(Network network) {
        if (network instanceof MlpNet mlp) {
            return Json.toTree(mlp.config());
        }
        throw new IllegalArgumentException("no model config for " + network.getClass().getName());
    }
}
