package org.diffusion4j.sampler;

import java.util.Locale;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Prediction;

/**
 * Which denoiser output a sampler holds fixed when it reuses an output at another sample, or mixes outputs of several
 * evaluations (Euler's churn, PNDM's multistep combinations). The choice changes the result at first order. diffusers
 * holds the network's raw output, so its prediction type decides there; here it is an explicit option, and samplers
 * still never see the network's parameterisation.
 */
public enum OutputKind {
    /** The noise prediction. */
    EPS,
    /** The clean-sample prediction. */
    X0,
    /** v = alpha eps - sigma x0 at the level of the evaluation (Salimans &amp; Ho 2022). */
    V;

    /** This output of {@code p}, which was predicted at {@code level}. */
    public Tensor of(Prediction p, NoiseLevel level) {
        return switch (this) {
            case EPS -> p.eps();
            case X0 -> p.x0();
            case V -> SamplerSupport.lin(level.alpha(), p.eps(), -level.sigma(), p.x0());
        };
    }

    /** Parses eps, x0 or v (or the diffusers names epsilon, sample, v_prediction). */
    public static OutputKind parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "eps", "epsilon" -> EPS;
            case "x0", "sample" -> X0;
            case "v", "v_prediction" -> V;
            default -> throw new IllegalArgumentException("unknown output kind '" + s + "'; expected eps, x0 or v");
        };
    }
}
