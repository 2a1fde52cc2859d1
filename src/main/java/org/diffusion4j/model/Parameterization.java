package org.diffusion4j.model;

import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Tensors;

/**
 * What the network's output means, for x_t = alpha x0 + sigma eps. Each case converts a raw output to (x0, eps)
 * and gives the regression target for training. The coefficient arguments are tensors broadcastable against x
 * (e.g. [B, 1] per sample) or 0-dim.
 */
public enum Parameterization {
    /** Output is eps (Ho et al. 2020). diffusers "epsilon". */
    EPS("epsilon") {
        @Override
        public Prediction toPrediction(Tensor out, Tensor x, Tensor alpha, Tensor sigma) {
            return new Prediction(x.sub(sigma.mul(out)).div(alpha), out);
        }

        @Override
        public Tensor target(Tensor x0, Tensor eps, Tensor alpha, Tensor sigma) {
            return eps;
        }
    },
    /** Output is x0. diffusers "sample". */
    X0("sample") {
        @Override
        public Prediction toPrediction(Tensor out, Tensor x, Tensor alpha, Tensor sigma) {
            return new Prediction(out, x.sub(alpha.mul(out)).div(sigma));
        }

        @Override
        public Tensor target(Tensor x0, Tensor eps, Tensor alpha, Tensor sigma) {
            return x0;
        }
    },
    /** Output is v = alpha eps - sigma x0 (Salimans &amp; Ho 2022, for alpha^2 + sigma^2 = 1). diffusers "v_prediction". */
    V("v_prediction") {
        @Override
        public Prediction toPrediction(Tensor out, Tensor x, Tensor alpha, Tensor sigma) {
            // Exact for any (alpha, sigma): x0 = (alpha x - sigma v) / (alpha^2 + sigma^2), eps likewise.
            Tensor norm = alpha.square().add(sigma.square());
            return new Prediction(alpha.mul(x).sub(sigma.mul(out)).div(norm), sigma.mul(x).add(alpha.mul(out)).div(norm));
        }

        @Override
        public Tensor target(Tensor x0, Tensor eps, Tensor alpha, Tensor sigma) {
            return alpha.mul(eps).sub(sigma.mul(x0));
        }
    },
    /** Output is the velocity eps - x0 of the straight path x_t = (1 - t) x0 + t eps (Lipman et al. 2023, Liu et al. 2023). */
    FLOW("flow") {
        @Override
        public Prediction toPrediction(Tensor out, Tensor x, Tensor alpha, Tensor sigma) {
            // From x = alpha x0 + sigma eps and out = eps - x0; on the flow path alpha + sigma = 1.
            Tensor norm = alpha.add(sigma);
            return new Prediction(x.sub(sigma.mul(out)).div(norm), x.add(alpha.mul(out)).div(norm));
        }

        @Override
        public Tensor target(Tensor x0, Tensor eps, Tensor alpha, Tensor sigma) {
            return eps.sub(x0);
        }
    },
    /**
     * EDM's preconditioning (Karras et al. 2022, table 1), read on any level through s = sigma / alpha and
     * x^ = x / alpha = x0 + s eps: the network F sees c_in x^ and c_noise = ln(s) / 4 (fed as 1000 c_noise, the
     * scale of DDPM timesteps), and D = c_skip x^ + c_out F is the x0 prediction, with c_skip = sd^2 / (s^2 + sd^2),
     * c_out = s sd / sqrt(s^2 + sd^2), c_in = 1 / sqrt(s^2 + sd^2), sd = {@link #EDM_SIGMA_DATA}. Its target
     * (x0 - c_skip x^) / c_out makes the plain MSE on F EDM's weighted loss (lambda c_out^2 = 1). Trained on EDM's
     * log-normal noise levels ({@link org.diffusion4j.schedule.DiffusionProcess.Edm}); sampled on any schedule's levels.
     */
    EDM("edm") {
        @Override
        public Prediction toPrediction(Tensor out, Tensor x, Tensor alpha, Tensor sigma) {
            Tensor s = sigma.div(alpha);
            Tensor xHat = x.div(alpha);
            Tensor d = xHat.mul(cSkip(s)).add(out.mul(cOut(s)));
            return new Prediction(d, xHat.sub(d).div(s));
        }

        @Override
        public Tensor target(Tensor x0, Tensor eps, Tensor alpha, Tensor sigma) {
            Tensor s = sigma.div(alpha);
            Tensor xHat = x0.add(eps.mul(s));
            return x0.sub(xHat.mul(cSkip(s))).div(cOut(s));
        }

        @Override
        public Tensor networkInput(Tensor x, Tensor alpha, Tensor sigma) {
            Tensor s = sigma.div(alpha);
            return x.div(alpha).div(s.square().add(Tensors.scalar(EDM_SIGMA_DATA * EDM_SIGMA_DATA)).sqrt());
        }

        @Override
        public Tensor networkTime(Tensor timestep, Tensor alpha, Tensor sigma) {
            // One level per row in training ([B, 1, ...]), one for all rows in sampling (0-dim).
            return sigma.div(alpha).log().mul(Tensors.scalar(250)).reshape(-1).expand(timestep.sizes().vec().get())
                    .to(timestep.scalar_type()).contiguous();
        }
    };

