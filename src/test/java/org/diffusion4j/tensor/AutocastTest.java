package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class AutocastTest {
    @Test
    void matmulsRunInBf16InsideAndTheStateIsRestoredAfter() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Tensor a = Rng.of(1).randn(4, 4);
            try (Autocast outer = Autocast.bf16(true)) {
                assertThat(a.matmul(a).scalar_type().value).isEqualTo(torch.ScalarType.BFloat16.value);
                try (Autocast inner = Autocast.bf16(false)) {
                    // A disabled region inside an enabled one changes nothing.
                    assertThat(a.matmul(a).scalar_type().value).isEqualTo(torch.ScalarType.BFloat16.value);
                }
            }
            assertThat(torch.is_autocast_enabled(torch.DeviceType.CPU)).isFalse();
            assertThat(a.matmul(a).scalar_type().value).isEqualTo(torch.ScalarType.Float.value);
        }
    }

    /** An off region inside a bf16 one runs float32, and the bf16 region goes on after it. */
    @Test
    void anOffRegionRunsFloat32InsideABf16OneAndRestoresIt() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Tensor a = Rng.of(1).randn(4, 4);
            try (Autocast outer = Autocast.bf16(true)) {
                try (Autocast off = Autocast.off()) {
                    assertThat(a.matmul(a).scalar_type().value).isEqualTo(torch.ScalarType.Float.value);
                }
                assertThat(a.matmul(a).scalar_type().value).isEqualTo(torch.ScalarType.BFloat16.value);
            }
            try (Autocast off = Autocast.off()) {
                assertThat(torch.is_autocast_enabled(torch.DeviceType.CPU)).isFalse();
            }
            assertThat(torch.is_autocast_enabled(torch.DeviceType.CPU)).isFalse();
        }
    }

    @Test
    void nativeBf16IsReadFromTheCpuFlags() {
        String x86 = "processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\nbugs\t\t: spectre\n";
        String older = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n";
        String arm = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n";
        String armOld = "processor\t: 0\nFeatures\t: fp asimd crc32\n";
        assertThat(Autocast.hasBf16Flag(x86)).isTrue();
        assertThat(Autocast.hasBf16Flag(older)).isFalse();
        assertThat(Autocast.hasBf16Flag(arm)).isTrue();
        assertThat(Autocast.hasBf16Flag(armOld)).isFalse();
        assertThat(Autocast.hasBf16Flag("")).isFalse();
        // "bf16" only counts as a whole flag of a flags line, not inside a model name.
        assertThat(Autocast.hasBf16Flag("model name\t: Fancy bf16 CPU\nflags\t: fpu\n")).isFalse();
    }
}
