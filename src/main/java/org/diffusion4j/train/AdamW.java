package org.diffusion4j.train;

import java.util.ArrayList;
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
    private long stepCount;

    /** Parameters must be created outside any pointer scope that closes before this optimiser is done. */
    public AdamW(List<Tensor> params, double beta1, double beta2, double eps, double weightDecay) {
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (Tensor p : this.params) {
            expAvg.add(torch.zeros_like(p));
            expAvgSq.add(torch.zeros_like(p));
        }
    }

    /** Applies one update with the gradients currently stored on the parameters; parameters without one are skipped. */
    public void step(double lr) {
        stepCount++;
        double bc1 = 1 - Math.pow(beta1, stepCount);
        double bc2 = 1 - Math.pow(beta2, stepCount);
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                Tensor g = p.grad();
                if (!g.defined()) {
                    continue;
                }
                Tensor m = expAvg.get(i);
                Tensor v = expAvgSq.get(i);
                p.mul_(Tensors.scalar(1 - lr * weightDecay));
                m.lerp_(g, Tensors.scalar(1 - beta1));
                v.mul_(Tensors.scalar(beta2)).addcmul_(g, g, Tensors.scalar(1 - beta2));
                Tensor denom = v.sqrt().div(Tensors.scalar(Math.sqrt(bc2))).add_(Tensors.scalar(eps));
                p.addcdiv_(m, denom, Tensors.scalar(-lr / bc1));
            }
        }
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
        if (!java.util.Arrays.equals(dst.sizes().vec().get(), src.sizes().vec().get())) {
            throw new IllegalArgumentException(what + ": expected shape "
                    + java.util.Arrays.toString(dst.sizes().vec().get()) + " but got "
                    + java.util.Arrays.toString(src.sizes().vec().get()));
        }
        dst.copy_(src);
    }
}
