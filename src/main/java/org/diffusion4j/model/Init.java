package org.diffusion4j.model;

import java.util.HashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Rng;

/**
 * Re-initialises a module's parameters from an explicit generator, so that a seed fully determines a model
 * (libtorch's constructors draw from its global generator, which we never use).
 */
public final class Init {
    private Init() {}

    /**
     * PyTorch's default for Linear and Conv layers: weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is
     * what kaiming_uniform(a = sqrt(5)) amounts to. One-dimensional weights (norm scales) and their biases are left
     * as constructed (ones and zeros). Parameters are visited in registration order.
     */
    public static void pytorchDefault(Module module, Rng rng) {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            StringTensorDict params = module.named_parameters(true);
            Map<String, Long> fanIn = new HashMap<>();
            for (long i = 0; i < params.size(); i++) {
                String name = params.get(i).key().getString();
                Tensor p = params.get(i).value();
                if (name.endsWith("weight") && p.dim() >= 2) {
                    fanIn.put(name.substring(0, name.length() - "weight".length()), p.numel() / p.size(0));
                }
            }
            for (long i = 0; i < params.size(); i++) {
                String name = params.get(i).key().getString();
                Tensor p = params.get(i).value();
                String prefix = name.endsWith("weight") ? name.substring(0, name.length() - 6)
                        : name.endsWith("bias") ? name.substring(0, name.length() - 4) : null;
                Long fan = prefix == null ? null : fanIn.get(prefix);
                if (fan != null) {
                    double bound = 1 / Math.sqrt(fan);
                    p.uniform_(-bound, bound, rng.generator());
                }
            }
        }
    }
}
