package org.diffusion4j.schedule;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * The diffusion process a model was trained on, x_t = alpha x0 + sigma eps: where training draws its levels, and which
 * levels sampling walks. Every sampler works on the levels alone; this is the one place that knows the process.
 *
 * <ul>
 *   <li>{@link Ddpm}: the discrete variance-preserving chain of a {@link NoiseSchedule} (Ho et al. 2020);</li>
 *   <li>{@link Flow}: the straight path alpha = 1 - t, sigma = t (flow matching, rectified flow);</li>
 *   <li>{@link Edm}: Karras et al. 2022's log-normal training levels; sampled on the schedule's levels.</li>
 * </ul>
 */
public sealed interface DiffusionProcess permits DiffusionProcess.OnSchedule, DiffusionProcess.Flow {
    /** The training schedule: T for the network's time input and, for DDPM and EDM, the levels sampling walks. */
    NoiseSchedule schedule();

    /**
     * The N+1 levels an N-step sampler walks, from the noisiest to the clean end (0, 1, 0).
     *
     * @param spacing how the steps spread over the training timesteps (DDPM and EDM)
     * @param karras  Karras et al.'s sigmas (rho 7) between the schedule's extremes instead (DDPM and EDM)
     */
    List<NoiseLevel> levels(int n, TimestepSpacing spacing, boolean karras);

    /** The level at VE sigma {@code s} = sigma / alpha, with its network time (for levels between the steps). */
    NoiseLevel atVe(double s);

    /**
     * One training level per row: alpha, sigma and the network's time input, each float32 [batch]. Draws from
     * {@code rng} a fixed number of times, so a step's later draws (its noise) do not depend on the process.
     */
    Draw draw(Rng rng, int batch);

    /** Per-row training levels, float32 [batch] each. */
    record Draw(Tensor alpha, Tensor sigma, Tensor time) {}

    /** The processes sampled on their schedule's variance-preserving levels (DDPM and EDM). */
    sealed interface OnSchedule extends DiffusionProcess permits Ddpm, Edm {
        @Override
        default List<NoiseLevel> levels(int n, TimestepSpacing spacing, boolean karras) {
            return scheduleLevels(this, n, spacing, karras);
        }

        @Override
        default NoiseLevel atVe(double s) {
            return vpAtVe(schedule(), s);
        }
    }

    /**
     * DDPM: uniform integer timesteps t, alpha = sqrt(alpha-bar_t) and sigma = sqrt(1 - alpha-bar_t) rounded to
     * float32, the network time t.
     */
    record Ddpm(NoiseSchedule schedule) implements OnSchedule {
        public Ddpm {
            if (schedule == null) {
                throw new IllegalArgumentException("a DDPM process needs its noise schedule");
            }
        }

        @Override
        public Draw draw(Rng rng, int batch) {
            Tensor t = rng.randint(0, schedule.size(), batch);
            long[] ts = new long[batch];
            t.contiguous().data_ptr_long().get(ts);
            float[] a = new float[batch];
            float[] s = new float[batch];
            for (int i = 0; i < batch; i++) {
                double ab = schedule.alphaBar((int) ts[i]);
                a[i] = (float) Math.sqrt(ab);
                s[i] = (float) Math.sqrt(1 - ab);
            }
            return new Draw(Tensors.fromFloats(a, batch), Tensors.fromFloats(s, batch), t.to(torch.ScalarType.Float));
        }
    }

    /**
     * Flow matching: t in (0, 1) drawn by {@code timeSampling}, alpha = 1 - t, sigma = t, the network time t T (as
     * diffusers' FlowMatch schedulers feed sigma * num_train_timesteps). Sampling takes uniform steps of t from 1.
     */
    record Flow(NoiseSchedule schedule, TimeSampling timeSampling) implements DiffusionProcess {
        public Flow {
            if (schedule == null || timeSampling == null) {
                throw new IllegalArgumentException("a flow process needs a schedule (for T) and a time sampling");
            }
        }

        @Override
        public List<NoiseLevel> levels(int n, TimestepSpacing spacing, boolean karras) {
            if (karras) {
                throw new IllegalArgumentException("--karras is for DDPM-trained models; flow-matching models sample "
                        + "uniform steps of t");
            }
            List<NoiseLevel> levels = new ArrayList<>(n + 1);
            for (int i = 0; i < n; i++) {
                levels.add(at(1 - (double) i / n));
            }
            levels.add(new NoiseLevel(0, 1, 0));
            return List.copyOf(levels);
        }

        @Override
        public NoiseLevel atVe(double s) {
            requireVe(s);
            return at(s / (1 + s));
        }

        private NoiseLevel at(double t) {
            return new NoiseLevel(t * schedule.size(), 1 - t, t);
        }

        @Override
        public Draw draw(Rng rng, int batch) {
            Tensor t = timeSampling.sample(rng, batch);
            return new Draw(torch.ones_like(t).sub(t), t, t.mul(Tensors.scalar(schedule.size())));
        }
    }

    /**
     * EDM (Karras et al. 2022): ln(sigma) ~ N({@link #P_MEAN}, {@link #P_STD}^2) on the VE path (alpha = 1); the
     * network's time input is left to the preconditioning (zeros here). Sampling walks the schedule's levels, as for
     * DDPM.
     */
    record Edm(NoiseSchedule schedule) implements OnSchedule {
        /** Mean of ln(sigma) in training (their table 1). */
        public static final double P_MEAN = -1.2;
        /** Standard deviation of ln(sigma) in training. */
        public static final double P_STD = 1.2;

        public Edm {
            if (schedule == null) {
                throw new IllegalArgumentException("an EDM process needs the noise schedule it samples on");
            }
        }

        @Override
        public Draw draw(Rng rng, int batch) {
            Tensor n = rng.randn(batch);
            Tensor sigma = n.mul(Tensors.scalar(P_STD)).add(Tensors.scalar(P_MEAN)).exp();
            return new Draw(torch.ones_like(sigma), sigma, torch.zeros_like(n));
        }
    }

    /** The spaced (or Karras) levels of a schedule, then the clean end. */
    private static List<NoiseLevel> scheduleLevels(DiffusionProcess p, int n, TimestepSpacing spacing,
                                                   boolean karras) {
        NoiseSchedule schedule = p.schedule();
        List<NoiseLevel> levels = new ArrayList<>(n + 1);
        if (karras) {
            double[] train = schedule.sigmas();
            for (double s : Sigmas.karras(train[0], train[train.length - 1], n, 7.0)) {
                levels.add(p.atVe(s));
            }
        } else {
            for (int t : spacing.timesteps(schedule.size(), n, 0)) {
                levels.add(NoiseLevel.vp(t, schedule.alphaBar(t)));
            }
        }
        levels.add(new NoiseLevel(0, 1, 0));
        return List.copyOf(levels);
    }

    /**
     * The variance-preserving level at VE sigma s: alpha = 1 / sqrt(1 + s^2), with the fractional timestep whose
     * training sigma is s (clamped to [0, T-1]).
     */
    private static NoiseLevel vpAtVe(NoiseSchedule schedule, double s) {
        requireVe(s);
        double alpha = 1 / Math.sqrt(1 + s * s);
        return new NoiseLevel(Sigmas.toTimestep(s, schedule.sigmas()), alpha, s * alpha);
    }

    private static void requireVe(double s) {
        if (!(s > 0) || Double.isInfinite(s)) {
            throw new IllegalArgumentException("VE sigma must be finite and > 0, got " + s);
        }
    }
}
