package org.diffusion4j.schedule;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * The closed-form forward process q(x_t | x0) = N(sqrt(alpha-bar_t) x0, (1 - alpha-bar_t) I) (Ho et al. 2020, eq. 4).
 * Holds the per-timestep coefficient tables as float32 tensors on one device; create it once, outside per-step scopes.
 */
public final class ForwardProcess {
    private final NoiseSchedule schedule;
    private final Tensor sqrtAlphaBar;
    private final Tensor sqrtOneMinusAlphaBar;

    public ForwardProcess(NoiseSchedule schedule) {
        this(schedule, DeviceSpec.CPU);
    }

    /** With the tables on {@code device}, where the timesteps passed in must be too. */
    public ForwardProcess(NoiseSchedule schedule, DeviceSpec device) {
        this.schedule = schedule;
        int n = schedule.size();
        float[] a = new float[n];
        float[] s = new float[n];
        for (int t = 0; t < n; t++) {
            double ab = schedule.alphaBar(t);
            a[t] = (float) Math.sqrt(ab);
            s[t] = (float) Math.sqrt(1 - ab);
        }
        this.sqrtAlphaBar = device.put(Tensors.fromFloats(a, n));
        this.sqrtOneMinusAlphaBar = device.put(Tensors.fromFloats(s, n));
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    /**
     * x_t = sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) noise.
     *
     * @param x0    clean data [B, ...]
     * @param noise standard normal noise, same shape as x0
     * @param t     int64 timesteps [B] in [0, T)
     * @return x_t [B, ...]
     */
    public Tensor addNoise(Tensor x0, Tensor noise, Tensor t) {
        Shapes.requireSame(x0, "x0", noise, "noise");
        Shapes.require(t, "t", x0.size(0));
        return x0.mul(alpha(t, x0.dim())).add(noise.mul(sigma(t, x0.dim())));
    }

    /** sqrt(alpha-bar_t) per sample, shaped [B, 1, ...] to broadcast over a rank-{@code rank} batch. */
    public Tensor alpha(Tensor t, long rank) {
        return gather(sqrtAlphaBar, t, rank);
    }

    /** sqrt(1 - alpha-bar_t) per sample, shaped [B, 1, ...]. */
    public Tensor sigma(Tensor t, long rank) {
        return gather(sqrtOneMinusAlphaBar, t, rank);
    }

    private Tensor gather(Tensor table, Tensor t, long rank) {
        return table.index_select(0, t).view(Shapes.perSample(t.size(0), rank));
    }
}