    /** EDM's sigma_data: the standard deviation of the data (images scaled to [-1, 1]). */
    public static final double EDM_SIGMA_DATA = 0.5;

    private static Tensor cSkip(Tensor s) {
        double sd2 = EDM_SIGMA_DATA * EDM_SIGMA_DATA;
        return s.square().add(Tensors.scalar(sd2)).reciprocal().mul(Tensors.scalar(sd2));
    }

    private static Tensor cOut(Tensor s) {
        return s.mul(Tensors.scalar(EDM_SIGMA_DATA)).div(s.square().add(Tensors.scalar(EDM_SIGMA_DATA
                * EDM_SIGMA_DATA)).sqrt());
    }

    private final String id;

    Parameterization(String id) {
        this.id = id;
    }

    /** The diffusers {@code prediction_type} name. */
    public String id() {
        return id;
    }

    /** Converts a raw network output into x0 and eps predictions. */
    public abstract Prediction toPrediction(Tensor out, Tensor x, Tensor alpha, Tensor sigma);

    /** The training target whose MSE the network minimises. */
    public abstract Tensor target(Tensor x0, Tensor eps, Tensor alpha, Tensor sigma);

    /** What the network is fed for x_t (x itself except under a preconditioning). Coefficients broadcast as above. */
    public Tensor networkInput(Tensor x, Tensor alpha, Tensor sigma) {
        return x;
    }

    /**
     * The time the network is conditioned on for these levels: the schedule's timestep [B], except under a
     * preconditioning that derives it from the noise level.
     */
    public Tensor networkTime(Tensor timestep, Tensor alpha, Tensor sigma) {
        return timestep;
    }

    /** Scalar-coefficient convenience for samplers. */
    public Prediction toPrediction(Tensor out, Tensor x, double alpha, double sigma) {
        return toPrediction(out, x, scalarLike(x, alpha), scalarLike(x, sigma));
    }

    private static Tensor scalarLike(Tensor x, double v) {
        return torch.scalar_tensor(Tensors.scalar(v),
                DeviceSpec.optionsLike(x, x.scalar_type()));
    }

    /** Parses a diffusers name ("epsilon", "sample", "v_prediction", "flow") or a short one ("eps", "x0", "v"). */
    public static Parameterization parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (Parameterization p : values()) {
            if (p.id.equals(n) || p.name().toLowerCase(Locale.ROOT).equals(n)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown prediction type '" + name + "'; expected one of "
                + Arrays.stream(values()).map(Parameterization::id).toList());
    }

    @Override
    public String toString() {
        return id;
    }
}
