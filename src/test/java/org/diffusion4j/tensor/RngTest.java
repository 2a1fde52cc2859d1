package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class RngTest {
    @Test
    void randnMatchesPyTorchForTheSameSeed() {
        try (PointerScope s = new PointerScope()) {
            // torch.randn(4, generator=torch.Generator().manual_seed(42)) in PyTorch.
            float[] v = Tensors.toFloats(Rng.of(42).randn(4));
            assertThat(v[0]).isCloseTo(0.33669037f, within(1e-7f));
            assertThat(v[1]).isCloseTo(0.1288094f, within(1e-7f));
            assertThat(v[2]).isCloseTo(0.23446237f, within(1e-7f));
            assertThat(v[3]).isCloseTo(0.23033303f, within(1e-7f));
        }
    }

    @Test
    void sameSeedSameStreamAndDerivedStreamsDiffer() {
        try (PointerScope s = new PointerScope()) {
            assertThat(Tensors.toFloats(Rng.of(7).randn(16))).containsExactly(Tensors.toFloats(Rng.of(7).randn(16)));
            assertThat(Tensors.toFloats(Rng.derive(7, 1).randn(16)))
                    .containsExactly(Tensors.toFloats(Rng.derive(7, 1).randn(16)))
                    .isNotEqualTo(Tensors.toFloats(Rng.derive(7, 2).randn(16)));
            assertThat(Rng.mix(7, 1)).isNotEqualTo(Rng.mix(7, 2)).isNotEqualTo(Rng.mix(8, 1)).isNotNegative();
        }
    }

    @Test
    void drawsDoNotTouchTheGlobalGenerator() {
        try (PointerScope s = new PointerScope()) {
            torch.manual_seed(3);
            float[] expected = Tensors.toFloats(torch.randn(8));
            torch.manual_seed(3);
            Rng.of(99).randn(100);
            assertThat(Tensors.toFloats(torch.randn(8))).containsExactly(expected);
        }
    }

    @Test
    void randintStaysInRangeAndRejectsEmptyRanges() {
        try (PointerScope s = new PointerScope()) {
            double[] v = Tensors.toDoubles(Rng.of(1).randint(3, 7, 1000));
            assertThat(Arrays.stream(v).min().getAsDouble()).isEqualTo(3.0);
            assertThat(Arrays.stream(v).max().getAsDouble()).isEqualTo(6.0);
            assertThat(Arrays.stream(v).allMatch(x -> x == Math.rint(x))).isTrue();
            assertThat(v).contains(3.0, 6.0);
            assertThatThrownBy(() -> Rng.of(1).randint(5, 5, 2)).hasMessageContaining("low < high");
        }
    }

    @Test
    void aCpuDeviceGeneratorIsTheCpuGeneratorAndCudaIsCheckedFirst() {
        try (PointerScope s = new PointerScope()) {
            assertThat(Tensors.toFloats(Rng.of(42, DeviceSpec.CPU).randn(8)))
                    .containsExactly(Tensors.toFloats(Rng.of(42).randn(8)));
            assertThat(Tensors.toFloats(Rng.derive(DeviceSpec.CPU, 42, 3).rand(8)))
                    .containsExactly(Tensors.toFloats(Rng.derive(42, 3).rand(8)));
            assertThat(Rng.of(1).device()).isEqualTo(DeviceSpec.CPU);
            if (!torch.cuda_is_available()) {
                assertThatThrownBy(() -> Rng.of(1, new DeviceSpec("cuda", 0)))
                        .hasMessageContaining("CUDA is not available");
            }
        }
    }
}
