package org.diffusion4j.sampler;

import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.History;
import org.diffusion4j.tensor.Shapes;

/**
 * DPM-Solver++ with data prediction, first to third order multistep (Lu et al. 2022, "DPM-Solver++", algorithm 2
 * and its third-order extension), and its SDE variant (sde-dpmsolver++, from the same paper's appendix as diffusers
 * implements it). With lambda = log(alpha / sigma), h = lambda' - lambda and E = 1 - e^-h (ODE) or 1 - e^-2h (SDE):
 * <ul>
 *   <li>first order: x' = (sigma'/sigma) x + alpha' E x0 (eq. 5 at k = 1; DDIM in data prediction); the SDE form
 *       keeps (sigma'/sigma) e^-h x and adds sigma' sqrt(E) z</li>
 *   <li>second order: D1 = (x0 - x0_prev) / r, r = h_prev / h, added as alpha' E D1 / 2 (midpoint) or as
 *       alpha' phi2 D1 (heun), phi2 = 1 - E / h (ODE) or 1 - E / 2h (SDE)</li>
 *   <li>third order: D1 and D2 from the last three x0 (diffusers' construction), added as alpha' phi2 D1 +
 *       alpha' phi3 D2, phi3 = 1/2 - (h - E) / h^2 (ODE) or 1/2 - (2h - E) / 4h^2 (SDE). Both are the weights
 *       of a quadratic x0(lambda) under the exact integral, so phi3 -> h/6 (ODE) and h/3 (SDE) as h -> 0; the SDE
 *       one equals k-diffusion's dpmpp_3m_sde at eta = 1.</li>
 * </ul>
 * The history (the previous two x0 and lambdas) is local to the loop.
 */
public final class DpmSolverSampler {
    private DpmSolverSampler() {}

    /** How the second-order correction is formed (diffusers' solver_type). */
    public enum SolverType {
        MIDPOINT, HEUN;

        public static SolverType parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "midpoint" -> MIDPOINT;
                case "heun" -> HEUN;
                default -> throw new IllegalArgumentException("unknown solver_type '" + s + "'; expected midpoint or heun");
            };
        }
    }

    /**
     * @param order           1, 2 or 3 (the first steps use lower orders until there is enough history)
     * @param solverType      the second-order form
     * @param sde             sde-dpmsolver++: inject noise each step
     * @param lowerOrderFinal first order for the last step when there are fewer than 15 steps (diffusers' rule;
     *                        a step to sigma = 0 is always first order), and at most second order for the one
     *                        before it
     * @param eulerAtFinal    first order for the last step always
     */
    public record Options(int order, SolverType solverType, boolean sde, boolean lowerOrderFinal, boolean eulerAtFinal) {
        public Options {
            if (order < 1 || order > 3) {
                throw new IllegalArgumentException("DPM-Solver++ order must be 1, 2 or 3, got " + order);
            }
            if (solverType == null) {
                throw new IllegalArgumentException("solver type must be set");
            }
        }

        /** DPM-Solver++(2M), diffusers' defaults. */
        public static Options twoM() {
            return new Options(2, SolverType.MIDPOINT, false, true, false);
        }

        /** DPM-Solver++(3M): diffusers' solver_order=3 with its other defaults. */
        public static Options threeM() {
            return new Options(3, SolverType.MIDPOINT, false, true, false);
        }
    }

    /**
     * @param xT     the sample at {@code levels[0]}, [B, ...]; not modified
     * @param levels N+1 levels from most to least noisy
     * @param noise  drawn from at every step when {@code sde}
     * @return the sample at the last level, shaped like xT
     */
    public static Tensor sample(Denoiser model, Tensor xT, List<NoiseLevel> levels, NoiseSource noise, Options options,
                                StepListener listener) {
        SamplerSupport.checkLevels(xT, levels);
        int n = levels.size() - 1;
        long[] shape = Shapes.of(xT);
        Tensor x = xT.clone();
        double[] lambdas = new double[n];
        try (NoGradGuard guard = new NoGradGuard(); History x0s = new History(2)) {
            for (int i = 0; i < n; i++) {
                NoiseLevel from = levels.get(i);
                NoiseLevel to = levels.get(i + 1);
                try (PointerScope scope = new PointerScope()) {
                    Prediction p = model.predict(x, from);
                    listener.onStep(i, n, x, p.x0());
                    Tensor x0 = p.x0();
                    int order = orderAt(options, i, n, to);
                    // e^-h = (sigma'/alpha') / (sigma/alpha): zero at sigma' = 0, where lambda' is infinite.
                    double expMinusH = (to.sigma() / to.alpha()) / (from.sigma() / from.alpha());
                    double lambda = Math.log(from.alpha()) - Math.log(from.sigma());
                    double decay = options.sde() ? 1 - expMinusH * expMinusH : 1 - expMinusH;
                    double keep = options.sde() ? to.sigma() / from.sigma() * expMinusH : to.sigma() / from.sigma();
                    Tensor next = SamplerSupport.lin(keep, x, to.alpha() * decay, x0);
                    double h = -Math.log(expMinusH);
                    // The SDE's data term decays twice as fast in lambda: its phi functions take 2h.
                    double hEff = options.sde() ? 2 * h : h;
                    double phi2 = 1 - decay / hEff;
                    if (order == 2) {
                        double r = (lambda - lambdas[i - 1]) / h;
                        Tensor d1 = SamplerSupport.scale(1 / r, x0.sub(x0s.get(0)));
                        double c = switch (options.solverType()) {
                            case MIDPOINT -> 0.5 * to.alpha() * decay;
                            case HEUN -> to.alpha() * phi2;
                        };
                        next = next.add(SamplerSupport.scale(c, d1));
                    } else if (order == 3) {
                        double r0 = (lambda - lambdas[i - 1]) / h;
                        double r1 = (lambdas[i - 1] - lambdas[i - 2]) / h;
                        Tensor d10 = SamplerSupport.scale(1 / r0, x0.sub(x0s.get(0)));
                        Tensor d11 = SamplerSupport.scale(1 / r1, x0s.get(0).sub(x0s.get(1)));
                        Tensor bend = d10.sub(d11);
                        Tensor d1 = d10.add(SamplerSupport.scale(r0 / (r0 + r1), bend));
                        Tensor d2 = SamplerSupport.scale(1 / (r0 + r1), bend);
                        double phi3 = 0.5 - (hEff - decay) / (hEff * hEff);
                        next = next.add(SamplerSupport.lin(to.alpha() * phi2, d1, to.alpha() * phi3, d2));
                    }
                    if (options.sde()) {
                        next = next.add(SamplerSupport.scale(to.sigma() * Math.sqrt(decay), noise.next(shape)));
                    }
                    x0s.push(x0);
                    lambdas[i] = lambda;
                    x.copy_(next);
                }
            }
        }
        return x;
    }

    /**
     * diffusers' order schedule: as high as the history allows, first order on a final step that needs it, and at
     * most second order just before a lowered final step.
     */
    static int orderAt(Options options, int i, int n, NoiseLevel to) {
        boolean lowerFinal = i == n - 1 && (options.eulerAtFinal() || to.sigma() == 0
                || (options.lowerOrderFinal() && n < 15));
        boolean lowerSecond = i == n - 2 && options.lowerOrderFinal() && n < 15;
        if (lowerFinal) {
            return 1;
        }
        return Math.min(Math.min(options.order(), i + 1), lowerSecond ? 2 : 3);
    }
}
