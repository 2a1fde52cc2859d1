package org.diffusion4j.sampler;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.History;

/**
 * Pseudo numerical methods (Liu et al. 2022, "PNDM"): the transfer x' = phi(x, e, t -&gt; t') of eq. 9 driven by a
 * linear multistep combination of model outputs (PLMS, eq. 12: Adams-Bashforth of orders 1-4), started either by
 * a Heun-like improved step or, with {@code prk}, by three pseudo Runge-Kutta steps (eq. 13).
 *
 * <p>The transfer is phi = sqrt(a'/a) x - (a' - a) e / (a sqrt(1 - a') + sqrt(a (1 - a) a')), a = alpha-bar. The
 * outputs combined are eps, or v when {@code combined} is V: v is then turned into eps at the start of the step,
 * e = sqrt(a) v + sqrt(1 - a) x, as diffusers' PNDMScheduler does for v-prediction models.
 */
public final class PndmSampler {
    private PndmSampler() {}

    /**
     * The two levels a pseudo Runge-Kutta step uses inside an interval.
     *
     * @param halfTarget where the first half step goes
     * @param mid        where the model is evaluated for the second and third stages (diffusers rounds the two
     *                   differently when T/N is odd: e.g. 813 and 812 between 875 and 750)
     */
    public record Midpoint(NoiseLevel halfTarget, NoiseLevel mid) {}

    /**
     * @param prk      start with three pseudo Runge-Kutta steps (4 evaluations each) instead of the improved step
     * @param combined which output is combined across steps: EPS, or V (diffusers' behaviour for v models)
     */
    public record Options(boolean prk, OutputKind combined) {
        public Options {
            if (combined == null || combined == OutputKind.X0) {
                throw new IllegalArgumentException("PNDM combines eps or v outputs, not " + combined);
            }
        }
    }

    /**
     * @param xT        the sample at {@code levels[0]}, [B, ...]; not modified
     * @param levels    N+1 levels from most to least noisy
     * @param midpoints one per interval (at least the first three) when {@code prk}, else ignored
     * @return the sample at the last level, shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, List<Midpoint> midpoints,
                                Options options, StepListener listener) {
        SamplerSupport.checkLevels(xT, levels);
        int n = levels.size() - 1;
        int rk = options.prk() ? Math.min(3, n) : 0;
        if (options.prk() && (midpoints == null || midpoints.size() < rk)) {
            throw new IllegalArgumentException("PRK needs a midpoint for each of its first " + rk + " intervals");
        }
        int evaluations = rk * 4 + (n - rk) + (rk == 0 ? 1 : 0);
        int[] k = {0};
        Denoiser counted = (xi, level) -> {
            Prediction p = model.predict(xi, level);
            listener.onStep(k[0]++, evaluations, xi, p.x0());
            return p;
        };
        OutputKind kind = options.combined();
        Tensor x = xT.clone();
        try (NoGradGuard guard = new NoGradGuard(); History history = new History(4)) {
            for (int i = 0; i < n; i++) {
                NoiseLevel from = levels.get(i);
                NoiseLevel to = levels.get(i + 1);
                try (PointerScope scope = new PointerScope()) {
                    Tensor next;
                    if (i < rk) {
                        Midpoint m = midpoints.get(i);
                        Tensor k1 = kind.of(counted.predict(x, from), from);
                        Tensor x1 = transfer(x, from, m.halfTarget(), k1, kind);
                        Tensor k2 = kind.of(counted.predict(x1, m.mid()), m.mid());
                        Tensor x2 = transfer(x, from, m.mid(), k2, kind);
                        Tensor k3 = kind.of(counted.predict(x2, m.mid()), m.mid());
                        Tensor x3 = transfer(x, from, to, k3, kind);
                        Tensor k4 = kind.of(counted.predict(x3, to), to);
                        Tensor e = SamplerSupport.lin(1.0 / 6, k1, 1.0 / 3, k2)
                                .add(SamplerSupport.lin(1.0 / 3, k3, 1.0 / 6, k4));
                        next = transfer(x, from, to, e, kind);
                        history.push(k1);
                    } else if (history.isEmpty()) {
                        Tensor e0 = kind.of(counted.predict(x, from), from);
                        Tensor x1 = transfer(x, from, to, e0, kind);
                        Tensor e1 = kind.of(counted.predict(x1, to), to);
                        next = transfer(x, from, to, SamplerSupport.lin(0.5, e0, 0.5, e1), kind);
                        history.push(e0);
                    } else {
                        history.push(kind.of(counted.predict(x, from), from));
                        next = transfer(x, from, to, adamsBashforth(history), kind);
                    }
                    x.copy_(next);
                }
            }
        }
        return x;
    }

    /** Adams-Bashforth of the order the history allows (PNDM eq. 12 at order 4). */
    private static Tensor adamsBashforth(History e) {
        return switch (e.size()) {
            case 1 -> e.get(0);
            case 2 -> SamplerSupport.lin(1.5, e.get(0), -0.5, e.get(1));
            case 3 -> SamplerSupport.lin(23.0 / 12, e.get(0), -16.0 / 12, e.get(1))
                    .add(SamplerSupport.scale(5.0 / 12, e.get(2)));
            default -> SamplerSupport.lin(55.0 / 24, e.get(0), -59.0 / 24, e.get(1))
                    .add(SamplerSupport.lin(37.0 / 24, e.get(2), -9.0 / 24, e.get(3)));
        };
    }

    /** PNDM eq. 9 from {@code from} to {@code to}, with a combined output of {@code kind}. */
    static Tensor transfer(Tensor x, NoiseLevel from, NoiseLevel to, Tensor output, OutputKind kind) {
        double a = from.alpha() * from.alpha();
        double aPrev = to.alpha() * to.alpha();
        Tensor eps = kind == OutputKind.V ? SamplerSupport.lin(Math.sqrt(a), output, Math.sqrt(1 - a), x) : output;
        double denominator = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev);
        return SamplerSupport.lin(Math.sqrt(aPrev / a), x, -(aPrev - a) / denominator, eps);
    }
}
