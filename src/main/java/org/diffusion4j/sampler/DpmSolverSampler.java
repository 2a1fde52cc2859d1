package org.diffusion4j.sampler;

import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.NoiseLevel;
import org.diffusion4j.model.Prediction;
import org.diffusion4j.tensor.Shapes;

/**
 * DPM-Solver++ with data prediction, first or second order multistep (Lu et al. 2022, "DPM-Solver++", algorithm 2),
 * and its SDE variant (sde-dpmsolver++, from the same paper's appendix as diffusers implements it). With
 * lambda = log(alpha / sigma) and h = lambda' - lambda:
 * <ul>
 *   <li>first order: x' = (sigma'/sigma) x + alpha' (1 - e^-h) x0 (eq. 5 at k = 1; DDIM in data prediction)</li>
 *   <li>second order: the same with D0 = x0 and D1 = (x0 - x0_prev) / r, r = h_prev / h, added as
 *       alpha' (1 - e^-h) D1 / 2 (midpoint) or alpha' ((e^-h - 1) / h + 1) D1 (heun)</li>
 *   <li>SDE: x' = (sigma'/sigma) e^-h x + alpha' (1 - e^-2h) D + sigma' sqrt(1 - e^-2h) z</li>
 * </ul>
 * The history (the previous x0 and lambda) is local to the loop.
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
     * @param order           1 or 2
     * @param solverType      the second-order form
     * @param sde             sde-dpmsolver++: inject noise each step
     * @param lowerOrderFinal first order for the last step when there are fewer than 15 steps (diffusers' rule;
     *                        a step to sigma = 0 is always first order)
     * @param eulerAtFinal    first order for the last step always
     */
    public record Options(int order, SolverType solverType, boolean sde, boolean lowerOrderFinal, boolean eulerAtFinal) {
        public Options {
            if (order != 1 && order != 2) {
                throw new IllegalArgumentException("DPM-Solver++ order must be 1 or 2, got " + order);
            }
            if (solverType == null) {
                throw new IllegalArgumentException("solver type must be set");
            }
        }

        /** DPM-Solver++(2M), diffusers' defaults. */
        public static Options twoM() {
            return new Options(2, SolverType.MIDPOINT, false, true, false);
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
        Tensor previousX0 = null;
        double previousLambda = Double.NaN;
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < n; i++) {
                NoiseLevel from = levels.get(i);
                NoiseLevel to = levels.get(i + 1);
                try (PointerScope scope = new PointerScope()) {
                    Prediction p = model.predict(x, from);
                    listener.onStep(i, n, x, p.x0());
                    Tensor x0 = p.x0();
                    boolean last = i == n - 1;
                    boolean lowerFinal = last && (options.eulerAtFinal() || to.sigma() == 0
                            || (options.lowerOrderFinal() && n < 15));
                    boolean firstOrder = options.order() == 1 || previousX0 == null || lowerFinal;
                    // e^-h = (sigma'/alpha') / (sigma/alpha): zero at sigma' = 0, where lambda' is infinite.
                    double expMinusH = (to.sigma() / to.alpha()) / (from.sigma() / from.alpha());
                    double lambda = Math.log(from.alpha()) - Math.log(from.sigma());
                    double decay = options.sde() ? 1 - expMinusH * expMinusH : 1 - expMinusH;
                    double keep = options.sde() ? to.sigma() / from.sigma() * expMinusH : to.sigma() / from.sigma();
                    Tensor next = SamplerSupport.lin(keep, x, to.alpha() * decay, x0);
                    if (!firstOrder) {
                        double h = -Math.log(expMinusH);
                        double r = (lambda - previousLambda) / h;
                        Tensor d1 = SamplerSupport.scale(1 / r, x0.sub(previousX0));
                        double c = switch (options.solverType()) {
                            case MIDPOINT -> 0.5 * to.alpha() * decay;
                            case HEUN -> options.sde() ? to.alpha() * (decay / (-2 * h) + 1)
                                    : to.alpha() * ((expMinusH - 1) / h + 1);
                        };
                        next = next.add(SamplerSupport.scale(c, d1));
                    }
                    if (options.sde()) {
                        next = next.add(SamplerSupport.scale(to.sigma() * Math.sqrt(decay), noise.next(shape)));
                    }
                    if (previousX0 != null) {
                        previousX0.close();
                    }
                    previousX0 = org.diffusion4j.tensor.Scopes.detach(x0.clone());
                    previousLambda = lambda;
                    x.copy_(next);
                }
            }
        } finally {
            if (previousX0 != null) {
                previousX0.close();
            }
        }
        return x;
    }
}
