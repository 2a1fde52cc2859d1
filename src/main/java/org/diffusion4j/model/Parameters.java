package org.diffusion4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.ModelFolder;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.tensor.Tensors;

/** Named access to a module's parameters, in registration order. */
public final class Parameters {
    private Parameters() {}

    /**
     * Loads a diffusers model folder: {@code config.json} through {@code read} (which names the file in its errors),
     * the network {@code build} makes of it, and {@code diffusion_pytorch_model.safetensors} into it as {@link #load}
     * does; the network is left in eval mode.
     *
     * @param what the model, for messages ("a DiTTransformer2DModel")
     * @throws IOException naming the file that is missing, unreadable or does not fit
     */
    public static <C, M extends Module> M loadFolder(Path folder, String what, BiFunction<JsonNode, String, C> read,
                                                     Function<C, M> build) throws IOException {
        Path config = folder.resolve("config.json");
        Path weights = folder.resolve("diffusion_pytorch_model.safetensors");
        ModelFolder.require(folder, "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", what);
        M net;
        try {
            net = build.apply(read.apply(Json.readFile(config), config.toString()));
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        load(net, Safetensors.read(weights).tensors(), weights.toString());
        net.eval();
        return net;
    }

    /**
     * The parameters by dotted name. The handles share storage with the module; call this outside short-lived
     * pointer scopes when the handles must stay valid.
     */
    public static Map<String, Tensor> named(Module module) {
        StringTensorDict dict = module.named_parameters(true);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (long i = 0; i < dict.size(); i++) {
            // value() is a reference into the dict, which dies with it: take an owning handle.
            out.put(dict.get(i).key().getString(), new Tensor(dict.get(i).value()));
        }
        return out;
    }

    /** Total number of scalar parameters. */
    public static long count(Module module) {
        long n = 0;
        for (Tensor p : named(module).values()) {
            n += p.numel();
        }
        return n;
    }

    /**
     * Copies {@code values} into the module's parameters. Every parameter must be present with its exact shape, and
     * nothing else may be: a silent partial load is how wrong checkpoints go unnoticed.
     *
     * @param source names the origin (a file) in error messages
     */
    public static void load(Module module, Map<String, Tensor> values, String source) {
        Map<String, Tensor> params = named(module);
        for (String name : values.keySet()) {
            if (!params.containsKey(name)) {
                throw new IllegalArgumentException(source + ": unexpected tensor '" + name
                        + "' (the model has no such parameter)");
            }
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                Tensor v = values.get(e.getKey());
                if (v == null) {
                    throw new IllegalArgumentException(source + ": missing parameter '" + e.getKey() + "'");
                }
                long[] want = e.getValue().sizes().vec().get();
                long[] got = v.sizes().vec().get();
                if (!Arrays.equals(want, got)) {
                    throw new IllegalArgumentException(source + ": parameter '" + e.getKey() + "' has shape "
                            + Arrays.toString(got) + " but the model needs " + Arrays.toString(want));
                }
                if (v.is_floating_point() && !Tensors.allFinite(v)) {
                    throw new IllegalArgumentException(source + ": parameter '" + e.getKey() + "' holds NaN or "
                            + "infinite values (a diverged or damaged checkpoint)");
                }
                e.getValue().copy_(v);
            }
        }
    }
}
