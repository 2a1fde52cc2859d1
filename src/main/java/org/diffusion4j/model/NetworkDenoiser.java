package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * A {@link Denoiser} made of a network and the meaning of its output. A network whose output has twice x's channels
 * predicts a variance too (DiT's learned sigma): the first half is read by the parameterisation, the second is the
 * learned-range interpolation of {@link Prediction#variance}.
 */
public final class NetworkDenoiser implements Denoiser, ConditionalDenoiser {
    private final Network network;
    private final Parameterization parameterization;

    public NetworkDenoiser(Network network, Parameterization parameterization) {
        this.network = network;
        this.parameterization = parameterization;
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        return predict(x, level, null);
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level, Tensor labels) {
        Shapes.requireRankAtLeast(x, "x", 2);
        Tensor t = torch.full(new long[] {x.size(0)}, Tensors.scalar(level.timestep()),
                DeviceSpec.optionsLike(x, torch.ScalarType.Float));
        Tensor alpha = scalarLike(x, level.alpha());
        Tensor sigma = scalarLike(x, level.sigma());
        Tensor out = network.forward(parameterization.networkInput(x, alpha, sigma),
                parameterization.networkTime(t, alpha, sigma), labels);
        Tensor variance = null;
        if (x.dim() >= 2 && out.dim() == x.dim() && out.size(1) == 2 * x.size(1)) {
            variance = out.narrow(1, x.size(1), x.size(1));
            out = out.narrow(1, 0, x.size(1));
        }
        Shapes.requireSame(out, "network output", x, "x");
        Prediction p = parameterization.toPrediction(out, x, level.alpha(), level.sigma());
        return variance == null ? p : new Prediction(p.x0(), p.eps(), variance);
    }

    private static Tensor scalarLike(Tensor x, double v) {
        return torch.scalar_tensor(Tensors.scalar(v), DeviceSpec.optionsLike(x, x.scalar_type()));
    }

    /** The device of the network's parameters (the CPU for a network without any). */
    @Override
    public DeviceSpec device() {
        TensorVector params = network.module().parameters(true);
        return params.size() == 0 ? DeviceSpec.CPU : DeviceSpec.of(params.get(0));
    }

    public Network network() {
        return network;
    }

    public Parameterization parameterization() {
        return parameterization;
    }
}
