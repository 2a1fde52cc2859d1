package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/** A {@link Denoiser} made of a network and the meaning of its output. */
public final class NetworkDenoiser implements Denoiser {
    private final Network network;
    private final Parameterization parameterization;

    public NetworkDenoiser(Network network, Parameterization parameterization) {
        this.network = network;
        this.parameterization = parameterization;
    }

    @Override
    public Prediction predict(Tensor x, NoiseLevel level) {
        Shapes.requireRankAtLeast(x, "x", 2);
        Tensor t = torch.full(new long[] {x.size(0)}, Tensors.scalar(level.timestep()),
                new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Float));
        Tensor out = network.forward(x, t);
        Shapes.requireSame(out, "network output", x, "x");
        return parameterization.toPrediction(out, x, level.alpha(), level.sigma());
    }

    public Network network() {
        return network;
    }

    public Parameterization parameterization() {
        return parameterization;
    }
}
