package org.diffusion4j.train;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;

/**
 * An exponential moving average of the weights, which samples better than the raw weights. The decay ramps as
 * min(decay, (1 + k) / (10 + k)) over update k so early averages are not dominated by the random init.
 */
public final class Ema {
    private final List<Tensor> params;
    private final List<Tensor> shadow = new ArrayList<>();
    private final double decay;
    private final FlatParameters flat;
    private final Tensor flatShadow;
    private long updates;

    public Ema(List<Tensor> params, double decay) {
        this.params = List.copyOf(params);
        this.decay = checkDecay(decay);
        this.flat = null;
        this.flatShadow = null;
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Tensor p : this.params) {
                shadow.add(p.detach().clone());
            }
        }
    }

    /** Over flat parameters: one [N] average, which {@link #shadow()} views per parameter. */
    public Ema(FlatParameters flat, double decay) {
        this.params = flat.parameters();
        this.decay = checkDecay(decay);
        this.flat = flat;
        try (NoGradGuard guard = new NoGradGuard()) {
            this.flatShadow = Scopes.detach(flat.values().detach().clone());
        }
        shadow.addAll(flat.views(flatShadow));
    }

    private static double checkDecay(double decay) {
        if (!(decay > 0 && decay < 1)) {
            throw new IllegalArgumentException("EMA decay must be in (0, 1), got " + decay);
        }
        return decay;
    }

    /** The decay used at update {@code k}. */
    public double decayAt(long k) {
        return Math.min(decay, (1.0 + k) / (10.0 + k));
    }

    /** shadow = d * shadow + (1 - d) * param. */
    public void update() {
        double d = decayAt(updates);
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            if (flat != null) {
                flatShadow.lerp_(flat.values(), Tensors.scalar(1 - d));
            } else {
                for (int i = 0; i < params.size(); i++) {
                    shadow.get(i).lerp_(params.get(i), Tensors.scalar(1 - d));
                }
            }
        }
        updates++;
    }

    /** The averaged weights, in parameter order (live tensors). */
    public List<Tensor> shadow() {
        return shadow;
    }

    public long updates() {
        return updates;
    }

    /** Restores the averaged weights and the update count. */
    public void load(List<Tensor> weights, long updateCount) {
        if (weights.size() != shadow.size()) {
            throw new IllegalArgumentException("EMA state has " + weights.size() + " tensors for " + shadow.size()
                    + " parameters");
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < shadow.size(); i++) {
                AdamW.copyChecked(shadow.get(i), weights.get(i), "ema[" + i + "]");
            }
        }
        this.updates = updateCount;
    }
}
