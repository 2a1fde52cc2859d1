package org.diffusion4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Tensors;

/**
 * AdamW (Loshchilov &amp; Hutter 2019, algorithm 2), computed like torch.optim.AdamW. Written here rather than taken from
 * libtorch so its moments are plain tensors we can checkpoint as safetensors.
 */
public final class AdamW {
    private final List<Tensor> params;
    private final List<Tensor> expAvg = new ArrayList<>();
    private final List<Tensor> expAvgSq = new ArrayList<>();
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final FlatParameters flat;
    private final Tensor flatAvg;
    private final Tensor flatAvgSq;
    private long stepCount;

    /** Parameters must be created outside any pointer scope that closes before this optimiser is done. */
    public AdamW(List<Tensor> params, double beta1, double beta2, double eps, double weightDecay) {
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.flat = null;
        this.flatAvg = null;
        this.flatAvgSq = null;
        for (Tensor p : this.params) {
            expAvg.add(torch.zeros_like(p));
            expAvgSq.add(torch.zeros_like(p));
        }
    }

    /**
     * Over flat parameters: the moments are two [N] buffers, and {@link #expAvg()} / {@link #expAvgSq()} are views
     * of them, so checkpoints keep their per-parameter form. {@link #step(double, Tensor)} updates all at once.
     */
    public AdamW(FlatParameters flat, double beta1, double beta2, double eps, double weightDecay) {
        this.params = flat.parameters();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.flat = flat;
        this.flatAvg = flat.zeros();
        this.flatAvgSq = flat.zeros();
        expAvg.addAll(flat.views(flatAvg));
        expAvgSq.addAll(flat.views(flatAvgSq));
    }

    /** Applies one update with the gradients currently stored on the parameters; parameters without one are skipped. */
    public void step(double lr) {
        stepCount++;
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                Tensor g = p.grad();
                if (g.defined()) {
                    update(p, g, expAvg.get(i), expAvgSq.get(i), lr);
                }
            }
        }
    }

    /**
     * Applies one update to every parameter of the flat buffer this optimiser was built on.
     *
     * @param gradient [N], as {@link FlatParameters#gradients()} returns
     */
    public void step(double lr, Tensor gradient) {
        if (flat == null) {
            throw new IllegalStateException("this optimizer was built per tensor; call step(lr)");
        }
        if (gradient.dim() != 1 || gradient.numel() != flat.size()) {
            throw new IllegalArgumentException("expected a [" + flat.size() + "] gradient, got "
                    + Arrays.toString(gradient.sizes().vec().get()));
        }
        stepCount++;
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            update(flat.values(), gradient, flatAvg, flatAvgSq, lr);
        }
    }

    /** Algorithm 2's lines 6-12 for one tensor, at step {@link #stepCount}. */
    private void update(Tensor p, Tensor g, Tensor m, Tensor v, double lr) {
        double bc1 = 1 - Math.pow(beta1, stepCount);
        double bc2 = 1 - Math.pow(beta2, stepCount);
        if (weightDecay != 0) {
            p.mul_(Tensors.scalar(1 - lr * weightDecay));
        }
        m.lerp_(g, Tensors.scalar(1 - beta1));
        v.mul_(Tensors.scalar(beta2)).addcmul_(g, g, Tensors.scalar(1 - beta2));
        Tensor denom = v.sqrt().div(Tensors.scalar(Math.sqrt(bc2))).add_(Tensors.scalar(eps));
        p.addcdiv_(m, denom, Tensors.scalar(-lr / bc1));
    }

    /** Steps taken so far (Adam's t). */
    public long stepCount() {
        return stepCount;
    }

    /** The first moments, in parameter order (live tensors: for checkpointing). */
    public List<Tensor> expAvg() {
        return expAvg;
    }

    /** The second moments, in parameter order. */
    public List<Tensor> expAvgSq() {
        return expAvgSq;
    }

    /** Restores moments and step count (e.g. from a checkpoint); shapes must match the parameters. */
    public void load(List<Tensor> m, List<Tensor> v, long steps) {
        if (m.size() != params.size() || v.size() != params.size()) {
            throw new IllegalArgumentException("optimizer state has " + m.size() + "/" + v.size()
                    + " moments for " + params.size() + " parameters");
        }
        if (steps < 0) {
            throw new IllegalArgumentException("optimizer step count must be >= 0, got " + steps);
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < params.size(); i++) {
                copyChecked(expAvg.get(i), m.get(i), "exp_avg[" + i + "]");
                copyChecked(expAvgSq.get(i), v.get(i), "exp_avg_sq[" + i + "]");
            }
        }
        this.stepCount = steps;
    }

    static void copyChecked(Tensor dst, Tensor src, String what) {
        if (!Arrays.equals(dst.sizes().vec().get(), src.sizes().vec().get())) {
            throw new IllegalArgumentException(what + ": expected shape "
                    + Arrays.toString(dst.sizes().vec().get()) + " but got "
                    + Arrays.toString(src.sizes().vec().get()));
        }
        dst.copy_(src);
    }
}
