package org.diffusion4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.api.Assertions;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class NetworkDenoiserTest {
    /** A network returning a constant multiple of its input, recording the time it was given. */
    private static final class Scale implements Network {
        final double factor;
        final boolean wrongShape;
        float seenT = Float.NaN;

        Scale(double factor, boolean wrongShape) {
            this.factor = factor;
            this.wrongShape = wrongShape;
        }

        @Override
        public Tensor forward(Tensor x, Tensor t, Tensor labels) {
            seenT = Tensors.toFloats(t)[0];
            return wrongShape ? x.narrow(1, 0, 1) : x.mul(Tensors.scalar(factor));
        }

        @Override
        public Module module() {
            return new Module();
        }
    }

    @Test
    void passesTheTimestepAndConvertsThroughTheParameterization() {
        try (PointerScope scope = new PointerScope()) {
            Scale net = new Scale(0.5, false);
            Tensor x = Rng.of(1).randn(3, 2);
            Prediction p = new NetworkDenoiser(net, Parameterization.EPS).predict(x, new NoiseLevel(250, 0.8, 0.6));
            assertThat(net.seenT).isEqualTo(250f);
            assertThat(Tensors.toFloats(p.eps())).containsExactly(Tensors.toFloats(x.mul(Tensors.scalar(0.5))));
            // x0 = (x - sigma eps) / alpha = x (1 - 0.3) / 0.8.
            assertThat(Tensors.toFloats(p.x0())).containsExactly(Tensors.toFloats(x.mul(Tensors.scalar(0.7 / 0.8))),
                    Assertions.within(1e-6f));
        }
    }

    @Test
    void rejectsNetworksThatChangeTheShape() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Rng.of(1).randn(3, 2);
            NetworkDenoiser d = new NetworkDenoiser(new Scale(1, true), Parameterization.EPS);
            assertThatThrownBy(() -> d.predict(x, NoiseLevel.vp(10, 0.5))).hasMessageContaining("network output");
        }
    }

    @Test
    void anOutputWithTwiceTheChannelsCarriesALearnedVarianceInItsSecondHalf() {
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Rng.of(1).randn(3, 2, 4);
            Network doubled = new Network() {
                @Override
                public Tensor forward(Tensor in, Tensor t, Tensor labels) {
                    return torch.cat(new org.bytedeco.pytorch.TensorVector(in.mul(Tensors.scalar(0.5)),
                            torch.full(in.sizes().vec().get(), Tensors.scalar(0.25))), 1);
                }

                @Override
                public Module module() {
                    return new Module();
                }
            };
            Prediction p = new NetworkDenoiser(doubled, Parameterization.EPS).predict(x, NoiseLevel.vp(10, 0.5));
            assertThat(Tensors.toFloats(p.eps())).containsExactly(Tensors.toFloats(x.mul(Tensors.scalar(0.5))));
            assertThat(Tensors.toFloats(p.variance())).hasSize(24).containsOnly(0.25f);
            assertThat(new NetworkDenoiser(new Scale(1, false), Parameterization.EPS)
                    .predict(x, NoiseLevel.vp(10, 0.5)).variance()).isNull();
        }
    }

    @Test
    void noiseLevelValidates() {
        assertThatThrownBy(() -> new NoiseLevel(1, -0.1, 1)).hasMessageContaining("invalid noise level");
        assertThatThrownBy(() -> new NoiseLevel(Double.NaN, 1, 0)).hasMessageContaining("invalid noise level");
        assertThat(NoiseLevel.vp(5, 0.36).alpha()).isEqualTo(0.6);
    }

    /** The timesteps it makes for the network, and the parameterisation's scalars, follow x's device. */
    @Test
    void makesItsTensorsOnTheDeviceOfX() {
        try (PointerScope scope = new PointerScope()) {
            boolean[] tOnMeta = {false};
            Network net = new Network() {
                @Override
                public Tensor forward(Tensor x, Tensor t, Tensor labels) {
                    tOnMeta[0] = t.is_meta();
                    return x.mul(Tensors.scalar(0.5));
                }

                @Override
                public Module module() {
                    return new Module();
                }
            };
            Tensor x = torch.zeros(new long[] {2, 3}, new TensorOptions(ScalarType.Float)
                    .device(new DeviceOptional(new Device("meta"))));
            for (Parameterization p : Parameterization.values()) {
                Prediction pred = new NetworkDenoiser(net, p).predict(x, NoiseLevel.vp(10, 0.6));
                assertThat(tOnMeta[0]).as(p.name()).isTrue();
                assertThat(pred.x0().is_meta() && pred.eps().is_meta()).as(p.name()).isTrue();
            }
        }
    }

    @Test
    void reportsTheDeviceOfTheNetworksParameters() {
        try (PointerScope scope = new PointerScope()) {
            Network net = MlpConfig.toy2d().build(Rng.of(0));
            assertThat(new NetworkDenoiser(net, Parameterization.EPS).device())
                    .isEqualTo(DeviceSpec.CPU);
            assertThat(new NetworkDenoiser(new Scale(1, false), Parameterization.EPS).device())
                    .as("no parameters").isEqualTo(DeviceSpec.CPU);
        }
    }
}
